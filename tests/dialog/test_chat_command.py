"""`petvisor-desktop chat`, run as a user runs it: typed lines in, spoken-style replies out,
against the embedded sandbox clinic, with the conversation kept in the history."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from petvisor_desktop.settings import Settings

pytestmark = [pytest.mark.llm, pytest.mark.slow]
QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"


def test_typed_conversation_reaches_a_time_offer_and_is_recorded(
    settings: Settings, require_model: Any, tmp_path: Path
) -> None:
    require_model("llm", QUICK_LLM)
    db = tmp_path / "chat.sqlite3"
    lines = (
        "Hi, I'd like to book my cat in for her vaccinations\n"
        "Dr Norman please\n"
        "Thursday afternoon\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "petvisor_desktop",
            "chat",
            "--now",
            "2026-11-23T09:00",
            "--llm",
            QUICK_LLM,
        ],
        input=lines,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PETVISOR_DB_PATH": str(db)},
    )
    assert result.returncode == 0, result.stderr
    replies = [ln for ln in result.stdout.splitlines() if ln.startswith("assistant: ")]
    assert replies[0].startswith("assistant: Hello, welcome to")
    # The sandbox's real availability: Dr Norman's first Thursday-afternoon times.
    assert "Dr Michael Norman has 12pm, 12:15pm or 12:30pm on Thursday the 26th of November" in (
        result.stdout
    )
    with sqlite3.connect(db) as conn:
        mode, outcome = conn.execute("SELECT mode, outcome FROM conversation").fetchone()
        turns = conn.execute("SELECT count(*) FROM turn").fetchone()[0]
        checks = conn.execute(
            "SELECT count(*) FROM tool_call WHERE name = 'check_availability'"
        ).fetchone()[0]
    assert (mode, outcome) == ("chat", "abandoned")  # the caller left before booking
    assert turns == 7  # greeting + three exchanges
    assert checks == 1


def test_simulate_reports_a_missing_scenario_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "petvisor_desktop", "simulate", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "nope.json does not exist" in result.stderr
