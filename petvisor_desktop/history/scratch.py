"""The history a run that is not the clinic's own records into: `simulate`, `selftest` and the
benchmarks write into a temporary database, deleted afterwards, unless they are asked for one
(`--db PATH`). So running them on a clinic PC, even while the app is open, never adds
simulated callers to the clinic's history nor competes with the app for its database."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from petvisor_desktop.history.store import History


@contextmanager
def run_history(db_path: Path | None, *, prefix: str = "petvisor-run-") -> Iterator[History]:
    """`db_path` when given (created if missing, left in place), else a new database in a
    temporary folder that is deleted when the block ends. Closed either way."""
    if db_path is not None:
        history = History.open(Path(db_path), repair=False)
        try:
            yield history
        finally:
            history.close()
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        history = History.open(Path(folder) / "history.sqlite3")
        try:
            yield history
        finally:
            history.close()
