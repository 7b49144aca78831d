"""What staff do about worklist items survives a full disk, like the engine's writes: on a real
2 MB file system filled to the last byte, marking an item done, a note and the verdict on a
lost booking are kept in memory (the item shows them at once, and cannot be marked done twice)
and reach the file, with the times they were done, once space is freed. The terminal, which
ends before there could be room, keeps nothing: it says in one line that the disk is full."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from petvisor_desktop import worklist as words
from petvisor_desktop.history import History, check_database
from tests.history.conftest import CliEnv, CliResult
from tests.history.test_worklist import handed_off, unconfirmed
from tests.small_disk import fill, small_disk  # noqa: F401 - the fixture


@pytest.fixture
def app_history(small_disk: Path) -> Iterator[History]:  # noqa: F811
    """The app's history, open on the small disk for the whole test (its WAL is there)."""
    history = History.open(small_disk / "petvisor.sqlite3")
    yield history
    history.close()


def actions_in_file(db_path: Path, item_id: int) -> list[tuple[str, str, str | None]]:
    """What a second, fresh reader finds in the file."""
    with History.open(db_path, repair=False) as reader:
        item = reader.worklist_item(item_id)
        assert item is not None
        return [(a.action, a.staff, a.note) for a in item.actions]


def test_staff_actions_on_a_full_disk_are_kept_shown_and_written_later(
    small_disk: Path,  # noqa: F811
    app_history: History,
) -> None:
    history, db_path = app_history, app_history.db_path
    cancel = handed_off(history, "cancel")
    lost = unconfirmed(history)
    history.end_conversation(lost, "handoff", None)
    filler = fill(small_disk)

    item = history.mark_done(cancel, "Jo Morgan", "Cancelled in Vetstoria")
    assert not item.is_open and item.done_by == "Jo Morgan"  # no error, no loss
    (done,) = item.actions
    assert done.kept and done.note == "Cancelled in Vetstoria"
    assert "the disk is full" in words.action_line(done)
    with pytest.raises(ValueError, match="already done"):  # as staff see it: done
        history.mark_done(cancel, "Sam Patel")
    item = history.settle_booking(lost, True, "Jo Morgan")
    assert item.verdict == "found_in_vetstoria" and item.actions[-1].kept
    assert item.booking is not None and item.booking.status == "confirmed"
    item = history.add_note(lost, "Jo Morgan", "Rang Hannah: it stands")
    assert [a.action for a in item.actions] == ["found_in_vetstoria", "note"]
    assert [i.id for i in history.worklist(open_only=True)] == [lost]

    status = history.storage_status
    assert status.disk_full and status.kept == 3
    assert actions_in_file(db_path, cancel) == []  # the file as it was
    asked = [a.created_at for a in item.actions]

    filler.unlink()
    assert history.write_kept() == 0 and not history.disk_full
    item = history.worklist_item(lost)
    assert item is not None and not any(a.kept for a in item.actions)
    assert [a.created_at for a in item.actions] == asked  # when staff did it
    history.close()
    assert actions_in_file(db_path, cancel) == [("done", "Jo Morgan", "Cancelled in Vetstoria")]
    assert actions_in_file(db_path, lost) == [
        ("found_in_vetstoria", "Jo Morgan", None),
        ("note", "Jo Morgan", "Rang Hannah: it stands"),
    ]
    with History.open(db_path, repair=False) as reader:
        detail = reader.conversation(lost)
        assert detail is not None and [b.status for b in detail.bookings] == ["confirmed"]
    assert check_database(db_path).ok


def test_a_kept_action_made_moot_meanwhile_is_dropped_not_doubled(
    small_disk: Path,  # noqa: F811
    app_history: History,
) -> None:
    history, db_path = app_history, app_history.db_path
    cancel = handed_off(history, "cancel")
    filler = fill(small_disk)
    assert history.mark_done(cancel, "Jo Morgan").actions[-1].kept
    filler.unlink()
    with History.open(db_path, repair=False) as desk:  # reception's terminal, meanwhile
        desk.mark_done(cancel, "Sam Patel")
    assert history.write_kept() == 0
    assert actions_in_file(db_path, cancel) == [("done", "Sam Patel", None)]


def test_the_terminal_keeps_nothing_and_says_the_disk_is_full(
    small_disk: Path,  # noqa: F811
    app_history: History,
    cli_env: CliEnv,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kiosk, db_path = app_history, app_history.db_path
    monkeypatch.setenv("PETVISOR_DB_PATH", str(db_path))
    cancel = handed_off(kiosk, "cancel")
    filler = fill(small_disk)
    listed = cli("worklist", "--open")  # reading needs no room
    assert listed.status == 0 and f"#{cancel}  OPEN" in listed.out
    result = cli("worklist", "done", str(cancel), "--by", "Jo Morgan")
    assert result.status == 1 and result.out == "" and "Traceback" not in result.err
    assert result.err.strip().splitlines() == [
        f"petvisor-desktop: the disk holding the history database ({db_path}) is full; "
        "free some space on it"
    ]
    filler.unlink()
    assert actions_in_file(db_path, cancel) == []
    assert cli("worklist", "done", str(cancel), "--by", "Jo Morgan").status == 0
    assert actions_in_file(db_path, cancel) == [("done", "Jo Morgan", None)]
