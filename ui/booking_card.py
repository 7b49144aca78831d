"""The booking card: fills in as the assistant understands each detail, highlights the one it
is asking for (`expecting`), and at the read-back lets the caller confirm or correct by touch."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from petvisor_desktop.card import FIELDS, format_value
from ui import theme
from ui.widgets import button, label


class CardRow(QFrame):
    """One detail. Focusable and, at the read-back, touchable to correct it."""

    activated = Signal(str)

    def __init__(self, field: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.title = title
        self.value = ""
        self.expecting = False
        self.correctable = False
        self.setObjectName(f"cardRow_{field}")
        self.setProperty("role", "card-row")
        self.setProperty("expecting", "false")
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        # One line per detail, "Animal   Dog   [Change]": the titles line up (see
        # BookingCard.align_titles) so the values read as one column.
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 3, 10, 3)
        layout.setSpacing(12)
        self.title_label = label(title, "card-label", wrap=False, name=f"cardTitle_{field}")
        self.value_label = label("—", "card-empty", name=f"cardValue_{field}")
        layout.addWidget(self.title_label, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.value_label, 1, Qt.AlignmentFlag.AlignVCenter)
        self.change = button(
            "Change",
            size="small",
            name=f"cardChange_{field}",
            accessible=f"Change {title.lower()}",
            tip=f"Tap to change {title.lower()}",
        )
        self.change.clicked.connect(lambda: self.activated.emit(self.field))
        self.change.hide()
        layout.addWidget(self.change, 0, Qt.AlignmentFlag.AlignVCenter)
        self._describe()

    def set_value(self, text: str) -> None:
        if text == self.value:
            return
        self.value = text
        self.value_label.setText(text or "—")
        theme.set_role(self.value_label, "role", "card-value" if text else "card-empty")
        self._describe()

    def set_expecting(self, on: bool) -> None:
        if on == self.expecting:
            return
        self.expecting = on
        theme.set_role(self, "expecting", on)
        self._describe()

    def set_correctable(self, on: bool) -> None:
        self.correctable = on
        self.change.setVisible(on)
        self.setCursor(Qt.CursorShape.PointingHandCursor if on else Qt.CursorShape.ArrowCursor)

    def _describe(self) -> None:
        text = f"{self.title}: {self.value or 'not given yet'}"
        if self.expecting:
            text += " (being asked now)"
        self.setAccessibleName(text)
        self.setToolTip(text)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.correctable and event.button() == Qt.MouseButton.LeftButton:
            self.activated.emit(self.field)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.correctable and event.key() in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Space,
        ):
            self.activated.emit(self.field)
            return
        super().keyPressEvent(event)


class BookingCard(QFrame):
    """The card. `update_from(reply)` takes an ASSISTANT_REPLY's data."""

    confirm_clicked = Signal(bool)  # True: "yes, book it"; False: "no, change something"
    correct_clicked = Signal(str)  # a card field

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bookingCard")
        self.setProperty("box", "panel")
        self.setAccessibleName("Your booking")
        self.expecting = "none"
        self.read_back = False
        self.correcting: str | None = None  # the detail the caller touched to change
        self.outcome: str | None = None
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        self.heading = label("Your booking", "heading", name="bookingCardHeading")
        layout.addWidget(self.heading)
        # The details scroll inside the card when the screen is short, so that the
        # read-back's buttons below them always stay on screen.
        self.rows_area = QScrollArea(self)
        self.rows_area.setObjectName("cardRows")
        self.rows_area.setWidgetResizable(True)
        self.rows_area.setFrameShape(QFrame.Shape.NoFrame)
        self.rows_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner.setObjectName("cardRowsInner")
        rows_layout = QVBoxLayout(inner)
        rows_layout.setContentsMargins(0, 0, 0, 0)
        rows_layout.setSpacing(4)
        self.rows: dict[str, CardRow] = {}
        for field, title in FIELDS:
            row = CardRow(field, title, inner)
            row.activated.connect(self.on_row_activated)
            self.rows[field] = row
            rows_layout.addWidget(row)
        rows_layout.addStretch(1)
        self.rows_area.setWidget(inner)
        # Takes what is left after the heading and the read-back, however little.
        self.rows_area.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        layout.addWidget(self.rows_area, 1)
        # The read-back: the whole booking at once, confirmed or corrected by touch.
        self.read_back_panel = QFrame(self)
        self.read_back_panel.setObjectName("readBackPanel")
        self.read_back_panel.setProperty("box", "notice")
        panel = QVBoxLayout(self.read_back_panel)
        self.read_back_label = label(
            "Is everything right? Tap a detail to change it.", "question", name="readBackQuestion"
        )
        panel.addWidget(self.read_back_label)
        self.confirm_buttons = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        buttons = self.confirm_buttons
        self.yes_button = button(
            "✓  Yes, book it",
            kind="confirm",
            size="big",
            name="confirmYes",
            accessible="Yes, book it",
            tip="Everything is right: book the appointment",
        )
        self.no_button = button(
            "No, change something",
            size="big",
            name="confirmNo",
            accessible="No, change something",
            tip="Something is wrong: tell the assistant what to change",
        )
        self.yes_button.clicked.connect(self.on_yes_button_clicked)
        self.no_button.clicked.connect(self.on_no_button_clicked)
        buttons.addWidget(self.yes_button, 1)
        buttons.addWidget(self.no_button, 1)
        panel.addLayout(buttons)
        layout.addWidget(self.read_back_panel)
        self.read_back_panel.hide()
        self.done_label = label("", "ok", name="bookingDone")
        self.done_label.hide()
        layout.addWidget(self.done_label)

    def align_titles(self) -> None:
        """All titles as wide as the widest, in the font the stylesheet gives them."""
        widest = 0
        for row in self.rows.values():
            row.title_label.ensurePolished()
            metrics = row.title_label.fontMetrics()
            widest = max(widest, metrics.horizontalAdvance(row.title) + metrics.averageCharWidth())
        for row in self.rows.values():
            row.title_label.setFixedWidth(widest)

    def showEvent(self, event: Any) -> None:
        self.align_titles()
        super().showEvent(event)

    def resizeEvent(self, event: Any) -> None:
        # "Yes" and "No" side by side when they fit, one above the other when they do not.
        needed = self.yes_button.sizeHint().width() + self.no_button.sizeHint().width() + 40
        wide = self.width() >= needed
        self.confirm_buttons.setDirection(
            QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        )
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self.align_titles()
        super().changeEvent(event)

    # ---- from the conversation --------------------------------------------------------

    def update_from(self, reply: dict[str, Any]) -> None:
        card = dict(reply.get("card") or {})
        for field, row in self.rows.items():
            row.set_value(format_value(field, card))
        expecting = str(reply.get("expecting") or "none")
        read_back = bool(reply.get("read_back")) and not reply.get("done")
        if read_back or expecting != "confirm":
            self.correcting = None
        # While the caller is correcting a detail they touched, that detail stays marked
        # (the assistant is still asking about the booking as a whole).
        self.set_expecting(self.correcting or expecting)
        self.set_read_back(read_back)
        outcome = reply.get("outcome")
        if reply.get("done") or outcome == "booked":
            self.show_outcome(outcome)

    def set_expecting(self, expecting: str) -> None:
        self.expecting = expecting
        for field, row in self.rows.items():
            row.set_expecting(field == expecting)
        if expecting in self.rows:
            self.rows_area.ensureWidgetVisible(self.rows[expecting])

    def set_read_back(self, on: bool) -> None:
        self.read_back = on
        self.read_back_panel.setVisible(on)
        self.yes_button.setEnabled(on)
        self.no_button.setEnabled(on)
        for row in self.rows.values():
            row.set_correctable(on)
        if on:
            self.heading.setText("Please check your booking")
            self.yes_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_outcome(self, outcome: str | None) -> None:
        self.outcome = outcome
        if outcome == "booked":
            self.heading.setText("Booked")
            self.done_label.setText("✓  Your appointment is booked.")
            self.done_label.show()
            self.set_read_back(False)
            self.set_expecting("none")

    def clear(self) -> None:
        self.correcting = None
        self.update_from({})
        self.outcome = None
        self.heading.setText("Your booking")
        self.done_label.hide()

    def is_empty(self) -> bool:
        return not any(row.value for row in self.rows.values())

    # ---- touches ------------------------------------------------------------------------

    @Slot()
    def on_yes_button_clicked(self) -> None:
        self._lock()
        self.confirm_clicked.emit(True)

    @Slot()
    def on_no_button_clicked(self) -> None:
        self._lock()
        self.confirm_clicked.emit(False)

    @Slot(str)
    def on_row_activated(self, field: str) -> None:
        if not self.read_back:
            return
        self._lock()
        self.correcting = field
        self.set_expecting(field)
        self.set_read_back(False)
        self.correct_clicked.emit(field)

    def _lock(self) -> None:
        """One touch per read-back: the buttons wait for the assistant's next reply."""
        self.yes_button.setEnabled(False)
        self.no_button.setEnabled(False)
        for row in self.rows.values():
            row.set_correctable(False)
        self.read_back = False
