"""benchmarks/bench_unattended.py at a tiny size: the figures it prints come from real runs
and say what they should. Two conversations killed mid-way are found interrupted and on the
worklist after a clean start; three conversations while Vetstoria flaps book nothing twice and
claim nothing Vetstoria did not confirm; a short soak gives numeric slopes. The small
language model keeps this to about a minute (the benchmark itself runs the app's default)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.llm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SMALL_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"


def test_the_unattended_benchmark_at_a_tiny_size(
    tmp_path: Path, require_model: Callable[..., object]
) -> None:
    require_model("llm", SMALL_LLM)
    out = tmp_path / "figures.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_unattended.py")]
    command += ["--llm", SMALL_LLM, "--json", str(out), "--keep", str(tmp_path / "work")]
    command += ["--conversations", "2", "--kill-window-s", "2"]  # a kill within 2 s of start
    # A typed booking the rules read whole takes about 0.1 s: three of them, and the first
    # stop within 0.05-0.15 s of the start, so that they meet Vetstoria down.
    command += ["--flap-conversations", "3", "--flap-up-s", "0.1", "--flap-down-s", "0.5"]
    command += ["--minutes", "0.34", "--sample-s", "1", "--warmup-s", "4"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert "kill: 2 conversations killed" in done.stdout

    kill = figures["kill"]
    assert kill["conversations_killed"] == 2
    assert kill["checks_clean"] == 2
    assert kill["restarts"] >= 2 and kill["clean_restarts"] == kill["restarts"]
    assert kill["bookings_without_status"] == 0
    assert kill["vetstoria_bookings_not_in_history"] == 0
    # Killed within 2 s of the greeting, before their goodbye: both cut off, both on the
    # worklist, through the History and through `worklist --json` alike.
    assert kill["interrupted_conversations"] == 2
    assert kill["interrupted_on_worklist"] == 2
    assert kill["interrupted_on_worklist_cli"] == 2
    assert kill["of_which_unconfirmed_on_worklist"] == kill["bookings_in_flight_at_the_kill"]
    assert kill["problems"] == []

    flap = figures["flap"]
    assert flap["conversations"] == 3 and flap["vetstoria_downs"] >= 1
    assert flap["double_bookings_same_slot"] == 0
    assert flap["double_bookings_same_caller"] == 0
    assert flap["booked_claims_without_201"] == 0
    assert flap["vetstoria_bookings_not_in_history"] == 0
    assert flap["history_booked_not_in_vetstoria"] == 0
    assert flap["of_which_on_worklist"] == flap["failed_bookings_or_handoffs"]

    soak = figures["soak"]
    assert soak["conversations"] >= 1 and soak["exceptions"] == 0 and soak["ended_cleanly"]
    assert soak["samples_fitted"] >= 5
    for key in ("mb_per_hour", "threads_per_hour", "fds_per_hour"):
        assert isinstance(soak[key], float), key
    assert soak["rss_mb_first"] > 50  # a loaded model is resident
    assert soak["threads_max"] >= 2 and soak["fds_max"] >= 3
    assert soak["error_log_lines"] == 0

    assert figures["must_be_zero_failed"] == []
