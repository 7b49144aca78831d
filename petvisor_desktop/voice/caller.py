"""The simulated caller talking to the app's own engine conversation: each scenario line
(rendered by `caller_voice`, with clinic noise if asked) goes into the engine's microphone in
real time, through the voice loop the kiosk runs."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from petvisor_desktop.events import EngineEvent, EventType
from petvisor_desktop.settings import Settings
from petvisor_desktop.voice.base import AudioError

log = logging.getLogger(__name__)


REPLY_SETTLE_S = 1.0  # quiet this long after a reply: no second reply is coming
LEAD_IN_S = 0.02  # of the synthetic voice's leading silence kept: the pause is the caller's


@dataclass
class Exchange:
    """One caller line and what came of it."""

    turns: list[Any]  # the AssistantTurns it led to (two when the line was cut in two)
    heard: str  # what the recogniser made of the caller's line
    figures: dict[str, Any]  # the last reply's figures from the voice loop
    spoken: str  # what the caller heard of the last reply

    @property
    def turn(self) -> Any:
        return self.turns[-1] if self.turns else None


def trim_lead_in(samples: np.ndarray, rate: int, threshold: float = 0.01) -> np.ndarray:
    """Drop a synthetic voice's leading silence (espeak-ng starts with ~0.1 s of it), so that
    the pause before the caller's first sound is exactly the one the caller chose."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if not len(loud):
        return samples
    return samples[max(0, int(loud[0]) - int(LEAD_IN_S * rate)) :]


class SpokenCaller:
    """A scenario's caller talking to the app's own engine conversation: each line goes into
    the engine's microphone in real time, through the voice loop the kiosk runs, and what
    comes back is read from the engine's events, as the kiosk's screen reads them."""

    def __init__(
        self,
        engine: Any,
        events: queue.Queue[EngineEvent],
        *,
        voice: Callable[[str], tuple[np.ndarray, int]],
        pause_s: Callable[[], float],
        say: Callable[[np.ndarray, int], None] | None = None,
    ) -> None:
        """`voice` renders a line (noise included), `pause_s` is the pause the caller leaves
        after the assistant stops, `say` puts audio in the room (default: the engine's
        file-backed microphone)."""
        if engine.voice is None:
            raise AudioError("no-voice", "the engine's voice loop is not running")
        self.engine = engine
        self.loop = engine.voice
        self._events = events
        self._voice = voice
        self._pause_s = pause_s
        self._say = say or self.loop.source.feed
        self.talk: Any = None
        self.pauses_ms: list[float] = []

    def greet(self, talk: Any) -> str:
        """Open the conversation; returns what the caller heard of the greeting."""
        self.talk = talk
        talk.start()
        greeting = self._until(EventType.ASSISTANT_REPLY, 60.0)
        text = str(greeting.data["text"]) if greeting is not None else ""
        return self._until_spoken(60.0, text) or ""

    def exchange(self, said: str) -> Exchange:
        assert self.talk is not None and self.talk.assistant is not None
        before = len(self.talk.assistant.turns)
        samples, rate = self._voice(said)
        samples = trim_lead_in(samples, rate)
        quiet_at = self._settle()
        pause = self._pause_s()
        time.sleep(max(0.0, quiet_at + pause - time.monotonic()))
        self.pauses_ms.append(round((time.monotonic() - quiet_at) * 1000))
        self._say(samples, rate)
        heard: list[str] = []
        reply = self._until(EventType.ASSISTANT_REPLY, len(samples) / rate + 30.0, heard)
        if reply is None:
            return Exchange([], " | ".join(heard), {}, "")
        spoken = self._until_spoken(60.0, str(reply.data["text"]), heard) or ""
        # A line the VAD cut in two gets two replies: the caller answers the last one.
        while (more := self._until(EventType.ASSISTANT_REPLY, REPLY_SETTLE_S, heard)) is not None:
            spoken = self._until_spoken(60.0, str(more.data["text"]), heard) or ""
        turns = list(self.talk.assistant.turns[before:])
        figures = self.loop.turn_figures[-1] if self.loop.turn_figures else {}
        return Exchange(turns, " | ".join(heard), figures, spoken)

    def _settle(self) -> float:
        """Wait until the assistant has finished speaking (the speaker has played out);
        returns when it went quiet. Events of earlier turns are passed over."""
        deadline = time.monotonic() + 60.0
        while (self.loop.speaking or self.loop.sink.busy) and time.monotonic() < deadline:
            time.sleep(0.005)
        quiet_at = time.monotonic()
        while True:
            try:
                self._events.get_nowait()
            except queue.Empty:
                return quiet_at

    def _until(
        self, kind: EventType, timeout_s: float, heard: list[str] | None = None
    ) -> EngineEvent | None:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self._events.get(timeout=left)
            except queue.Empty:
                return None
            if heard is not None and event.type == EventType.CALLER_FINAL:
                heard.append(str(event.data.get("text", "")))
            if event.type == kind:
                return event
        return None

    def _until_spoken(
        self, timeout_s: float, text: str, heard: list[str] | None = None
    ) -> str | None:
        """What the caller heard of the reply `text`."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            event = self._until(EventType.ASSISTANT_SPOKEN, left, heard)
            if event is None:
                return None
            if event.data.get("reply") == text:
                return str(event.data.get("text", ""))
        return None


def caller_lines(
    voice: Any, noise_snr_db: float | None = None, seed: int = 0
) -> Callable[[str], tuple[np.ndarray, int]]:
    """The simulated caller's lines: `voice` (a `CallerVoice`) says each, with clinic noise
    (barking, chatter, a fan; seeded) mixed in at `noise_snr_db` when given."""
    from petvisor_desktop.voice.caller_voice import clinic_noise, mix_at_snr

    lines = 0

    def render(text: str) -> tuple[np.ndarray, int]:
        nonlocal lines
        samples, rate = voice.speak(text)
        samples = trim_lead_in(samples, rate)  # the pause before it is the caller's own
        if noise_snr_db is None:
            return samples, rate
        lines += 1
        noise = clinic_noise(len(samples) / rate, rate, seed * 1000 + lines)
        return mix_at_snr(samples, noise[: len(samples)], noise_snr_db), rate

    return render


def load_voice_models(settings: Settings) -> dict[str, Any]:
    """VAD, recogniser and voice, loaded once for a whole simulator run."""
    from petvisor_desktop.voice.parts import load_part

    models: dict[str, Any] = {}
    for name in ("vad", "stt", "tts"):
        load_part(name, settings, models)
    return models
