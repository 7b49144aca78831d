"""`History`: the conversation record, written as the conversation goes, and opening it.

`History` is the one object the engine and the screens hold. Its parts live beside it, one
concern each: `history.database` (connections and transactions), `history.recording` (the
engine's writes), `history.queries` (reads for the screens), `history.retention` (purges and
forgetting a caller), `history.staff_users` and `history.worklist` (what needs a person, and
what staff did about it). This module opens the database, plainly
(`History.open`) or at start-up with repair from backups (`open_with_recovery`, using
`history.recovery`), and takes backups of the open file.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import peewee as pw

from petvisor_desktop.history import backups, recovery
from petvisor_desktop.history.database import Database
from petvisor_desktop.history.errors import HistoryError, is_disk_full
from petvisor_desktop.history.lock import DatabaseLock, in_use_message, lock_path_for
from petvisor_desktop.history.migrations import SCHEMA_VERSION, migrate, schema_version
from petvisor_desktop.history.privacy import text_mentions_phone
from petvisor_desktop.history.queries import Queries
from petvisor_desktop.history.recording import Recording
from petvisor_desktop.history.records import RecoveryReport, RedactionCounts
from petvisor_desktop.history.retention import DEFAULT_RETENTION_DAYS, Retention
from petvisor_desktop.history.staff_users import StaffUsers
from petvisor_desktop.history.values import _now
from petvisor_desktop.history.worklist import Worklist

if TYPE_CHECKING:
    from petvisor_desktop.settings import Settings

log = logging.getLogger(__name__)

# How long start-up waits for an admin command that briefly holds the database.
LOCK_WAIT_S = 10.0
DISK_FULL_AT_OPEN = "the disk is full, so the database cannot be opened; free some space on it"


class History(Recording, Queries, Retention, StaffUsers, Worklist):
    """The history database of one kiosk. Open it with `History.open(path)` (or, at app
    start-up, `History.open_with_recovery(settings)`); close it with `close()`.

    Safe for one writer thread plus any number of reader threads."""

    def __init__(
        self,
        db: Database,
        db_path: Path,
        lock: DatabaseLock,
        *,
        retention_days: int,
        keep_when_full: bool = True,
    ) -> None:
        # Use History.open(); the constructor takes an already opened and migrated database.
        self._db = db
        self._lock = lock
        self._write_lock = threading.Lock()
        self._closed = False
        self.db_path = db_path
        self.retention_days = retention_days
        self.migrated_to: tuple[int, ...] = ()
        self.interrupted_at_open = 0
        self._init_spool(keep_when_full=keep_when_full)

    # ---- opening and closing -------------------------------------------------------------

    @classmethod
    def open(
        cls,
        db_path: Path,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        lock_timeout_s: float = 0.0,
        repair: bool = True,
        wait_for_room: bool = False,
        keep_when_full: bool = True,
        _lock: DatabaseLock | None = None,
    ) -> History:
        """Open (creating and migrating as needed) the database at `db_path`.

        With `repair`, this process tries to become the database's primary user (see `lock`);
        if it does, conversations left without an end by a crash are closed as "abandoned"
        (end reason "interrupted"); how many is in `interrupted_at_open` and the log. Without
        it (a command that only reads) the lock is left alone and nothing is repaired. Raises
        HistoryError when the file is not a usable database (code `not_sqlite`, `damaged` or
        `newer_schema`) or the disk has no room to open it (`disk_full`). With
        `wait_for_room` (the app's start-up) a full disk is no error: the History is returned
        at once, keeps what is recorded in memory (`history.spool`), and opens the file for
        real as soon as there is room. Without `keep_when_full` (a command that ends at once,
        so could not write them later) writes on a full disk are not kept but raise
        HistoryError `disk_full`."""
        if not 1 <= retention_days <= 3650:
            raise ValueError(f"retention_days must be 1 to 3650; got {retention_days}")
        db_path = Path(db_path)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        problem = backups.header_problem(db_path)
        if problem is not None:
            raise HistoryError(problem.code, f"{db_path}: {problem.message}")
        owns_lock = _lock is None  # a lock handed in stays the caller's on failure
        lock = _lock or DatabaseLock(lock_path_for(db_path))
        primary = lock.acquire(lock_timeout_s) if repair or not owns_lock else False
        db = _database(db_path)
        try:
            conn = db.connection()
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                # Network file systems cannot do WAL; it still works, with more waiting.
                log.warning("history database is not in WAL mode (%s); readers may wait", mode)
            applied = migrate(conn)
        except (sqlite3.DatabaseError, pw.DatabaseError) as exc:
            db.close_all()
            if is_disk_full(exc, near=db_path):
                if wait_for_room:
                    return cls._waiting_for_room(db_path, lock, retention_days)
                if owns_lock:
                    lock.release()
                raise HistoryError("disk_full", f"{db_path}: {DISK_FULL_AT_OPEN}") from exc
            if owns_lock:
                lock.release()
            raise HistoryError("damaged", f"{db_path}: cannot open the database: {exc}") from exc
        except BaseException:
            db.close_all()
            if owns_lock:
                lock.release()
            raise
        history = cls(
            db, db_path, lock, retention_days=retention_days, keep_when_full=keep_when_full
        )
        history.migrated_to = tuple(applied)
        if primary:
            try:
                history.interrupted_at_open = history._close_interrupted()
            except HistoryError as exc:
                if exc.code != "disk_full":
                    history.close()
                    raise
                # Not needed to go on: the next start (or `db repair`) closes them.
                log.warning("conversations cut off by a crash left open: the disk is full")
            except (sqlite3.DatabaseError, pw.DatabaseError) as exc:
                db.close_all()
                if owns_lock:
                    lock.release()
                raise HistoryError("damaged", f"{db_path}: cannot be written: {exc}") from exc
        elif repair:
            log.info("history database is in use by another process; not its primary user")
        return history

    @classmethod
    def _waiting_for_room(cls, db_path: Path, lock: DatabaseLock, retention_days: int) -> History:
        history = cls(_database(db_path), db_path, lock, retention_days=retention_days)
        history._unprepared = True
        history._disk_found_full()
        return history

    def _prepare(self) -> None:
        """Opened on a full disk: connect and migrate now (inside `_write`, which turns a
        disk still full into HistoryError `disk_full`)."""
        with self._write_lock:
            if not self._unprepared:
                return
            self.migrated_to = tuple(migrate(self._db.connection()))
            self._unprepared = False
        log.info("the history database is open: its disk has room again")

    @classmethod
    def open_with_recovery(cls, settings: Settings) -> tuple[History, RecoveryReport]:
        """Start-up: open the configured database, restoring it from the newest good backup
        when it is missing or damaged. See `open_with_recovery` below."""
        return open_with_recovery(settings)

    @property
    def is_primary(self) -> bool:
        """Whether this History holds the database's lock (see `petvisor_desktop.history.lock`)."""
        return self._lock.held

    @property
    def schema_version(self) -> int:
        return schema_version(self._conn())

    def close(self) -> None:
        """Close every thread's connection (checkpointing the WAL) and release the lock."""
        if self._closed:
            return
        self._close_spool()  # kept writes get a last chance while the database is open
        self._closed = True
        with self._write_lock:
            self._db.close_all()
        self._lock.release()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- backups ---------------------------------------------------------------------------

    def backup(self, dest_dir: Path, *, now: datetime | None = None) -> Path:
        """A consistent copy of the live database into `dest_dir`, checked before it gets its
        final name (`petvisor-<UTC timestamp>.sqlite3`). Rotation is `backups.rotate_backups`."""
        self._ensure_open()
        return backups.backup_database(self.db_path, Path(dest_dir), now=now)

    def backup_if_due(
        self,
        dest_dir: Path,
        *,
        keep_daily: int,
        keep_weekly: int,
        max_age: timedelta = timedelta(hours=24),
        now: datetime | None = None,
    ) -> Path | None:
        """The scheduled backup: back up and rotate when the newest backup is older than
        `max_age` (or there is none). Returns the new backup, or None when not due.

        Call it from a worker thread, never the UI thread: the folder may be a slow share."""
        moment = now or _now()
        dest = Path(dest_dir)
        existing = backups.list_backups(dest)
        if existing and moment - existing[0].taken_at < max_age:
            return None
        path = self.backup(dest, now=moment)
        backups.rotate_backups(dest, keep_daily, keep_weekly)
        return path


def _database(db_path: Path) -> Database:
    db = Database(db_path)
    db.register_function(text_mentions_phone, "petvisor_mentions_phone", 2)
    return db


def open_with_recovery(
    settings: Settings,
    *,
    lock_wait_s: float | None = None,
    what_to_do: str = "close it and start again",
) -> tuple[History, RecoveryReport]:
    """Open the configured history database for the app, repairing what can be repaired.

    - missing, with backups: restored from the newest backup that passes its check;
    - missing, no backups (first start): a new database;
    - damaged (fails quick_check, is not SQLite, or cannot be opened): moved aside, then
      restored from the newest good backup, or a new database when there is none;
    - older schema: backed up, then migrated;
    - written by a newer Petvisor: left alone, HistoryError `newer_schema`;
    - on a disk too full to open it: left alone (a full disk is no damage); what is recorded
      is kept in memory until there is room (`History.open`'s wait_for_room).
    Then the retention policy is applied. Raises HistoryError `in_use`, naming the process,
    when another Petvisor process keeps the database for longer than `lock_wait_s` (default
    LOCK_WAIT_S)."""
    storage = settings.storage
    db_path = Path(storage.db_path)
    backup_dir = Path(storage.backup_dir)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lock = DatabaseLock(lock_path_for(db_path))
    if not lock.acquire(LOCK_WAIT_S if lock_wait_s is None else lock_wait_s):
        raise HistoryError("in_use", in_use_message(db_path, what_to_do))
    try:
        history, found = _open_locked(db_path, backup_dir, storage.retention_days, lock)
    except BaseException:
        lock.release()
        raise
    try:
        purged = history.purge_expired()
    except (HistoryError, sqlite3.Error, pw.PeeweeException) as exc:
        if not is_disk_full(exc, near=db_path):
            history.close()
            raise
        purged = RedactionCounts()  # the next start, or the staff screens' timer, purges
    report = RecoveryReport(
        action=found.action,
        db_path=db_path,
        message=found.message,
        problem=found.problem,
        damaged_path=found.damaged_path,
        restored_from=found.restored_from,
        backup_time=found.backup_time,
        skipped_backups=tuple(found.skipped),
        migrated_to=history.migrated_to,
        pre_migration_backup=found.pre_migration_backup,
        interrupted_conversations=history.interrupted_at_open,
        purged=purged,
    )
    if report.needs_attention:
        log.warning("history database recovery: %s", report.message)
    else:
        log.info("history database opened: %s", report.action.value)
    return history, report


def _open_locked(
    db_path: Path, backup_dir: Path, retention_days: int, lock: DatabaseLock
) -> tuple[History, recovery.Findings]:
    try:
        found = recovery.repair_before_open(db_path, backup_dir)
    except HistoryError as exc:
        if exc.code != "disk_full":
            raise
        found = recovery.Findings(message=exc.message)  # nothing to repair: only no room
    try:
        history = History.open(
            db_path, retention_days=retention_days, wait_for_room=True, _lock=lock
        )
    except HistoryError as exc:
        if exc.code != "damaged" or found.damaged_path is not None:
            raise
        # Passed quick_check but SQLite still could not use it (e.g. damage quick_check
        # does not look at): treat it like any other damage, once.
        recovery.recover_damaged(db_path, backup_dir, found, exc.message.split(": ", 1)[-1])
        history = History.open(db_path, retention_days=retention_days, _lock=lock)
    return history, found


__all__ = ["DEFAULT_RETENTION_DAYS", "SCHEMA_VERSION", "History", "open_with_recovery"]
