"""Fixtures for the history tests: real SQLite files in tmp_path, the command line run through
`petvisor_desktop.cli.main`, and ways to damage a database file like a disk or a crash would."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from petvisor_desktop.cli import main
from petvisor_desktop.history import History

PHONE = "020 7946 0000"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "petvisor.sqlite3"


@pytest.fixture
def history(db_path: Path) -> Iterator[History]:
    h = History.open(db_path)
    yield h
    h.close()


@dataclass
class CliEnv:
    db_path: Path
    backup_dir: Path
    log_dir: Path


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliEnv:
    """Point the command line's settings into tmp_path (no settings file is found because the
    user's config folder is an empty tmp folder)."""
    env = CliEnv(
        db_path=tmp_path / "data" / "petvisor.sqlite3",
        backup_dir=tmp_path / "backups",
        log_dir=tmp_path / "logs",
    )
    for var in list(os.environ):
        if var.startswith(("PETVISOR_", "VETSTORIA_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PETVISOR_DB_PATH", str(env.db_path))
    monkeypatch.setenv("PETVISOR_BACKUP_DIR", str(env.backup_dir))
    monkeypatch.setenv("PETVISOR_LOG_DIR", str(env.log_dir))
    monkeypatch.setenv("PETVISOR_TIMEZONE", "Europe/London")
    return env


@dataclass
class CliResult:
    status: int
    out: str
    err: str


@pytest.fixture
def cli(cli_env: CliEnv, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., CliResult]]:
    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        status = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(status, captured.out, captured.err)

    yield run
    # main() installs log handlers on the root logger; do not leave them to later tests.
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_petvisor", False):
            root.removeHandler(handler)
            handler.close()


def record_booked_conversation(
    history: History,
    *,
    phone: str = PHONE,
    first: str = "Jane",
    last: str = "Doe",
    pet: str = "Rex",
    email: str = "jane.doe@example.com",
    started_at: datetime | None = None,
) -> int:
    """A whole kiosk conversation that ends in a confirmed booking, with timings."""
    cid = history.start_conversation("kiosk", started_at=started_at)
    t1 = history.add_turn(
        cid,
        "caller",
        f"Hi, I'm {first} {last}, my number is {phone}, I'd like a vaccination for {pet}",
        latency={"end_of_turn_ms": 700.0, "stt_ms": 210.5},
        tokens_in=None,
    )
    t2 = history.add_turn(
        cid,
        "assistant",
        f"Thanks {first}. Is {pet} a dog or a cat?",
        expecting="species",
        latency={"llm_first_token_ms": 320.0, "llm_total_ms": 900.0, "response_ms": 1350.0},
        tokens_in=412,
        tokens_out=18,
    )
    history.add_tool_call(
        cid, t1, "find_slots", {"species": "Dog", "phone": phone, "owner": first}, "ok", 42.0
    )
    history.add_booking(
        cid,
        status="confirmed",
        appointment_ids=[90001],
        slot_start="2026-11-23T09:00:00+00:00",
        schedule_id=85267,
        partition_id=1,
        species="Dog",
        appointment_type="Vaccinations",
        clinician="Dr Amy Roberts",
        pet_name=pet,
        owner_first_name=first,
        owner_last_name=last,
        phone=phone,
        email=email,
        notes=f"{pet} is nervous",
    )
    history.add_turn(cid, "assistant", f"You're booked, {first}.", tokens_in=500, tokens_out=9)
    assert t2 > t1
    history.end_conversation(cid, "booked", f"{first} {last} booked a vaccination for {pet}")
    return cid


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def damage_middle(path: Path) -> None:
    """Overwrite three pages in the middle of the file with garbage, as a bad disk would."""
    size = path.stat().st_size
    assert size >= 8 * 4096, "make the database bigger before damaging it"
    with path.open("r+b") as fh:
        fh.seek((size // 2) // 4096 * 4096)
        fh.write(bytes((i * 131 + 7) % 256 for i in range(3 * 4096)))


def truncate_half(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 2)


def garbage_header(path: Path) -> None:
    with path.open("r+b") as fh:
        fh.write(b"this is not sqlite at all")


DAMAGES: dict[str, Callable[[Path], None]] = {
    "middle": damage_middle,
    "truncated": truncate_half,
    "header": garbage_header,
}


def fill(history: History, conversations: int = 12, turns: int = 4) -> list[int]:
    """Enough data for the file to span many pages, in few transactions: every commit is
    fsynced (synchronous=FULL), which is what makes a test slow on a busy disk."""
    ids = []
    for n in range(conversations):
        cid = history.start_conversation("kiosk")
        for t in range(turns):
            role = "caller" if t % 2 == 0 else "assistant"
            history.add_turn(cid, role, f"turn {t} of conversation {n} " + "words " * 250)
        history.end_conversation(cid, "no_booking")
        ids.append(cid)
    return ids
