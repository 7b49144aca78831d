"""The push-to-talk window: a normal desktop window. Hold the button (or the space bar) to
talk, or type; the same conversation view as the kiosk."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QScrollArea,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from petvisor_desktop.settings import Settings
from ui import theme
from ui.bridge import EngineBridge
from ui.conversation_view import ConversationView, RatingBar, TypeBox
from ui.widgets import ComponentStatusPanel, NoticeBar, button, label, text_problem, voice_problem

# Widgets in which the space bar types a space (or presses the focused button) rather
# than talking.
_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox, QComboBox, QAbstractButton)


class TalkWindow(QMainWindow):
    """`admin_requested`, `zoom_requested(step)` and `quit_requested` are handled by the app."""

    admin_requested = Signal()
    worklist_requested = Signal()
    diagnostics_requested = Signal()
    zoom_requested = Signal(int)
    quit_requested = Signal()

    def __init__(
        self, bridge: EngineBridge, settings: Settings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.settings = settings
        self.talking = False
        self.close_allowed = False
        self.setObjectName("talkWindow")
        self.setWindowTitle(f"Petvisor — {settings.clinic.name}")
        self.resize(1100, 720)
        self._menus()

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(10)
        # What is loading or missing, scrolled within a strip so that the conversation
        # keeps the window's height on a small screen.
        self.status = ComponentStatusPanel(bridge, compact=True)
        self.status_area = QScrollArea()
        self.status_area.setObjectName("statusArea")
        self.status_area.setWidgetResizable(True)
        self.status_area.setWidget(self.status)
        self.status_area.setMaximumHeight(240)
        self.status_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.status.set_visibility_target(self.status_area)
        outer.addWidget(self.status_area)
        self.notice = NoticeBar(self, name="windowNotice")
        outer.addWidget(self.notice)
        # New items on the reception worklist, where the desktop has no notification area.
        self.worklist_notice = NoticeBar(self, name="worklistNotice")
        outer.addWidget(self.worklist_notice)
        self.view = ConversationView(bridge, touch=False)
        self.new_button = button(
            "New conversation",
            name="newConversation",
            tip="Clear the screen and start again (Ctrl+N)",
        )
        self.new_button.clicked.connect(self.on_new_button_clicked)
        self.handoff = button(
            "Talk to reception",
            kind="danger",
            name="talkToReception",
            tip="Hand the caller over to a member of the team",
        )
        self.handoff.clicked.connect(self.on_handoff_clicked)
        self.view.add_top_widget(self.new_button)
        self.view.add_top_widget(self.handoff)
        outer.addWidget(self.view, 1)

        self.rating_row = QWidget()
        self.rating_row.setObjectName("ratingRow")
        rating = QHBoxLayout(self.rating_row)
        rating.setContentsMargins(0, 0, 0, 0)
        self.rating_label = label("How did it go?", "heading", wrap=False, name="ratingQuestion")
        self.rating = RatingBar(self)
        self.rating.rated.connect(self.on_rating_rated)
        rating.addWidget(self.rating_label)
        rating.addWidget(self.rating)
        rating.addStretch(1)
        self.rating_row.hide()
        outer.addWidget(self.rating_row)

        bottom = QHBoxLayout()
        self.talk = button(
            "Hold to talk (Space)",
            kind="primary",
            size="big",
            name="pushToTalk",
            accessible="Hold to talk",
            tip="Hold this button, or the space bar, while you speak; let go when you finish",
        )
        self.talk.pressed.connect(self.on_talk_pressed)
        self.talk.released.connect(self.on_talk_released)
        self.type_box = TypeBox(self)
        self.type_box.submitted.connect(self.on_type_box_submitted)
        bottom.addWidget(self.talk)
        bottom.addWidget(self.type_box, 1)
        outer.addLayout(bottom)
        self.view.choices.fallback_focus = self.type_box.edit
        self.setCentralWidget(central)
        self.statusBar().showMessage("Starting up…")

        bridge.readiness_changed.connect(self.on_bridge_readiness_changed)
        bridge.component_changed.connect(lambda *_: self.refresh())
        bridge.conversation_started.connect(self.on_bridge_conversation_started)
        bridge.conversation_ended.connect(self.on_bridge_conversation_ended)
        QApplication.instance().installEventFilter(self)
        self.refresh()

    def _menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&New conversation", "Ctrl+N", self.on_new_button_clicked)
        self._action(file, "&Staff screens…", "Ctrl+,", self.admin_requested.emit)
        self._action(file, "Reception &worklist…", "Ctrl+L", self.on_worklist_button_clicked)
        file.addSeparator()
        self._action(file, "&Quit", "Ctrl+Q", self.close)
        view = bar.addMenu("&View")
        self._action(view, "Zoom &in", "Ctrl++", lambda: self.zoom_requested.emit(1))
        self._action(view, "Zoom &out", "Ctrl+-", lambda: self.zoom_requested.emit(-1))
        self._action(view, "&Actual size", "Ctrl+0", lambda: self.zoom_requested.emit(0))
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Diagnostics…", "F12", self.diagnostics_requested.emit)
        # The reception worklist: how many callers need a person (staff screens, Ctrl+L).
        self.worklist_button = button(
            "Worklist",
            size="small",
            name="worklistBadge",
            tip="Callers who need a person: open the reception worklist (Ctrl+L)",
        )
        self.worklist_button.clicked.connect(self.on_worklist_button_clicked)
        bar.setCornerWidget(self.worklist_button, Qt.Corner.TopRightCorner)

    def _action(self, menu: Any, text: str, keys: str, slot: Any) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # ---- readiness ----------------------------------------------------------------------

    @Slot(bool, bool)
    def on_bridge_readiness_changed(self, _converse: bool, _listen: bool) -> None:
        self.refresh()

    def refresh(self) -> None:
        can_talk = self.bridge.can_converse()
        can_listen = self.bridge.can_listen()
        self.talk.setEnabled(can_listen)
        self.type_box.setEnabled(can_talk)
        self.handoff.setEnabled(can_talk)
        broken = text_problem(self.bridge)
        mute = voice_problem(self.bridge)
        if broken:
            self.notice.show_message(f"The assistant cannot take bookings: {broken}", problem=True)
            self.statusBar().showMessage("Not available — see the message above")
        elif not can_talk:
            self.notice.hide()
            self.statusBar().showMessage("Starting up… you can talk when the models are loaded")
        elif not can_listen:
            voice_loading = self.bridge.component_state("microphone") == "loading"
            if mute and not voice_loading:
                self.notice.show_message("Voice is not available, so please type.")
            else:
                self.notice.hide()
            self.talk.setToolTip(mute or "Voice is still loading")
            self.statusBar().showMessage(
                "Ready to type" + (" (voice loading)" if voice_loading else "")
            )
        else:
            self.notice.hide()
            self.talk.setToolTip("Hold this button, or the space bar, while you speak")
            self.statusBar().showMessage("Ready")

    # ---- the reception worklist -------------------------------------------------------------

    def set_worklist_count(self, count: int) -> None:
        """The badge: how many items are open (red while any are)."""
        text = f"Worklist: {count} open" if count else "Worklist: nothing open"
        self.worklist_button.setText(text)
        self.worklist_button.setAccessibleName(text)
        theme.set_role(self.worklist_button, "kind", "danger" if count else "")
        if not count:
            self.worklist_notice.hide()

    def show_worklist_notice(self, text: str) -> None:
        self.worklist_notice.show_message(f"{text}. Open the worklist (Ctrl+L) to see who.")

    @Slot()
    def on_worklist_button_clicked(self) -> None:
        self.worklist_notice.hide()
        self.worklist_requested.emit()

    # ---- intents ---------------------------------------------------------------------------

    @Slot()
    def on_talk_pressed(self) -> None:
        if self.talking or not self.talk.isEnabled():
            return
        self.talking = True
        self.talk.setText("Listening… let go when you finish")
        self.rating_row.hide()
        self.bridge.talk_pressed()

    @Slot()
    def on_talk_released(self) -> None:
        if not self.talking:
            return
        self.talking = False
        self.talk.setText("Hold to talk (Space)")
        self.bridge.talk_released()

    @Slot(str)
    def on_type_box_submitted(self, text: str) -> None:
        self.rating_row.hide()
        self.bridge.say(text)

    @Slot()
    def on_handoff_clicked(self) -> None:
        self.bridge.request_handoff()

    @Slot()
    def on_new_button_clicked(self) -> None:
        self.bridge.end_conversation("abandoned")
        self.view.clear()
        self.rating_row.hide()
        self.type_box.edit.setFocus()

    @Slot(int)
    def on_rating_rated(self, stars: int) -> None:
        self.bridge.rate(stars)
        self.rating_label.setText("Thank you!")

    @Slot(object)
    def on_bridge_conversation_started(self, _data: dict[str, Any]) -> None:
        self.rating_row.hide()

    @Slot(object)
    def on_bridge_conversation_ended(self, data: dict[str, Any]) -> None:
        if self.bridge.conversation is None:
            return  # ended by "New conversation"
        self.rating_label.setText("How did it go?")
        self.rating.reset()
        self.rating_row.show()
        self.statusBar().showMessage(f"Conversation ended: {data.get('outcome') or 'ended'}")

    # ---- the space bar ----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        assert isinstance(event, QKeyEvent)
        if event.key() != Qt.Key.Key_Space:
            return False
        if event.isAutoRepeat():
            return self.talking  # the held key repeats; swallow it while talking
        # Only keys meant for this window, and not while typing in a field or on a button.
        if not isinstance(watched, QWidget) or watched.window() is not self:
            return False
        if isinstance(watched, _TEXT_INPUTS) or isinstance(self.focusWidget(), _TEXT_INPUTS):
            return False
        if kind == QEvent.Type.KeyPress:
            self.on_talk_pressed()
        else:
            self.on_talk_released()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.close_allowed:
            QApplication.instance().removeEventFilter(self)
            event.accept()
            return
        event.ignore()
        self.quit_requested.emit()
