"""The state shown at a glance has one owner: only changes are announced, in the order they
happened whatever thread made them, and a lost microphone is not hidden by other states."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from petvisor_desktop.events import EventType
from petvisor_desktop.status import Status


class Shown:
    def __init__(self) -> None:
        self.states: list[str] = []

    def __call__(self, kind: EventType, **data: Any) -> None:
        assert kind is EventType.STATE
        self.states.append(data["state"])


def test_only_changes_are_announced() -> None:
    shown = Shown()
    status = Status(shown)
    for state in ("idle", "idle", "listening", "hearing", "hearing", "thinking", "speaking"):
        status.set(state)
    assert shown.states == ["idle", "listening", "hearing", "thinking", "speaking"]
    assert status.current == "speaking"


def test_the_first_state_is_announced_even_if_idle() -> None:
    # Before it the screens show a state derived from the components ("loading").
    shown = Shown()
    Status(shown).set("idle")
    assert shown.states == ["idle"]


def test_a_lost_microphone_stays_shown_until_it_is_back() -> None:
    shown = Shown()
    status = Status(shown)
    status.set("listening")
    status.lost()
    status.set("thinking")  # a typed answer is worked out meanwhile...
    status.set("speaking")  # ...and spoken: the screen still says the microphone is gone
    assert shown.states == ["listening", "unavailable"]
    status.recovered()
    assert shown.states == ["listening", "unavailable", "speaking"]
    status.recovered()  # twice is harmless
    assert status.current == "speaking"


def test_recovery_shows_the_state_from_before_when_nothing_changed() -> None:
    shown = Shown()
    status = Status(shown)
    status.set("listening")
    status.lost()
    status.recovered()
    assert shown.states == ["listening", "unavailable", "listening"]


def test_unknown_states_and_unavailable_by_set_are_refused() -> None:
    status = Status(Shown())
    with pytest.raises(ValueError, match="unknown state"):
        status.set("asleep")
    with pytest.raises(ValueError, match="lost"):
        status.set("unavailable")


def test_changes_from_many_threads_arrive_in_order_without_repeats() -> None:
    shown = Shown()
    status = Status(shown)
    cycle = ("listening", "hearing", "thinking", "speaking")
    start = threading.Barrier(4)

    def run(offset: int) -> None:
        start.wait()
        for i in range(2000):
            status.set(cycle[(i + offset) % len(cycle)])

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a != b for a, b in itertools.pairwise(shown.states))
    assert shown.states[-1] == status.current
