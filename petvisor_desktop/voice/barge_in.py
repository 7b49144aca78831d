"""Barge-in: is the caller speaking over the assistant? The voice loop asks for every frame
heard while the assistant's reply plays, and stops the speaker when this says so.

Silero hears speech at any level, so what is left of the assistant's own voice after echo
cancellation still looks like speech. During playback a frame counts towards barge-in only
when it stands this far above the loud end (75th percentile) of the last second of cleaned
microphone audio (mostly that residual echo), which adapts to the room and the microphone's
gain. Against a real echo through PulseAudio a median floor let the assistant's own louder
syllables through."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from petvisor_desktop.voice.base import FRAME_MS

BARGE_IN_OVER_RESIDUAL_DB = 6.0
RESIDUAL_FRAMES = 32
UNTRAINED_BARGE_IN_MS = 450  # barge-in needs this much speech while the echo is unlearnt
ECHO_ONSET_S = 0.15  # playback start to its echo at the microphone, with margin


class BargeIn:
    """One reply's barge-in watch: `min_ms` of speech clearly louder than the echo left in
    the microphone (a cough, a bark or a door is shorter and does not cut the assistant
    off). `reset` at the start of each reply."""

    def __init__(self, min_ms: int) -> None:
        self.min_ms = min_ms
        self.barged = False  # decided for this reply
        self._frames = 0
        self._residual_db: deque[float] = deque(maxlen=RESIDUAL_FRAMES)

    def reset(self) -> None:
        self.barged = False
        self._frames = 0
        self._residual_db.clear()

    def frame(
        self,
        p: float,
        frame: np.ndarray,
        t: float,
        *,
        started_at: float | None,
        threshold: float,
        echo_learnt: bool,
    ) -> bool:
        """True once, at the frame where the caller has spoken over the reply long enough
        (`p`: the VAD's speech probability; `started_at`: when playback began)."""
        if started_at is None or t < started_at + ECHO_ONSET_S:
            return False  # not audible yet: the floor is learnt from frames the echo can reach
        level_db = 10 * math.log10(float(np.mean(np.square(frame, dtype=np.float64))) + 1e-12)
        residual = sorted(self._residual_db)
        self._residual_db.append(level_db)
        if len(residual) < RESIDUAL_FRAMES // 4:
            return False  # the first frames of a reply: nothing to compare with yet
        floor_db = residual[(len(residual) * 3) // 4]  # the loud end of the residual echo
        if p >= threshold and level_db >= floor_db + BARGE_IN_OVER_RESIDUAL_DB:
            self._frames += 1
        else:
            self._frames = max(0, self._frames - 1)
        # Until the canceller has learnt the room, more of our own voice gets through.
        needed_ms = self.min_ms if echo_learnt else max(self.min_ms, UNTRAINED_BARGE_IN_MS)
        if self._frames * FRAME_MS >= needed_ms and not self.barged:
            self.barged = True
            return True
        return False
