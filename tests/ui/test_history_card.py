"""The History screen shows what the assistant had understood of a conversation (the booking
card the dialog recorded), and only its non-personal details once retention has run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from petvisor_desktop.history import History
from petvisor_desktop.history.values import _now
from ui.admin.history_browser import render_detail

CARD = {
    "species": "Cat",
    "appointment_type": "Consultation",
    "clinician": "Dr Michael Norman",
    "date": "2026-11-26",
    "part_of_day": "afternoon",
    "pet_name": "Mittens",
    "client_name": "James Okafor",
    "phone": "07700900456",
}


def test_the_history_detail_shows_the_card_and_retention_blanks_its_personal_part(
    tmp_path: Path,
) -> None:
    history = History.open(tmp_path / "history.sqlite3", retention_days=30)
    try:
        cid = history.start_conversation("kiosk")
        history.add_handoff(cid, "cancel", "07700900456", card=CARD)
        history.end_conversation(cid, "handoff", "handed to reception (cancel)", card=CARD)
        detail = history.conversation(cid)
        assert detail is not None and detail.card["part_of_day"] == "afternoon"
        page = render_detail(detail, history.messages(cid))
        assert "What was understood" in page
        assert "Dr Michael Norman" in page and "Mittens" in page
        assert "26 November, afternoon" in page

        history.purge_expired(now=_now() + timedelta(days=31))
        page = render_detail(history.conversation(cid), history.messages(cid))
        assert "Dr Michael Norman" in page and "Consultation" in page
        assert "Mittens" not in page and "Okafor" not in page and "07700900456" not in page
    finally:
        history.close()
