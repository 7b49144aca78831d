"""Checking, backing up and restoring the history database file.

Backups are consistent online copies made with SQLite's backup API while the app keeps
writing. The copy is made on the local disk first, then copied to the backup folder (which
may be a network share, where SQLite's locking cannot be trusted) under a temporary name,
checked there with `PRAGMA integrity_check`, and only then renamed to
`petvisor-<UTC timestamp>.sqlite3`, so a half-written or bad file never looks like a backup.
Backups are single files in rollback-journal mode (no -wal beside them).

Give each kiosk its own backup folder: rotation and restore look at every
`petvisor-*.sqlite3` in it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from petvisor_desktop.history.database import open_in_this_process
from petvisor_desktop.history.errors import HistoryError, is_disk_full
from petvisor_desktop.history.lock import DatabaseLock, in_use_message, lock_path_for
from petvisor_desktop.history.migrations import SCHEMA_VERSION

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
BACKUP_PREFIX = "petvisor-"
BACKUP_SUFFIX = ".sqlite3"
_STAMP = "%Y%m%dT%H%M%SZ"
_BACKUP_NAME = re.compile(r"^petvisor-(\d{8}T\d{6}Z)\.sqlite3$")
_SIDECARS = ("-wal", "-shm", "-journal")
_STALE_TEMP_S = 24 * 3600


# ---- checking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    code: str  # missing, empty, not_sqlite, damaged, foreign, newer_schema, disk_full
    message: str


@dataclass(frozen=True)
class CheckResult:
    path: Path
    problem: Problem | None
    schema_version: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def header_problem(path: Path) -> Problem | None:
    """A cheap look at the first bytes: is this (still) an SQLite file? None if it is, or if
    there is no file yet, or an empty one (SQLite treats both as a new database). Not looked
    at while SQLite has the file open in this process: closing the look would drop SQLite's
    locks (`database.open_in_this_process`); SQLite reports a bad header itself."""
    if open_in_this_process(path):
        return None
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Problem("damaged", f"cannot be read: {exc.strerror}")
    if not head:
        return None
    if not head.startswith(SQLITE_HEADER):
        return Problem("not_sqlite", "is not an SQLite database (its header is wrong)")
    if len(head) < 100:
        return Problem("damaged", "is truncated (shorter than an SQLite header)")
    return None


def _uri(path: Path, *, immutable: bool) -> str:
    # immutable=1: no locking and no -wal/-shm, right for a finished backup on a share.
    suffix = "&immutable=1" if immutable else ""
    return f"{path.resolve().as_uri()}?mode=ro{suffix}"


def check_database(path: Path, *, quick: bool = False, immutable: bool = False) -> CheckResult:
    """Whether `path` is a healthy Petvisor history database this version can use.

    Runs `PRAGMA integrity_check` (or the faster `quick_check`, which skips index contents)
    and `foreign_key_check`, and compares the schema version. Never modifies the file."""
    if not path.exists():
        return CheckResult(path, Problem("missing", "does not exist"))
    if path.stat().st_size == 0:
        return CheckResult(path, Problem("empty", "is empty (0 bytes)"))
    problem = header_problem(path)
    if problem is not None:
        return CheckResult(path, problem)
    version: int | None = None
    try:
        conn = sqlite3.connect(_uri(path, immutable=immutable), uri=True)
    except sqlite3.Error as exc:
        return CheckResult(path, _unreadable(path, exc, f"cannot be opened: {exc}"))
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        pragma = "quick_check" if quick else "integrity_check"
        findings = [str(row[0]) for row in conn.execute(f"PRAGMA {pragma}(20)")]
        if findings != ["ok"]:
            first = "; ".join(findings[:3])
            more = f" (and {len(findings) - 3} more)" if len(findings) > 3 else ""
            return CheckResult(path, Problem("damaged", f"failed {pragma}: {first}{more}"), version)
        if not quick:
            violations = conn.execute("PRAGMA foreign_key_check").fetchall()
            if violations:
                return CheckResult(
                    path,
                    Problem("damaged", f"{len(violations)} row(s) point at rows that are gone"),
                    version,
                )
        tables = {
            str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    except sqlite3.DatabaseError as exc:
        return CheckResult(path, _unreadable(path, exc, f"is damaged: {exc}"), version)
    finally:
        conn.close()
    if version > SCHEMA_VERSION:
        return CheckResult(
            path,
            Problem(
                "newer_schema",
                f"has schema version {version}; this Petvisor knows up to {SCHEMA_VERSION}",
            ),
            version,
        )
    user_tables = {t for t in tables if not t.startswith("sqlite_")}
    if version == 0 and user_tables:
        return CheckResult(
            path, Problem("foreign", "is an SQLite database but not a Petvisor history"), version
        )
    if version >= 1 and not {"conversation", "turn", "booking"} <= tables:
        return CheckResult(path, Problem("damaged", "is missing history tables"), version)
    return CheckResult(path, None, version)


def _unreadable(path: Path, exc: sqlite3.Error, damaged: str) -> Problem:
    # A full disk stops SQLite making the -shm file a reader needs: no damage to the file.
    if is_disk_full(exc, near=path):
        return Problem("disk_full", "cannot be read: the disk holding it is full; free some space")
    return Problem("damaged", damaged)


# ---- backing up ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupFile:
    path: Path
    taken_at: datetime  # UTC, from the file name
    size_bytes: int


def backup_name(moment: datetime) -> str:
    """`petvisor-20261123T090000Z.sqlite3`. Two backups in the same second share a name; the
    later one replaces the earlier, which is what a backup is for."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("backup times must be timezone-aware")
    return f"{BACKUP_PREFIX}{moment.astimezone(UTC).strftime(_STAMP)}{BACKUP_SUFFIX}"


