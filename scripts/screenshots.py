"""Screenshots of every screen of the desktop app, for docs/screenshots/ and the README.

Run under Xvfb (the windows are real X11 windows there):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshots.py

(without a display it falls back to Qt's offscreen platform, which renders the same).

The conversation screens are driven by engine events replayed through the bridge, with the
words of a real typed run against the demo clinic, so that the states that need a
microphone (words appearing as they are recognised) can be shown too. The staff screens
read a real history database in a temporary folder, filled with demo conversations; the
keychain is an in-memory one. Nothing touches the user's own settings, data or keychain.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_TMP = Path(tempfile.mkdtemp(prefix="petvisor-shots-"))
for _var, _sub in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_CACHE_HOME", "cache"),
    ("XDG_STATE_HOME", "state"),
    ("XDG_DATA_HOME", "data"),
):
    os.environ[_var] = str(_TMP / _sub)
os.environ["PETVISOR_DB_PATH"] = str(_TMP / "data" / "petvisor.sqlite3")
os.environ["PETVISOR_BACKUP_DIR"] = str(_TMP / "data" / "backups")
os.environ["PETVISOR_LOG_DIR"] = str(_TMP / "logs")
os.environ.pop("PETVISOR_CONFIG", None)
os.environ.pop("PETVISOR_UI_SCALE", None)

import keyring  # noqa: E402
from keyring.backend import KeyringBackend  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from petvisor_desktop.events import EngineEvent, EventType  # noqa: E402
from petvisor_desktop.history import History  # noqa: E402
from petvisor_desktop.settings import load_settings  # noqa: E402
from ui import theme  # noqa: E402
from ui.bridge import EngineBridge  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
KIOSK_SIZE = (1920, 1080)
WINDOW_SIZE = (1280, 860)


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]
    name = "in-memory keychain of the screenshot script"  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


# The words of a real typed run (`petvisor-desktop --now 2026-11-23T09:00 chat`).
GREETING = (
    "Hello, welcome to Petvisor Demo Clinic. I can book an appointment for your cat or dog. "
    "How can I help?"
)
CARD_EMPTY: dict[str, Any] = {
    "species": None,
    "appointment_type": None,
    "clinician": None,
    "date": None,
    "part_of_day": None,
    "time": None,
    "pet_name": None,
    "client_name": None,
    "phone": None,
    "email": None,
}


def card(**values: Any) -> dict[str, Any]:
    return {**CARD_EMPTY, **values}


_BASE = {"species": "Dog", "appointment_type": "Consultation"}
_VET = {**_BASE, "clinician": "Dr Amy Roberts"}
_DAY = {**_VET, "date": "2026-11-25", "part_of_day": "morning"}
_TIME = {**_DAY, "time": "09:00"}
_PET = {**_TIME, "pet_name": "Biscuit"}
_NAME = {**_PET, "client_name": "Sarah Connolly"}
_PHONE = {**_NAME, "phone": "07700900222"}
READ_BACK = (
    "Let me check I have everything right. A consultation for Biscuit, your dog, with "
    "Dr Amy Roberts on Wednesday the 25th of November at 9am. Your name is Sarah Connolly, "
    "phone 0 7 7 0 0, 9 0 0, 2 2 2. Shall I book that?"
)
BOOKED = (
    "You're booked: Biscuit will see Dr Amy Roberts on Wednesday the 25th of November at "
    "9am. Please arrive five minutes early. Is there anything else I can help with?"
)
VETS = ["Dr Amy Roberts", "Dr Michael Norman", "Whoever is free first"]
TIMES = ["9am", "9:15am", "9:30am"]
YES_NO = ["Yes", "No"]
# (what the caller said, the reply, what the reply asks for, the card after it, the answers
# offered to tap)
STEPS: list[tuple[str, str, str, dict[str, Any], list[str]]] = [
    (
        "I'd like to book my dog in for a consultation",
        "Would you like to see Dr Amy Roberts or Dr Michael Norman, or whoever is free first?",
        "clinician",
        card(**_BASE),
        VETS,
    ),
    (
        "Dr Roberts please",
        "What day would suit you, and do you prefer morning or afternoon?",
        "date",
        card(**_VET),
        [],
    ),
    (
        "Wednesday morning",
        "Dr Amy Roberts has 9am, 9:15am or 9:30am on Wednesday the 25th of November. Which "
        "would suit you?",
        "time",
        card(**_DAY),
        TIMES,
    ),
    ("The first one", "Lovely. What's your dog's name?", "pet_name", card(**_TIME), []),
    (
        "His name is Biscuit",
        "And your first and last name, please?",
        "client_name",
        card(**_PET),
        [],
    ),
    ("Sarah Connolly", "What's the best phone number to reach you?", "phone", card(**_NAME), []),
    (
        "07700 900222",
        "And your email address? You can say skip if you'd rather not.",
        "email",
        card(**_PHONE),
        [],
    ),
    ("No email thanks", READ_BACK, "confirm", card(**_PHONE), YES_NO),
    ("Yes, that's right", BOOKED, "anything_else", card(**_PHONE), YES_NO),
    (
        "No, that's all, bye",
        "You're welcome. Goodbye, and take care.",
        "none",
        card(**_PHONE),
        [],
    ),
]


# The demo's "now" (a Monday morning, the clinic open) and a Saturday afternoon (closed).
DEMO_NOW = "2026-11-23T09:00"
CLOSED_NOW = "2026-11-21T13:00"


class PinnedClock:
    """Stands in for the engine where the screens only ask it the clinic's time: the
    conversation screens here are driven by replayed events, not by a running engine."""

    def __init__(self, now: str, timezone: str) -> None:
        self.now = datetime.fromisoformat(now).replace(tzinfo=ZoneInfo(timezone))

    def clinic_now(self) -> datetime:
        return self.now


def settle(ms: int = 150) -> None:
    """Let queued signals, layouts and background reads finish (a script, not a test)."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not get ready in time")
        settle(50)


