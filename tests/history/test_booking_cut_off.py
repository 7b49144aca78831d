"""A kiosk killed while Vetstoria holds its booking request (the clinic booked it, the answer
has not come back) leaves that booking in the history: the next start hands it to reception
as unconfirmed, with everything staff need to check it in Vetstoria. Before, nothing of the
booking was recorded until the answer came, so a crash in between left a booking in
Vetstoria that reception was never told about (found by benchmarks/bench_unattended.py).

The kiosk is a real process: the real assistant (the language model replaced by the scripted
double the dialog tests allow), the real Vetstoria client and a real history file, talking to
a sandbox clinic in this process that commits the booking and then never answers."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from petvisor_desktop import worklist as words
from petvisor_desktop.engine import BookingBackend, booking_backend
from petvisor_desktop.history import History, open_with_recovery
from petvisor_desktop.settings import Settings
from tests.dialog.test_flows_scripted import BOOKING_SCRIPT, NOW, PHONE, TO_READ_BACK
from tests.history.test_worklist_dialog import converse
from vetstoria.sandbox import SandboxClinic

ROOT = Path(__file__).resolve().parents[2]

KIOSK = r"""
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, sys.argv[2])
from petvisor_desktop.engine import booking_backend, new_assistant
from petvisor_desktop.history import History
from petvisor_desktop.settings import load_settings
from tests.dialog.scripted_model import ScriptedChatModel
from tests.dialog.test_flows_scripted import BOOKING_SCRIPT, NOW, TO_READ_BACK

settings = load_settings()  # the real site: the test's sandbox clinic
history = History.open(Path(sys.argv[1]))
with booking_backend(settings) as backend:
    pinned = datetime.fromisoformat(NOW).replace(tzinfo=backend.client.config.tz)
    cid = history.start_conversation("kiosk")
    assistant = new_assistant(
        settings,
        backend,
        ScriptedChatModel(BOOKING_SCRIPT),
        now=lambda: pinned,
        recorder=history,
        conversation_id=cid,
    )
    assistant.greet()
    for line in [*TO_READ_BACK, "Yes, that's all correct"]:
        print("caller:", line, flush=True)
        assistant.respond(line)
print("the booking was answered", flush=True)
"""


def test_a_kiosk_killed_while_its_booking_is_in_flight_leaves_an_unconfirmed_item(
    tmp_path: Path, settings: Settings
) -> None:
    db = tmp_path / "petvisor.sqlite3"
    History.open(db).close()
    # The clinic books, then holds the answer far longer than the test waits.
    with SandboxClinic(now=NOW, faults=["booking:timeout-after-commit"], slow_s=120) as clinic:
        config = clinic.config()
        env = dict(os.environ)
        env.update(
            {
                "VETSTORIA_BASE_URL": config.base_url,
                "VETSTORIA_AUTH_URL": config.auth_url,
                "VETSTORIA_PARTNER_KEY": config.partner_key,
                "VETSTORIA_SECRET": config.secret,
                "VETSTORIA_SITE_HASH": config.site_hash,
                "VETSTORIA_SITE_ID": str(config.site_id),
                "VETSTORIA_BOOKING_HASH": config.booking_hash,
                "PETVISOR_VETSTORIA_TIMEOUT_S": "120",
                "PETVISOR_TIMEZONE": config.timezone,
            }
        )
        kiosk = subprocess.Popen(
            [sys.executable, "-c", KIOSK, str(db), str(ROOT)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not clinic.bookings() and time.monotonic() < deadline:
                assert kiosk.poll() is None, kiosk.communicate()
                time.sleep(0.05)
            [booked] = clinic.bookings()  # Vetstoria has it; the kiosk waits for the answer
            assert kiosk.poll() is None
            os.kill(kiosk.pid, signal.SIGKILL)
            kiosk.wait()
        finally:
            if kiosk.poll() is None:
                kiosk.kill()
                kiosk.wait()

    storage = dataclasses.replace(settings.storage, db_path=db, backup_dir=tmp_path / "backups")
    history, report = open_with_recovery(dataclasses.replace(settings, storage=storage))
    try:
        assert report.interrupted_conversations == 1
        [item] = history.worklist(open_only=True)
        assert "unconfirmed" in item.reasons and "interrupted" in item.reasons
        assert item.booking is not None and item.booking.status == "unconfirmed"
        assert item.booking.slot_start is not None
        assert datetime.fromisoformat(item.booking.slot_start) == datetime.fromisoformat(
            booked["start"]
        )
        assert item.card["pet_name"] == "Mittens" and item.card["client_name"] == "James Okafor"
        assert item.phone is not None and item.phone.replace(" ", "") == PHONE.replace(" ", "")
        check = words.vetstoria_check(item)
        assert check is not None and "Mittens" in str(check)
        # Nothing is left half-said: every booking row has a final status after the start.
        detail = history.conversation(item.id)
        assert detail is not None
        statuses = {b.status for b in detail.bookings}
        assert statuses == {"unconfirmed"}
    finally:
        history.close()


# -- the answers that do come: the booking written before the request gets its final status --


@pytest.fixture
def backend(settings: Settings) -> Iterator[BookingBackend]:
    with booking_backend(settings, now=NOW, sandbox_only=True) as b:
        yield b


def statuses(history: History, cid: int) -> list[tuple[str, tuple[str, ...]]]:
    detail = history.conversation(cid)
    assert detail is not None
    return [(b.status, b.appointment_ids) for b in detail.bookings]


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (None, "confirmed"),
        ("booking:500", "failed"),
        ("booking:timeout-after-commit", "unconfirmed"),
    ],
)
def test_the_booking_written_before_it_is_sent_gets_vetstoria_s_answer(
    history: History,
    settings: Settings,
    backend: BookingBackend,
    fault: str | None,
    status: str,
) -> None:
    assert backend.sandbox is not None
    if fault:
        backend.sandbox.add_fault(fault)
    lines = [*TO_READ_BACK, "Yes, that's all correct"]
    cid, _assistant = converse(history, settings, backend, BOOKING_SCRIPT, lines)
    [(recorded, ids)] = statuses(history, cid)
    assert recorded == status
    assert bool(ids) == (status == "confirmed")  # the appointment ids come with the 201


def test_a_time_taken_since_it_was_offered_leaves_no_booking_row(
    history: History, settings: Settings, backend: BookingBackend
) -> None:
    assert backend.sandbox is not None
    backend.sandbox.add_fault("booking:409")
    lines = [*TO_READ_BACK, "Yes, that's all correct"]
    cid, assistant = converse(history, settings, backend, BOOKING_SCRIPT, lines)
    assert assistant.state.expecting.value == "time"  # other times are offered
    assert statuses(history, cid) == []  # nothing was booked: nothing for staff to check
    assert history.worklist() == []
