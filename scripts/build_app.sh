#!/usr/bin/env bash
# Build the one-folder app into dist/petvisor-desktop/ with PyInstaller (build.spec), print
# the build time and the bundle's size with and without models, and optionally run the
# bundle's self-test. PyInstaller does not cross-compile: run this on each OS you ship for.
#
#   scripts/build_app.sh [--with-models] [--selftest]
#
#   --with-models   copy the models this machine runs into the bundle
#                   (PETVISOR_BUNDLE_MODELS=1; a comma list of names in that variable works too)
#   --selftest      run `dist/petvisor-desktop/petvisor-desktop selftest` afterwards (headless)
# Environment: PYTHON (default .venv/bin/python), PETVISOR_BUILD_WHISPER=auto|1|0,
# PETVISOR_MEASURE_ARCHIVE=1 (also print the compressed download size).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
APP=dist/petvisor-desktop
selftest=0
for arg in "$@"; do
  case "$arg" in
    --with-models) export PETVISOR_BUNDLE_MODELS=${PETVISOR_BUNDLE_MODELS:-1} ;;
    --selftest) selftest=1 ;;
    *) echo "usage: scripts/build_app.sh [--with-models] [--selftest]" >&2; exit 2 ;;
  esac
done

mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1000000 }'; }

started=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  build.spec
took=$(( $(date +%s) - started ))

total=$(du -sb "$APP" | cut -f1)
models=0
if [ -d "$APP/_internal/models" ]; then
  models=$(find "$APP/_internal/models" -mindepth 1 -maxdepth 1 -type d -print0 \
    | xargs -0 -r du -sbc | tail -n1 | cut -f1)
fi
echo "built $APP in ${took} s"
echo "bundle size: $(mb "$total") with models, $(mb $(( total - models ))) without" \
  "(models: $(mb "$models"))"
if [ "${PETVISOR_MEASURE_ARCHIVE:-0}" = 1 ]; then
  archive=$(tar -C dist --exclude='petvisor-desktop/_internal/models/*/*' -cf - petvisor-desktop \
    | gzip -6 | wc -c)
  echo "download size (tar.gz, without models): $(mb "$archive")"
fi

if [ "$selftest" = 1 ]; then
  echo "running the bundle's self-test"
  # Headless: no screen and no sound card are needed; Qt is not started by `selftest`.
  started=$(date +%s.%N)
  QT_QPA_PLATFORM=offscreen "$APP/petvisor-desktop" selftest
  echo "self-test took $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
fi
