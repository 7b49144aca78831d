"""Start-up repair of the history database file: before it is opened, restore it from a backup
when it is missing or damaged, and back it up before a migration. Never silent: whatever was
done is noted in `Findings`, which `history.store.open_with_recovery` turns into the
`RecoveryReport` for the screen (and logs at WARNING). A damaged file is moved aside
(`*.damaged-<UTC time>`), never deleted.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from petvisor_desktop.history import backups
from petvisor_desktop.history.errors import HistoryError
from petvisor_desktop.history.migrations import SCHEMA_VERSION
from petvisor_desktop.history.records import RecoveryAction

log = logging.getLogger(__name__)


@dataclass
class Findings:
    """What start-up repair did to the file, for the RecoveryReport."""

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


def _restore_newest(db_path: Path, backup_dir: Path, found: Findings, what: str) -> None:
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


def recover_damaged(db_path: Path, backup_dir: Path, found: Findings, problem: str) -> None:
    """Move a damaged file aside and put the newest good backup in its place."""
    found.problem = problem
    found.damaged_path = backups.move_aside(db_path, "damaged")
    what = (
        f"The history database was damaged ({problem}) and was moved aside to {found.damaged_path}."
    )
    _restore_newest(db_path, backup_dir, found, what)


def repair_before_open(db_path: Path, backup_dir: Path) -> Findings:
    """Make the file at `db_path` fit to open: restore a missing or damaged one from the newest
    good backup (or leave the way clear for a new one), back up an older schema before its
    migration. Raises HistoryError `newer_schema` for a file from a newer Petvisor."""
    found = Findings()
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
            if check.problem.code in ("newer_schema", "disk_full"):  # no damage: leave it be
                raise HistoryError(check.problem.code, f"{db_path} {check.problem.message}")
            recover_damaged(db_path, backup_dir, found, check.problem.message)
        elif check.schema_version is not None and 1 <= check.schema_version < SCHEMA_VERSION:
            try:
                found.pre_migration_backup = backups.backup_database(db_path, backup_dir)
            except HistoryError as exc:
                log.warning("no backup before migrating the history database: %s", exc)
    return found


def count_unended(db_path: Path) -> int | None:
    """How many conversations have no end recorded (in progress, or cut off by a crash), read
    without changing the file; None when it cannot be read."""
    uri = f"{db_path.resolve().as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT COUNT(*) FROM conversation WHERE ended_at IS NULL").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return int(row[0])
