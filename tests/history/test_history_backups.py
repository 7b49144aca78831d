"""Backups, rotation, damage detection and the start-up recovery the app relies on."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from petvisor_desktop.history import (
    SCHEMA_VERSION,
    History,
    HistoryError,
    RecoveryAction,
    backup_database,
    check_database,
    list_backups,
    open_with_recovery,
    restore_backup,
    rotate_backups,
)
from petvisor_desktop.history.backups import BackupFile, select_kept
from petvisor_desktop.history.migrations import migrate
from petvisor_desktop.settings import Settings, StorageSettings

from .conftest import DAMAGES, fill, record_booked_conversation, utc


def _settings(db_path: Path, backup_dir: Path, **storage: int) -> Settings:
    return Settings(storage=StorageSettings(db_path=db_path, backup_dir=backup_dir, **storage))


def _make(db_path: Path, conversations: int = 12) -> list[int]:
    with History.open(db_path) as history:
        return fill(history, conversations)


# ---- backing up --------------------------------------------------------------------------


def test_a_backup_is_a_checked_single_file_with_a_utc_name(db_path: Path, tmp_path: Path) -> None:
    ids = _make(db_path, 5)
    dest = tmp_path / "share" / "backups"
    path = backup_database(db_path, dest, now=utc(2026, 11, 23, 9, 30, 5))
    assert path == dest / "petvisor-20261123T093005Z.sqlite3"
    assert sorted(p.name for p in dest.iterdir()) == [path.name]  # no temp files, no -wal
    assert check_database(path, immutable=True).ok
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("SELECT COUNT(*) FROM conversation").fetchone()[0] == len(ids)
    conn.close()
    [listed] = list_backups(dest)
    assert listed.path == path and listed.taken_at == utc(2026, 11, 23, 9, 30, 5)


def test_a_backup_of_a_damaged_database_is_discarded(db_path: Path, tmp_path: Path) -> None:
    _make(db_path)
    DAMAGES["middle"](db_path)
    dest = tmp_path / "backups"
    with pytest.raises(HistoryError) as info:
        backup_database(db_path, dest, now=utc(2026, 1, 1))
    assert info.value.code == "backup_failed"
    assert list(dest.iterdir()) == []  # nothing that looks like a backup, no temp left
    assert not list(db_path.parent.glob(".*snapshot*"))


def test_backing_up_a_missing_database_says_so(tmp_path: Path) -> None:
    with pytest.raises(HistoryError) as info:
        backup_database(tmp_path / "none.sqlite3", tmp_path / "b")
    assert info.value.code == "missing"


def test_rotation_keeps_the_newest_of_each_recent_day_and_week(
    db_path: Path, tmp_path: Path
) -> None:
    _make(db_path, 1)
    dest = tmp_path / "backups"
    # Backups at 01:00 and 13:00 every day for 6 weeks, up to Sunday 2026-11-22.
    start = utc(2026, 10, 12, 1)  # a Monday
    for day in range(42):
        for hour in (0, 12):
            backup_database(db_path, dest, now=start + timedelta(days=day, hours=hour))
    assert len(list_backups(dest)) == 84

    deleted = rotate_backups(dest, keep_daily=3, keep_weekly=3)
    kept = sorted(b.taken_at for b in list_backups(dest))
    # Daily: the 13:00 backups of the last 3 days. Weekly: the newest backup of the last
    # 3 ISO weeks, i.e. the Sundays' 13:00 backups (the newest Sunday counts for both).
    assert kept == [
        utc(2026, 11, 8, 13),
        utc(2026, 11, 15, 13),
        utc(2026, 11, 20, 13),
        utc(2026, 11, 21, 13),
        utc(2026, 11, 22, 13),
    ]
    assert len(deleted) == 84 - 5
    assert rotate_backups(dest, keep_daily=3, keep_weekly=3) == []  # stable


def test_rotation_leaves_other_files_alone(db_path: Path, tmp_path: Path) -> None:
    _make(db_path, 1)
    dest = tmp_path / "backups"
    for day in range(1, 4):
        backup_database(db_path, dest, now=utc(2026, 3, day))
    (dest / "notes.txt").write_text("keep me")
    (dest / "petvisor-old.sqlite3").write_text("not ours by name")
    rotate_backups(dest, keep_daily=1, keep_weekly=0)
    assert sorted(p.name for p in dest.iterdir()) == [
        "notes.txt",
        "petvisor-20260303T000000Z.sqlite3",
        "petvisor-old.sqlite3",
    ]


def test_select_kept_always_keeps_the_newest() -> None:
    backups = [BackupFile(Path(f"b{d}"), utc(2026, 1, d), 1) for d in range(1, 10)]
    kept, dropped = select_kept(backups, keep_daily=0, keep_weekly=1)
    assert [b.taken_at for b in kept] == [utc(2026, 1, 9)]
    assert len(dropped) == 8


# ---- checking ----------------------------------------------------------------------------


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damage_is_detected(db_path: Path, damage: str) -> None:
    _make(db_path)
    assert check_database(db_path).ok
    DAMAGES[damage](db_path)
    result = check_database(db_path)
    assert not result.ok
    assert result.problem is not None
    assert result.problem.code == ("not_sqlite" if damage == "header" else "damaged")


def test_check_tells_missing_empty_foreign_and_newer_apart(tmp_path: Path) -> None:
    assert check_database(tmp_path / "none").problem.code == "missing"  # type: ignore[union-attr]
    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")
    assert check_database(empty).problem.code == "empty"  # type: ignore[union-attr]
    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.close()
    assert check_database(foreign).problem.code == "foreign"  # type: ignore[union-attr]
    newer = tmp_path / "newer.sqlite3"
    History.open(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    assert check_database(newer).problem.code == "newer_schema"  # type: ignore[union-attr]


# ---- restoring -----------------------------------------------------------------------------


def test_restore_puts_a_backup_back_and_keeps_the_replaced_file(
    db_path: Path, tmp_path: Path
) -> None:
    with History.open(db_path) as history:
        first = record_booked_conversation(history)
        backup = history.backup(tmp_path / "backups", now=utc(2026, 2, 1))
        history.start_conversation("chat")  # after the backup
    result = restore_backup(db_path, backup)
    assert result.replaced is not None and result.replaced.exists()
    assert result.replaced.name.startswith("petvisor.sqlite3.replaced-")
    with History.open(db_path) as history:
        assert [c.id for c in history.conversations()] == [first]
    with History.open(result.replaced) as old:
        assert len(old.conversations()) == 2


def test_restore_refuses_while_petvisor_is_running(db_path: Path, tmp_path: Path) -> None:
    with History.open(db_path) as running:
        cid = running.start_conversation("kiosk")
        backup = running.backup(tmp_path / "backups", now=utc(2026, 2, 1))
        with pytest.raises(HistoryError) as info:
            restore_backup(db_path, backup)
        assert info.value.code == "in_use"
        running.add_turn(cid, "caller", "still here")  # and the live file was not touched
    assert not list(db_path.parent.glob("*.replaced-*"))


def test_restore_refuses_a_damaged_backup(db_path: Path, tmp_path: Path) -> None:
    _make(db_path)
    backup = backup_database(db_path, tmp_path / "backups", now=utc(2026, 2, 1))
    DAMAGES["middle"](backup)
    with pytest.raises(HistoryError) as info:
        restore_backup(db_path, backup)
    assert info.value.code == "damaged"
    assert check_database(db_path).ok and not list(db_path.parent.glob("*.replaced-*"))


# ---- start-up recovery ---------------------------------------------------------------------


def test_first_start_creates_a_database(db_path: Path, tmp_path: Path) -> None:
    history, report = open_with_recovery(_settings(db_path, tmp_path / "backups"))
    with history:
        assert report.action is RecoveryAction.CREATED and not report.needs_attention
        assert db_path.exists()


def test_a_healthy_database_is_just_opened(db_path: Path, tmp_path: Path) -> None:
    ids = _make(db_path, 3)
    history, report = open_with_recovery(_settings(db_path, tmp_path / "backups"))
    with history:
        assert report.action is RecoveryAction.NONE and not report.needs_attention
        assert [c.id for c in history.conversations()] == ids[::-1]


def test_a_missing_database_is_restored_from_the_newest_good_backup(
    db_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dest = tmp_path / "backups"
    with History.open(db_path) as history:
        fill(history, 2)
        history.backup(dest, now=utc(2026, 3, 1))
        fill(history, 2)
        good = history.backup(dest, now=utc(2026, 3, 2))
        fill(history, 2)
        bad = history.backup(dest, now=utc(2026, 3, 3))
    DAMAGES["header"](bad)
    db_path.unlink()

    with caplog.at_level(logging.WARNING):
        history, report = open_with_recovery(_settings(db_path, dest))
    with history:
        assert report.action is RecoveryAction.RESTORED and report.needs_attention
        assert report.restored_from == good and report.backup_time == utc(2026, 3, 2)
        assert report.skipped_backups == (bad,)
        assert "missing" in report.message and "2026-03-02 00:00 UTC" in report.message
        assert len(history.conversations()) == 4
    assert any(
        r.levelno == logging.WARNING and "restored from the backup" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_database_is_moved_aside_and_restored(
    db_path: Path, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    dest = tmp_path / "backups"
    with History.open(db_path) as history:
        ids = fill(history)
        backup = history.backup(dest, now=utc(2026, 4, 1, 12))
        fill(history, 1)
    original_size = db_path.stat().st_size
    DAMAGES[damage](db_path)
    damaged_bytes = db_path.read_bytes()
    assert not check_database(db_path).ok

    with caplog.at_level(logging.WARNING):
        history, report = open_with_recovery(_settings(db_path, dest))
    with history:
        assert report.action is RecoveryAction.RESTORED
        assert report.restored_from == backup
        assert report.problem
        assert report.damaged_path is not None
        assert report.damaged_path.name.startswith("petvisor.sqlite3.damaged-")
        assert str(report.damaged_path) in report.message
        assert [c.id for c in history.conversations(limit=100)] == ids[::-1]
    # Not deleted: moved aside, byte for byte.
    assert report.damaged_path.read_bytes() == damaged_bytes
    assert len(damaged_bytes) <= original_size
    assert check_database(db_path).ok
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_damaged_without_a_backup_starts_empty_and_says_so(db_path: Path, tmp_path: Path) -> None:
    _make(db_path)
    DAMAGES["truncated"](db_path)
    history, report = open_with_recovery(_settings(db_path, tmp_path / "backups"))
    with history:
        assert report.action is RecoveryAction.STARTED_EMPTY and report.needs_attention
        assert "no usable backup" in report.message.lower()
        assert history.conversations() == []
    assert report.damaged_path is not None and report.damaged_path.exists()


def test_a_database_from_a_newer_petvisor_is_left_alone(db_path: Path, tmp_path: Path) -> None:
    _make(db_path, 1)
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryError) as info:
        open_with_recovery(_settings(db_path, tmp_path / "backups"))
    assert info.value.code == "newer_schema"
    assert not list(db_path.parent.glob("*.damaged-*"))


def test_an_older_database_is_backed_up_before_it_is_migrated(
    db_path: Path, tmp_path: Path
) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path, isolation_level=None)
    migrate(conn, target=1)
    conn.close()
    history, report = open_with_recovery(_settings(db_path, tmp_path / "backups"))
    with history:
        assert report.migrated_to == tuple(range(2, SCHEMA_VERSION + 1))
        assert report.pre_migration_backup is not None
        conn = sqlite3.connect(report.pre_migration_backup)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        conn.close()


def test_start_up_applies_retention_and_reports_interrupted(db_path: Path, tmp_path: Path) -> None:
    with History.open(db_path) as history:
        record_booked_conversation(history, started_at=utc(2020, 1, 1))
        history.start_conversation("kiosk")  # never ended: the app "crashed"
    history, report = open_with_recovery(
        _settings(db_path, tmp_path / "backups", retention_days=30)
    )
    with history:
        assert report.interrupted_conversations == 1
        assert report.purged.conversations == 1 and report.purged.turns == 3


def test_scheduled_backup_runs_once_a_day(db_path: Path, tmp_path: Path) -> None:
    dest = tmp_path / "backups"
    with History.open(db_path) as history:
        fill(history, 1)
        first = history.backup_if_due(dest, keep_daily=2, keep_weekly=0, now=utc(2026, 5, 1, 8))
        assert first is not None and first.exists()
        same_day = utc(2026, 5, 1, 20)
        assert history.backup_if_due(dest, keep_daily=2, keep_weekly=0, now=same_day) is None
        for day in (2, 3, 4):
            assert history.backup_if_due(
                dest, keep_daily=2, keep_weekly=0, now=utc(2026, 5, day, 9)
            )
    assert [b.taken_at for b in list_backups(dest)] == [utc(2026, 5, 4, 9), utc(2026, 5, 3, 9)]


def test_a_wal_left_without_its_database_is_not_replayed(db_path: Path, tmp_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    orphan = db_path.with_name(db_path.name + "-wal")
    orphan.write_bytes(b"left over from another database")
    history, report = open_with_recovery(_settings(db_path, tmp_path / "backups"))
    with history:
        assert report.action is RecoveryAction.CREATED
        assert history.conversations() == []
    kept = list(db_path.parent.glob("petvisor.sqlite3.orphaned-*-wal"))
    assert len(kept) == 1 and kept[0].read_bytes() == b"left over from another database"


def test_paths_with_spaces_and_odd_characters(tmp_path: Path) -> None:
    db_path = tmp_path / "Clinic data #1" / "pet visor?.sqlite3"
    with History.open(db_path) as history:
        fill(history, 1)
        backup = history.backup(tmp_path / "back ups %20", now=utc(2026, 1, 1))
    assert check_database(db_path).ok and check_database(backup, immutable=True).ok
