"""The `petvisor-desktop` command line. Each command group lives in its own module under
`petvisor_desktop.commands` and adds itself with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from petvisor_desktop import __version__

log = logging.getLogger(__name__)

# Modules that add sub-commands. A module that fails to import (an optional dependency
# missing) leaves its commands out and says why when the user asks for help.
COMMAND_MODULES = (
    "petvisor_desktop.commands.app",
    "petvisor_desktop.commands.sandbox",
    "petvisor_desktop.commands.models",
    "petvisor_desktop.commands.db",
    "petvisor_desktop.commands.worklist",
    "petvisor_desktop.commands.chat",
    "petvisor_desktop.commands.voice",
    "petvisor_desktop.commands.selftest",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="petvisor-desktop",
        description="A fully local voice receptionist for veterinary clinics.",
    )
    parser.add_argument("--version", action="version", version=f"petvisor-desktop {__version__}")
    parser.add_argument("--config", help="settings file (TOML); default: the user's config folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    parser.add_argument("--kiosk", action="store_true", help="start the full-screen kiosk")
    parser.add_argument(
        "--now", help="pin the clinic-local time of the demo clinic, e.g. 2026-11-23T09:00"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(name):
                continue  # that command group is not part of this build
            log.debug("commands from %s unavailable: %s", name, exc)
            continue
        module.register(sub)
    return parser


def program_name(args: argparse.Namespace) -> str:
    """What this process is, in words a receptionist can act on: "petvisor-desktop app",
    "petvisor-desktop kiosk", "petvisor-desktop db repair"."""
    command = args.command
    if command is None:
        return "petvisor-desktop kiosk" if args.kiosk else "petvisor-desktop app"
    sub = getattr(args, f"{command}_command", None)
    return " ".join(["petvisor-desktop", command, *([sub] if sub else [])])


def main(argv: Sequence[str] | None = None) -> int:
    from petvisor_desktop.history.errors import HistoryError
    from petvisor_desktop.history.lock import set_program
    from petvisor_desktop.logs import setup_logging
    from petvisor_desktop.settings import SettingsError, load_settings

    parser = build_parser()
    args = parser.parse_args(argv)
    set_program(program_name(args))  # named in the database's lock file while it holds it
    try:
        settings = load_settings(config_path=args.config)
    except SettingsError as exc:
        print(f"petvisor-desktop: bad setting: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_dir, verbose=args.verbose)
    handler = getattr(args, "handler", None)
    if handler is None:
        handler = getattr(parser, "_default_handler", None)
        if args.command is None:
            from petvisor_desktop.commands import app

            handler = app.run_default
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except HistoryError as exc:
        # The history in use, damaged or on a full disk: one line saying so, not a traceback.
        print(f"petvisor-desktop: {exc.message}", file=sys.stderr)
        return 1
