"""Small shared widgets: the assistant's state at a glance, the microphone level, the list of
components still loading or in trouble, and a few constructors that set accessible names."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.bridge import ALL_COMPONENTS, TEXT_COMPONENTS, VOICE_COMPONENTS, EngineBridge


def label(text: str = "", role: str | None = None, *, wrap: bool = True, name: str = "") -> QLabel:
    widget = QLabel(text)
    widget.setWordWrap(wrap)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    if role:
        widget.setProperty("role", role)
    if name:
        widget.setObjectName(name)
    return widget


def button(
    text: str,
    *,
    kind: str | None = None,
    size: str | None = None,
    name: str = "",
    accessible: str | None = None,
    tip: str | None = None,
) -> QPushButton:
    """A push button with its accessible name and description set (screen readers say the
    accessible name; the visible text may be a short symbol)."""
    widget = QPushButton(text)
    if kind:
        widget.setProperty("kind", kind)
    if size:
        widget.setProperty("sizing", size)
    if name:
        widget.setObjectName(name)
    widget.setAccessibleName(accessible or text.replace("&", ""))
    if tip:
        widget.setToolTip(tip)
        widget.setAccessibleDescription(tip)
    widget.setCursor(Qt.CursorShape.PointingHandCursor)
    widget.setAutoDefault(False)
    return widget


# What each assistant state looks like: words first (colour is never the only cue).
STATE_LOOK: dict[str, tuple[str, str]] = {
    "idle": ("Ready", theme.MUTED),
    "loading": ("Starting up…", theme.MUTED),
    "listening": ("Listening — go ahead", theme.CONFIRM),
    "hearing": ("Hearing you…", theme.CONFIRM),
    "thinking": ("Thinking…", theme.PRIMARY),
    "speaking": ("Speaking", theme.PRIMARY),
    "unavailable": ("Not available", theme.DANGER),
}


class StateIcon(QWidget):
    """A drawn symbol per state (ring: listening; filled: hearing; dots: thinking; bars:
    speaking), animated gently so a glance from across the room tells them apart."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = "loading"
        self.phase = 0
        self.level = 0.0  # 0..1, from the microphone, while hearing
        self._timer = QTimer(self)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self.on_timer_timeout)
        self.setMinimumSize(48, 48)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_state(self, state: str) -> None:
        self.state = state
        animated = state in ("listening", "hearing", "thinking", "speaking", "loading")
        if animated and not self._timer.isActive():
            self._timer.start()
        elif not animated:
            self._timer.stop()
        self.update()

    @Slot()
    def on_timer_timeout(self) -> None:
        self.phase = (self.phase + 1) % 24
        self.update()

    def paintEvent(self, _event: Any) -> None:
        colour = QColor(STATE_LOOK.get(self.state, STATE_LOOK["idle"])[1])
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height())
        box = QRectF(
            (self.width() - side) / 2 + 3, (self.height() - side) / 2 + 3, side - 6, side - 6
        )
        pen = QPen(colour, max(3.0, side / 12))
        p.setPen(pen)
        c = box.center()
        r = box.width() / 2
        if self.state in ("listening", "hearing"):
            grow = 0.75 + 0.25 * math.sin(self.phase / 24 * 2 * math.pi)
            if self.state == "hearing":
                grow = 0.6 + 0.4 * max(self.level, 0.3)
            p.drawEllipse(c, r, r)
            p.setBrush(colour)
            inner = r * (0.45 if self.state == "listening" else grow * 0.8)
            p.drawEllipse(c, inner, inner)
        elif self.state in ("thinking", "loading"):
            p.drawEllipse(c, r, r)
            p.setBrush(colour)
            for i in range(3):
                lit = (self.phase // 4) % 3 == i
                dot = r * (0.2 if lit else 0.13)
                p.drawEllipse(QPointF(c.x() + (i - 1) * r * 0.55, c.y()), dot, dot)
        elif self.state == "speaking":
            p.setBrush(colour)
            widths = r * 0.22
            for i, base in enumerate((0.45, 0.9, 0.65)):
                wave = 0.6 + 0.4 * abs(math.sin((self.phase + i * 5) / 24 * 2 * math.pi))
                h = box.height() * base * wave
                x = c.x() + (i - 1) * widths * 1.8 - widths / 2
                p.drawRoundedRect(QRectF(x, c.y() - h / 2, widths, h), 3, 3)
        elif self.state == "unavailable":
            p.drawEllipse(c, r, r)
            d = r * 0.5
            p.drawLine(QPointF(c.x() - d, c.y() - d), QPointF(c.x() + d, c.y() + d))
            p.drawLine(QPointF(c.x() + d, c.y() - d), QPointF(c.x() - d, c.y() + d))
        else:  # idle
            p.drawEllipse(c, r, r)
        p.end()


class StateIndicator(QFrame):
    """The assistant's state at a glance: the symbol and a word or two."""

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stateIndicator")
        self.icon = StateIcon(self)
        self.text = label("", "big", wrap=False, name="stateText")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.icon)
        layout.addWidget(self.text)
        self.setAccessibleName("Assistant state")
        bridge.state_changed.connect(self.on_bridge_state_changed)
        bridge.level_changed.connect(self.on_bridge_level_changed)
        self.on_bridge_state_changed(bridge.state)

    def resizeEvent(self, event: Any) -> None:
        side = max(40, self.text.sizeHint().height() + 8)
        self.icon.setFixedSize(side, side)
        super().resizeEvent(event)

    @Slot(str)
    def on_bridge_state_changed(self, state: str) -> None:
        words, colour = STATE_LOOK.get(state, (state.title(), theme.TEXT))
        self.state = state
        self.text.setText(words)
        self.text.setStyleSheet(f"color: {colour};")
        self.icon.set_state(state)
        self.setAccessibleDescription(words)
        side = max(40, self.text.sizeHint().height() + 8)
        self.icon.setFixedSize(side, side)

    @Slot(float)
    def on_bridge_level_changed(self, rms_db: float) -> None:
        self.icon.level = min(1.0, max(0.0, (rms_db + 60.0) / 50.0))
        if self.icon.state == "hearing":
            self.icon.update()


