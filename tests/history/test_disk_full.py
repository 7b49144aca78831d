"""A full disk never stops a conversation or a booking: on a real 2 MB file system filled to
the last byte, a whole booking conversation (the real assistant, the sandbox clinic, the
scripted model) goes on; its history writes are kept in memory, in order, and reach the
database once space is freed (at the next write, on the retry timer, or at close). Nothing
stored before is lost, the file checks clean, the status says so for the staff screens, and the
log says it once without personal data. Start-up on a full disk leaves the file where it is."""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from pathlib import Path

import pytest

from petvisor_desktop.engine import booking_backend, new_assistant
from petvisor_desktop.events import EngineEvent, EventType
from petvisor_desktop.history import History, check_database, spool
from petvisor_desktop.history.errors import HistoryError
from petvisor_desktop.history.store import open_with_recovery
from petvisor_desktop.runtime import Engine, Preloaded
from petvisor_desktop.settings import Settings
from tests.dialog.scripted_model import ScriptedChatModel
from tests.dialog.test_flows_scripted import BOOKING_SCRIPT, NOW, TO_READ_BACK
from tests.small_disk import fill, small_disk  # noqa: F401 - the fixture

ENDING = ["Yes, that's all correct", "No thanks, bye"]
PERSONAL = ("Mittens", "Okafor", "900456", "okafor@")


def messages(db_path: Path, conversation_id: int) -> list[tuple[str, str]]:
    """What a second, fresh reader finds in the file."""
    with History.open(db_path, repair=False) as reader:
        return [(m.role, m.text) for m in reader.messages(conversation_id)]


