"""`db check` and the listings only read: the database a crash left behind (a conversation
without an end, its WAL not checkpointed) is byte for byte the same after them. Repairs are
asked for: `db repair` closes the cut-off conversation as abandoned, and restores a damaged
file from the newest good backup, as start-up does."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from petvisor_desktop.history import History
from tests.history.conftest import CliEnv, CliResult, damage_middle, fill

CRASH = r"""
import os, sys
from pathlib import Path
from petvisor_desktop.history import History

history = History.open(Path(sys.argv[1]))
done = history.start_conversation("kiosk")
history.add_turn(done, "caller", "a finished one")
history.end_conversation(done, "no_booking")
cut = history.start_conversation("kiosk")
history.add_turn(cut, "caller", "cut off mid-sentence")
os._exit(0)  # as a power cut would: no close, no checkpoint
"""


def rows(db_path: Path) -> list[str]:
    """Every row of every table, read without writing."""
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def files(db_path: Path) -> dict[str, bytes]:
    """The database and its WAL (the -shm is SQLite's shared index, rebuilt by any reader)."""
    found = {}
    for suffix in ("", "-wal"):
        path = db_path.with_name(db_path.name + suffix)
        if path.exists():
            found[suffix or "db"] = path.read_bytes()
    return found


def crash_leaves(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", CRASH, str(db_path)], check=True, timeout=60)


def outcome(db_path: Path, conversation_id: int) -> tuple[str | None, str | None]:
    with History.open(db_path, repair=False) as reader:
        detail = reader.conversation(conversation_id)
        assert detail is not None
        return detail.info.outcome, detail.info.end_reason


def test_db_check_leaves_the_file_byte_for_byte_and_the_listings_change_no_row(
    cli_env: CliEnv, cli: Callable[..., CliResult]
) -> None:
    crash_leaves(cli_env.db_path)
    before = files(cli_env.db_path)
    assert "-wal" in before  # the crash left its WAL
    data = rows(cli_env.db_path)

    checked = cli("db", "check")
    assert checked.status == 0, checked.err
    assert "1 conversation(s) have no end recorded" in checked.out
    assert "`petvisor-desktop db repair`" in checked.out
    assert files(cli_env.db_path) == before
    # The listings read through SQLite like the app (which may fold the WAL into the file
    # when it closes), so: not one row changed.
    for command in (
        ("conversations", "list"),
        ("conversations", "show", "2"),
        ("conversations", "messages", "2"),
        ("users", "list"),
        ("db", "check", "--backups"),
    ):
        assert cli(*command).status == 0, command
    assert rows(cli_env.db_path) == data
    assert outcome(cli_env.db_path, 2) == (None, None)  # still without an end


def test_db_repair_closes_what_a_crash_cut_off(
    cli_env: CliEnv, cli: Callable[..., CliResult]
) -> None:
    crash_leaves(cli_env.db_path)
    repaired = cli("db", "repair")
    assert repaired.status == 0, repaired.err
    assert "1 conversation(s) cut off by a crash closed" in repaired.out
    assert outcome(cli_env.db_path, 2) == ("abandoned", "interrupted")
    assert outcome(cli_env.db_path, 1) == ("no_booking", None)
    again = cli("db", "repair")
    assert "0 conversation(s) cut off by a crash closed" in again.out
    assert "no end recorded" not in cli("db", "check").out


def test_db_check_reports_damage_and_db_repair_restores_the_newest_backup(
    cli_env: CliEnv, cli: Callable[..., CliResult]
) -> None:
    with History.open(cli_env.db_path) as history:
        kept = fill(history, conversations=14)
    assert cli("backup").status == 0
    damage_middle(cli_env.db_path)
    damaged = cli_env.db_path.read_bytes()

    checked = cli("db", "check")
    assert checked.status == 1 and "Traceback" not in checked.err
    assert "is damaged" in checked.err and "`petvisor-desktop db repair` moves it" in checked.err
    assert cli_env.db_path.read_bytes() == damaged  # a check never repairs

    repaired = cli("db", "repair")
    assert repaired.status == 0, repaired.err
    assert "It was restored from the backup of" in repaired.out
    assert cli("db", "check").status == 0
    with History.open(cli_env.db_path, repair=False) as history:
        assert [c.id for c in history.conversations(limit=100)] == sorted(kept, reverse=True)
    (aside,) = cli_env.db_path.parent.glob("petvisor.sqlite3.damaged-*[!lm]")
    assert aside.read_bytes() == damaged  # moved aside, never deleted


def test_db_repair_with_nothing_to_repair_says_so(
    cli_env: CliEnv, cli: Callable[..., CliResult]
) -> None:
    result = cli("db", "repair")
    assert result.status == 1
    assert result.err.strip() == (
        f"petvisor-desktop: there is no history database at {cli_env.db_path} to repair "
        "(`db init` makes one)"
    )
