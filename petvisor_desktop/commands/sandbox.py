"""`petvisor-desktop sandbox`: serve the demo Vetstoria clinic on 127.0.0.1 and print the
settings that reach it, so the app, curl or another machine's tests can book against it."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

from petvisor_desktop.settings import Settings
from vetstoria.paths import build_endpoints
from vetstoria.sandbox import SandboxClinic, allowed_faults

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sandbox",
        help="serve the demo Vetstoria clinic locally (for the app, tests and curl)",
        description="Serve the sandbox Vetstoria clinic on 127.0.0.1 until Ctrl-C.",
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    p.add_argument("--now", metavar="ISO", help="pin the clinic-local time, e.g. 2026-11-23T09:00")
    p.add_argument(
        "--fault",
        metavar="KIND",
        action="append",
        default=[],
        help=f"inject a fault, repeatable; {allowed_faults()}",
    )
    p.set_defaults(handler=run_sandbox)


def run_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    """Start the sandbox clinic, print how to reach it, and serve until Ctrl-C or SIGTERM."""
    if not 0 <= args.port <= 65535:
        print("petvisor-desktop: --port must be 0 to 65535", file=sys.stderr)
        return 2
    try:
        clinic = SandboxClinic(now=args.now, faults=args.fault, port=args.port)
    except ValueError as exc:
        print(f"petvisor-desktop: {exc}", file=sys.stderr)
        return 2
    try:
        clinic.start()
    except OSError as exc:
        print(
            f"petvisor-desktop: cannot serve on 127.0.0.1:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1

    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        _print_settings(clinic)
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        print("\nstopping the sandbox clinic", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        clinic.stop()
    return 0


def _print_settings(clinic: SandboxClinic) -> None:
    config = clinic.config()
    urls = build_endpoints(config)
    pinned = " (pinned by --now)" if clinic.pinned_now is not None else " (real time)"
    # The demo secret is public: it only opens this local sandbox, so printing it is fine.
    lines = [
        f"Sandbox Vetstoria clinic serving at {clinic.url}",
        f"Clinic time now: {clinic.now().isoformat(timespec='minutes')} {config.timezone}{pinned}",
        "Settings (usable as environment variables):",
        f"  VETSTORIA_BASE_URL={config.base_url}",
        f"  VETSTORIA_AUTH_URL={config.auth_url}",
        f"  VETSTORIA_PARTNER_KEY={config.partner_key}",
        f"  VETSTORIA_SECRET={config.secret}",
        f"  VETSTORIA_SITE_HASH={config.site_hash}",
        f"  VETSTORIA_SITE_ID={config.site_id}",
        f"  VETSTORIA_BOOKING_HASH={config.booking_hash}",
        "Try it:",
        f"  curl -s -X POST {urls.auth} -H 'Site-Hash: {config.site_hash}'"
        f" -H 'Content-Type: application/json' -d '{json.dumps({'secret': config.secret})}'",
    ]
    faults = clinic.pending_faults()
    if faults:
        lines.append(f"Faults queued: {', '.join(faults)}")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)
