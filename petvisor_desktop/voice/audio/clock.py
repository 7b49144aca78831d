"""The time the stand-ins keep (doubles.py): a clock and a way to wait on it. Real time by
default; a test of the stand-ins passes its own pair so that their pacing runs without real
sleeping."""

from __future__ import annotations

import threading
from collections.abc import Callable

Clock = Callable[[], float]
"""Monotonic seconds, as `time.monotonic`."""

Wait = Callable[[threading.Event, float], bool]
"""Wait up to the given seconds of the same clock for the event; True when it was set. The
stand-ins pace themselves through it, so that `stop()` cuts a wait short."""


def wait_for_event(event: threading.Event, timeout_s: float) -> bool:
    """The real-time `Wait`: `event.wait(timeout_s)`."""
    return event.wait(timeout_s)
