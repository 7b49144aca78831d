"""The answers to a closed question as buttons, for pointing at the screen instead of
speaking: the times offered, Cat or Dog, the vets, the appointment types, Yes or No.

The engine lists them with each reply (`choices` in ASSISTANT_REPLY's data). A tap answers
exactly as if the caller had said the words, so it goes the way typed words go (`chosen`,
then `EngineBridge.say`), and the captions show it as what the caller said."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLayout, QLayoutItem, QPushButton, QVBoxLayout, QWidget

from ui.widgets import button, label

# Keys that press a focused answer: Space as on any button, and Enter as in the type box.
_PRESS_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_NEXT_KEYS = (Qt.Key.Key_Right, Qt.Key.Key_Down)
_PREVIOUS_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Up)
POOL = 6  # more answers than the clinic has vets or appointment types are rare


class FlowLayout(QLayout):
    """Widgets left to right at their natural size, wrapping onto a new row when the next
    one does not fit (after Qt's "Flow Layout" example). Hidden widgets take no room."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 12) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        """Place the items in `rect` (or only measure, without `move`); the height used."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            # Never wider than the row: a long answer is clipped rather than pushed off screen.
            size = QSize(min(hint.width(), max(1, area.width())), hint.height())
            if x > area.x() and x + size.width() > area.x() + area.width():
                x, y, row_height = area.x(), y + row_height + self._gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), size))
            x += size.width() + self._gap
            row_height = max(row_height, size.height())
        return y + row_height - rect.y() + margins.bottom()


class ChoiceBar(QFrame):
    """The possible answers to the question being asked, as large buttons. One answer per
    question: after a tap (or once the caller has answered by voice or typing) the buttons
    wait, disabled, for the assistant's next reply, which brings the next question's
    answers or none. Keyboard: Tab reaches them, the arrow keys move between them, Space or
    Enter answers; a keyboard user's focus moves on to the next question's answers."""

    chosen = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, *, hint: str = "Tap an answer", size: str = "big"
    ) -> None:
        super().__init__(parent)
        self.sizing = size  # the buttons' `sizing` in the theme
        self.setObjectName("choiceBar")
        self.setAccessibleName("Answers to the question")
        self.choices: tuple[str, ...] = ()
        self.locked = False
        # Where a keyboard user's focus goes when the answers go away (the type box).
        self.fallback_focus: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.hint = label(hint, "choice-hint", wrap=False, name="choiceHint")
        layout.addWidget(self.hint)
        self.flow = FlowLayout(spacing=12)
        layout.addLayout(self.flow)
        # Buttons are made here and reused, so that they take this bar's place in the tab
        # order (after the captions, where it is created) and keep it from question to
        # question; more are made, after the last one, when a question offers more.
        self.buttons: list[QPushButton] = []
        for _ in range(POOL):
            self._add_button()
        self.hide()

    # ---- what is shown ----------------------------------------------------------------

    def set_choices(self, choices: Iterable[Any]) -> None:
        """Show these answers (an empty list hides the bar)."""
        shown: list[str] = []
        for choice in choices:
            text = str(choice).strip()
            if text and text not in shown:
                shown.append(text)
        keyboard = self._holds_focus()
        self.choices = tuple(shown)
        self.locked = False
        while len(self.buttons) < len(shown):
            self._add_button()
        for b, text in zip(self.buttons, shown, strict=False):
            b.setText(text.replace("&", "&&"))  # an ampersand is shown, not a shortcut
            b.setAccessibleName(text)
            b.setToolTip(f"Answer “{text}”")
            b.setEnabled(True)
            b.show()
        for index, b in enumerate(self.buttons[len(shown) :], start=len(shown)):
            b.setAccessibleName(f"Answer {index + 1}")
            b.hide()
        if shown:
            self.show()
            if keyboard:
                self.buttons[0].setFocus(Qt.FocusReason.TabFocusReason)
        else:
            if keyboard:
                self._give_focus_away()
            self.hide()

    def clear(self) -> None:
        self.set_choices(())

    def lock(self) -> None:
        """The question has been answered: no second answer until the next reply."""
        if not self.choices or self.locked:
            return
        self.locked = True
        # Disabling the focused button would send the focus down the tab chain; it waits
        # here instead, to land on the next question's first answer.
        if self._holds_focus():
            self.setFocus(Qt.FocusReason.OtherFocusReason)
        for b in self.buttons:
            b.setEnabled(False)

    def unlock(self) -> None:
        """The answer did not get through (refused, or the turn failed): ask again."""
        self.locked = False
        for b in self.buttons[: len(self.choices)]:
            b.setEnabled(True)
        if self.choices and self._holds_focus():
            self.buttons[0].setFocus(Qt.FocusReason.TabFocusReason)

    def shown(self) -> list[QPushButton]:
        """The buttons of the answers on offer (none while the bar is hidden)."""
        return [] if self.isHidden() else self.buttons[: len(self.choices)]

    # ---- touches and keys ---------------------------------------------------------------

    def _add_button(self) -> None:
        index = len(self.buttons)
        b = button("", kind="choice", size=self.sizing, name=f"choice{index}")
        # Reached by Tab, but a tap or click leaves the focus where it was (the type box,
        # or the window, whose space bar is push-to-talk).
        b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        b.clicked.connect(lambda _=False, i=index: self.on_button_clicked(i))
        b.installEventFilter(self)
        b.setAccessibleName(f"Answer {index + 1}")  # until it is given an answer's words
        b.hide()
        self.flow.addWidget(b)
        if self.buttons:
            QWidget.setTabOrder(self.buttons[-1], b)
        self.buttons.append(b)

    def on_button_clicked(self, index: int) -> None:
        if self.locked or index >= len(self.choices):
            return
        text = self.choices[index]
        self.lock()
        self.chosen.emit(text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or watched not in self.buttons:
            return False
        assert isinstance(event, QKeyEvent)
        index = self.buttons.index(watched)  # type: ignore[arg-type]
        key = event.key()
        if key in _PRESS_KEYS:
            self.on_button_clicked(index)
            return True
        step = 1 if key in _NEXT_KEYS else -1 if key in _PREVIOUS_KEYS else 0
        if step and self.choices:
            target = self.buttons[(index + step) % len(self.choices)]
            target.setFocus(Qt.FocusReason.TabFocusReason)
            return True
        return False

    # ---- focus ------------------------------------------------------------------------------

    def _holds_focus(self) -> bool:
        focus = self.window().focusWidget()
        return focus is not None and (focus is self or self.isAncestorOf(focus))

    def _give_focus_away(self) -> None:
        """To the type box when there is one on screen; else hiding moves the focus on
        down the tab chain, as Qt does for any hidden widget."""
        target = self.fallback_focus
        if target is not None and target.isVisible() and target.isEnabled():
            target.setFocus(Qt.FocusReason.OtherFocusReason)
