"""A kiosk process killed in the middle of a conversation leaves a usable database: every
committed turn is there, nothing is half-written, and the next start closes the conversation
as abandoned (interrupted)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from petvisor_desktop.history import History, check_database

WRITER = r"""
import sys
from pathlib import Path
from petvisor_desktop.history import History

history = History.open(Path(sys.argv[1]))
cid = history.start_conversation("kiosk")
print("conversation", cid, flush=True)
n = 0
while True:
    role = "caller" if n % 2 == 0 else "assistant"
    turn = history.add_turn(
        cid, role, f"turn {n} " + "blah " * 50, latency={"stt_ms": float(n)}, tokens_in=n
    )
    print("turn", turn, n, flush=True)
    n += 1
"""


def _start_writer(db_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], turns: int) -> tuple[int, list[tuple[int, int]]]:
    assert proc.stdout is not None
    header = proc.stdout.readline().split()
    assert header[:1] == ["conversation"], proc.stderr.read() if proc.stderr else header
    committed: list[tuple[int, int]] = []
    while len(committed) < turns:
        line = proc.stdout.readline().split()
        assert line, "the writer stopped early"
        committed.append((int(line[1]), int(line[2])))
    return int(header[1]), committed


@pytest.mark.parametrize("turns_before_kill", [1, 40, 150])
def test_sigkill_mid_conversation_leaves_a_consistent_database(
    db_path: Path, turns_before_kill: int
) -> None:
    db_path.parent.mkdir(parents=True)
    proc = _start_writer(db_path)
    try:
        cid, committed = _read_until(proc, turns_before_kill)
        os.kill(proc.pid, signal.SIGKILL)  # while it keeps writing
    finally:
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # The WAL is still there, uncheckpointed: exactly what a crash leaves.
    result = check_database(db_path)
    assert result.ok, result.problem

    with History.open(db_path) as history:
        assert history.is_primary
        assert history.interrupted_at_open == 1
        detail = history.conversation(cid)
        assert detail is not None
        assert detail.info.outcome == "abandoned" and detail.info.end_reason == "interrupted"
        assert detail.info.ended_at is not None
        messages = history.messages(cid)
        ids = [m.id for m in messages]
        # Every turn the writer saw committed is there; at most the one in flight is extra.
        assert [turn_id for turn_id, _n in committed] == ids[: len(committed)]
        assert len(ids) - len(committed) in (0, 1)
        for m, n in zip(messages, range(len(messages)), strict=True):
            assert m.text.startswith(f"turn {n} ") and m.stt_ms == float(n) and m.tokens_in == n
        # The conversation "ended" when its last turn was written, not at the next start.
        assert detail.info.ended_at == messages[-1].created_at

    with History.open(db_path) as history:
        assert history.interrupted_at_open == 0  # done once


def test_a_second_process_does_not_close_a_live_conversation(db_path: Path) -> None:
    """An admin command run beside a running kiosk must not mark the kiosk's current
    conversation abandoned: only the process holding the database lock does that."""
    db_path.parent.mkdir(parents=True)
    proc = _start_writer(db_path)
    try:
        cid, _ = _read_until(proc, 3)
        with History.open(db_path) as admin:
            assert not admin.is_primary
            assert admin.interrupted_at_open == 0
            detail = admin.conversation(cid)
            assert detail is not None and detail.info.outcome is None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    with History.open(db_path) as history:
        assert history.is_primary and history.interrupted_at_open == 1
