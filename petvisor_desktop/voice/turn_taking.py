"""When has the caller finished? The voice loop's one answer, in two ways (`audio.turn_taking`):

- "model": after a short silence (`audio.turn_check_ms`, about 200 ms) the end-of-turn model
  (`turn_end`, Smart Turn) judges from the sound of the turn whether it is complete; the turn
  ends at once when it is, and the loop keeps listening when it is not, up to
  `audio.max_end_silence_ms` so that nobody waits forever. Asked again after each further
  `turn_check_ms` of the same silence. Where answers come in groups with pauses between them
  (phone numbers, e-mail addresses) the model is not asked: the step's fixed silence ends the
  turn, as before.
- "silence": the fixed silence of before (`audio.end_silence_ms`, scaled per step).

The turn segmenter (vad.py) keeps cutting turns on its own silence rule: `begin` tells the
loop which silence to give it, `frame` says when the model has ended the turn sooner. The same
object drives the benchmark of false cut-offs (benchmarks/bench_turn_taking.py), so its
figures are the loop's."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from petvisor_desktop.voice.base import FRAME_MS, VoiceError
from petvisor_desktop.voice.turn_end import TurnEndDetector

log = logging.getLogger(__name__)

MODES = ("model", "silence")
# Fixed silence per step, as a share of `audio.end_silence_ms`: shorter after "Anything
# else?", longer where answers come in groups (phone numbers, e-mail addresses; 990 ms keeps
# a 700 ms pause between groups inside the turn, and the loop ends the turn as soon as the
# words decoded during the pause make a whole answer). Not shorter at the read-back: a
# correction there often comes in two sentences ("No, that's still not right. Can I speak to
# someone?"), and 385 ms cut such answers in two in the spoken suite.
END_SILENCE_SCALE = {
    "anything_else": 0.7,
    "species": 0.8,
    "phone": 1.8,
    "email": 1.8,
}
GROUPED_STEPS = frozenset({"phone", "email"})  # the model is not asked there
COMPLETE_AT = 0.5  # the model's probability from which the turn is over


@dataclass(frozen=True)
class TurnTakingSettings:
    mode: str = "silence"
    end_silence_ms: int = 550  # the fixed silence ("silence" mode, and the grouped steps)
    check_ms: int = 200  # silence before the model is asked
    max_silence_ms: int = 1500  # silence that ends a turn the model keeps calling unfinished
    complete_at: float = COMPLETE_AT  # the model's probability from which the turn is over


class TurnTaking:
    """One turn at a time: `begin` when the caller starts, `frame` for each frame after."""

    def __init__(
        self, settings: TurnTakingSettings, detector: TurnEndDetector | None = None
    ) -> None:
        if settings.mode not in MODES:
            raise ValueError(f"turn-taking mode must be one of {MODES}, got {settings.mode!r}")
        self.settings = settings
        self.detector = detector
        self._asking = False
        self._frames: list[np.ndarray] = []
        self._silent = 0
        self._next_check = 0
        self.checks: list[tuple[float, float]] = []  # this turn's (probability, ms) per check

    @property
    def uses_model(self) -> bool:
        return self.settings.mode == "model" and self.detector is not None

    def begin(
        self, expecting: str, frames: Sequence[np.ndarray] = (), *, held: bool = False
    ) -> int:
        """A turn starts at the step `expecting` with `frames` (the pre-roll and the first
        speech); returns the silence the segmenter is to end it on. `held`: the talk key is
        down, and its release ends the turn (nothing to judge)."""
        s = self.settings
        fixed = max(FRAME_MS, int(s.end_silence_ms * END_SILENCE_SCALE.get(expecting, 1.0)))
        self._asking = self.uses_model and not held and expecting not in GROUPED_STEPS
        self._frames, self._silent, self.checks = list(frames), 0, []
        self._next_check = max(1, round(s.check_ms / FRAME_MS))
        return max(s.max_silence_ms, fixed) if self._asking else fixed

    def frame(self, frame: np.ndarray, speech: bool) -> bool:
        """One more frame of the turn (`speech`: the VAD heard the caller in it). True when
        the model says the caller has finished, after at least `check_ms` of silence."""
        if not self._asking:
            return False
        self._frames.append(frame)
        if speech:
            self._silent = 0
            self._next_check = max(1, round(self.settings.check_ms / FRAME_MS))
            return False
        self._silent += 1
        if self._silent < self._next_check:
            return False
        self._next_check += max(1, round(self.settings.check_ms / FRAME_MS))
        return self._complete()

    def _complete(self) -> bool:
        assert self.detector is not None
        started = time.perf_counter()
        try:
            p = float(self.detector.probability(np.concatenate(self._frames)))
        except VoiceError as exc:
            log.warning("end-of-turn model failed (%s); the fixed silence ends the turn", exc)
            self._asking = False
            return False
        self.checks.append((p, (time.perf_counter() - started) * 1000))
        return p >= self.settings.complete_at
