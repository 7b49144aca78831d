"""A second process on the same history database: what needs the database to itself (the app's
start-up, `chat`, `voice`, `db repair`, `restore`) says in one line which process holds it (its
pid and what it is, from the lock file) and what to do, never a traceback; what only reads
(`db check`, the listings) just works, and so does reception's worklist, reading and acting on
items beside a kiosk that keeps recording. The holder is a real second process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from petvisor_desktop.events import EngineEvent
from petvisor_desktop.history import History, store
from petvisor_desktop.history.lock import DatabaseLock, lock_path_for
from petvisor_desktop.runtime import Engine, Preloaded
from petvisor_desktop.settings import load_settings
from tests.dialog.scripted_model import ScriptedChatModel
from tests.history.conftest import CliEnv, CliResult, record_booked_conversation
from tests.history.test_worklist import handed_off, unconfirmed

HOLDER = r"""
import sys
from pathlib import Path
from petvisor_desktop.history import History
from petvisor_desktop.history.lock import set_program

set_program("petvisor-desktop app")
history = History.open(Path(sys.argv[1]))
assert history.is_primary
print("holding", flush=True)
sys.stdin.read()  # until the test closes our stdin
history.close()
"""

# The kiosk at work: holds the database and records callers handed to reception, one after
# the other, until the test closes its stdin. It says the first one's id once it is recorded,
# and at the end how many it recorded. A real kiosk writes a turn every few seconds; this one
# pauses 20 ms between callers. Without any pause it would hold the write lock nearly all the
# time (SQLite's busy handler retries at moments of its own, it does not queue), and another
# writer could wait out the busy timeout, which no kiosk does.
RECORDING = r"""
import sys
import threading
from pathlib import Path
from petvisor_desktop.history import History
from petvisor_desktop.history.lock import set_program

set_program("petvisor-desktop app")
history = History.open(Path(sys.argv[1]))
assert history.is_primary
stop = threading.Event()
recorded = []

def record():
    cid = history.start_conversation("kiosk")
    history.add_turn(cid, "caller", "I need to move my appointment")
    history.add_handoff(cid, "reschedule", "07700 900318")
    history.end_conversation(cid, "handoff", None)
    recorded.append(cid)

def keep_recording():
    while not stop.wait(0.02):
        record()

