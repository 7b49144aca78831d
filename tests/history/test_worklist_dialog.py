"""The worklist reads what the dialog records: whole conversations through the real assistant
(the language model replaced by the scripted double, the one the dialog tests allow) and the
real sandbox clinic, written into a real history file, then read back as worklist items.
These fail when the dialog stops recording what staff need (the booking, the hand-off, the
booking card it had: passed to the history as it stands, never read back out of the summary)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from petvisor_desktop import worklist as words
from petvisor_desktop.dialog.assistant import Assistant
from petvisor_desktop.engine import BookingBackend, booking_backend, new_assistant
from petvisor_desktop.history import History
from petvisor_desktop.history.values import _now
from petvisor_desktop.runtime import Engine, Preloaded
from petvisor_desktop.settings import Settings
from tests.dialog.scripted_model import ScriptedChatModel
from tests.dialog.test_flows_scripted import BOOKING_SCRIPT, NOW, TO_READ_BACK


@pytest.fixture
def backend(settings: Settings) -> Iterator[BookingBackend]:
    with booking_backend(settings, now=NOW, sandbox_only=True) as b:
        yield b


def converse(
    history: History, settings: Settings, backend: BookingBackend, script: Any, lines: list[str]
) -> tuple[int, Assistant]:
    cid = history.start_conversation("kiosk")
    assert backend.sandbox is not None and backend.sandbox.pinned_now is not None
    pinned = backend.sandbox.pinned_now
    assistant = new_assistant(
        settings,
        backend,
        ScriptedChatModel(script),
        now=lambda: pinned,
        recorder=history,
        conversation_id=cid,
    )
    assistant.greet()
    for line in lines:
        assistant.respond(line)
    return cid, assistant


def test_a_caller_handed_off_mid_booking_is_an_item_with_everything_they_gave(
    history: History, settings: Settings, backend: BookingBackend
) -> None:
    script = {**BOOKING_SCRIPT, "cancel": {"tool": "handoff", "reason": "cancel"}}
    lines = [*TO_READ_BACK[:5], "Actually I need to cancel my existing booking instead"]
    cid, assistant = converse(history, settings, backend, script, lines)
    assert assistant.done and assistant.handoff_reason == "cancel"

    [item] = history.worklist(open_only=True)
    assert item.id == cid and item.reasons == ("cancel",)
    card = assistant.state.card(assistant.tz)
    assert item.card == card  # the whole card, the part of the day asked for too
    assert (card["species"], card["part_of_day"], card["client_name"]) == (
        "Cat",
        "afternoon",
        "James Okafor",
    )
    assert item.phone == card["phone"] == "07700900456"
    assert item.caller_said == lines[-1]

    # Passed, not parsed: the summary is for people, and the card does not depend on it.
    conn = sqlite3.connect(history.db_path, isolation_level=None)
    try:
        conn.execute("UPDATE conversation SET summary = NULL WHERE id = ?", (cid,))
    finally:
        conn.close()
    assert history.worklist_item(cid) == item

    # Retention takes the caller's details from it as from a booking; what they asked for stays.
    purged = history.purge_expired(now=_now() + timedelta(days=history.retention_days + 1))
    assert purged.cards == 1
    after = history.worklist_item(cid)
    assert after is not None and after.redacted
    personal = ("pet_name", "client_name", "phone", "email")
    assert after.card == {k: None if k in personal else v for k, v in card.items()}
    assert after.phone is None


def test_a_caller_who_walks_away_mid_booking_leaves_what_they_had_given(
    settings: Settings, tmp_path: Path
) -> None:
    """Through the app's engine: the conversation it ends when the caller goes (the kiosk's
    idle timeout, the window closed) carries the card the dialog had."""
    storage = dataclasses.replace(
        settings.storage, db_path=tmp_path / "petvisor.sqlite3", backup_dir=tmp_path / "backups"
    )
    engine = Engine(
        dataclasses.replace(settings, storage=storage),
        None,
        now=NOW,
        voice=False,
        mode="kiosk",
        preloaded=Preloaded(model=ScriptedChatModel(BOOKING_SCRIPT), sandbox_only=True),
    )
    engine.start()
    try:
        assert engine.wait_ready(60) and engine.can_converse(), engine.components
        talk = engine.new_conversation()
        talk.start().result(timeout=60)
        for line in TO_READ_BACK[:3]:
            talk.say(line).result(timeout=60)
        talk.end().result(timeout=60)
        assert talk.assistant is not None and not talk.assistant.done
        card = talk.assistant.state.card(talk.assistant.tz)
        [item] = engine.history.worklist(open_only=True)
    finally:
        engine.shutdown()
    assert item.id == talk.id and item.reasons == ("abandoned",)
    assert item.card == card and card["pet_name"] == "Mittens" and card["time"] is not None


def test_a_booking_whose_answer_was_lost_is_one_item_naming_what_to_check(
    history: History, settings: Settings, backend: BookingBackend
) -> None:
    assert backend.sandbox is not None
    backend.sandbox.add_fault("booking:timeout-after-commit")
    cid, assistant = converse(
        history, settings, backend, BOOKING_SCRIPT, [*TO_READ_BACK, "Yes, that's all correct"]
    )
    assert assistant.handoff_reason == "unconfirmed"

    [item] = history.worklist(open_only=True)
    assert item.id == cid and item.reasons == ("unconfirmed",)
    assert item.booking is not None and item.booking.status == "unconfirmed"
    check = words.vetstoria_check(item)
    assert check is not None
    slot = assistant.state.slot
    assert slot is not None
    when = slot.start.astimezone(assistant.tz)
    for part in ("Consultation", "Dr Michael Norman", "Mittens (cat)", "owner James Okafor"):
        assert part in check
    assert f"{when.hour % 12 or 12}:{when.minute:02d}" in check
    item = history.settle_booking(cid, True, "Jo Morgan")
    assert item.booking is not None and item.booking.status == "confirmed"
