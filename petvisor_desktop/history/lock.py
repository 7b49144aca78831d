"""An advisory, per-process lock beside the database file (`<db>.lock`).

The process that holds it is the database's primary user: only it may close conversations
left open by a crash (an admin command run next to a live kiosk must not mark the kiosk's
current conversation as abandoned) and only it may replace the file (restore). The operating
system releases the lock when the process dies, even by SIGKILL, which is exactly when the
next start should take over. The lock file itself is never deleted: deleting lock files races.

While it holds the lock, a process writes who it is into the file (its pid and what it is, e.g.
"petvisor-desktop app"), so that a second one can say which process to close
(`in_use_message`); the file is emptied again before the lock is released.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


_program: str | None = None


def set_program(name: str) -> None:
    """What this process is, for the lock file: the command line sets it ("petvisor-desktop
    app", "petvisor-desktop simulate"); otherwise the script's name is used."""
    global _program
    _program = name


def _this_program() -> str:
    return _program or Path(sys.argv[0]).name or "python"


@dataclass(frozen=True)
class Holder:
    """The process that holds a database's lock, as it wrote itself into the lock file."""

    pid: int
    program: str
    since: str = ""

    def describe(self) -> str:
        return f"{self.program} (pid {self.pid})"


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def in_use_message(db_path: Path, what_to_do: str) -> str:
    """One line for a process that found the database taken: who holds it and what to do."""
    holder = DatabaseLock(lock_path_for(db_path)).holder()
    who = holder.describe() if holder else "another Petvisor process"
    return f"the history database {db_path} is in use by {who}; {what_to_do}"


class DatabaseLock:
    """A non-blocking exclusive lock on a small file; `acquire` says whether we got it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout_s: float = 0.0) -> bool:
        """Try to take the lock, retrying for up to `timeout_s` (another process may hold it
        for the few moments an admin command runs). Returns True when held."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_s
        wait = threading.Event()  # never set: an interruptible, bounded pause between tries
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if _try_lock(fd):
                self._fd = fd
                _write_holder(fd)
                return True
            os.close(fd)
            if time.monotonic() >= deadline:
                return False
            wait.wait(0.05)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _clear_holder(fd)
            _unlock(fd)
        finally:
            os.close(fd)

    def holder(self) -> Holder | None:
        """Who holds the lock, as written in the lock file; None when nobody wrote there (an
        older Petvisor, or the moment between taking the lock and writing)."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(_HOLDER_AT)
                data = json.loads(fh.read(4096).decode("utf-8"))
            return Holder(int(data["pid"]), str(data["program"]), str(data.get("since", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None


# Where the holder's line starts. Windows locks are mandatory byte ranges, so there the lock is
# on a byte far past the text (see _try_lock), which others can then still read.
_HOLDER_AT = 0


def _write_holder(fd: int) -> None:
    line = json.dumps(
        {
            "pid": os.getpid(),
            "program": _this_program(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, _HOLDER_AT, os.SEEK_SET)
        os.write(fd, line.encode("utf-8"))
    except OSError as exc:  # a full disk: the lock holds all the same, unnamed
        log.debug("cannot write the lock holder into the lock file: %s", exc.strerror)


def _clear_holder(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
    except OSError as exc:
        log.debug("cannot empty the lock file: %s", exc.strerror)


if sys.platform == "win32":
    import msvcrt

    _LOCKED_BYTE = 1 << 30  # far past the holder's line; Windows may lock beyond the end

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:
            # Some network file systems have no flock; carry on as the only user rather than
            # refusing to start, and say so.
            log.warning("cannot lock the history database (%s); assuming no other user", exc)
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