def parse_backup_name(name: str) -> datetime | None:
    match = _BACKUP_NAME.match(name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)


def list_backups(backup_dir: Path) -> list[BackupFile]:
    """The backups in `backup_dir`, newest first. A folder that does not exist has none;
    one that cannot be read (a share that is down) raises OSError."""
    if not backup_dir.exists():
        return []
    found: list[BackupFile] = []
    for entry in backup_dir.iterdir():
        taken = parse_backup_name(entry.name)
        if taken is not None and entry.is_file():
            found.append(BackupFile(entry, taken, entry.stat().st_size))
    found.sort(key=lambda b: b.taken_at, reverse=True)
    return found


def _fsync_dir(folder: Path) -> None:
    # Makes a rename durable on POSIX; Windows cannot open folders, and does not need it.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_durably(src: Path, dst: Path) -> None:
    with src.open("rb") as fin, dst.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1024 * 1024)
        fout.flush()
        os.fsync(fout.fileno())


def _snapshot(db_path: Path, into: Path) -> None:
    """A consistent copy of a live database (WAL included) as a single self-contained file."""
    src = sqlite3.connect(_uri(db_path, immutable=False), uri=True)
    try:
        dst = sqlite3.connect(into)
        try:
            src.backup(dst)  # all pages in one step: one consistent read transaction
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _remove_stale_temps(folder: Path, pattern: str) -> None:
    cutoff = time.time() - _STALE_TEMP_S
    for leftover in folder.glob(pattern):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def backup_database(db_path: Path, backup_dir: Path, *, now: datetime | None = None) -> Path:
    """Back up `db_path` into `backup_dir` and return the new backup's path.

    Raises HistoryError (code `missing` or `backup_failed`) and leaves no partial file."""
    if not db_path.exists():
        raise HistoryError("missing", f"there is no database at {db_path} to back up")
    name = backup_name(now or datetime.now(UTC))
    try:
        backup_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(
            "backup_failed", f"cannot create the backup folder {backup_dir}: {exc.strerror}"
        ) from exc
    _remove_stale_temps(db_path.parent, f".{db_path.name}.snapshot-*")
    _remove_stale_temps(backup_dir, f".{BACKUP_PREFIX}*.tmp")
    try:
        fd, snapshot_name = tempfile.mkstemp(
            prefix=f".{db_path.name}.snapshot-", dir=db_path.parent
        )
    except OSError as exc:
        raise HistoryError("backup_failed", _failed(backup_dir, exc, db_path.parent)) from exc
    os.close(fd)
    snapshot = Path(snapshot_name)
    temp = backup_dir / f".{name}.{os.getpid()}.tmp"
    final = backup_dir / name
    try:
        try:
            _snapshot(db_path, snapshot)  # on the database's own disk
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError("backup_failed", _failed(backup_dir, exc, db_path.parent)) from exc
        try:
            _copy_durably(snapshot, temp)
        except OSError as exc:
            raise HistoryError("backup_failed", _failed(backup_dir, exc, backup_dir)) from exc
        result = check_database(temp, immutable=True)
        if not result.ok:
            assert result.problem is not None
            raise HistoryError(
                "backup_failed",
                f"the new backup failed its check and was discarded: {result.problem.message}",
            )
        os.replace(temp, final)
        _fsync_dir(backup_dir)
    finally:
        with contextlib.suppress(FileNotFoundError):
            snapshot.unlink()
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    log.info("history backed up to %s", final)
    return final


