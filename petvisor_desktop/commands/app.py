"""Starting the app: the Qt windows when they are installed and a screen is available,
otherwise the typed conversation in the terminal."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any

from petvisor_desktop.settings import Settings


def register(sub: Any) -> None:
    """The default command has no sub-command name; nothing to add here."""


def _has_screen() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or (
        os.environ.get("QT_QPA_PLATFORM") == "offscreen"
    )


def _has_windows() -> bool:
    try:
        return importlib.util.find_spec("ui.app") is not None
    except ModuleNotFoundError:  # no `ui` package at all in this build
        return False


def run_default(args: argparse.Namespace, settings: Settings) -> int:
    if _has_windows() and _has_screen():
        from ui.app import run_app

        return run_app(settings, kiosk=bool(args.kiosk), now=getattr(args, "now", None))
    if not _has_windows():
        reason = "the desktop windows are not part of this build yet"
    else:
        reason = "no screen was found (DISPLAY is not set)"
    print(f"petvisor-desktop: {reason}; starting the typed conversation instead.", file=sys.stderr)
    from petvisor_desktop.commands.chat import run_chat

    return run_chat(args, settings)
