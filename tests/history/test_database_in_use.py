"""A second process on the same history database: what needs the database to itself (the app's
start-up, `chat`, `db repair`, `restore`) says in one line which process holds it (its pid and
what it is, from the lock file) and what to do, never a traceback; what only reads (`db check`,
the listings) just works. The holder is a real second process."""

from __future__ import annotations

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
