"""What the assistant is doing right now, as the kiosk and the window show it at a glance.

One owner: the engine makes one `Status`, and the conversation (thinking, idle) and the voice
loop (listening, hearing, speaking, unavailable) set it, from whatever thread they run on.
It announces a change once and in the order the changes happened (the STATE event), never
the same state twice in a row.

A lost microphone is the one state that others do not replace: while it is "unavailable",
what the conversation or the loop asks for is kept and shown once the device is back, so a
reply spoken meanwhile does not make the screen claim that the kiosk is listening."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from petvisor_desktop.events import STATES, EventType

log = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"


class Status:
    def __init__(self, emit: Callable[..., None]) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        # Nothing announced yet: before the first conversation the screens derive the state
        # from the components (loading, idle), so the first `set` is always announced.
        self._shown: str | None = None
        self._wanted = "idle"  # what the conversation and the loop last asked for
        self._lost = False

    @property
    def current(self) -> str | None:
        """The state last announced (None before the first)."""
        with self._lock:
            return self._shown

    def set(self, state: str) -> None:
        """The conversation or the loop moved on to `state` (one of STATES)."""
        _check(state)
        if state == UNAVAILABLE:
            raise ValueError("use lost() for a lost device; it is undone by recovered()")
        with self._lock:
            self._wanted = state
            if not self._lost:
                self._show(state)

    def lost(self) -> None:
        """The microphone is gone: "unavailable" until `recovered`."""
        with self._lock:
            self._lost = True
            self._show(UNAVAILABLE)

    def recovered(self) -> None:
        """The microphone is back: show what was asked for meanwhile."""
        with self._lock:
            if not self._lost:
                return
            self._lost = False
            self._show(self._wanted)

    def _show(self, state: str) -> None:
        # Under the lock, so that two threads' changes reach the screen in their order.
        if state == self._shown:
            return
        log.debug("status %s -> %s", self._shown, state)
        self._shown = state
        self._emit(EventType.STATE, state=state)


def _check(state: str) -> None:
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