def shot(widget: QWidget, name: str, size: tuple[int, int] | None = None) -> Path:
    if size:
        widget.resize(*size)
    widget.show()
    widget.raise_()
    settle(300)
    path = OUT / f"{name}.png"
    widget.grab().save(str(path))
    print(f"{path}  {widget.width()}x{widget.height()}")
    return path


def send(bridge: EngineBridge, kind: EventType, **data: Any) -> None:
    bridge.on_engine_event(EngineEvent(kind, data))


def components(bridge: EngineBridge, **states: tuple[str, str] | tuple[str, str, float]) -> None:
    for name, value in states.items():
        state, detail = value[0], value[1]
        progress = value[2] if len(value) > 2 else None
        send(
            bridge,
            EventType.COMPONENT,
            component=name,
            state=state,
            detail=detail,
            progress=progress,
        )
    settle(50)


READY = {
    "history": ("ready", "database ready (petvisor.sqlite3)"),
    "vetstoria": ("ready", "demo clinic (sandbox at http://127.0.0.1:41235)"),
    "llm": ("ready", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
    "vad": ("ready", "silero-vad-v6"),
    "stt": ("ready", "faster-whisper-tiny.en"),
    "tts": ("ready", "en_US-joe-medium"),
    "microphone": ("ready", "default microphone (USB Audio)"),
    "speaker": ("ready", "default speaker"),
}


def reply(
    bridge: EngineBridge, text: str, expecting: str, card_: dict[str, Any], **extra: Any
) -> None:
    send(
        bridge,
        EventType.ASSISTANT_REPLY,
        text=text,
        expecting=expecting,
        card=card_,
        done=extra.get("done", False),
        outcome=extra.get("outcome"),
        read_back=extra.get("read_back", False),
        choices=list(extra.get("choices", [])),
    )


def demo_history(path: Path) -> History:
    """A history with a few conversations: a booking (rated), a handoff, an abandoned one."""
    history = History.open(path)
    history.create_user("jo.nurse@clinic.example", "4826", "Jo Morgan")
    start = datetime(2026, 11, 23, 9, 2, tzinfo=UTC)

    def conversation(
        offset_min: int,
        mode: str,
        turns: list[tuple[str, str, dict[str, float]]],
        outcome: str,
        summary: str,
        rating: int | None = None,
    ) -> int:
        cid = history.start_conversation(mode, started_at=start + timedelta(minutes=offset_min))
        for role, text, latency in turns:
            history.add_turn(
                cid,
                role,
                text,
                latency=latency or None,
                expecting="none" if role == "assistant" else None,
            )
        if outcome == "booked":
            history.add_booking(
                cid,
                status="confirmed",
                appointment_ids=["A-10492"],
                slot_start="2026-11-25T09:00:00+00:00",
                schedule_id=1,
                species="Dog",
                appointment_type="Consultation",
                clinician="Dr Amy Roberts",
                pet_name="Biscuit",
                first_name="Sarah",
                last_name="Connolly",
                phone="07700900222",
            )
        if outcome == "handoff":
            history.add_handoff(cid, "person", "07700 900318")
        history.end_conversation(
            cid, outcome, summary, ended_at=start + timedelta(minutes=offset_min + 3)
        )
        if rating:
            history.rate_conversation(cid, rating)
        return cid

    lines: list[tuple[str, str, dict[str, float]]] = [("assistant", GREETING, {})]
    for i, (said, answer, _expecting, _card, _choices) in enumerate(STEPS):
        figures = {
            "response_ms": 610.0 + 47 * (i % 4) + 13 * i,
            "llm_first_token_ms": 170.0 + 23 * (i % 3),
            "llm_total_ms": 480.0 + 41 * (i % 5),
        }
        lines += [("caller", said, {}), ("assistant", answer, figures)]
    conversation(
        0,
        "kiosk",
        lines,
        "booked",
        "Booked a consultation for Biscuit (dog) with Dr Amy Roberts, Wed 25 Nov 09:00",
        rating=5,
    )
    conversation(
        14,
        "kiosk",
        [
            ("assistant", GREETING, {}),
            ("caller", "I need to move my cat's appointment", {}),
            (
                "assistant",
                "I can't change bookings myself, so I'll pass you to the reception team.",
                {"response_ms": 520.0},
            ),
        ],
        "handoff",
        "Reschedule: handed to reception",
        rating=4,
    )
    conversation(
        31,
        "ptt",
        [
            ("assistant", GREETING, {}),
            ("caller", "Do you see rabbits?", {}),
            (
                "assistant",
                "I can only book cats and dogs here; the team can help with rabbits.",
                {"response_ms": 610.0},
            ),
        ],
        "no_booking",
        "Asked about rabbits",
    )
    conversation(47, "kiosk", [("assistant", GREETING, {})], "abandoned", "Walked away")
    return history


def main() -> int:
    global OUT, KIOSK_SIZE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="take only screenshots whose name contains this")
    parser.add_argument("--out", type=Path, help="folder (default: docs/screenshots)")
    parser.add_argument(
        "--kiosk-size", default="1920x1080", help="the kiosk screen, WIDTHxHEIGHT (1920x1080)"
    )
    args = parser.parse_args()
    OUT = (args.out or OUT).resolve()
    width, height = (int(v) for v in args.kiosk_size.lower().split("x"))
    KIOSK_SIZE = (width, height)
    OUT.mkdir(parents=True, exist_ok=True)
    keyring.set_keyring(MemoryKeyring())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = load_settings()
    history = demo_history(settings.storage.db_path)
    wanted = (lambda name: args.only in name) if args.only else (lambda name: True)

    from ui.kiosk import KioskWindow
    from ui.staff_login import StaffLoginDialog
    from ui.talk_window import TalkWindow

    # ---- the kiosk -------------------------------------------------------------------------
    theme.apply(app, theme.Theme.for_mode(kiosk=True, screen_height_px=KIOSK_SIZE[1]))

    def kiosk(bridge: EngineBridge) -> KioskWindow:
        window = KioskWindow(bridge, settings, history=lambda: history)
        window.resize(*KIOSK_SIZE)
        return window

    if wanted("kiosk_loading"):
        bridge = EngineBridge()
        components(
            bridge,
            history=READY["history"],
            vetstoria=READY["vetstoria"],
            llm=("loading", "loading qwen2.5-coder-0.5b-instruct-q4_k_m…", 0.45),
            vad=("loading", "waiting to load"),
            stt=("loading", "waiting to load"),
            tts=("loading", "waiting to load"),
            microphone=("loading", "waiting to load"),
            speaker=("loading", "waiting to load"),
        )
        send(bridge, EventType.STATE, state="loading")
        shot(kiosk(bridge), "kiosk_loading", KIOSK_SIZE)

    bridge = EngineBridge()
    components(bridge, **READY)
    send(bridge, EventType.STATE, state="idle")
    bridge.attach(PinnedClock(DEMO_NOW, settings.clinic.timezone))
    window = kiosk(bridge)
    if wanted("kiosk_idle"):
        shot(window, "kiosk_idle", KIOSK_SIZE)

    # Mid-conversation: the card filling in, the day being asked, words being recognised.
    window.view.clear()
    window._set_typing(False)
    window._show_page(window.conversation_page)
    send(bridge, EventType.CONVERSATION_STARTED, conversation_id=7, mode="kiosk")
    reply(bridge, GREETING, "anything_else", CARD_EMPTY)

    def step(index: int) -> None:
        said, answer, expecting, values, choices = STEPS[index]
        send(bridge, EventType.CALLER_FINAL, text=said)
        reply(
            bridge,
            answer,
            expecting,
            values,
            choices=choices,
            read_back=expecting == "confirm",
            outcome="booked" if index >= 8 else None,
            done=index == 9,
        )

    for index in range(2):
        step(index)
    send(bridge, EventType.STATE, state="hearing")
    send(bridge, EventType.LEVEL, rms_db=-18.0)
    send(bridge, EventType.CALLER_PARTIAL, text="Wednesday morn")
    settle(100)
    if wanted("kiosk_conversation"):
        shot(window, "kiosk_conversation", KIOSK_SIZE)

    # The times offered, to tap instead of saying.
    step(2)
    send(bridge, EventType.STATE, state="listening")
    settle(100)
    if wanted("kiosk_choices_times"):
        shot(window, "kiosk_choices_times", KIOSK_SIZE)

    for index in range(3, 8):
        step(index)
    send(bridge, EventType.STATE, state="listening")
    settle(100)
    if wanted("kiosk_readback"):
        shot(window, "kiosk_readback", KIOSK_SIZE)

    for index in range(8, 10):
        step(index)
    send(bridge, EventType.CONVERSATION_ENDED, outcome="booked", conversation_id=7)
    settle(100)
    if wanted("kiosk_rating"):
        shot(window, "kiosk_rating", KIOSK_SIZE)

    if wanted("kiosk_pin"):
        window.clear()
        dialog = StaffLoginDialog(
            lambda: history,
            title="Staff PIN",
            prompt="Staff only. Enter your PIN to leave kiosk mode or open the staff screens.",
            action="Unlock",
            keypad=True,
            parent=window,
        )
        wait_for(lambda: dialog.user.count() > 0)
        dialog.secret.setText("12")
        dialog.secret.deselect()
        dialog.status.setText("That PIN is not right. 4 tries left.")
        theme.set_role(dialog.status, "role", "problem")
        shot(dialog, "kiosk_pin")
        dialog.close()
    window.close()

    if wanted("kiosk_unavailable"):
        bridge = EngineBridge()
        components(
            bridge,
            history=READY["history"],
            vetstoria=(
                "error",
                "The booking system cannot be reached: unavailable: could "
                "not connect to https://api.vetstoria.example (connection refused)",
            ),
            llm=("missing", "no llm model is installed; run `petvisor-desktop models install-dev`"),
            vad=READY["vad"],
            stt=READY["stt"],
            tts=READY["tts"],
            microphone=(
                "missing",
                "No microphone found. Plug in a microphone or choose another in Settings > Audio.",
            ),
            speaker=READY["speaker"],
        )
        send(bridge, EventType.STATE, state="unavailable")
        shot(kiosk(bridge), "kiosk_unavailable", KIOSK_SIZE)

    if wanted("kiosk_no_microphone"):
        bridge = EngineBridge()
        components(
            bridge,
            **{
                **READY,
                "microphone": (
                    "missing",
                    "No microphone found. Plug in a microphone or choose another in "
                    "Settings > Audio.",
                ),
            },
        )
        shot(kiosk(bridge), "kiosk_no_microphone", KIOSK_SIZE)

    if wanted("kiosk_idle_closed"):
        bridge = EngineBridge()
        components(bridge, **READY)
        send(bridge, EventType.STATE, state="idle")
        bridge.attach(PinnedClock(CLOSED_NOW, settings.clinic.timezone))
        shot(kiosk(bridge), "kiosk_idle_closed", KIOSK_SIZE)

    # ---- the push-to-talk window and the staff screens -------------------------------------
    theme.apply(app, theme.Theme.for_mode(kiosk=False))
    bridge = EngineBridge()
    components(bridge, **READY)
    if wanted("window_ptt"):
        talk = TalkWindow(bridge, settings)
        send(bridge, EventType.CONVERSATION_STARTED, conversation_id=9, mode="window")
        reply(bridge, GREETING, "anything_else", CARD_EMPTY)
        for said, answer, expecting, values, choices in STEPS[:4]:
            send(bridge, EventType.CALLER_FINAL, text=said)
            reply(bridge, answer, expecting, values, choices=choices)
        send(bridge, EventType.STATE, state="speaking")
        settle(100)
        shot(talk, "window_ptt", WINDOW_SIZE)
        talk.close_allowed = True
        talk.close()

    if wanted("window_choices"):
        # The vets to choose from.
        talk = TalkWindow(bridge, settings)
        send(bridge, EventType.CONVERSATION_STARTED, conversation_id=10, mode="window")
        reply(bridge, GREETING, "anything_else", CARD_EMPTY)
        said, answer, expecting, values, choices = STEPS[0]
        send(bridge, EventType.CALLER_FINAL, text=said)
        reply(bridge, answer, expecting, values, choices=choices)
        send(bridge, EventType.STATE, state="idle")
        talk.resize(*WINDOW_SIZE)
        talk.show()
        settle(100)
        shot(talk, "window_choices", WINDOW_SIZE)
        talk.close_allowed = True
        talk.close()

    if wanted("window_no_microphone"):
        b2 = EngineBridge()
        components(
            b2,
            **{
                **READY,
                "microphone": (
                    "missing",
                    "No microphone found. Plug in a microphone or choose another in "
                    "Settings > Audio.",
                ),
            },
        )
        talk = TalkWindow(b2, settings)
        shot(talk, "window_no_microphone", WINDOW_SIZE)
        talk.close_allowed = True
        talk.close()

    if wanted("admin_login"):
        dialog = StaffLoginDialog(lambda: history)
        wait_for(lambda: dialog.user.count() > 0)
        shot(dialog, "admin_login")
        dialog.close()

    from ui.admin.settings_page import day_hours
    from ui.admin.window import AdminWindow

    admin = AdminWindow(bridge, settings, lambda: history, staff_email="jo.nurse@clinic.example")
    admin.resize(*WINDOW_SIZE)
    wait_for(lambda: admin.history_page.model.rowCount() > 0)
    admin.history_page.table.selectRow(admin.history_page.model.rowCount() - 1)
    wait_for(lambda: "Biscuit" in admin.history_page.detail.toPlainText())
    if wanted("admin_history"):
        admin.show_tab("history")  # the worklist is the first tab (scripts/screenshots_worklist.py)
        shot(admin, "admin_history", WINDOW_SIZE)
    if wanted("admin_settings"):
        admin.show_tab("settings")
        wait_for(lambda: admin.settings_page.llm.count() > 0)
        wait_for(lambda: admin.settings_page.input_device.count() > 0)
        shot(admin, "admin_settings", WINDOW_SIZE)
        # The clinic's opening hours, with a lunch break on Wednesdays.
        page = admin.settings_page
        wednesday = page.hours_edits[2]
        wednesday.setText("08:30-12:30, 14:00-18:00")
        page.out_of_hours_phone.setText("01632 960111")
        group = page.findChild(QWidget, "group_clinic")
        bottom = group.y() + group.height() + 8 - page.viewport().height()
        page.verticalScrollBar().setValue(bottom)
        shot(admin, "admin_settings_hours", WINDOW_SIZE)
        wednesday.setText(day_hours(settings.clinic.hours, 2))
        page.out_of_hours_phone.clear()
        # The booking system: a real connection test, against a sandbox clinic.
        from vetstoria.sandbox import SandboxClinic

        with SandboxClinic(now="2026-11-23T09:00") as clinic:
            config = clinic.config()
            page.real_radio.setChecked(True)
            for seed in ("base_url", "auth_url", "partner_key", "site_hash", "booking_hash"):
                page.seed_edits[seed].setText(getattr(config, seed))
            page.seed_edits["site_id"].setText(str(config.site_id))
            page.secret.setText(config.secret)
            page.on_test_button_clicked()
            wait_for(lambda: page.test_button.isEnabled())
        group = page.findChild(QWidget, "group_booking")
        page.verticalScrollBar().setValue(group.y() - 8)
        shot(admin, "admin_settings_vetstoria", WINDOW_SIZE)
        page.real_radio.setChecked(False)
        page.secret.clear()
    if wanted("admin_diagnostics"):
        admin.show_tab("diagnostics")
        wait_for(lambda: admin.diagnostics_page.versions.rowCount() > 0)
        wait_for(lambda: admin.diagnostics_page.models.rowCount() > 0)
        shot(admin, "admin_diagnostics", WINDOW_SIZE)
    admin.close()

    if wanted("setup"):
        from ui.admin.setup_wizard import SetupWizard

        wizard = SetupWizard(settings, bridge, lambda: history)
        wizard.resize(960, 700)
        shot(wizard, "setup_welcome")
        wizard.next()
        wizard.staff_page.email.setText("jo.nurse@clinic.example")
        wizard.staff_page.name.setText("Jo Morgan")
        wizard.staff_page.secret.setText("4826")
        wizard.staff_page.repeat.setText("4826")
        shot(wizard, "setup_staff")
        wizard.next()
        wizard.next()
        wizard.next()
        shot(wizard, "setup_check")
        wizard.close()
    history.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
