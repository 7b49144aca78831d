"""The kiosk: full screen, legible from a standing distance, hands-free.

Pages: idle (invites the owner to speak, or to type, and says whether the clinic is open),
the conversation, the rating, and a thank-you. After the conversation, or after
`idle_timeout_s` without activity, everything of the last caller is cleared. Leaving needs
a staff PIN."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from petvisor_desktop.events import EngineEvent, EventType
from petvisor_desktop.hours import OpeningHours
from petvisor_desktop.settings import Settings
from ui.booking_card import format_value
from ui.bridge import EngineBridge
from ui.conversation_view import ConversationView, RatingBar, TypeBox
from ui.staff_login import StaffLoginDialog
from ui.theme import RESOURCES
from ui.widgets import ComponentStatusPanel, NoticeBar, button, label, text_problem, voice_problem

log = logging.getLogger(__name__)

RATING_TIMEOUT_MS = 30_000
THANKS_MS = 4_000
HOURS_REFRESH_MS = 60_000  # the hours line follows the clock to the minute
# Events that do not count as the caller doing something.
QUIET_EVENTS = (EventType.LEVEL, EventType.COMPONENT)


def hours_line(hours: OpeningHours, now: datetime, *, can_book: bool = True) -> str:
    """What the idle screen says about the opening hours at `now` (the clinic's local time):
    'Open today until 6pm', or when closed when it opens again; '' when no hours are kept."""
    if not hours.kept:
        return ""
    until = hours.until(now)
    if until:
        return f"Open today {until}"
    again = hours.when_open_again(now)
    line = f"We're closed now and open again {again}." if again else "We're closed now."
    return line + (" You can still book an appointment here." if can_book else "")


class IdlePage(QWidget):
    start_clicked = Signal()
    type_clicked = Signal()

    def __init__(
        self,
        bridge: EngineBridge,
        parent: QWidget | None = None,
        *,
        phone: str = "",
        hours: OpeningHours | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.phone = phone
        self.hours = hours or OpeningHours()
        self.setObjectName("idlePage")
        layout = QVBoxLayout(self)
        layout.setSpacing(24)
        layout.addStretch(1)
        self.paw = QLabel()
        self.paw.setObjectName("idlePaw")
        self.paw.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.paw.setAccessibleName("Petvisor")
        layout.addWidget(self.paw)
        self.title = label("Hello! Need to book a visit for your pet?", "title", name="idleTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subtitle = label("", "subtitle", name="idleSubtitle")
        self.subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Whether the clinic is open; shown only once there is a clock to read (the engine's).
        self.hours_line = label("", "heading", name="hoursLine")
        self.hours_line.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hours_line.hide()
        layout.addWidget(self.title)
        layout.addWidget(self.hours_line)
        layout.addWidget(self.subtitle)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start = button(
            "Start talking",
            kind="primary",
            size="huge",
            name="startTalking",
            tip="Start a conversation with the assistant by voice",
        )
        self.type = button(
            "Type instead",
            size="huge",
            name="typeInstead",
            tip="Start a conversation and type your answers",
        )
        self.start.clicked.connect(self.start_clicked)
        self.type.clicked.connect(self.type_clicked)
        buttons.addWidget(self.start)
        buttons.addSpacing(24)
        buttons.addWidget(self.type)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.notice = NoticeBar(self, name="idleNotice", big=True)
        layout.addWidget(self.notice)
        layout.addStretch(1)
        self.status = ComponentStatusPanel(bridge)
        # Scrolled if need be: on a small screen a long list of problems must not squeeze
        # the buttons above it.
        self.status_area = QScrollArea()
        self.status_area.setObjectName("idleStatusArea")
        self.status_area.setWidgetResizable(True)
        self.status_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.status_area.setWidget(self.status)
        self.status_area.setSizeAdjustPolicy(QScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.status.set_visibility_target(self.status_area)
        layout.addWidget(self.status_area, 0)
        self.hours_timer = QTimer(self)
        self.hours_timer.setObjectName("hoursTimer")
        self.hours_timer.setInterval(HOURS_REFRESH_MS)
        self.hours_timer.timeout.connect(self.refresh_hours)
        bridge.readiness_changed.connect(self.on_bridge_readiness_changed)
        bridge.component_changed.connect(lambda *_: self.refresh())
        bridge.engine_attached.connect(self.refresh_hours)
        self.refresh()

    @Slot(bool, bool)
    def on_bridge_readiness_changed(self, _converse: bool, _listen: bool) -> None:
        self.refresh()

    def showEvent(self, event: Any) -> None:
        # The paw is drawn at the size of the title's text, whatever the zoom.
        side = self.title.fontMetrics().height() * 3
        self.paw.setPixmap(QIcon(str(RESOURCES / "paw.svg")).pixmap(side, side))
        self.refresh_hours()
        self.hours_timer.start()
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        self.hours_timer.stop()
        super().hideEvent(event)

    def clinic_now(self) -> datetime | None:
        """The clinic's local time from the engine (pinned in the demo), or None before
        there is an engine to ask."""
        clock = getattr(self.bridge.engine, "clinic_now", None)
        if clock is None:
            return None
        try:
            now: datetime = clock()
        except Exception:  # a half-built engine: say nothing about the hours
            log.warning("the clinic's time cannot be read", exc_info=True)
            return None
        return now

    @Slot()
    def refresh_hours(self) -> None:
        now = self.clinic_now()
        line = hours_line(self.hours, now, can_book=not text_problem(self.bridge)) if now else ""
        self.hours_line.setText(line)
        self.hours_line.setVisible(bool(line))

    def refresh(self) -> None:
        can_talk = self.bridge.can_converse()
        can_listen = self.bridge.can_listen()
        broken = text_problem(self.bridge)
        mute = voice_problem(self.bridge)
        self.start.setEnabled(can_listen)
        self.type.setEnabled(can_talk)
        # The button that works is the big blue one.
        self.start.setProperty("kind", "primary" if can_listen or not can_talk else None)
        self.type.setProperty("kind", None if can_listen or not can_talk else "primary")
        for b in (self.start, self.type):
            b.style().unpolish(b)
            b.style().polish(b)
            b.setVisible(not broken)
        self.status.heading_prefix = "For staff: " if broken or mute else ""
        self.status.refresh()
        self.refresh_hours()
        if broken:
            self.title.setText("Sorry, I can't take bookings right now.")
            phone = f", or call {self.phone}" if self.phone else ""
            self.subtitle.setText(f"Please speak to the reception team{phone}.")
            self.notice.hide()
            return
        self.title.setText("Hello! Need to book a visit for your pet?")
        if not can_talk:
            self.subtitle.setText("Just a moment, I'm getting ready…")
            self.notice.hide()
        elif can_listen:
            # Wake-on-speech at the idle screen is the engine's to offer (`listens_when_idle`);
            # until then a tap starts the conversation, which is hands-free from there on.
            if getattr(self.bridge.engine, "listens_when_idle", False):
                self.subtitle.setText("Just start talking, or tap a button.")
            else:
                self.subtitle.setText("Tap “Start talking”, then just speak. No buttons to hold.")
            self.notice.hide()
        else:
            self.subtitle.setText("Tap “Type instead” to start.")
            if mute and self.bridge.component_state("microphone") != "loading":
                self.notice.show_message("Voice isn't available right now, but you can type.")
            else:
                self.notice.hide()


class RatingPage(QWidget):
    rated = Signal(int)
    skipped = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ratingPage")
        layout = QVBoxLayout(self)
        layout.setSpacing(24)
        layout.addStretch(1)
        self.outcome = label("", "title", name="ratingOutcome")
        self.outcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = label("", "subtitle", name="ratingDetail")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.outcome)
        layout.addWidget(self.detail)
        layout.addSpacing(24)
        ask = label("How did I do? One tap is enough.", "heading", name="ratingQuestion")
        ask.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(ask)
        row = QHBoxLayout()
        row.addStretch(1)
        self.bar = RatingBar(self, big=True)
        self.bar.rated.connect(self.rated)
        row.addWidget(self.bar)
        row.addStretch(1)
        layout.addLayout(row)
        skip_row = QHBoxLayout()
        skip_row.addStretch(1)
        self.skip = button("No thanks", size="big", name="ratingSkip", accessible="Skip the rating")
        self.skip.clicked.connect(self.skipped)
        skip_row.addWidget(self.skip)
        skip_row.addStretch(1)
        layout.addLayout(skip_row)
        layout.addStretch(2)

    def show_outcome(self, outcome: str, card: dict[str, Any]) -> None:
        self.bar.reset()
        if outcome == "booked":
            self.outcome.setText("You're booked in!")
            pet = card.get("pet_name") or "your pet"
            day = format_value("date", card)
            at = format_value("time", card)
            when = f" on {day}" if day else ""
            when += f" at {at}" if at else ""
            self.detail.setText(f"We'll see {pet}{when}.")
        elif outcome == "handoff":
            self.outcome.setText("Please go to the reception desk.")
            self.detail.setText("A member of the team will help you.")
        elif outcome == "no_booking":
            self.outcome.setText("Thanks for stopping by!")
            self.detail.setText("")
        else:
            self.outcome.setText("Sorry about that.")
            self.detail.setText("If you still need help, please ask at reception.")


class ThanksPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thanksPage")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = label("Thank you! Goodbye.", "title", name="thanksTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        layout.addStretch(1)


class StaffMenu(QDialog):
    """What staff can do once the PIN is right."""

    ADMIN, EXIT = 10, 11

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("staffMenu")
        self.setWindowTitle("Staff")
        layout = QVBoxLayout(self)
        layout.addWidget(label("Staff", "heading"))
        admin = button("Open the staff screens", size="big", name="staffAdmin")
        leave = button("Leave kiosk mode", kind="danger", size="big", name="staffExit")
        back = button("Back to the kiosk", kind="primary", size="big", name="staffBack")
        admin.clicked.connect(lambda: self.done(self.ADMIN))
        leave.clicked.connect(lambda: self.done(self.EXIT))
        back.clicked.connect(self.reject)
        for b in (admin, leave, back):
            layout.addWidget(b)
        back.setFocus()


class KioskWindow(QMainWindow):
    """The full-screen kiosk. `exit_requested` is emitted once staff have entered the PIN
    and chosen to leave; `admin_requested` to open the staff screens."""

    exit_requested = Signal()
    admin_requested = Signal()

    def __init__(
        self,
        bridge: EngineBridge,
        settings: Settings,
        *,
        history: Any = None,
        idle_timeout_ms: int | None = None,
        rating_timeout_ms: int = RATING_TIMEOUT_MS,
        thanks_ms: int = THANKS_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.settings = settings
        self.history = history or (lambda: getattr(bridge.engine, "history", None))
        self.exit_allowed = False
        self.signed_in_email = ""  # the staff member who last unlocked the staff menu
        self.typing = False
        self.ended_outcome: str | None = None
        self.setObjectName("kioskWindow")
        self.setWindowTitle(f"{settings.clinic.name} — Petvisor")
        central = QWidget()
        outer = QVBoxLayout(central)
        margin = 32
        outer.setContentsMargins(margin, margin // 2, margin, margin)
        top = QHBoxLayout()
        self.clinic = label(settings.clinic.name, "heading", wrap=False, name="clinicName")
        top.addWidget(self.clinic)
        top.addStretch(1)
        self.handoff = button(
            "Talk to reception",
            kind="danger",
            size="big",
            name="talkToReception",
            tip="Hand over to a member of the team at any time",
        )
        self.handoff.clicked.connect(self.on_handoff_clicked)
        top.addWidget(self.handoff)
        self.staff = button(
            "Staff", size="small", name="staffButton", accessible="Staff only: unlock with a PIN"
        )
        self.staff.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.staff.clicked.connect(self.on_staff_clicked)
        top.addSpacing(16)
        top.addWidget(self.staff, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(top)

        self.pages = QStackedWidget()
        outer.addWidget(self.pages, 1)
        self.idle_page = IdlePage(bridge, phone=settings.clinic.phone, hours=settings.clinic.hours)
        self.idle_page.start_clicked.connect(self.on_idle_start_clicked)
        self.idle_page.type_clicked.connect(self.on_idle_type_clicked)
        self.conversation_page = QWidget()
        self.conversation_page.setObjectName("conversationPage")
        conv = QVBoxLayout(self.conversation_page)
        conv.setContentsMargins(0, 0, 0, 0)
        self.view = ConversationView(bridge)
        conv.addWidget(self.view, 1)
        bottom = QHBoxLayout()
        self.type_box = TypeBox(big=True)
        self.type_box.submitted.connect(self.on_type_box_submitted)
        self.type_toggle = button(
            "Type instead", size="big", name="typeToggle", tip="Show a box to type your answers"
        )
        self.type_toggle.clicked.connect(self.on_type_toggle_clicked)
        self.start_over = button(
            "Start over", size="big", name="startOver", tip="Clear everything and start again"
        )
        self.start_over.clicked.connect(self.on_start_over_clicked)
        bottom.addWidget(self.type_box, 1)
        bottom.addWidget(self.type_toggle)
        bottom.addStretch(0)
        bottom.addWidget(self.start_over)
        conv.addLayout(bottom)
        self.view.choices.fallback_focus = self.type_box.edit
        self.rating_page = RatingPage()
        self.rating_page.rated.connect(self.on_rating_rated)
        self.rating_page.skipped.connect(self.clear)
        self.thanks_page = ThanksPage()
        for page in (self.idle_page, self.conversation_page, self.rating_page, self.thanks_page):
            self.pages.addWidget(page)
        self.setCentralWidget(central)

        timeout_ms = idle_timeout_ms or settings.clinic.idle_timeout_s * 1000
        self.idle_timer = QTimer(self)
        self.idle_timer.setObjectName("idleTimer")
        self.idle_timer.setSingleShot(True)
        self.idle_timer.setInterval(timeout_ms)
        self.idle_timer.timeout.connect(self.on_idle_timer_timeout)
        self.rating_timeout_ms = rating_timeout_ms
        self.thanks_ms = thanks_ms
        self.thanks_timer = QTimer(self)
        self.thanks_timer.setSingleShot(True)
        self.thanks_timer.timeout.connect(self.clear)

        bridge.conversation_started.connect(self.on_bridge_conversation_started)
        bridge.conversation_ended.connect(self.on_bridge_conversation_ended)
        bridge.event_received.connect(self.on_bridge_event_received)
        bridge.readiness_changed.connect(lambda *_: self._refresh_handoff())
        self._set_typing(False)
        QShortcut(QKeySequence("Ctrl+Alt+S"), self, activated=self.on_staff_clicked)
        QApplication.instance().installEventFilter(self)
        self._show_page(self.idle_page)

    # ---- pages ----------------------------------------------------------------------------

    def _show_page(self, page: QWidget) -> None:
        self.pages.setCurrentWidget(page)
        self._refresh_handoff()
        if page is self.idle_page:
            self.idle_page.refresh()
            if self.idle_page.start.isEnabled():
                self.idle_page.start.setFocus()
        elif page is self.rating_page and self.rating_page.bar.buttons:
            self.rating_page.bar.buttons[-1].setFocus()

    def _refresh_handoff(self) -> None:
        page = self.pages.currentWidget()
        self.handoff.setVisible(
            page in (self.idle_page, self.conversation_page) and self.bridge.can_converse()
        )

    def current_page(self) -> str:
        return self.pages.currentWidget().objectName()

    def _set_typing(self, on: bool) -> None:
        self.typing = on
        self.type_box.setVisible(on)
        self.type_toggle.setVisible(not on)
        if on:
            self.type_box.edit.setFocus()

    def clear(self) -> None:
        """Back to the idle screen with nothing of the last caller left on it."""
        self.idle_timer.stop()
        self.thanks_timer.stop()
        if self.bridge.in_conversation or self.bridge.conversation is not None:
            self.bridge.end_conversation("abandoned")
        self.view.clear()
        self.type_box.clear()
        self._set_typing(False)
        self.ended_outcome = None
        self._show_page(self.idle_page)

    # ---- the caller's intents -------------------------------------------------------------

    @Slot()
    def on_idle_start_clicked(self) -> None:
        self._begin(typing=False)

    @Slot()
    def on_idle_type_clicked(self) -> None:
        self._begin(typing=True)

    def _begin(self, typing: bool) -> None:
        self.view.clear()
        if self.bridge.start_conversation():
            self._set_typing(typing)
            self._show_page(self.conversation_page)
            self.idle_timer.start()

    @Slot(str)
    def on_type_box_submitted(self, text: str) -> None:
        self.idle_timer.start()
        self.bridge.say(text)

    @Slot()
    def on_type_toggle_clicked(self) -> None:
        self._set_typing(True)

    @Slot()
    def on_start_over_clicked(self) -> None:
        self.clear()

    @Slot()
    def on_handoff_clicked(self) -> None:
        if self.pages.currentWidget() is self.idle_page:
            self.view.clear()
            self._set_typing(False)
            if not self.bridge.request_handoff():
                return
            self._show_page(self.conversation_page)
        else:
            self.bridge.request_handoff()
        self.idle_timer.start()

    @Slot(int)
    def on_rating_rated(self, stars: int) -> None:
        self.bridge.rate(stars)
        self._show_page(self.thanks_page)
        self.thanks_timer.start(self.thanks_ms)

    # ---- the bridge -------------------------------------------------------------------------

    @Slot(object)
    def on_bridge_conversation_started(self, _data: dict[str, Any]) -> None:
        if self.pages.currentWidget() is not self.conversation_page:
            # The engine started it (the caller spoke to the idle screen).
            self.view.clear()
            self._set_typing(False)
            self._show_page(self.conversation_page)
        self.idle_timer.start()

    @Slot(object)
    def on_bridge_conversation_ended(self, data: dict[str, Any]) -> None:
        if self.pages.currentWidget() is not self.conversation_page:
            return  # cleared already (idle timeout, start over)
        outcome = str(data.get("outcome") or "abandoned")
        self.ended_outcome = outcome
        card = dict(self.bridge.last_reply.get("card") or {})
        self.rating_page.show_outcome(outcome, card)
        self._show_page(self.rating_page)
        self.idle_timer.start(self.rating_timeout_ms)

    @Slot(object)
    def on_bridge_event_received(self, event: EngineEvent) -> None:
        if event.type in QUIET_EVENTS:
            return
        if self.pages.currentWidget() is self.conversation_page:
            self.idle_timer.start()

    @Slot()
    def on_idle_timer_timeout(self) -> None:
        page = self.pages.currentWidget()
        if page is self.conversation_page and self.bridge.state in (
            "thinking",
            "speaking",
            "hearing",
        ):
            self.idle_timer.start()  # the assistant is busy, not the caller gone
            return
        if page is self.conversation_page:
            log.info("kiosk idle timeout: clearing the screen")
        self.clear()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Any touch, click or key while a conversation is on screen counts as activity.
        if (
            event.type()
            in (
                QEvent.Type.MouseButtonPress,
                QEvent.Type.KeyPress,
                QEvent.Type.TouchBegin,
            )
            and self.pages.currentWidget() is self.conversation_page
            and self.idle_timer.isActive()
        ):
            self.idle_timer.start()
        return False

    # ---- staff --------------------------------------------------------------------------------

    @Slot()
    def on_staff_clicked(self) -> None:
        dialog = StaffLoginDialog(
            self.history,
            title="Staff PIN",
            prompt="Staff only. Enter your PIN to leave kiosk mode or open the staff screens.",
            action="Unlock",
            keypad=True,
            parent=self,
        )
        self.staff_dialog = dialog
        dialog.accepted.connect(self.on_staff_dialog_accepted)
        dialog.open()

    @Slot()
    def on_staff_dialog_accepted(self) -> None:
        self.signed_in_email = self.staff_dialog.email or ""
        menu = StaffMenu(self)
        self.staff_menu = menu
        menu.finished.connect(self.on_staff_menu_finished)
        menu.open()

    @Slot(int)
    def on_staff_menu_finished(self, result: int) -> None:
        if result == StaffMenu.EXIT:
            self.exit_allowed = True
            self.exit_requested.emit()
        elif result == StaffMenu.ADMIN:
            self.admin_requested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.exit_allowed:
            QApplication.instance().removeEventFilter(self)
            event.accept()
            return
        event.ignore()
        self.on_staff_clicked()
