"""Voice activity: Silero VAD v6 run with onnxruntime (no torch), and the turn segmenter that
turns per-frame speech probabilities into caller turns (start with pre-roll, speech, end).

The segmenter is pure logic over (frame, probability, time); it never touches a device, so
it is tested on synthesized audio and drives the live pipeline the same way."""

from __future__ import annotations

import enum
import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from petvisor_desktop.voice.base import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE_HZ, VadError

log = logging.getLogger(__name__)

# Silero v5/v6 at 16 kHz looks at the last 64 samples of the previous window together with the
# new 512 (see `OnnxWrapper.__call__` in snakers4/silero-vad, src/silero_vad/utils_vad.py);
# feeding 512 samples alone runs but gives poorer probabilities.
CONTEXT_SAMPLES = 64
STATE_SHAPE = (2, 1, 128)


def as_float_frame(frame: np.ndarray) -> np.ndarray:
    """A frame as float32 in [-1, 1]; int16 input is scaled."""
    if frame.dtype == np.int16:
        return frame.astype(np.float32) / 32768.0
    return np.asarray(frame, dtype=np.float32)


class SileroVad:
    """Speech probability for each 512-sample frame at 16 kHz. Keeps the model's recurrent
    state and the 64-sample context between calls, so frames must be fed in order; call
    `reset()` between unrelated streams. Not thread-safe: one instance per audio stream."""

    def __init__(self, session: Any, model_path: Path | None = None) -> None:
        self._session = session
        self.model_path = model_path
        names = {i.name for i in session.get_inputs()}
        if not {"input", "state", "sr"} <= names:
            raise VadError(
                "model-corrupt",
                f"{model_path or 'the VAD model'} is not a Silero v5/v6 model "
                f"(inputs {sorted(names)}); run `petvisor-desktop models pull silero-vad-v6`",
            )
        self._sr = np.array(SAMPLE_RATE_HZ, dtype=np.int64)
        self._state = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._window = np.zeros((1, CONTEXT_SAMPLES + FRAME_SAMPLES), dtype=np.float32)

    @classmethod
    def load(cls, path: str | Path, threads: int = 1) -> SileroVad:
        """Open the ONNX file on the CPU. One thread: a frame costs ~0.1 ms, and more threads
        only add scheduling overhead on a 2-core PC that also runs STT, TTS and the LLM."""
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise VadError(
                "model-missing",
                f"the VAD model {path} is missing; "
                "run `petvisor-desktop models pull silero-vad-v6`",
                recoverable=False,
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise VadError(
                "model-corrupt",
                f"the VAD model {path} cannot be loaded ({exc}); "
                "run `petvisor-desktop models pull silero-vad-v6`",
                recoverable=False,
            ) from exc
        return cls(session, path)

    def reset(self) -> None:
        self._state[:] = 0.0
        self._window[:] = 0.0

    def probability(self, frame: np.ndarray) -> float:
        """Speech probability of one FRAME_SAMPLES frame (float32 in [-1, 1] or int16)."""
        if frame.shape != (FRAME_SAMPLES,):
            raise VadError(
                "frame-size", f"VAD frames must be {FRAME_SAMPLES} mono samples, got {frame.shape}"
            )
        # Slide the window: the last 64 samples of the previous frame, then this frame.
        self._window[0, :CONTEXT_SAMPLES] = self._window[0, -CONTEXT_SAMPLES:]
        self._window[0, CONTEXT_SAMPLES:] = as_float_frame(frame)
        try:
            out, state = self._session.run(
                None, {"input": self._window, "state": self._state, "sr": self._sr}
            )
        except Exception as exc:  # onnxruntime errors have no common public base class
            raise VadError("vad-failed", f"the VAD model failed on a frame: {exc}") from exc
        self._state = state
        return float(out[0, 0])


class FrameScorer(Protocol):
    """What the segmenter needs from a VAD (SileroVad, or a scripted double in tests)."""

    def probability(self, frame: np.ndarray) -> float: ...

    def reset(self) -> None: ...


class SegmentEventType(enum.Enum):
    SPEECH_START = "speech-start"
    SPEECH = "speech"
    SPEECH_END = "speech-end"


@dataclass(frozen=True)
class SegmentEvent:
    """One step of a caller turn.

    SPEECH_START: `frames` holds the pre-roll and every frame since the speech onset, in
    order, so nothing the caller said is lost while the turn was being confirmed.
    SPEECH: `frames` holds the one new frame (also sent for trailing-silence frames).
    SPEECH_END: `frames` is empty and `audio` holds the whole turn (pre-roll to the last
    frame pushed) as one float32 array."""

    type: SegmentEventType
    t: float  # time.monotonic() of the frame that caused the event
    probability: float
    frames: tuple[np.ndarray, ...] = ()
    speech_start_t: float | None = None  # first frame over the threshold
    speech_end_t: float | None = None  # last speech frame: when the caller stopped talking
    audio: np.ndarray | None = None
    forced: bool = False  # ended by force_end() (push-to-talk release), not by silence


class _State(enum.Enum):
    SILENCE = 0
    PENDING = 1  # over the threshold, but not yet long enough to be a turn
    SPEECH = 2


def frames_for_ms(ms: float) -> int:
    return max(0, math.ceil(ms / FRAME_MS))


class TurnSegmenter:
    """Cuts the caller's audio into turns from per-frame speech probabilities.

    Hysteresis: a turn is entered on `threshold` and left on `neg_threshold`, so a word that
    dips just under the threshold does not end the turn. A turn opens only after
    `min_speech_ms` of frames over the threshold (a bark, cough or click is shorter), and
    ends after `end_silence_ms` under `neg_threshold`. `t` is the time.monotonic() at which
    each frame was captured (its end); `speech_end_t` of the end event is that of the last
    speech frame, i.e. when the caller stopped talking, which is what latency is measured from.
    """

    def __init__(
        self,
        vad: FrameScorer | None = None,
        *,
        threshold: float = 0.5,
        end_silence_ms: int = 700,
        pre_roll_ms: int = 300,
        min_speech_ms: int = 200,
        neg_threshold: float | None = None,
        onset_gap_ms: int = 96,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        neg = threshold - 0.15 if neg_threshold is None else neg_threshold
        if not 0.0 < neg <= threshold:
            raise ValueError(f"neg_threshold must be in (0, threshold], got {neg}")
        self.vad = vad
        self.threshold = threshold
        self.neg_threshold = neg
        self.pre_roll_ms = pre_roll_ms
        self.min_speech_ms = min_speech_ms
        self._min_speech_frames = max(1, frames_for_ms(min_speech_ms))
        # Silence allowed inside the onset before a candidate is dropped (a stop consonant).
        self._onset_gap_frames = max(1, frames_for_ms(onset_gap_ms))
        self._end_silence_frames = 1
        self.set_end_silence_ms(end_silence_ms)
        self._pre_roll: deque[np.ndarray] = deque(maxlen=max(0, frames_for_ms(pre_roll_ms)))
        self._state = _State.SILENCE
        self._turn: list[np.ndarray] = []
        self._voiced = 0
        self._silent_run = 0
        self._speech_start_t: float | None = None
        self._last_speech_t: float | None = None

    @property
    def in_speech(self) -> bool:
        """A turn is open (SPEECH_START sent, SPEECH_END not yet)."""
        return self._state is _State.SPEECH

    @property
    def end_silence_ms(self) -> int:
        return self._end_silence_ms

    def set_end_silence_ms(self, ms: int) -> None:
        """Change the end-of-turn silence, e.g. shorter at a yes/no step; applies at once,
        also to the turn in progress."""
        if ms < FRAME_MS:
            raise ValueError(f"end_silence_ms must be at least {FRAME_MS} ms, got {ms}")
        self._end_silence_ms = int(ms)
        self._end_silence_frames = max(1, round(ms / FRAME_MS))

    def reset(self) -> None:
        """Forget everything (a new call, or after the assistant's own speech)."""
        self._pre_roll.clear()
        self._drop_turn()
        if self.vad is not None:
            self.vad.reset()

    def push(
        self, frame: np.ndarray, t: float, probability: float | None = None
    ) -> list[SegmentEvent]:
        """Feed the next frame. `probability` may be given when the caller already scored it
        (the pipeline's barge-in check); otherwise the segmenter's VAD scores it."""
        if probability is None:
            if self.vad is None:
                raise VadError("no-vad", "TurnSegmenter.push needs a VAD or a probability")
            probability = self.vad.probability(frame)
        p = float(probability)
        # Kept for the pre-roll and the turn's audio: a copy, so a reused device buffer
        # cannot change it later (and int16 input becomes float32 here).
        frame = np.array(as_float_frame(frame), dtype=np.float32, copy=True)
        if self._state is _State.SILENCE:
            if p >= self.threshold:
                self._state = _State.PENDING
                self._turn = [*self._pre_roll, frame]
                self._pre_roll.clear()
                self._voiced = 1
                self._silent_run = 0
                self._speech_start_t = t
                self._last_speech_t = t
                return self._maybe_open(t, p)
            self._pre_roll.append(frame)
            return []
        if self._state is _State.PENDING:
            self._turn.append(frame)
            if p >= self.threshold:
                self._voiced += 1
                self._silent_run = 0
                self._last_speech_t = t
                return self._maybe_open(t, p)
            if p >= self.neg_threshold:
                self._silent_run = 0
                self._last_speech_t = t
                return []
            self._silent_run += 1
            if self._silent_run >= self._onset_gap_frames:
                # Too short to be a turn: a noise burst. Its frames go back to the pre-roll
                # so a real onset right after it still gets its lead-in.
                turn = self._turn
                self._drop_turn()
                self._pre_roll.extend(turn)
            return []
        # In a turn.
        self._turn.append(frame)
        events = [SegmentEvent(SegmentEventType.SPEECH, t, p, frames=(frame,))]
        if p >= self.neg_threshold:
            self._silent_run = 0
            self._last_speech_t = t
            return events
        self._silent_run += 1
        if self._silent_run >= self._end_silence_frames:
            events.append(self._end(t, p, forced=False))
        return events

    def force_end(self, t: float) -> list[SegmentEvent]:
        """End the turn now (push-to-talk released). A turn still being confirmed is opened
        and ended, since the caller said they spoke; with no speech at all nothing is sent."""
        if self._state is _State.SPEECH:
            return [self._end(t, 0.0, forced=True)]
        if self._state is _State.PENDING:
            start = self._start_event(t, 0.0)
            return [start, self._end(t, 0.0, forced=True)]
        return []

    def _maybe_open(self, t: float, p: float) -> list[SegmentEvent]:
        if self._voiced < self._min_speech_frames:
            return []
        return [self._start_event(t, p)]

    def _start_event(self, t: float, p: float) -> SegmentEvent:
        self._state = _State.SPEECH
        self._silent_run = 0
        return SegmentEvent(
            SegmentEventType.SPEECH_START,
            t,
            p,
            frames=tuple(self._turn),
            speech_start_t=self._speech_start_t,
        )

    def _end(self, t: float, p: float, *, forced: bool) -> SegmentEvent:
        audio = join_frames(self._turn)
        event = SegmentEvent(
            SegmentEventType.SPEECH_END,
            t,
            p,
            speech_start_t=self._speech_start_t,
            speech_end_t=self._last_speech_t if self._last_speech_t is not None else t,
            audio=audio,
            forced=forced,
        )
        self._drop_turn()
        return event

    def _drop_turn(self) -> None:
        self._state = _State.SILENCE
        self._turn = []
        self._voiced = 0
        self._silent_run = 0
        self._speech_start_t = None
        self._last_speech_t = None


def join_frames(frames: Sequence[np.ndarray]) -> np.ndarray:
    if not frames:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([as_float_frame(f) for f in frames])
