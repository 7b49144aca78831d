"""The admin screens (other threads, other processes) read while the engine writes, without
"database is locked" and without seeing half a write; a backup taken under load is good."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from petvisor_desktop.history import History, check_database

READER = r"""
import sys
from pathlib import Path
from petvisor_desktop.history import History

history = History.open(Path(sys.argv[1]))
last = 0
for _ in range(int(sys.argv[2])):
    for info in history.conversations(limit=5):
        messages = history.messages(info.id)
        assert len(messages) >= info.turn_count
    total = sum(c.turn_count for c in history.conversations(limit=1000))
    assert total >= last, (total, last)
    last = total
history.close()
print("ok", last, flush=True)
"""


def test_readers_never_see_locks_while_the_engine_writes(db_path: Path) -> None:
    engine = History.open(db_path)
    admin = History.open(db_path)  # a second connection, as the admin screen would have
    stop = threading.Event()
    errors: list[BaseException] = []
    written: list[int] = []
    reads = [0]

    def write() -> None:
        try:
            while not stop.is_set():
                cid = engine.start_conversation("kiosk")
                for n in range(10):
                    role = "caller" if n % 2 == 0 else "assistant"
                    engine.add_turn(cid, role, f"turn {n} " * 20, latency={"stt_ms": 1.0})
                engine.add_tool_call(cid, None, "find_slots", {"n": 1}, "ok", 3.0)
                engine.end_conversation(cid, "no_booking")
                written.append(cid)
        except BaseException as exc:
            errors.append(exc)

    def read(history: History) -> None:
        try:
            while not stop.is_set():
                for info in history.conversations(limit=3):
                    detail = history.conversation(info.id)
                    assert detail is not None
                    if info.outcome is not None:
                        # A finished conversation is always seen whole.
                        assert len(history.messages(info.id)) == 10
                        assert len(detail.tool_calls) == 1
                reads[0] += 1
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    readers = [threading.Thread(target=read, args=(h,)) for h in (admin, admin, engine)]
    process = subprocess.Popen(
        [sys.executable, "-c", READER, str(db_path), "150"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer.start()
    for r in readers:
        r.start()
    try:
        out, err = process.communicate(timeout=60)
        # The other process may finish its reads before a loaded machine has written much:
        # the writer and the readers go on together until a few conversations are whole.
        deadline = time.monotonic() + 60
        while (len(written) < 3 or reads[0] < 3) and not errors and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        writer.join()
        for r in readers:
            r.join()
    admin.close()
    engine.close()

    assert errors == []
    assert process.returncode == 0, err
    assert out.startswith("ok")
    assert "locked" not in err
    assert len(written) >= 3 and reads[0] >= 3
    assert check_database(db_path).ok


def test_a_backup_taken_while_writing_is_consistent(db_path: Path, tmp_path: Path) -> None:
    engine = History.open(db_path)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set():
                cid = engine.start_conversation("kiosk")
                for n in range(5):
                    engine.add_turn(cid, "caller", f"turn {n} " * 30)
                engine.end_conversation(cid, "no_booking")
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        paths = []
        for second in range(3):
            moment = datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC)
            paths.append(engine.backup(tmp_path / "backups", now=moment))
    finally:
        stop.set()
        writer.join()
        engine.close()
    assert errors == []
    for path in paths:
        assert check_database(path, immutable=True).ok
        with History.open(path) as copy:
            # The conversation in flight at backup time is cut off, all others are whole.
            cut = [c for c in copy.conversations(limit=1000) if c.end_reason == "interrupted"]
            assert len(cut) <= 1 and copy.interrupted_at_open == len(cut)
            for info in copy.conversations(limit=1000):
                if info.end_reason is None:
                    assert info.outcome == "no_booking" and info.turn_count == 5


COUNT = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(conn.execute("SELECT COUNT(*) FROM conversation").fetchone()[0])
conn.close()
"""


def test_a_second_history_in_the_process_keeps_the_first_ones_locks(db_path: Path) -> None:
    """Opening the file behind SQLite's back (the header check of a second History, as the
    staff screens open one beside the engine's) dropped the process's locks: another process
    that then closed its connection took itself for the last one and deleted the WAL, and
    the engine's next writes went to the deleted file, lost to everyone else (found as
    "disk I/O error" in the readers of the test above on a starved machine)."""
    engine = History.open(db_path)
    engine.start_conversation("kiosk")
    admin = History.open(db_path)
    assert admin.conversations(limit=5)
    seen = subprocess.run(
        [sys.executable, "-c", COUNT, str(db_path)], capture_output=True, text=True, check=True
    )
    assert seen.stdout.strip() == "1"
    engine.start_conversation("kiosk")  # written after the other process has closed
    seen = subprocess.run(
        [sys.executable, "-c", COUNT, str(db_path)], capture_output=True, text=True, check=True
    )
    assert seen.stdout.strip() == "2"
    admin.close()
    engine.close()
