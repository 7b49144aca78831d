"""`petvisor-desktop worklist` on a real database: listing (text and JSON), and done, notes,
the verdict on a lost booking and reopening, with clear errors. Callers' details are printed
(a staff terminal) but never logged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from petvisor_desktop.history import History

from .conftest import CliEnv, CliResult
from .test_worklist import CANCEL_CARD, handed_off, unconfirmed


def _fill(db_path: Path) -> tuple[int, int, int]:
    with History.open(db_path) as history:
        cancel = handed_off(history, "cancel", card=CANCEL_CARD)
        lost = unconfirmed(history)
        history.end_conversation(lost, "handoff", None)
        done = handed_off(history, "person")
        history.mark_done(done, "Sam Patel", "Seen at the desk")
    return cancel, lost, done


def test_the_list_shows_why_who_how_to_reach_them_and_what_to_check(
    cli: Callable[..., CliResult], cli_env: CliEnv
) -> None:
    cancel, lost, done = _fill(cli_env.db_path)
    result = cli("worklist")
    assert result.status == 0, result.err
    assert result.out.startswith("3 items, 2 open")
    blocks = {int(b.split()[0][1:]): b for b in result.out.split("\n\n")[1:]}
    assert "OPEN" in blocks[cancel] and "Wants to cancel a booking" in blocks[cancel]
    assert "James Okafor (Mittens)" in blocks[cancel]
    assert "07700900456 · james.okafor@example.com" in blocks[cancel]
    assert "Thursday 26 November · 12:00 pm" in blocks[cancel]
    assert (
        "Check:        Vaccinations with Dr Amy Roberts on Friday 27 November at 2:00 pm, "
        "for Alfie (dog), owner Hannah Wright" in blocks[lost]
    )
    assert "Done by Sam Patel" in blocks[done] and "Seen at the desk" in blocks[done]

    opened = cli("worklist", "--open")
    assert opened.out.startswith("2 items, 2 open") and f"#{done} " not in opened.out


def test_json_lists_every_field_a_program_needs(
    cli: Callable[..., CliResult], cli_env: CliEnv
) -> None:
    cancel, lost, _done = _fill(cli_env.db_path)
    items = {i["id"]: i for i in json.loads(cli("worklist", "--open", "--json").out)}
    assert set(items) == {cancel, lost}
    assert items[cancel]["reasons"] == ["cancel"]
    assert items[cancel]["understood"]["pet_name"] == "Mittens"
    assert items[cancel]["phone"] == "07700900456" and items[cancel]["state"] == "open"
    assert items[lost]["booking"]["status"] == "unconfirmed"
    assert "Dr Amy Roberts" in items[lost]["vetstoria_check"]


def test_staff_mark_done_note_settle_and_reopen_from_the_terminal(
    cli: Callable[..., CliResult], cli_env: CliEnv
) -> None:
    cancel, lost, done = _fill(cli_env.db_path)
    result = cli("worklist", "note", str(cancel), "Left", "a", "voicemail", "--by", "Jo Morgan")
    assert result.status == 0 and "Jo Morgan: Note: Left a voicemail" in result.out
    result = cli("worklist", "found", str(lost), "--by", "Jo Morgan")
    assert result.status == 0 and "Found in Vetstoria" in result.out
    assert f"#{lost} is now: Open" in result.out
    result = cli("worklist", "done", str(cancel), str(lost), "--by", "Jo Morgan")
    assert result.status == 0 and result.out.count("is now: Done by Jo Morgan") == 2
    assert cli("worklist", "--open").out.strip() == "No open items on the worklist."
    result = cli("worklist", "reopen", str(done), "--by", "Jo Morgan")
    assert result.status == 0 and f"#{done} is now: Open" in result.out
    with History.open(cli_env.db_path) as history:
        detail = history.conversation(lost)
        assert detail is not None and detail.bookings[0].status == "confirmed"
        item = history.worklist_item(cancel)
        assert item is not None and item.done_by == "Jo Morgan"
    logged = "\n".join(p.read_text() for p in cli_env.log_dir.glob("*.log*"))
    assert f"worklist item {cancel}: done" in logged
    for secret in ("Jo Morgan", "voicemail", "Okafor", "07700900456", "Hannah"):
        assert secret not in logged


def test_wrong_requests_say_what_is_wrong(cli: Callable[..., CliResult], cli_env: CliEnv) -> None:
    cancel, _lost, done = _fill(cli_env.db_path)
    result = cli("worklist", "done", str(done), "--by", "Jo")
    assert result.status == 1 and f"worklist item {done} is already done" in result.err
    result = cli("worklist", "found", str(cancel), "--by", "Jo")
    assert result.status == 1 and "no booking to check in Vetstoria" in result.err
    result = cli("worklist", "note", "4242", "hello", "--by", "Jo")
    assert result.status == 1 and "there is no conversation 4242" in result.err
    result = cli("worklist", "done", "--by", "Jo")
    assert result.status == 1 and "give the items' numbers, or --before DAY" in result.err
    result = cli("worklist", "done", "--before", "last week", "--by", "Jo")
    assert result.status == 1 and "--before must be a day as YYYY-MM-DD" in result.err


def test_items_dealt_with_before_the_worklist_existed_are_closed_by_day(
    cli: Callable[..., CliResult], cli_env: CliEnv
) -> None:
    _fill(cli_env.db_path)
    result = cli("worklist", "done", "--before", "2999-01-01", "--by", "Jo Morgan")
    assert result.status == 0 and result.out.startswith("2 item(s) raised before 2999-01-01")
    assert cli("worklist", "--open").out.strip() == "No open items on the worklist."
