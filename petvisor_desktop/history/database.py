"""The history's SQLite file as `History` uses it: the connection settings, one connection
per thread, and the transactions every part of `History` writes and reads in.

Every call is one short transaction, so a crash loses at most the turn being written. The
file runs in WAL mode: readers (the admin screens, another process) never wait for the
writer and never see half a write. Within a process, writes are serialised by a lock and start
with `BEGIN IMMEDIATE`, so two writers never deadlock on a lock upgrade; other processes wait
up to the busy timeout. Each thread gets its own SQLite connection (peewee's thread-local
connections); `close()` closes all of them. A write the disk has no room for raises
HistoryError `disk_full` (`history.spool` keeps the conversation's writes until it has).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import peewee as pw

from petvisor_desktop.history.errors import HistoryError, RecordNotFound, is_disk_full
from petvisor_desktop.history.models import Conversation

BUSY_TIMEOUT_S = 10

# Connection settings. synchronous=FULL: a committed turn survives a power cut, not only a
# crash of the app; at a few writes per minute the fsync costs nothing noticeable.
# secure_delete: blanked personal text is overwritten in the file, not left in free space.
_PRAGMAS = (
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("synchronous", "full"),
    ("secure_delete", 1),
)


# SQLite connections this process has open, by the database file's resolved path. A process
# loses every POSIX lock it holds on a file as soon as any descriptor of that file is closed,
# so the file must not be opened behind SQLite's back while SQLite has it open here
# (sqlite.org/howtocorrupt.html, 2.2): with the kiosk's locks gone, another process closing
# its connection takes itself for the last one and checkpoints and deletes the WAL under the
# kiosk's readers ("disk I/O error", SQLITE_IOERR_SHORT_READ), or worse.
_connections_here: dict[str, int] = {}
_connections_lock = threading.Lock()


def open_in_this_process(path: Path) -> bool:
    """Whether SQLite has the database at `path` open in this process (any thread)."""
    with _connections_lock:
        return _connections_here.get(str(Path(path).resolve()), 0) > 0


def _counted(key: str, change: int) -> None:
    with _connections_lock:
        left = _connections_here.get(key, 0) + change
        if left > 0:
            _connections_here[key] = left
        else:
            _connections_here.pop(key, None)


class Database(pw.SqliteDatabase):
    """A SqliteDatabase that remembers the connection of every thread, so that `close_all`
    can close them all (peewee's own `close()` only closes the calling thread's)."""

    def __init__(self, path: Path) -> None:
        self._opened: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._opened_lock = threading.Lock()
        self._key = str(Path(path).resolve())
        super().__init__(
            str(path),
            pragmas=list(_PRAGMAS),
            timeout=BUSY_TIMEOUT_S,
            # Closing happens from whichever thread calls History.close().
            check_same_thread=False,
        )

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._connect()  # type: ignore[misc]
        _counted(self._key, 1)
        with self._opened_lock:
            still: list[tuple[threading.Thread, sqlite3.Connection]] = []
            for thread, old in self._opened:
                if thread.is_alive():
                    still.append((thread, old))
                else:
                    self._close(old)  # its thread is gone, nobody else can be using it
            still.append((threading.current_thread(), conn))
            self._opened = still
        return conn

    def _close(self, conn: sqlite3.Connection) -> None:
        conn.close()
        _counted(self._key, -1)

    def rollback(self) -> None:
        # SQLite ends the transaction itself on some errors (SQLITE_FULL among them): a second
        # ROLLBACK then fails with "cannot rollback - no transaction is active", which would
        # hide the error that matters.
        if not self.is_closed() and not self.connection().in_transaction:
            return
        super().rollback()

    def close_all(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for _thread, conn in opened:
            self._close(conn)


class DatabaseAccess:
    """What every part of `History` shares: the open database, the write lock, and the two
    kinds of transaction. `History.__init__` sets the attributes."""

    _db: Database
    _write_lock: threading.Lock
    _closed: bool
    # Opened on a disk too full to open it: made usable by `_prepare` at the first write that
    # finds room (see History.open's wait_for_room).
    _unprepared: bool = False

    def _prepare(self) -> None:
        """Connect and bring the schema up to date (History does; nothing to do here)."""

    def _conn(self) -> sqlite3.Connection:
        self._ensure_open()
        conn: sqlite3.Connection = self._db.connection()
        return conn

    def _ensure_open(self) -> None:
        if self._closed:
            raise HistoryError("closed", "the history database has been closed")

    @contextmanager
    def _write(self) -> Iterator[None]:
        self._ensure_open()
        with self._disk_full_said():
            if self._unprepared:
                self._prepare()
            with self._write_lock, self._db.atomic("IMMEDIATE"):
                yield

    @contextmanager
    def _read(self) -> Iterator[None]:
        # A read transaction, so that a multi-query read sees one consistent snapshot.
        self._ensure_open()
        with self._disk_full_said(), self._db.atomic():
            yield

    @contextmanager
    def _disk_full_said(self) -> Iterator[None]:
        """A full disk as HistoryError `disk_full`, whichever way SQLite put it."""
        try:
            yield
        except HistoryError:
            raise
        except Exception as exc:
            path = Path(self._db.database)
            if not is_disk_full(exc, near=path):
                raise
            raise HistoryError(
                "disk_full",
                f"the disk holding the history database ({path}) is full; free some space on it",
            ) from exc

    def _require_conversation(self, conversation_id: int) -> Conversation:
        row = Conversation.select().where(Conversation.id == conversation_id).bind(self._db).first()
        if row is None:
            raise RecordNotFound(f"no conversation {conversation_id}")
        assert isinstance(row, Conversation)
        return row
