"""The conversation, as both windows show it: the assistant's state, captions of both sides
(the caller's words appearing as they are recognised), the answers to a closed question as
buttons, and the booking card."""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.booking_card import BookingCard
from ui.bridge import EngineBridge
from ui.choices import ChoiceBar
from ui.widgets import LevelMeter, NoticeBar, StateIndicator, button, label

MAX_CAPTIONS = 40
# The read-back's own buttons on the card ("Yes, book it", "No, change something") are its
# yes and no: the same answers are not offered twice.
_CARD_ANSWERS = frozenset({"yes", "no"})


class Caption(QWidget):
    """One thing said: who said it, and the words."""

    def __init__(self, role: str, text: str, *, partial: bool = False) -> None:
        super().__init__()
        self.role = role
        who = "Assistant" if role == "assistant" else "You"
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.who = label(who, "caption-who", wrap=False)
        self.text = label(text)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.set_text(text, partial=partial)
        # The bubble takes most of the width, leaving a margin on the other speaker's side
        # (a wrapped QLabel only gets its height right when the layout decides its width).
        align = Qt.AlignmentFlag.AlignLeft if role == "assistant" else Qt.AlignmentFlag.AlignRight
        layout.addWidget(self.who, 0, align)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        if role == "assistant":
            row.addWidget(self.text, 6)
            row.addStretch(1)
        else:
            row.addStretch(1)
            row.addWidget(self.text, 6)
        layout.addLayout(row)

    def set_text(self, text: str, *, partial: bool = False) -> None:
        self.partial = partial
        self.text.setText(text + (" …" if partial else ""))
        if self.role == "assistant":
            role = "caption-assistant"
        else:
            role = "caption-partial" if partial else "caption-caller"
        theme.set_role(self.text, "role", role)
        who = "The assistant said" if self.role == "assistant" else "You said"
        self.text.setAccessibleName(f"{who}: {text}")


