"""An advisory, per-process lock beside the database file (`<db>.lock`).

The process that holds it is the database's primary user: only it may close conversations
left open by a crash (an admin command run next to a live kiosk must not mark the kiosk's
current conversation as abandoned) and only it may replace the file (restore). The operating
system releases the lock when the process dies, even by SIGKILL, which is exactly when the
next start should take over. The lock file itself is never deleted: deleting lock files races.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


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
            _unlock(fd)
        finally:
            os.close(fd)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
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
