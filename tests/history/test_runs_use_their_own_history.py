"""`simulate`, `selftest` and the benchmarks record into a temporary history, deleted after the
run, unless asked for one with `--db PATH`: the configured (clinic's) history is left exactly
as it was, and no lock of it is taken, so they can run beside the app."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from petvisor_desktop.history import History
from petvisor_desktop.history.scratch import run_history
from petvisor_desktop.settings import load_settings
from petvisor_desktop.simulate import Scenario, run_scenario
from tests.dialog.scripted_model import ScriptedChatModel
from tests.history.conftest import CliEnv, CliResult, record_booked_conversation

ROOT = Path(__file__).resolve().parents[2]
EMERGENCY = ROOT / "tests" / "scenarios" / "emergency-hit-by-car.json"  # no model call
QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"


@pytest.fixture
def clinic_history(cli_env: CliEnv) -> dict[str, bytes]:
    """The configured history, with a conversation in it; returns its files' bytes."""
    with History.open(cli_env.db_path) as history:
        record_booked_conversation(history)
    return snapshot(cli_env.db_path)


def snapshot(db_path: Path) -> dict[str, bytes]:
    """The database and its WAL (a reader may leave an empty WAL and SQLite's shared index,
    the -shm, beside it: neither holds data), and what else is in its folder."""
    wal = db_path.with_name(db_path.name + "-wal")
    others = sorted(
        p.name for p in db_path.parent.iterdir() if not p.name.endswith(("-wal", "-shm"))
    )
    return {
        "db": db_path.read_bytes(),
        "wal": wal.read_bytes() if wal.exists() else b"",
        "files": "\n".join(others).encode(),
    }


def scratch_folders(prefix: str) -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"{prefix}*")}


def test_a_run_without_db_records_into_a_temporary_history_deleted_after(
    clinic_history: dict[str, bytes], cli_env: CliEnv
) -> None:
    before = scratch_folders("petvisor-run-")
    with run_history(None) as history:
        assert history.db_path.parent.name.startswith("petvisor-run-")
        assert history.db_path != cli_env.db_path
        history.start_conversation("chat")
        folder = history.db_path.parent
    assert not folder.exists()
    assert scratch_folders("petvisor-run-") == before
    assert snapshot(cli_env.db_path) == clinic_history


def test_a_run_with_db_records_there_and_leaves_it(tmp_path: Path) -> None:
    asked = tmp_path / "sim.sqlite3"
    with run_history(asked) as history:
        conversation = history.start_conversation("chat")
    with History.open(asked, repair=False) as reader:
        assert reader.conversation(conversation) is not None


def test_a_simulated_scenario_leaves_the_clinics_history_untouched(
    clinic_history: dict[str, bytes], cli_env: CliEnv
) -> None:
    before = scratch_folders("petvisor-sim-")
    report = run_scenario(
        Scenario.load(EMERGENCY), load_settings(), ScriptedChatModel(lambda _prompt: None)
    )
    assert report["checks"]["passed"], report["checks"]
    assert snapshot(cli_env.db_path) == clinic_history
    assert scratch_folders("petvisor-sim-") == before


def test_selftest_only_reads_the_clinics_history_unless_given_db(
    clinic_history: dict[str, bytes],
    cli_env: CliEnv,
    cli: Callable[..., CliResult],
    tmp_path: Path,
) -> None:
    result = cli("selftest", "--only", "database")
    assert result.status == 0, result.err
    assert snapshot(cli_env.db_path) == clinic_history

    asked = tmp_path / "selftest.sqlite3"
    assert cli("selftest", "--only", "database", "--db", str(asked)).status == 0
    with History.open(asked, repair=False) as reader:
        assert reader.count_conversations(outcome="no_booking") == 1
    assert snapshot(cli_env.db_path) == clinic_history


@pytest.mark.llm
@pytest.mark.slow
def test_the_simulate_command_leaves_the_clinics_history_untouched(
    clinic_history: dict[str, bytes],
    cli_env: CliEnv,
    tmp_path: Path,
    require_model: Any,
) -> None:
    require_model("llm", QUICK_LLM)
    env = {**os.environ, "PETVISOR_DB_PATH": str(cli_env.db_path)}
    command = [sys.executable, "-m", "petvisor_desktop", "simulate", str(EMERGENCY)]
    ran = subprocess.run(
        [*command, "--llm", QUICK_LLM], env=env, capture_output=True, text=True, timeout=600
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("PASS emergency-hit-by-car")
    assert snapshot(cli_env.db_path) == clinic_history

    asked = tmp_path / "asked.sqlite3"
    ran = subprocess.run(
        [*command, "--llm", QUICK_LLM, "--db", str(asked)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr
    with History.open(asked, repair=False) as reader:
        assert reader.count_conversations(outcome="handoff") == 1
    assert snapshot(cli_env.db_path) == clinic_history
