"""Typed errors of the history store, each with a short code and a message for people, and
the one test of whether an error means the disk is full."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path


class HistoryError(Exception):
    """Something is wrong with the history database as a whole.

    Codes: `damaged` (integrity check failed), `not_sqlite` (not a database at all),
    `newer_schema` (written by a newer Petvisor), `missing` (no file), `in_use` (another
    Petvisor process holds it), `no_backup` (nothing good to restore), `closed`,
    `backup_failed`, `disk_full` (the disk holding the file has no space left).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RecordNotFound(HistoryError, LookupError):
    """A conversation, booking or staff user id/e-mail that is not in the database."""

    def __init__(self, message: str) -> None:
        super().__init__("not_found", message)


_DISK_FULL_TEXT = "database or disk is full"
_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))  # a quota is full too
# Below this much free space an I/O error is taken for a full disk (see is_disk_full).
LOW_SPACE_BYTES = 1 << 20


def is_disk_full(exc: BaseException | None, near: Path | None = None) -> bool:
    """Whether `exc` (or the error it wraps: peewee re-raises SQLite's errors as its own,
    keeping the original as `orig`; or its cause) says the disk is full: SQLITE_FULL, or
    ENOSPC from the operating system. With `near` (a file or folder on the disk concerned),
    an SQLite I/O error while that disk has next to no space left counts too: SQLite says
    "disk I/O error" when a full disk stops it growing its -shm file (SQLITE_IOERR_SHMSIZE),
    which is no damage to the database."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, HistoryError) and exc.code == "disk_full":
            return True
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            return True
        if isinstance(exc, sqlite3.Error):
            code = getattr(exc, "sqlite_errorcode", None)
            if code == sqlite3.SQLITE_FULL or _DISK_FULL_TEXT in str(exc):
                return True
            io_error = code is not None and code & 0xFF == sqlite3.SQLITE_IOERR
            if near is not None and (io_error or "disk I/O error" in str(exc)):
                return _low_space(near)
        wrapped = getattr(exc, "orig", None)  # peewee keeps the driver's error here
        exc = wrapped if isinstance(wrapped, BaseException) else exc.__cause__
    return False


def _low_space(near: Path) -> bool:
    folder = near if near.is_dir() else near.parent
    try:
        return shutil.disk_usage(folder).free < LOW_SPACE_BYTES
    except OSError:
        return False