class LevelMeter(QProgressBar):
    """A microphone level in dBFS, -60 (silence) to 0 (full scale)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(-60, 0)
        self.setValue(-60)
        self.setTextVisible(False)
        self.setAccessibleName("Microphone level")
        self.setMinimumWidth(120)

    @Slot(float)
    def set_db(self, rms_db: float) -> None:
        value = int(max(-60.0, min(0.0, rms_db)))
        self.setValue(value)
        self.setAccessibleDescription(f"{value} decibels")


COMPONENT_NAMES = {
    "history": "History database",
    "vetstoria": "Booking system (Vetstoria)",
    "llm": "Language model",
    "vad": "Voice detection",
    "stt": "Speech recognition",
    "tts": "Voice (speech synthesis)",
    "microphone": "Microphone",
    "speaker": "Speaker",
}
STATE_WORDS = {
    "loading": "Loading",
    "ready": "Ready",
    "missing": "Missing",
    "error": "Problem",
    "disabled": "Off",
}


class ComponentStatusPanel(QFrame):
    """Each component's state with what to do about a problem, and a progress bar for what
    is loading. Hides itself when everything is ready (unless `always`)."""

    def __init__(
        self,
        bridge: EngineBridge,
        parent: QWidget | None = None,
        *,
        always: bool = False,
        compact: bool = False,
        components: tuple[str, ...] = ALL_COMPONENTS,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.always = always
        self.compact = compact  # leave out the rows that are ready
        # What to hide when there is nothing to report (a scroll area holding the panel).
        self.visibility_target: QWidget = self
        self.components = components
        self.setObjectName("componentStatus")
        self.setProperty("box", "panel")
        self.setAccessibleName("What is loading and what needs attention")
        outer = QVBoxLayout(self)
        self.heading = label("Getting ready…", "heading", name="componentStatusHeading")
        outer.addWidget(self.heading)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        outer.addLayout(grid)
        self.heading_prefix = ""
        self.rows: dict[str, tuple[QLabel, QLabel, QProgressBar, QLabel]] = {}
        for row, name in enumerate(components):
            title = label(COMPONENT_NAMES.get(name, name), wrap=False)
            state = label("Waiting", "muted", wrap=False, name=f"state_{name}")
            bar = QProgressBar()
            bar.setRange(0, 0)
            bar.setTextVisible(False)
            bar.setMaximumWidth(220)
            bar.setAccessibleName(f"{COMPONENT_NAMES.get(name, name)} loading progress")
            detail = label("", "muted", name=f"detail_{name}")
            detail.setIndent(24)
            detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(title, row * 2, 0)
            grid.addWidget(state, row * 2, 1)
            grid.addWidget(bar, row * 2, 2)
            grid.addWidget(detail, row * 2 + 1, 0, 1, 3)
            detail.hide()
            self.rows[name] = (title, state, bar, detail)
        grid.setColumnStretch(0, 1)
        bridge.component_changed.connect(self.on_bridge_component_changed)
        self._render()

    @Slot(str, object)
    def on_bridge_component_changed(self, name: str, _data: dict[str, Any]) -> None:
        if name in self.rows:
            self._render()

    def _render(self) -> None:
        # The engine loads one component at a time: the first one still loading is the one
        # being loaded (with its progress); the others are waiting their turn.
        active = next(
            (n for n in self.components if self.bridge.component_state(n) == "loading"), None
        )
        for name in self.components:
            data = self.bridge.components.get(name, {})
            title, state_label, bar, detail = self.rows[name]
            state = str(data.get("state", "loading"))
            hide_row = self.compact and state in ("ready", "disabled")
            title.setVisible(not hide_row)
            state_label.setVisible(not hide_row)
            waiting = state == "loading" and name != active
            state_label.setText("Waiting" if waiting else STATE_WORDS.get(state, state))
            role = {"ready": "ok", "missing": "problem", "error": "problem"}.get(state, "muted")
            theme.set_role(state_label, "role", role)
            progress = data.get("progress")
            bar.setVisible(state == "loading" and not waiting)
            if isinstance(progress, int | float):
                bar.setRange(0, 100)
                bar.setValue(int(max(0.0, min(1.0, float(progress))) * 100))
            else:
                bar.setRange(0, 0)
            text = str(data.get("detail") or "")
            show = state in ("missing", "error") or (state == "loading" and not waiting)
            detail.setText(text)
            detail.setVisible(show and bool(text))
            theme.set_role(detail, "role", "problem" if state in ("missing", "error") else "muted")
        self._refresh()

    def refresh(self) -> None:
        self._refresh()

    def set_visibility_target(self, target: QWidget) -> None:
        """Show and hide `target` (the scroll area around the panel) instead of the panel.
        Call it once the panel is inside `target`."""
        self.visibility_target = target
        self.show()
        self._refresh()

    def _refresh(self) -> None:
        states = [self.bridge.component_state(n) for n in self.components]
        loading = sum(s == "loading" for s in states)
        bad = sum(s in ("missing", "error") for s in states)
        if bad:
            self.heading.setText(
                f"{self.heading_prefix}needs attention".capitalize()
                if not self.heading_prefix
                else f"{self.heading_prefix}what needs attention"
            )
        elif loading:
            self.heading.setText(f"Getting ready… ({len(states) - loading} of {len(states)} ready)")
        else:
            self.heading.setText("Everything is ready")
        self.visibility_target.setVisible(self.always or bool(loading or bad))


class NoticeBar(QFrame):
    """A notice (yellow) or a problem (red), in words."""

    def __init__(
        self, parent: QWidget | None = None, *, name: str = "notice", big: bool = False
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setProperty("box", "notice")
        layout = QHBoxLayout(self)
        self.text = label("", "question" if big else None, name=f"{name}Text")
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text, 1)
        self.hide()

    def show_message(self, text: str, *, problem: bool = False) -> None:
        self.text.setText(text)
        self.setAccessibleName(text)
        theme.set_role(self, "box", "problem" if problem else "notice")
        self.show()


def voice_problem(bridge: EngineBridge) -> str | None:
    """Why voice is not available (the first voice component in trouble), or None."""
    for name in VOICE_COMPONENTS:
        data = bridge.components.get(name, {})
        if data.get("state") in ("missing", "error"):
            what = COMPONENT_NAMES.get(name, name)
            return f"{what}: {data.get('detail') or 'not available'}"
        if data.get("state") == "disabled":
            return str(data.get("detail") or "Voice is off.")
    return None


def text_problem(bridge: EngineBridge) -> str | None:
    """Why the assistant cannot talk at all, or None."""
    for name in TEXT_COMPONENTS:
        data = bridge.components.get(name, {})
        if data.get("state") in ("missing", "error"):
            what = COMPONENT_NAMES.get(name, name)
            return f"{what}: {data.get('detail') or 'not available'}"
    return None
