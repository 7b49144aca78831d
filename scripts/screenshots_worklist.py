"""Screenshots of the reception worklist, for docs/screenshots/ and the README: the staff
screens' worklist tab (a booking to check in Vetstoria, a hand-off, the done items), the
history filtered on worklist items, and the push-to-talk window's badge and notice.

Run under Xvfb, like scripts/screenshots.py (whose set-up it shares: a temporary history
database and an in-memory keychain; nothing touches the user's own data):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshots_worklist.py
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import screenshots as base  # first: it points the user folders at a temporary place
from PySide6.QtWidgets import QApplication

from petvisor_desktop.history import History
from petvisor_desktop.settings import load_settings
from ui.bridge import EngineBridge

START = datetime(2026, 11, 23, 8, 40, tzinfo=UTC)  # the demo's Monday morning
STAFF = "Jo Morgan"


def _at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def _conversation(
    history: History, minute: float, said: list[str], outcome: str | None, summary: str | None
) -> int:
    cid = history.start_conversation("kiosk", started_at=_at(minute))
    history.add_turn(cid, "assistant", base.GREETING, started_at=_at(minute))
    for n, line in enumerate(said):
        history.add_turn(cid, "caller", line, started_at=_at(minute + 0.3 * (n + 1)))
    if outcome is not None:
        history.end_conversation(cid, outcome, summary, ended_at=_at(minute + 3))
    return cid


def worklist_history(path: Path) -> History:
    """A morning at the kiosk: a booking whose answer was lost, a cancellation, a caller the
    assistant could not understand, one who left mid-booking, and two items already dealt
    with (one with notes)."""
    history = History.open(path)
    history.create_user("jo.nurse@clinic.example", "4826", STAFF)
    done = _conversation(
        history,
        0,
        ["Hello, my cat has been sick all night and won't eat"],
        "handoff",
        "Asked about: species Cat. Result: handed to reception (emergency); details given: "
        "pet Pepper, client Amira Haddad, phone 07700900511.",
    )
    history.add_handoff(done, "emergency", "07700900511")
    seen = _conversation(
        history,
        6,
        ["Can I speak to someone about a repeat prescription?"],
        "handoff",
        "Asked about: nothing specific. Result: handed to reception (person); details "
        "given: client Tom Becker, phone 07700900612.",
    )
    history.add_handoff(seen, "person", "07700900612")
    lost = _conversation(
        history,
        12,
        ["I'd like to book my dog's vaccinations with Dr Roberts", "Yes, that's all correct"],
        None,
        None,
    )
    history.add_booking(
        lost,
        status="unconfirmed",
        slot_start="2026-11-27T14:00:00+00:00",
        schedule_id=1,
        species="Dog",
        appointment_type="Vaccinations",
        clinician="Dr Amy Roberts",
        pet_name="Alfie",
        first_name="Hannah",
        last_name="Wright",
        phone="07700900140",
        email="hannah.wright@example.com",
    )
    history.add_handoff(lost, "unconfirmed booking: staff to check", "07700900140")
    history.end_conversation(
        lost,
        "handoff",
        "Asked about: species Dog, type Vaccinations, date 2026-11-27. Result: handed to "
        "reception (unconfirmed).",
        ended_at=_at(16),
    )
    cancel = _conversation(
        history,
        21,
        [
            "Hi, I need a consultation for my cat Mittens on Thursday afternoon",
            "Actually I need to cancel my existing booking instead",
        ],
        "handoff",
        "Asked about: species Cat, type Consultation, date 2026-11-26. Result: handed to "
        "reception (cancel); details given: clinician Dr Michael Norman, time "
        "2026-11-26T12:00:00+00:00, pet Mittens, client James Okafor, phone 07700900456; "
        "preferences: asked for Dr Michael Norman, prefers afternoons.",
    )
    history.add_handoff(cancel, "cancel", "07700900456")
    unclear = _conversation(
        history,
        29,
        ["mm the the the", "no the the"],
        "handoff",
        "Asked about: species Dog. Result: handed to reception (not_understood).",
    )
    history.add_handoff(unclear, "not_understood", None)
    left = _conversation(
        history,
        36,
        ["A check-up for my rabbit's brother, he's a dog"],
        "abandoned",
        "Asked about: species Dog, type Check-up. Result: nothing booked.",
    )
    history.add_note(seen, STAFF, "Prescription ready Tuesday; told Mr Becker at the desk")
    history.mark_done(seen, STAFF)
    history.add_note(done, STAFF, "Seen straight away by Dr Norman")
    history.mark_done(done, STAFF)
    history.add_note(lost, STAFF, "Left a voicemail, will try again at 11")
    _demo_times(path, {done: 2, seen: 8, lost: 15, cancel: 24, unclear: 31, left: 39})
    return history


def _demo_times(path: Path, minutes: dict[int, float]) -> None:
    """Recording stamps rows with the real time; the demo happens on its own morning."""

    def ts(moment: datetime) -> str:
        return moment.isoformat(timespec="microseconds")

    with sqlite3.connect(path) as conn:
        for cid, minute in minutes.items():
            for table in ("handoff", "booking"):
                conn.execute(
                    f"UPDATE {table} SET created_at = ? WHERE conversation_id = ?",
                    (ts(_at(minute)), cid),
                )
            conn.execute(
                "UPDATE booking SET updated_at = created_at WHERE conversation_id = ?", (cid,)
            )
        for n, (action_id, cid) in enumerate(
            conn.execute("SELECT id, conversation_id FROM worklist_action ORDER BY id")
        ):
            conn.execute(
                "UPDATE worklist_action SET created_at = ? WHERE id = ?",
                (ts(_at(minutes[cid] + 20 + n)), action_id),
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder (default: docs/screenshots)")
    args = parser.parse_args()
    out = (args.out or base.OUT).resolve()
    out.mkdir(parents=True, exist_ok=True)
    base.OUT = out
    base.keyring.set_keyring(base.MemoryKeyring())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    base.theme.apply(app, base.theme.Theme.for_mode(kiosk=False))
    settings = load_settings()
    history = worklist_history(settings.storage.db_path)

    from ui.admin.window import AdminWindow
    from ui.talk_window import TalkWindow

    bridge = EngineBridge()
    base.components(bridge, **base.READY)
    admin = AdminWindow(bridge, settings, lambda: history, staff_email="jo.nurse@clinic.example")
    page = admin.worklist_page
    admin.resize(*base.WINDOW_SIZE)
    base.wait_for(lambda: not page.loading and page.model.rowCount() == 4)

    def pick(pet: str) -> None:
        row = next(r for r, i in enumerate(page.model.rows) if i.card.get("pet_name") == pet)
        page.table.selectRow(row)
        base.settle(100)

    pick("Alfie")
    base.shot(admin, "admin_worklist", base.WINDOW_SIZE)
    pick("Mittens")
    base.shot(admin, "admin_worklist_handoff", base.WINDOW_SIZE)
    page.filter.setCurrentIndex(page.filter.findData(False))
    base.wait_for(lambda: not page.loading and page.model.rowCount() == 6)
    pick("Pepper")
    base.shot(admin, "admin_worklist_done", base.WINDOW_SIZE)
    admin.show_tab("history")
    browser = admin.history_page
    browser.worklist.setCurrentIndex(browser.worklist.findData("open"))
    base.wait_for(lambda: not browser.loading and browser.model.rowCount() == 4)
    browser.table.selectRow(
        next(r for r, c in enumerate(browser.model.rows) if "Mittens" in (c.summary or ""))
    )
    base.wait_for(lambda: "Mittens" in browser.detail.toPlainText())
    base.shot(admin, "admin_history_worklist", base.WINDOW_SIZE)
    admin.close()

    talk = TalkWindow(bridge, settings)
    talk.set_worklist_count(4)
    talk.show_worklist_notice("New on the worklist: Cancellation (09:04)")
    base.reply(bridge, base.GREETING, "none", base.CARD_EMPTY)
    base.send(bridge, base.EventType.STATE, state="idle")
    base.shot(talk, "window_worklist_notice", base.WINDOW_SIZE)
    talk.close_allowed = True
    talk.close()
    history.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