def test_a_full_disk_never_stops_a_booking_and_loses_nothing(
    small_disk: Path,  # noqa: F811
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    db_path = small_disk / "petvisor.sqlite3"
    history = History.open(db_path)
    told: list[spool.StorageStatus] = []
    history.watch_storage(told.append)
    said: list[tuple[str, str]] = []
    with booking_backend(settings, now=NOW, sandbox_only=True) as backend:
        assert backend.sandbox is not None
        pinned = backend.sandbox.pinned_now
        conversation = history.start_conversation("kiosk")
        assistant = new_assistant(
            settings,
            backend,
            ScriptedChatModel(BOOKING_SCRIPT),
            now=lambda: pinned,
            recorder=history,
            conversation_id=conversation,
        )
        said.append(("assistant", assistant.greet().text))
        lines = [*TO_READ_BACK, *ENDING]
        said += [("caller", lines[0]), ("assistant", assistant.respond(lines[0]).text)]
        stored_before = messages(db_path, conversation)
        assert stored_before == said

        filler = fill(small_disk)
        for line in lines[1:]:
            turn = assistant.respond(line)  # never raises: the disk is not the caller's problem
            said += [("caller", line), ("assistant", turn.text)]
        assert turn.done and assistant.outcome == "booked"
        (placed,) = backend.sandbox.bookings()  # the booking itself was made
        assert placed["pet_name"] == "Mittens"

        status = history.storage_status
        assert status.disk_full and status.kept >= 2 * len(lines[1:])
        assert "disk holding the history is full" in status.message
        assert told and told[-1] == status
        assert messages(db_path, conversation) == stored_before  # the file as it was

        filler.unlink()  # space again: the next write takes the kept ones first, in order
        second = history.start_conversation("kiosk")
        assert second > conversation
    assert not history.disk_full and history.storage_status.kept == 0
    assert told[-1].disk_full is False
    history.close()

    assert messages(db_path, conversation) == said
    with History.open(db_path, repair=False) as reader:
        detail = reader.conversation(conversation)
        assert detail is not None
        assert detail.info.outcome == "booked" and detail.info.ended_at is not None
        (booking,) = detail.bookings
        assert (booking.status, booking.pet_name, booking.owner_last_name) == (
            "confirmed",
            "Mittens",
            "Okafor",
        )
        assert [t.name for t in detail.tool_calls][-2:] == ["place_booking", "understand"]
        # Each row keeps the time it happened, not the time space came back.
        times = [m.created_at for m in reader.messages(conversation)]
        assert times == sorted(times) and booking.created_at <= detail.info.ended_at
    assert check_database(db_path).ok

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["petvisor_desktop.history.spool"]
    assert "disk holding the history database is full" in warnings[0].getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "cannot rollback" not in logged
    assert not any(word in logged for word in PERSONAL)


def test_the_retry_timer_writes_what_was_kept_once_space_returns(
    small_disk: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spool, "RETRY_INTERVAL_S", 0.05)
    db_path = small_disk / "petvisor.sqlite3"
    history = History.open(db_path)
    room_again = threading.Event()
    history.watch_storage(lambda status: room_again.set() if not status.disk_full else None)
    conversation = history.start_conversation("ptt")
    filler = fill(small_disk)
    turns = [history.add_turn(conversation, "caller", f"line {n} " * 200) for n in range(6)]
    history.update_turn(turns[2], text="line 2, cut short")  # a kept row, changed while kept
    history.end_conversation(conversation, "no_booking", "six lines")
    assert all(t < 0 for t in turns) and history.storage_status.kept == 8
    with pytest.raises(ValueError, match="role"):  # wrong values still fail at once
        history.add_turn(conversation, "receptionist", "hello")

    filler.unlink()
    assert room_again.wait(10), "the retry timer did not write the kept records"
    found = messages(db_path, conversation)
    assert [text.split()[1] for _, text in found] == ["0", "1", "2,", "3", "4", "5"]
    assert found[2] == ("caller", "line 2, cut short")
    history.close()


def test_close_writes_what_was_kept_and_says_what_it_could_not(
    small_disk: Path,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    db_path = small_disk / "petvisor.sqlite3"
    history = History.open(db_path)
    conversation = history.start_conversation("kiosk")
    filler = fill(small_disk)
    history.add_turn(conversation, "caller", "kept " * 300)
    history.add_handoff(conversation, "emergency", "07700 900111")
    filler.unlink()
    history.close()
    with History.open(db_path, repair=False) as reader:
        detail = reader.conversation(conversation)
        assert detail is not None and [h.reason for h in detail.handoffs] == ["emergency"]
        assert len(reader.messages(conversation)) == 1

    # Still full at close: the loss is said, with a count and nothing personal.
    history = History.open(db_path)
    conversation = history.start_conversation("kiosk")
    filler = fill(small_disk)
    history.add_turn(conversation, "caller", "my number is 07700 900222 " * 50)
    history.close()
    filler.unlink()
    lost = [r.getMessage() for r in caplog.records if "could not be written" in r.getMessage()]
    assert lost == [
        "1 history record(s) could not be written before closing: the disk is still full"
    ]


def test_a_staff_write_on_a_full_disk_is_a_clear_error(small_disk: Path) -> None:  # noqa: F811
    history = History.open(small_disk / "petvisor.sqlite3")
    filler = fill(small_disk)
    try:
        with pytest.raises(HistoryError) as caught:
            history.create_user("front@clinic.example", "2468" * 40, "Front desk")
        assert caught.value.code == "disk_full"
        assert "is full; free some space" in caught.value.message
    finally:
        filler.unlink()
        history.close()


def test_starting_on_a_full_disk_keeps_the_file_and_records_when_there_is_room(
    small_disk: Path,  # noqa: F811
    settings: Settings,
) -> None:
    db_path = small_disk / "petvisor.sqlite3"
    with History.open(db_path) as history:
        earlier = history.start_conversation("kiosk")
        history.add_turn(earlier, "caller", "from before")
        history.end_conversation(earlier, "no_booking")
    before = db_path.read_bytes()
    storage = dataclasses.replace(
        settings.storage, db_path=db_path, backup_dir=small_disk / "backups"
    )
    filler = fill(small_disk)
    history, report = open_with_recovery(dataclasses.replace(settings, storage=storage))
    try:
        # A full disk is no damage: nothing moved aside, nothing restored.
        assert report.damaged_path is None and report.restored_from is None
        assert sorted(p.name for p in small_disk.iterdir() if "damaged" in p.name) == []
        assert history.disk_full
        conversation = history.start_conversation("kiosk")
        history.add_turn(conversation, "caller", "while the disk was full")
        history.end_conversation(conversation, "no_booking")
        assert db_path.read_bytes() == before
        filler.unlink()
        assert history.write_kept() == 0 and not history.disk_full
    finally:
        history.close()
    with History.open(db_path, repair=False) as reader:
        texts = [m.text for c in (earlier, 2) for m in reader.messages(c)]
    assert texts == ["from before", "while the disk was full"]


def test_the_engine_goes_on_and_tells_the_staff_screens(
    small_disk: Path,  # noqa: F811
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spool, "RETRY_INTERVAL_S", 0.05)
    storage = dataclasses.replace(
        settings.storage, db_path=small_disk / "petvisor.sqlite3", backup_dir=small_disk / "b"
    )
    events: queue.Queue[EngineEvent] = queue.Queue()
    engine = Engine(
        dataclasses.replace(settings, storage=storage),
        events.put,
        now=NOW,
        voice=False,
        mode="kiosk",
        preloaded=Preloaded(model=ScriptedChatModel(BOOKING_SCRIPT), sandbox_only=True),
    )
    engine.start()
    try:
        assert engine.wait_ready(60) and engine.can_converse(), engine.components
        filler = fill(small_disk)
        talk = engine.new_conversation()
        talk.start().result(timeout=60)
        offer = talk.say(TO_READ_BACK[0]).result(timeout=60)
        assert offer is not None and offer.expecting == "time"  # the conversation goes on
        full = history_line(events, disk_full=True)
        assert full["state"] == "ready" and full["kept"] >= 1
        assert full["detail"].startswith("The disk holding the history is full:")
        filler.unlink()
        free = history_line(events, disk_full=False)
        assert free["detail"] == "database ready (petvisor.sqlite3)" and free["kept"] == 0
    finally:
        engine.shutdown()


def history_line(events: queue.Queue[EngineEvent], **match: object) -> dict[str, object]:
    """The next report of the history component matching `match` (what diagnostics shows)."""
    while True:
        event = events.get(timeout=30)
        data = event.data
        wanted = {"component": "history", **match}
        if event.type is EventType.COMPONENT and all(data.get(k) == v for k, v in wanted.items()):
            return data
