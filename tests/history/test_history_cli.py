"""Every history command, run through `petvisor_desktop.cli.main` on real files in tmp_path."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from petvisor_desktop.history import History, backup_database, check_database, list_backups

from .conftest import DAMAGES, CliEnv, CliResult, fill, record_booked_conversation, utc

Cli = Callable[..., CliResult]


def _seed(env: CliEnv) -> tuple[int, int]:
    with History.open(env.db_path) as history:
        booked = record_booked_conversation(history, started_at=utc(2026, 11, 2, 9, 5))
        chat = history.start_conversation("chat", started_at=utc(2026, 11, 3, 10))
        history.add_turn(chat, "caller", "Do you see rabbits?")
        history.end_conversation(chat, "no_booking", "asked about rabbits")
    return booked, chat


def test_db_init_and_check(cli: Cli, cli_env: CliEnv) -> None:
    result = cli("db", "init")
    assert result.status == 0, result.err
    assert str(cli_env.db_path) in result.out and "migrations applied: v1, v2, v3" in result.out
    assert cli("db", "init").out.count("nothing to do") == 1

    result = cli("db", "check")
    assert result.status == 0 and result.out.startswith("ok:")


def test_db_without_a_sub_command_prints_help(cli: Cli) -> None:
    result = cli("db")
    assert result.status == 2 and "init" in result.out and "check" in result.out


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_db_check_fails_clearly_on_a_damaged_file(cli: Cli, cli_env: CliEnv, damage: str) -> None:
    with History.open(cli_env.db_path) as history:
        fill(history)
    DAMAGES[damage](cli_env.db_path)
    result = cli("db", "check")
    assert result.status == 1
    expected = "not an SQLite database" if damage == "header" else "malformed"
    assert expected in result.err
    assert "restore --latest" in result.err
    assert "Traceback" not in result.err


def test_db_check_on_a_missing_file(cli: Cli, cli_env: CliEnv) -> None:
    result = cli("db", "check")
    assert result.status == 1 and "does not exist" in result.err


def test_db_check_backups(cli: Cli, cli_env: CliEnv) -> None:
    _seed(cli_env)
    good = backup_database(cli_env.db_path, cli_env.backup_dir, now=utc(2026, 11, 1))
    bad = backup_database(cli_env.db_path, cli_env.backup_dir, now=utc(2026, 11, 2))
    DAMAGES["truncated"](bad)
    result = cli("db", "check", "--backups")
    assert result.status == 1
    assert f"ok: backup {good.name}" in result.out and f"BAD: backup {bad.name}" in result.out


def test_reading_commands_on_a_damaged_database_fail_without_a_traceback(
    cli: Cli, cli_env: CliEnv
) -> None:
    with History.open(cli_env.db_path) as history:
        fill(history)
    DAMAGES["middle"](cli_env.db_path)
    # A search reads every turn, so it reaches the damaged pages.
    result = cli("conversations", "list", "--limit", "100", "--search", "zebra")
    assert result.status == 1
    assert "malformed" in result.err and "restore --latest" in result.err


def test_commands_need_a_database(cli: Cli) -> None:
    result = cli("conversations", "list")
    assert result.status == 1 and "db init" in result.err


def test_conversations_list_show_and_messages(cli: Cli, cli_env: CliEnv) -> None:
    booked, chat = _seed(cli_env)
    result = cli("conversations", "list")
    assert result.status == 0
    lines = result.out.splitlines()
    assert lines[0].split()[:3] == ["ID", "STARTED", "LENGTH"]
    assert lines[1].split()[0] == str(chat) and lines[2].split()[0] == str(booked)
    assert "2026-11-02 09:05:00" in result.out  # clinic time (GMT in November)
    assert "asked about rabbits" in result.out

    assert cli("conversations", "list", "--limit", "1").out.count("\n") == 2
    only = cli("conversations", "list", "--outcome", "booked").out.splitlines()
    assert len(only) == 2 and only[1].split()[0] == str(booked)
    found = cli("conversations", "list", "--search", "rabbits").out.splitlines()
    assert len(found) == 2 and found[1].split()[0] == str(chat)
    assert cli("conversations", "list", "--outcome", "error").out.strip() == "no conversations"

    shown = cli("conversations", "show", str(booked))
    assert shown.status == 0
    for text in ("outcome:  booked", "booking 1: confirmed", "pet: Rex", "Dr Amy Roberts"):
        assert text in shown.out
    assert "tool find_slots: ok in 42 ms" in shown.out

    messages = cli("conversations", "messages", str(booked))
    assert messages.status == 0
    lines = messages.out.splitlines()
    assert len(lines) == 3
    assert "caller: Hi, I'm Jane Doe" in lines[0] and "stt 210 ms" in lines[0]
    assert "response 1350 ms" in lines[1] and "tokens 412/18" in lines[1]

    missing = cli("conversations", "show", "999")
    assert missing.status == 1 and "no conversation 999" in missing.err
    assert cli("conversations", "messages", "999").status == 1


def test_conversations_export(cli: Cli, cli_env: CliEnv, tmp_path: Path) -> None:
    booked, _ = _seed(cli_env)
    result = cli("conversations", "export", str(booked), "--format", "json")
    assert result.status == 0
    data = json.loads(result.out)
    assert data["conversation"]["id"] == booked and data["conversation"]["outcome"] == "booked"
    assert [m["role"] for m in data["messages"]] == ["caller", "assistant", "assistant"]
    assert data["messages"][1]["llm_total_ms"] == 900.0
    assert data["bookings"][0]["appointment_ids"] == ["90001"]
    assert data["tool_calls"][0]["arguments"]["species"] == "Dog"

    out = tmp_path / "export" / "c.csv"
    out.parent.mkdir()
    result = cli("conversations", "export", str(booked), "--format", "csv", "--output", str(out))
    assert result.status == 0 and str(out) in result.out
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["role"] for r in rows] == ["caller", "assistant", "assistant"]
    assert rows[0]["stt_ms"] == "210.5" and rows[0]["tokens_in"] == ""
    assert rows[1]["tokens_out"] == "18" and rows[1]["expecting"] == "species"


def test_users_commands(cli: Cli, cli_env: CliEnv) -> None:
    result = cli("users", "create", "amy@clinic.example", "--name", "Amy", "--pin", "4821")
    assert result.status == 0, result.err
    assert "4821" not in (cli_env.log_dir / "petvisor.log").read_text()
    short = cli("users", "create", "bob@clinic.example", "--pin", "12")
    assert short.status == 1 and "at least 4 digits" in short.err
    listed = cli("users", "list")
    assert "amy@clinic.example" in listed.out and "bob@" not in listed.out

    assert cli("users", "verify", "amy@clinic.example", "--pin", "4821").status == 0
    wrong = cli("users", "verify", "amy@clinic.example", "--pin", "4822")
    assert wrong.status == 1 and "not accepted" in wrong.err
    assert cli("users", "verify", "who@clinic.example", "--pin", "4821").status == 1

    assert cli("users", "disable", "amy@clinic.example").status == 0
    disabled = cli("users", "verify", "amy@clinic.example", "--pin", "4821")
    assert disabled.status == 1 and "disabled" in disabled.err
    assert "disabled" in cli("users", "list").out
    assert cli("users", "disable", "who@clinic.example").status == 1
    assert cli("users", "enable", "amy@clinic.example").status == 0
    assert cli("users", "verify", "amy@clinic.example", "--pin", "4821").status == 0


def test_users_create_reads_the_pin_from_stdin(cli_env: CliEnv, tmp_path: Path) -> None:
    env = {**os.environ}
    run = [sys.executable, "-m", "petvisor_desktop", "users"]
    created = subprocess.run(
        [*run, "create", "nurse@clinic.example"],
        input="hunter2hunter2\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    ok = subprocess.run(
        [*run, "verify", "nurse@clinic.example"],
        input="hunter2hunter2\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert ok.returncode == 0 and "accepted" in ok.stdout
    with History.open(cli_env.db_path) as history:
        assert not history.verify_user("nurse@clinic.example", "hunter2").ok


def test_backup_and_rotation(cli: Cli, cli_env: CliEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(cli_env)
    for day in (1, 2, 3):
        backup_database(cli_env.db_path, cli_env.backup_dir, now=utc(2025, 1, day))
    monkeypatch.setenv("PETVISOR_STORAGE_BACKUPS_KEEP_DAILY", "2")
    monkeypatch.setenv("PETVISOR_STORAGE_BACKUPS_KEEP_WEEKLY", "0")
    result = cli("backup")
    assert result.status == 0, result.err
    assert "rotation deleted 2 older backup(s)" in result.out
    kept = list_backups(cli_env.backup_dir)
    assert [b.taken_at for b in kept][1:] == [utc(2025, 1, 3)]
    assert check_database(kept[0].path, immutable=True).ok


def test_backup_without_a_database(cli: Cli) -> None:
    result = cli("backup")
    assert result.status == 1 and "no database" in result.err


def test_restore_list_file_and_latest(cli: Cli, cli_env: CliEnv) -> None:
    booked, chat = _seed(cli_env)
    older = backup_database(cli_env.db_path, cli_env.backup_dir, now=utc(2026, 11, 4, 8))
    with History.open(cli_env.db_path) as history:
        extra = history.start_conversation("kiosk")
        history.end_conversation(extra, "abandoned")
    newer = backup_database(cli_env.db_path, cli_env.backup_dir, now=utc(2026, 11, 5, 8))

    listed = cli("restore", "--list")
    assert listed.status == 0
    lines = listed.out.splitlines()
    assert lines[1].startswith(newer.name) and lines[2].startswith(older.name)

    result = cli("restore", older.name)  # a bare name is looked up in the backup folder
    assert result.status == 0, result.err
    assert "previous database was kept as" in result.out
    with History.open(cli_env.db_path) as history:
        assert {c.id for c in history.conversations()} == {booked, chat}

    DAMAGES["middle" if newer.stat().st_size >= 8 * 4096 else "header"](newer)
    latest = cli("restore", "--latest")
    assert latest.status == 0
    assert f"skipping {newer.name}" in latest.err and older.name in latest.out

    missing = cli("restore", "nope.sqlite3")
    assert missing.status == 1 and "no backup file" in missing.err
    with pytest.raises(SystemExit) as usage:
        cli("restore")
    assert usage.value.code == 2


def test_restore_refuses_while_the_database_is_open(cli: Cli, cli_env: CliEnv) -> None:
    _seed(cli_env)
    backup_database(cli_env.db_path, cli_env.backup_dir, now=utc(2026, 11, 4))
    with History.open(cli_env.db_path):
        result = cli("restore", "--latest")
    assert result.status == 1 and "in use" in result.err


def test_forget_phone(cli: Cli, cli_env: CliEnv) -> None:
    booked, chat = _seed(cli_env)
    result = cli("forget", "--phone", "+44 20 7946 0000")
    assert result.status == 0, result.err
    assert "removed from 1 conversation(s)" in result.out
    with History.open(cli_env.db_path) as history:
        assert history.find_client_by_phone("020 7946 0000") is None
        assert all(m.text == "" for m in history.messages(booked))
        assert history.messages(chat)[0].text == "Do you see rabbits?"
    bad = cli("forget", "--phone", "call me")
    assert bad.status == 1 and "not a phone number" in bad.err


@pytest.mark.parametrize("command", [("retention", "purge"), ("db", "purge")])
def test_retention_purge(
    cli: Cli, cli_env: CliEnv, monkeypatch: pytest.MonkeyPatch, command: tuple[str, str]
) -> None:
    with History.open(cli_env.db_path) as history:
        old = record_booked_conversation(history, started_at=utc(2020, 1, 1))
        new = history.start_conversation("kiosk")
        history.add_turn(new, "caller", "hello")
    monkeypatch.setenv("PETVISOR_RETENTION_DAYS", "30")
    result = cli(*command)
    assert result.status == 0, result.err
    assert "older than 30 days" in result.out and "from 1 conversation(s)" in result.out
    with History.open(cli_env.db_path) as history:
        assert all(m.text == "" for m in history.messages(old))
        assert history.messages(new)[0].text == "hello"
        assert history.count_conversations() == 2
