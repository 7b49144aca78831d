"""Noticing new worklist items: `WorklistWatch` polls the history database, and
`WorklistAlert` tells the staff (a chime, and a desktop notification, or a banner in the
window where the desktop has no notification area).

Why polling: the kiosk and the staff's window may be two processes on the same PC, and the
database file is what they share; engine events reach only their own process. A poll reads a
cheap fingerprint of the tables (`History.worklist_stamp`, well under a millisecond) and the
items only when it changed, on a background thread, every `POLL_MS`.

Nothing here says who the caller is: a notification shows on the desktop, where people who
are not staff may see it, so it names only the kind of item and the time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from petvisor_desktop import worklist as words
from ui.workers import run_in_background

log = logging.getLogger(__name__)

POLL_MS = 5000
CHIME_RATE_HZ = 24_000


class WorklistWatch(QObject):
    """Reads the open worklist items every `interval_ms` while started.

    `changed(items)`: the open items, whenever they differ from the last read (and once at
    the first read). `arrived(items)`: items that appeared since the last read and nobody has
    touched yet (not at the first read: what was open before the window opened is not news).
    """

    changed = Signal(object)
    arrived = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        history: Callable[[], Any],
        *,
        interval_ms: int = POLL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.history = history
        self.items: list[Any] | None = None  # None until the first read
        self.reading = False
        self._stamp: Any = None
        self._timer = QTimer(self)
        self._timer.setObjectName("worklistPoll")
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    @property
    def open_count(self) -> int:
        return len(self.items or ())

    def start(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
        self.poll()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def poll(self, *, force: bool = False) -> None:
        """Read now (in the background); `force` reads the items even if nothing seems
        to have changed (after this window changed one itself)."""
        history = self.history()
        if history is None or self.reading:
            return
        self.reading = True
        known = None if force else self._stamp

        def read() -> tuple[Any, list[Any] | None]:
            stamp = history.worklist_stamp()
            if stamp == known:
                return stamp, None
            return stamp, history.worklist(open_only=True)

        run_in_background(read, on_done=self.on_read_done, on_error=self.on_read_failed)

    @Slot(object)
    def on_read_done(self, result: tuple[Any, list[Any] | None]) -> None:
        self.reading = False
        stamp, items = result
        self._stamp = stamp
        if items is None:
            return
        before = self.items
        self.items = items
        if before == items:
            return
        self.changed.emit(items)
        if before is None:
            return
        seen = {i.id for i in before}
        new = [i for i in items if i.id not in seen and not i.actions]
        if new:
            self.arrived.emit(new)

    @Slot(object)
    def on_read_failed(self, exc: BaseException) -> None:
        self.reading = False
        log.warning("the worklist could not be read: %s", exc)
        self.failed.emit(f"The worklist could not be read: {exc}")


def chime() -> np.ndarray:
    """Two soft rising notes, about half a second: noticeable at a desk, not an alarm."""
    parts = []
    for freq, length_s in ((660.0, 0.18), (880.0, 0.3)):
        t = np.arange(int(length_s * CHIME_RATE_HZ)) / CHIME_RATE_HZ
        note = 0.25 * np.sin(2 * np.pi * freq * t) * np.exp(-4.0 * t)
        fade = int(0.01 * CHIME_RATE_HZ)
        note[:fade] *= np.linspace(0.0, 1.0, fade)
        note[-fade:] *= np.linspace(1.0, 0.0, fade)
        parts.append(note)
    return np.concatenate(parts).astype(np.float32)


def play_chime(device: str | None) -> None:
    """Play the chime on the staff's speaker and wait for it (run in the background)."""
    import sounddevice

    sounddevice.play(chime(), CHIME_RATE_HZ, device=device or None, blocking=True)


def notice_text(items: list[Any]) -> str:
    """'New on the worklist: Cancellation (09:14)', without personal data."""
    if len(items) == 1:
        item = items[0]
        return f"New on the worklist: {words.headline(item)} ({item.raised_at.astimezone():%H:%M})"
    kinds = ", ".join(dict.fromkeys(words.headline(i) for i in items))
    return f"{len(items)} new items on the worklist: {kinds}"


class WorklistAlert(QObject):
    """Tells the staff that items arrived: `play` (a chime on the speaker; a test hands in
    its own sink) and a desktop notification, or `show_banner(text)` in the window when the
    desktop has no notification area (`tray_available`, by default Qt's answer)."""

    def __init__(
        self,
        show_banner: Callable[[str], None],
        *,
        play: Callable[[], None] | None = None,
        tray_available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.show_banner = show_banner
        self.play = play
        self.tray_available = tray_available
        self.tray: QSystemTrayIcon | None = None
        self.last_notice: str | None = None

    @Slot(object)
    def on_watch_arrived(self, items: list[Any]) -> None:
        text = notice_text(items)
        self.last_notice = text
        if self.play is not None:
            run_in_background(self.play, on_error=self.on_play_failed, context=self)
        if self.tray_available():
            if self.tray is None:
                self.tray = QSystemTrayIcon(QApplication.windowIcon(), self)
                self.tray.setToolTip("Petvisor: reception worklist")
                self.tray.show()
            self.tray.showMessage("Petvisor", text, QSystemTrayIcon.MessageIcon.Information)
        else:
            self.show_banner(text)

    @Slot(object)
    def on_play_failed(self, exc: BaseException) -> None:
        # No speaker at this desk is not a reason to miss the item: the notice still shows.
        log.info("the worklist chime could not be played: %s", exc)
