"""Start-up: open the history database, and restore it from a backup when it is missing or
damaged. Never silent: whatever was done comes back as a `RecoveryReport` for the screen and
is logged at WARNING. A damaged file is moved aside (`*.damaged-<UTC time>`), never deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from petvisor_desktop.history import backups
from petvisor_desktop.history.errors import HistoryError
from petvisor_desktop.history.lock import DatabaseLock, lock_path_for
from petvisor_desktop.history.migrations import SCHEMA_VERSION
from petvisor_desktop.history.records import RecoveryAction, RecoveryReport
from petvisor_desktop.history.store import History

if TYPE_CHECKING:
    from petvisor_desktop.settings import Settings

log = logging.getLogger(__name__)

# How long start-up waits for an admin command that briefly holds the database.
LOCK_WAIT_S = 10.0


@dataclass
class _Findings:
    action: RecoveryAction = RecoveryAction.NONE
    message: str = "The history database is healthy."
    problem: str | None = None
    damaged_path: Path | None = None
    restored_from: Path | None = None
    backup_time: datetime | None = None
    skipped: list[Path] = field(default_factory=list)
    pre_migration_backup: Path | None = None


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _restore_newest(db_path: Path, backup_dir: Path, found: _Findings, what: str) -> None:
    """Install the newest good backup, or leave the way clear for a new, empty database."""
    try:
        good, skipped = backups.newest_good_backup(backup_dir)
    except OSError as exc:
        found.action = RecoveryAction.STARTED_EMPTY
        found.message = (
            f"{what} The backup folder {backup_dir} could not be read ({exc.strerror}), so a "
            "new, empty history database was started. Check the backup folder and restore "
            "with `petvisor-desktop restore --latest` once it is reachable."
        )
        return
    found.skipped = [b.path for b in skipped]
    if good is None:
        found.action = RecoveryAction.STARTED_EMPTY
        bad = f" None of the {len(skipped)} backup(s) passed its check." if skipped else ""
        found.message = (
            f"{what}{bad} No usable backup was found in {backup_dir}, so a new, empty history "
            "database was started."
        )
        return
    backups.install_backup(db_path, good.path)
    found.action = RecoveryAction.RESTORED
    found.restored_from = good.path
    found.backup_time = good.taken_at
    skipped_note = (
        f" {len(skipped)} newer backup(s) failed their check and were skipped." if skipped else ""
    )
    found.message = (
        f"{what} It was restored from the backup of {_when(good.taken_at)}; anything recorded "
        f"after that time is lost.{skipped_note}"
    )


def _recover_damaged(db_path: Path, backup_dir: Path, found: _Findings, problem: str) -> None:
    found.problem = problem
    found.damaged_path = backups.move_aside(db_path, "damaged")
    what = (
        f"The history database was damaged ({problem}) and was moved aside to {found.damaged_path}."
    )
    _restore_newest(db_path, backup_dir, found, what)


def open_with_recovery(
    settings: Settings, *, lock_wait_s: float = LOCK_WAIT_S
) -> tuple[History, RecoveryReport]:
    """Open the configured history database for the app, repairing what can be repaired.

    - missing, with backups: restored from the newest backup that passes its check;
    - missing, no backups (first start): a new database;
    - damaged (fails quick_check, is not SQLite, or cannot be opened): moved aside, then
      restored from the newest good backup, or a new database when there is none;
    - older schema: backed up, then migrated;
    - written by a newer Petvisor: left alone, HistoryError `newer_schema`.
    Then the retention policy is applied. Raises HistoryError `in_use` when another Petvisor
    process keeps the database for longer than `lock_wait_s`."""
    storage = settings.storage
    db_path = Path(storage.db_path)
    backup_dir = Path(storage.backup_dir)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lock = DatabaseLock(lock_path_for(db_path))
    if not lock.acquire(lock_wait_s):
        raise HistoryError(
            "in_use", f"{db_path} is in use by another Petvisor process; close it and start again"
        )
    try:
        history, found = _open_locked(db_path, backup_dir, storage.retention_days, lock)
    except BaseException:
        lock.release()
        raise
    purged = history.purge_expired()
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
) -> tuple[History, _Findings]:
    found = _Findings()
    if not db_path.exists():
        # A -wal left without its database would be replayed into a new file: keep it apart.
        if any(db_path.with_name(db_path.name + s).exists() for s in ("-wal", "-shm", "-journal")):
            backups.move_aside(db_path, "orphaned")
        try:
            have_backups = bool(backups.list_backups(backup_dir))
        except OSError:
            have_backups = True  # cannot tell: let _restore_newest say so on screen
        if have_backups:
            _restore_newest(db_path, backup_dir, found, "The history database was missing.")
        else:
            found.action = RecoveryAction.CREATED
            found.message = f"A new history database was created at {db_path}."
    else:
        check = backups.check_database(db_path, quick=True)
        if check.problem is not None:
            if check.problem.code == "newer_schema":
                raise HistoryError("newer_schema", f"{db_path} {check.problem.message}")
            _recover_damaged(db_path, backup_dir, found, check.problem.message)
        elif check.schema_version is not None and 1 <= check.schema_version < SCHEMA_VERSION:
            try:
                found.pre_migration_backup = backups.backup_database(db_path, backup_dir)
            except HistoryError as exc:
                log.warning("no backup before migrating the history database: %s", exc)
    try:
        history = History.open(db_path, retention_days=retention_days, _lock=lock)
    except HistoryError as exc:
        if exc.code != "damaged" or found.damaged_path is not None:
            raise
        # Passed quick_check but SQLite still could not use it (e.g. damage quick_check
        # does not look at): treat it like any other damage, once.
        _recover_damaged(db_path, backup_dir, found, exc.message.split(": ", 1)[-1])
        history = History.open(db_path, retention_days=retention_days, _lock=lock)
    return history, found