class CaptionList(QScrollArea):
    """Captions of both sides, newest at the bottom, scrolled into view as they come."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("captions")
        self.setAccessibleName("What has been said")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        self.column = QVBoxLayout(inner)
        self.column.setSpacing(12)
        self.column.addStretch(1)
        self.placeholder = label(
            "What you and the assistant say will appear here.", "muted", name="captionsEmpty"
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.column.addWidget(self.placeholder)
        self.setWidget(inner)
        self.captions: list[Caption] = []
        self.partial: Caption | None = None
        # Follow the newest caption unless the reader has scrolled up to read back.
        self.follow = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self.on_scrollbar_rangeChanged)
        bar.valueChanged.connect(self.on_scrollbar_valueChanged)

    @Slot(int, int)
    def on_scrollbar_rangeChanged(self, _low: int, high: int) -> None:
        if self.follow:
            self.verticalScrollBar().setValue(high)

    @Slot(int)
    def on_scrollbar_valueChanged(self, value: int) -> None:
        self.follow = value >= self.verticalScrollBar().maximum() - 4

    def _append(self, caption: Caption) -> Caption:
        self.placeholder.hide()
        self.column.addWidget(caption)
        self.captions.append(caption)
        while len(self.captions) > MAX_CAPTIONS:
            old = self.captions.pop(0)
            self.column.removeWidget(old)
            old.deleteLater()
        self.follow = True
        return caption

    def add_assistant(self, text: str) -> None:
        self._append(Caption("assistant", text))

    def caller_partial(self, text: str) -> None:
        if not text.strip():
            return
        if self.partial is None:
            self.partial = self._append(Caption("caller", text, partial=True))
        else:
            self.partial.set_text(text, partial=True)

    def caller_final(self, text: str) -> None:
        if self.partial is not None:
            if text.strip():
                self.partial.set_text(text)
            else:  # the recogniser heard nothing after all
                self.captions.remove(self.partial)
                self.column.removeWidget(self.partial)
                self.partial.deleteLater()
            self.partial = None
        elif text.strip():
            self._append(Caption("caller", text))

    def texts(self) -> list[tuple[str, str]]:
        """(role, text) of every caption shown (for tests and screen readers)."""
        return [(c.role, c.text.text()) for c in self.captions]

    def clear(self) -> None:
        for caption in self.captions:
            self.column.removeWidget(caption)
            caption.deleteLater()
        self.captions = []
        self.partial = None
        self.follow = True
        self.placeholder.show()


class TypeBox(QFrame):
    """Type instead of speaking: a line and a Send button."""

    submitted = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, big: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("typeBox")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setObjectName("typeEdit")
        self.edit.setPlaceholderText("Type your answer here and press Enter")
        self.edit.setAccessibleName("Type your answer")
        self.edit.setClearButtonEnabled(True)
        if big:
            self.edit.setProperty("sizing", "big")
        self.send = button(
            "Send",
            kind="primary",
            size="big" if big else None,
            name="typeSend",
            accessible="Send what you typed",
        )
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.send)
        self.edit.returnPressed.connect(self.on_edit_returnPressed)
        self.send.clicked.connect(self.on_edit_returnPressed)

    @Slot()
    def on_edit_returnPressed(self) -> None:
        text = self.edit.text().strip()
        if text:
            self.edit.clear()
            self.submitted.emit(text)

    def clear(self) -> None:
        self.edit.clear()


class ConversationView(QWidget):
    """State, captions, the answers to tap and the booking card, wired to the bridge;
    touches on the answers and on the card go back to the bridge as intents. `touch`: a
    touch screen (the kiosk), with answers for a finger; else a desktop window's mouse."""

    def __init__(
        self, bridge: EngineBridge, parent: QWidget | None = None, *, touch: bool = True
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("conversationView")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.state = StateIndicator(bridge, self)
        self.level = LevelMeter(self)
        self.level.setMaximumWidth(220)
        top.addWidget(self.state)
        top.addSpacing(16)
        top.addWidget(self.level)
        top.addStretch(1)
        self.top = top
        outer.addLayout(top)
        self.notice = NoticeBar(self, name="conversationNotice")
        outer.addWidget(self.notice)
        body = QHBoxLayout()
        body.setSpacing(18)
        self.captions = CaptionList(self)
        # The answers sit under the captions, below the question they answer.
        self.choices = ChoiceBar(
            self,
            hint="Tap an answer" if touch else "Click an answer",
            size="big" if touch else "medium",
        )
        # In line with the captions' bubbles above.
        self.choices.setContentsMargins(self.captions.column.contentsMargins())
        self.card = BookingCard(self)
        talk = QVBoxLayout()
        talk.setSpacing(12)
        talk.addWidget(self.captions, 1)
        talk.addWidget(self.choices, 0)
        body.addLayout(talk, 1)
        body.addWidget(self.card, 0)
        outer.addLayout(body, 1)
        self.choices.chosen.connect(self.on_choices_chosen)
        self.card.confirm_clicked.connect(self.on_card_confirm_clicked)
        self.card.correct_clicked.connect(self.on_card_correct_clicked)
        bridge.conversation_started.connect(self.on_bridge_conversation_started)
        bridge.caller_partial.connect(self.on_bridge_caller_partial)
        bridge.caller_final.connect(self.on_bridge_caller_final)
        bridge.assistant_reply.connect(self.on_bridge_assistant_reply)
        bridge.assistant_spoken.connect(self.on_bridge_assistant_spoken)
        bridge.conversation_ended.connect(self.on_bridge_conversation_ended)
        bridge.level_changed.connect(self.level.set_db)
        bridge.error_occurred.connect(self.on_bridge_error_occurred)
        bridge.intent_refused.connect(self.on_bridge_intent_refused)

    def resizeEvent(self, event: Any) -> None:
        # A fixed share of the width: the card must not jump when its read-back buttons
        # appear or a long caption arrives.
        self.card.setFixedWidth(max(320, int(self.width() * 0.42)))
        super().resizeEvent(event)

    def add_top_widget(self, widget: QWidget) -> None:
        self.top.addWidget(widget)

    def clear(self) -> None:
        """Nothing of the last caller stays on screen."""
        self.captions.clear()
        self.choices.clear()
        self.card.clear()
        self.notice.hide()
        self.level.set_db(-60.0)

    # ---- the bridge ---------------------------------------------------------------------

    @Slot(object)
    def on_bridge_conversation_started(self, _data: dict[str, Any]) -> None:
        self.clear()

    @Slot(str)
    def on_bridge_caller_partial(self, text: str) -> None:
        self.captions.caller_partial(text)

    @Slot(str)
    def on_bridge_caller_final(self, text: str) -> None:
        self.notice.hide()
        self.captions.caller_final(text)
        if text.strip():
            self.choices.lock()  # answered by voice or typing: one answer per question

    @Slot(object)
    def on_bridge_assistant_reply(self, data: dict[str, Any]) -> None:
        text = str(data.get("text", ""))
        if text:
            self.captions.add_assistant(text)
        self.card.update_from(data)
        choices = [] if data.get("done") else list(data.get("choices") or [])
        if self.card.read_back:
            choices = [c for c in choices if str(c).strip().lower() not in _CARD_ANSWERS]
        self.choices.set_choices(choices)

    @Slot(object)
    def on_bridge_conversation_ended(self, _data: dict[str, Any]) -> None:
        self.choices.clear()

    @Slot(object)
    def on_bridge_assistant_spoken(self, data: dict[str, Any]) -> None:
        if data.get("interrupted") and self.captions.captions:
            last = next(
                (c for c in reversed(self.captions.captions) if c.role == "assistant"), None
            )
            if last is not None:
                last.who.setText("Assistant (interrupted)")

    @Slot(object)
    def on_bridge_error_occurred(self, data: dict[str, Any]) -> None:
        message = str(data.get("message") or "Something went wrong.")
        if data.get("recoverable", True):
            self.choices.unlock()  # the turn failed: the question still stands
            self.notice.show_message(f"Sorry, that didn't work: {message} Please try again.")
        else:
            self.notice.show_message(
                f"Sorry, something went wrong: {message} Please ask at reception.", problem=True
            )

    @Slot(str)
    def on_bridge_intent_refused(self, message: str) -> None:
        self.notice.show_message(message, problem=True)

    # ---- touches on the answers and the card ----------------------------------------------

    @Slot(str)
    def on_choices_chosen(self, text: str) -> None:
        # The same way as typed words: the engine captions it as what the caller said.
        if not self.bridge.say(text):
            self.choices.unlock()

    @Slot(bool)
    def on_card_confirm_clicked(self, yes: bool) -> None:
        self.bridge.confirm(yes)

    @Slot(str)
    def on_card_correct_clicked(self, field: str) -> None:
        self.bridge.correct(field)


class RatingBar(QWidget):
    """One tap rates the conversation, 1 (poor) to 5 (excellent)."""

    rated = Signal(int)

    WORDS: ClassVar[dict[int, str]] = {
        1: "poor",
        2: "not great",
        3: "OK",
        4: "good",
        5: "excellent",
    }

    def __init__(self, parent: QWidget | None = None, *, big: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("ratingBar")
        self.setAccessibleName("Rate this conversation")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12 if big else 6)
        self.buttons: list[QWidget] = []
        for stars in range(1, 6):
            b = button(
                f"{stars} ★",
                kind="star" if big else None,
                name=f"rate{stars}",
                accessible=f"{stars} {'star' if stars == 1 else 'stars'}: {self.WORDS[stars]}",
            )
            b.clicked.connect(lambda _=False, n=stars: self.on_star_clicked(n))
            layout.addWidget(b)
            self.buttons.append(b)

    def on_star_clicked(self, stars: int) -> None:
        for b in self.buttons:
            b.setEnabled(False)
        self.rated.emit(stars)

    def reset(self) -> None:
        for b in self.buttons:
            b.setEnabled(True)
