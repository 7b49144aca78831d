"""`petvisor-desktop selftest`: one PASS/WARN/FAIL line per component and a summary line;
exit status 0 only when nothing failed. Runs the same inside the packaged executable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from petvisor_desktop.settings import Settings


def register(sub: Any) -> None:
    from petvisor_desktop.selftest import SelfTest

    p = sub.add_parser(
        "selftest",
        help="check that every part works on this PC: models, speech, a booking, the database",
        description="Loads each model, transcribes a recorded test phrase, synthesises a "
        "sentence, makes a booking in the built-in sandbox clinic (never the real one) and "
        "checks the history database. Exit status 0 only when every component passes; a "
        "missing microphone or speaker is a warning.",
    )
    p.add_argument(
        "--only",
        metavar="COMPONENT",
        nargs="+",
        choices=SelfTest.COMPONENTS,
        help=f"check only these ({', '.join(SelfTest.COMPONENTS)})",
    )
    p.add_argument(
        "--db",
        type=Path,
        help="record the test's conversations into this history database (default: a "
        "temporary one; the clinic's history is only read)",
    )
    p.set_defaults(handler=run_selftest)


def run_selftest(args: argparse.Namespace, settings: Settings) -> int:
    from petvisor_desktop.selftest import SelfTest

    def show(result: Any) -> None:
        print(result.line(), flush=True)

    report = SelfTest(settings, on_result=show, db_path=args.db).run(only=args.only or ())
    print(report.summary(), flush=True)
    if not report.passed:
        print(
            "petvisor-desktop: see the FAIL lines above; the log has the details: "
            f"{settings.log_dir}",
            file=sys.stderr,
        )
    return 0 if report.passed else 1