record()
worker = threading.Thread(target=keep_recording)
worker.start()
print("holding", recorded[0], flush=True)
sys.stdin.read()
stop.set()
worker.join()
history.close()
print(len(recorded), flush=True)
"""


@pytest.fixture
def held(cli_env: CliEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[str]]:
    """The configured database, held by another process for the length of the test."""
    with History.open(cli_env.db_path) as history:
        record_booked_conversation(history)
    monkeypatch.setattr(store, "LOCK_WAIT_S", 0.2)  # the app's wait for a brief command
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(cli_env.db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "holding\n"
    yield process
    if process.poll() is None:
        process.communicate("", timeout=30)


def one_line(result: CliResult) -> str:
    assert result.status == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    (line,) = result.err.strip().splitlines()
    return line


def test_commands_that_need_the_database_name_the_process_holding_it(
    held: subprocess.Popen[str], cli_env: CliEnv, cli: Callable[..., CliResult]
) -> None:
    who = (
        f"the history database {cli_env.db_path} is in use by petvisor-desktop app (pid {held.pid})"
    )
    assert one_line(cli("db", "repair")) == (
        f"petvisor-desktop: {who}; close it first: a repair needs the database to itself"
    )
    assert one_line(cli("chat")) == f"petvisor-desktop: {who}; close it and start again"
    # Said before any model is loaded (no model is needed to say it).
    assert one_line(cli("voice")) == f"petvisor-desktop: {who}; close it and start again"
    assert cli("backup").status == 0  # an online backup needs no lock
    assert one_line(cli("restore", "--latest")) == (
        f"petvisor-desktop: not restored: {who}; close it before restoring"
    )
    # Reading needs no lock: the app may keep running.
    assert cli("db", "check").status == 0
    listed = cli("conversations", "list")
    assert listed.status == 0 and "booked" in listed.out


def test_the_app_says_who_holds_the_database_on_its_history_line(
    held: subprocess.Popen[str], cli_env: CliEnv
) -> None:
    events: list[EngineEvent] = []
    engine = Engine(
        load_settings(),
        events.append,
        voice=False,
        mode="kiosk",
        preloaded=Preloaded(model=ScriptedChatModel({}), sandbox_only=True),
    )
    engine.start()
    try:
        assert engine.wait_ready(60)
        history = engine.components["history"]
        assert history["state"] == "error"
        assert history["detail"] == (
            f"the history database {cli_env.db_path} is in use by petvisor-desktop app (pid "
            f"{held.pid}); close it and start again"
        )
        assert not engine.can_converse()
    finally:
        engine.shutdown()


def test_the_lock_file_names_its_holder_only_while_it_is_held(
    held: subprocess.Popen[str], cli_env: CliEnv, cli: Callable[..., CliResult]
) -> None:
    lock = DatabaseLock(lock_path_for(cli_env.db_path))
    holder = lock.holder()
    assert holder is not None and (holder.pid, holder.program) == (held.pid, "petvisor-desktop app")
    held.communicate("", timeout=30)  # the app closes
    assert held.returncode == 0
    assert lock.holder() is None and lock.path.read_bytes() == b""
    assert cli("db", "repair").status == 0  # free again


def test_a_killed_holder_frees_the_database(
    held: subprocess.Popen[str], cli_env: CliEnv, cli: Callable[..., CliResult]
) -> None:
    held.kill()
    held.wait(timeout=30)
    # Its name is still written in the file, but the operating system released the lock.
    assert DatabaseLock(lock_path_for(cli_env.db_path)).holder() is not None
    repaired = cli("db", "repair")
    assert repaired.status == 0, repaired.err


def test_reception_uses_the_worklist_beside_a_kiosk_that_keeps_recording(
    cli_env: CliEnv, cli: Callable[..., CliResult]
) -> None:
    with History.open(cli_env.db_path) as history:
        cancel = handed_off(history, "cancel")
        lost = unconfirmed(history)
        history.end_conversation(lost, "handoff", None)
    kiosk = subprocess.Popen(
        [sys.executable, "-c", RECORDING, str(cli_env.db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def ok(*argv: str) -> str:
        result = cli(*argv)
        assert result.status == 0 and not result.err, (argv, result.err)
        return result.out

    try:
        assert kiosk.stdout is not None
        word, first = kiosk.stdout.readline().split()
        assert word == "holding"
        moved = int(first)  # a caller the kiosk handed over while reception works

        assert f"#{moved}  OPEN" in ok("worklist", "--open", "--limit", "300")
        listed = {i["id"]: i for i in json.loads(ok("worklist", "--json", "--limit", "300"))}
        assert {cancel, lost, moved} <= set(listed)
        assert listed[moved]["reasons"] == ["reschedule"]
        assert "Jo Morgan: Note: Left a voicemail" in ok(
            "worklist", "note", str(cancel), "Left", "a", "voicemail", "--by", "Jo Morgan"
        )
        assert "Found in Vetstoria" in ok("worklist", "found", str(lost), "--by", "Jo Morgan")
        assert "Not booked" in ok("worklist", "not-booked", str(lost), "--by", "Jo Morgan")
        assert f"#{cancel} is now: Done by Jo Morgan" in ok(
            "worklist", "done", str(cancel), str(moved), "--by", "Jo Morgan"
        )
        assert f"#{cancel} is now: Open" in ok("worklist", "reopen", str(cancel), "--by", "Sam")
        assert DatabaseLock(lock_path_for(cli_env.db_path)).holder() is not None  # still held
    finally:
        out, _err = kiosk.communicate("", timeout=60)
    assert kiosk.returncode == 0
    recorded = int(out.strip())

    with History.open(cli_env.db_path) as history:
        actions = {
            cid: [a.action for a in item.actions]
            for cid in (cancel, lost, moved)
            if (item := history.worklist_item(cid)) is not None
        }
        assert actions == {
            cancel: ["note", "done", "reopened"],
            lost: ["found_in_vetstoria", "not_booked"],
            moved: ["done"],
        }
        detail = history.conversation(lost)
        assert detail is not None and [b.status for b in detail.bookings] == ["failed"]
        assert len(history.worklist()) == 2 + recorded  # nothing the kiosk recorded was lost
