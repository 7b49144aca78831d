"""A clock for testing the audio stand-ins (voice/audio/doubles.py) without real sleeping: it
is their `clock` and `wait` (see voice/audio/clock.py), and time moves only when the test
moves it."""

from __future__ import annotations

import threading


class ManualClock:
    """Monotonic seconds that move only when the test says so.

    A wait from the thread that made the clock moves the time on by itself, so a reader on
    the test's thread "sleeps" at once. A wait from another thread (a sink's clock thread)
    blocks until `advance()` takes the time to its deadline. `advance()` steps from deadline
    to deadline and, at each, lets the `threads` background waiters run until they wait again:
    whatever they do by a time is done when the test looks."""

    def __init__(self, threads: int = 0, start_s: float = 1000.0, patience_s: float = 5.0):
        self._now = start_s
        self._threads = threads
        self._patience_s = patience_s
        self._owner = threading.get_ident()
        self._cond = threading.Condition()
        self._deadlines: dict[int, float] = {}  # waiting thread -> when it is due
        self._woken: set[int] = set()  # threads released by the time, not waiting again yet

    def __call__(self) -> float:
        with self._cond:
            return self._now

    def wait(self, event: threading.Event, timeout_s: float) -> bool:
        """Wait up to `timeout_s` of this clock for `event`; True when it was set."""
        if threading.get_ident() == self._owner:
            self.advance(timeout_s, until=event)
            return event.is_set()
        me = threading.get_ident()
        with self._cond:
            self._woken.discard(me)
            deadline = self._now + timeout_s
            self._deadlines[me] = deadline
            self._cond.notify_all()
            try:
                while not event.is_set() and self._now < deadline:
                    self._cond.wait(0.005)  # event.set() does not notify us: look often
            finally:
                del self._deadlines[me]
                if not event.is_set() and timeout_s > 0:
                    self._woken.add(me)
                self._cond.notify_all()
        return event.is_set()

    def advance(self, seconds: float, until: threading.Event | None = None) -> None:
        """Move the time on by `seconds` (less when `until` is set on the way)."""
        with self._cond:
            target = self._now + seconds
            self._settle()
            while self._now < target and not (until is not None and until.is_set()):
                due = [d for d in self._deadlines.values() if d <= target]
                self._now = min(due, default=target)
                self._cond.notify_all()
                self._settle()

    def settle(self) -> None:
        """Let the background threads reach their first wait (after a `start()`)."""
        with self._cond:
            self._settle()

    def _settle(self) -> None:
        def waiting_again() -> bool:
            return (
                not self._woken
                and len(self._deadlines) >= self._threads
                and all(d > self._now for d in self._deadlines.values())
            )

        if not self._cond.wait_for(waiting_again, self._patience_s):
            raise AssertionError(
                f"the clock's {self._threads} thread(s) did not wait again within "
                f"{self._patience_s} s (waiting: {len(self._deadlines)}, "
                f"running: {len(self._woken)})"
            )
