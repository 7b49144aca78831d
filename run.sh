#!/usr/bin/env bash
# One entry point for a fresh machine (Debian/Ubuntu, Python 3.11+):
#   ./run.sh start   set everything up, then start the app on its embedded defaults
#   ./run.sh test    set everything up, then run the whole test suite
#   ./run.sh setup   only set up (system packages, .venv/, models)
#   ./run.sh build   set up, then build the one-folder app into dist/petvisor-desktop/
#                    (options: --with-models, --selftest; see scripts/build_app.sh)
# Setup is idempotent and quick the second time: each step checks before it works.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Debian packages, one group a line (add new ones to the group they belong to):
APT_PACKAGES=(
  # audio: PortAudio (sounddevice; the Linux app bundles this copy), espeak-ng (Piper's
  # phonemes; the test caller's voice), sox (audio checks), PulseAudio (a user-space sound
  # server for the audio tests)
  libportaudio2 espeak-ng sox libsox-fmt-all pulseaudio pulseaudio-utils
  # the ALSA "pulse" device through which PortAudio reaches PulseAudio
  libasound2-plugins
  # Qt's xcb platform and Xvfb (screenshots, the real window, time-to-window)
  xvfb xauth x11-utils libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-cursor0 libgl1
  libegl1 libfontconfig1 libdbus-1-3 fonts-dejavu-core
  # building llama-cpp-python; PyInstaller reads shared-library dependencies with objdump
  cmake build-essential binutils
)

setup_system() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing system packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"

setup_python() {
  if [ ! -x "$PY" ]; then
    say "Creating $VENV"
    python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip wheel setuptools
  fi
  # Reinstall only when pyproject.toml changed since the last successful setup.
  local stamp="$VENV/.petvisor-setup" want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing Python packages (llama-cpp-python compiles from source once: ~6 min on 2 cores)"
    # llama.cpp is built for any x86-64 PC with AVX2 (2013 on), not for this CPU alone: a
    # native build also runs llama.cpp's AMX kernels where the CPU has AMX, and those crash
    # with a general protection fault on machines whose kernel does not grant AMX (seen on
    # a Xeon VM here); a native build would not run on an older PC either.
    CMAKE_ARGS="${CMAKE_ARGS:-$LLAMA_CMAKE_ARGS}" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
      "$PY" -m pip install -q -e ".[llm,voice,whisper,ui,build,dev]"
    echo "$want" > "$stamp"
  fi
}

setup_models() {
  say "Checking models (installed once into models/, then verified quickly)"
  "$VENV/bin/petvisor-desktop" models install-dev
}

setup() { setup_system; setup_python; setup_models; }

case "${1:-}" in
  setup) setup ;;
  start)
    setup
    shift
    say "Starting Petvisor Desktop (sandbox clinic, local database, local models)"
    exec "$VENV/bin/petvisor-desktop" "$@"
    ;;
  test)
    setup
    shift
    say "Running the test suite"
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  build)
    setup
    shift
    say "Building the one-folder app (dist/petvisor-desktop/)"
    PYTHON="$PY" exec scripts/build_app.sh "$@"
    ;;
  *)
    echo "usage: ./run.sh start|test|build|setup [args...]" >&2
    exit 2
    ;;
esac