def _failed(backup_dir: Path, exc: BaseException, disk: Path) -> str:
    if is_disk_full(exc, near=disk):
        return (
            f"backup to {backup_dir} failed: the disk holding {disk} is full; free some space "
            "there (the history itself is not affected)"
        )
    return f"backup to {backup_dir} failed: {exc}"


def select_kept(
    backups: list[BackupFile], keep_daily: int, keep_weekly: int
) -> tuple[list[BackupFile], list[BackupFile]]:
    """Split backups into (kept, dropped): the newest backup of each of the last `keep_daily`
    days that have one, and the newest of each of the last `keep_weekly` ISO weeks (UTC).
    A backup can count for both; the newest backup is always kept."""
    ordered = sorted(backups, key=lambda b: b.taken_at, reverse=True)
    days: set[object] = set()
    weeks: set[object] = set()
    kept: list[BackupFile] = []
    dropped: list[BackupFile] = []
    for index, backup in enumerate(ordered):
        day = backup.taken_at.date()
        iso = backup.taken_at.isocalendar()
        week = (iso.year, iso.week)
        keep = index == 0
        if day not in days and len(days) < keep_daily:
            days.add(day)
            keep = True
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.add(week)
            keep = True
        (kept if keep else dropped).append(backup)
    return kept, dropped


def rotate_backups(backup_dir: Path, keep_daily: int, keep_weekly: int) -> list[Path]:
    """Delete the backups that `select_kept` does not keep; returns what was deleted."""
    _kept, dropped = select_kept(list_backups(backup_dir), keep_daily, keep_weekly)
    deleted: list[Path] = []
    for backup in dropped:
        try:
            backup.path.unlink()
        except OSError as exc:
            log.warning("could not delete old backup %s: %s", backup.path.name, exc.strerror)
            continue
        deleted.append(backup.path)
    if deleted:
        log.info("backup rotation deleted %d old backup(s)", len(deleted))
    return deleted


# ---- moving aside and restoring ----------------------------------------------------------


def _stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def move_aside(db_path: Path, label: str, *, now: datetime | None = None) -> Path | None:
    """Rename the database and its -wal/-shm/-journal to `<name>.<label>-<UTC time>`, keeping
    them together so the set can still be opened. Nothing is deleted. Returns the new path of
    the main file (None if there was none)."""
    base = f"{db_path.name}.{label}-{_stamp(now)}"
    target = db_path.with_name(base)
    counter = 1
    while any(target.with_name(target.name + s).exists() for s in ("", *_SIDECARS)):
        target = db_path.with_name(f"{base}-{counter}")
        counter += 1
    moved: Path | None = None
    for suffix in ("", *_SIDECARS):
        source = db_path.with_name(db_path.name + suffix)
        if source.exists():
            os.replace(source, target.with_name(target.name + suffix))
            if not suffix:
                moved = target
    _fsync_dir(db_path.parent)
    return moved


def install_backup(db_path: Path, backup: Path, *, now: datetime | None = None) -> Path | None:
    """Put a copy of `backup` in place of the database. The current file (if any) is moved
    aside as `*.replaced-<time>` and returned. The caller must hold the database lock and
    should have checked the backup."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{db_path.name}.restore-", dir=db_path.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        _copy_durably(backup, temp)
        replaced = move_aside(db_path, "replaced", now=now)
        os.replace(temp, db_path)
        _fsync_dir(db_path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return replaced


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    replaced: Path | None  # where the previous database was moved, if there was one


def restore_backup(db_path: Path, backup: Path, *, now: datetime | None = None) -> RestoreResult:
    """Replace the database with `backup` after checking it. Refuses (HistoryError `in_use`)
    while a Petvisor process has the database open, and (`damaged`, `newer_schema`, ...) when
    the backup is not good."""
    result = check_database(backup, immutable=True)
    if result.problem is not None:
        raise HistoryError(result.problem.code, f"{backup}: {result.problem.message}")
    lock = DatabaseLock(lock_path_for(db_path))
    if not lock.acquire():
        raise HistoryError("in_use", in_use_message(db_path, "close it before restoring"))
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        replaced = install_backup(db_path, backup, now=now)
    finally:
        lock.release()
    log.warning("history database restored from backup %s", backup.name)
    return RestoreResult(backup, replaced)


def newest_good_backup(
    backup_dir: Path,
) -> tuple[BackupFile | None, list[BackupFile]]:
    """The newest backup that passes its check, and the newer ones that did not."""
    skipped: list[BackupFile] = []
    for backup in list_backups(backup_dir):
        result = check_database(backup.path, immutable=True)
        if result.ok:
            return backup, skipped
        assert result.problem is not None
        log.warning("backup %s is not usable: %s", backup.path.name, result.problem.message)
        skipped.append(backup)
    return None, skipped
