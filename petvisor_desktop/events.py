"""Plain engine events: what the engine reports to whoever drives it (the Qt bridge, the
terminal voice loop, the simulator). A small frozen record with a type and a timestamp,
handed to a callback; the engine never imports Qt."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    # Start-up: one per component as it loads (data: component, state, detail, progress).
    COMPONENT = "component"
    # What the assistant is doing right now (data: state, one of STATES).
    STATE = "state"
    CONVERSATION_STARTED = "conversation-started"  # data: conversation_id, mode
    CALLER_PARTIAL = "caller-partial"  # data: text (words recognised so far)
    CALLER_FINAL = "caller-final"  # data: text
    # The reply as decided (data: text, expecting, card, done, outcome).
    ASSISTANT_REPLY = "assistant-reply"
    # What the caller actually heard of a reply (data: text, interrupted, reply: its full text).
    ASSISTANT_SPOKEN = "assistant-spoken"
    BARGE_IN = "barge-in"  # data: heard_s
    LEVEL = "level"  # microphone level for meters (data: rms_db)
    TURN_METRICS = "turn-metrics"  # data: the per-stage figures in ms (see history latency)
    CONVERSATION_ENDED = "conversation-ended"  # data: outcome, conversation_id
    ERROR = "error"  # data: stage, code, message, recoverable


# Assistant states shown at a glance.
STATES = ("idle", "loading", "listening", "hearing", "thinking", "speaking", "unavailable")
# Component states on the diagnostics screen and the start-up overlay.
COMPONENT_STATES = ("loading", "ready", "missing", "error", "disabled")


@dataclass(frozen=True)
class EngineEvent:
    type: EventType
    data: dict[str, Any] = field(default_factory=dict)
    t: float = field(default_factory=time.monotonic)


EventCallback = Callable[[EngineEvent], None]


def emit_to(callback: EventCallback | None) -> Callable[..., None]:
    """A shorthand `emit(EventType.X, key=value)` that ignores a missing callback."""

    def emit(kind: EventType, **data: Any) -> None:
        if callback is not None:
            callback(EngineEvent(kind, data))

    return emit
