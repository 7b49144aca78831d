"""The contracts between the voice stages. Audio inside the engine is mono float32 in
[-1, 1] at 16 kHz, in frames of 512 samples (32 ms, Silero's window), unless a name says
otherwise. Each stage has a typed error with a short code and a message a person can act on."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SAMPLE_RATE_HZ = 16_000
FRAME_SAMPLES = 512
FRAME_MS = FRAME_SAMPLES * 1000 // SAMPLE_RATE_HZ  # 32


class VoiceError(Exception):
    """A voice stage failed; `code` is short and stable, `message` says what to do."""

    stage = "voice"

    def __init__(self, code: str, message: str, *, recoverable: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.recoverable = recoverable


class AudioError(VoiceError):
    stage = "audio"


class VadError(VoiceError):
    stage = "vad"


class TurnError(VoiceError):
    """The end-of-turn model (Smart Turn) is missing, broken or failed on a turn."""

    stage = "turn"


class SttError(VoiceError):
    stage = "stt"


class TtsError(VoiceError):
    stage = "tts"


class AudioSource(Protocol):
    """A microphone, or a WAV file played as one. Yields 16 kHz mono frames."""

    def start(self) -> None: ...

    def read(self, timeout_s: float) -> np.ndarray | None:
        """The next FRAME_SAMPLES float32 frame, or None when none arrived in time.
        Raises AudioError when the device is gone; EOFError at the end of a file."""
        ...

    def stop(self) -> None: ...


class AudioSink(Protocol):
    """A speaker, or a recorder for tests. Non-blocking: `play` queues audio."""

    def start(self) -> None: ...

    def begin_utterance(self) -> None:
        """Reset `started_at` and `played_s` for the next reply."""
        ...

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        """Queue mono audio (float32 in [-1, 1] or int16) at any rate."""
        ...

    @property
    def started_at(self) -> float | None:
        """time.monotonic() when the device took the first sample of this utterance."""
        ...

    @property
    def played_s(self) -> float:
        """Seconds of this utterance the device has taken so far."""
        ...

    @property
    def busy(self) -> bool:
        """Audio is queued or playing."""
        ...

    def interrupt(self) -> float:
        """Stop now (within one device block) and drop what is queued; returns played_s."""
        ...

    def drain(self, timeout_s: float) -> bool:
        """Wait until everything queued has played; False on timeout."""
        ...

    def recent_playback(self, seconds: float) -> np.ndarray:
        """What was played in the last `seconds`, as 16 kHz float32 (the echo reference)."""
        ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Transcript:
    text: str
    audio_s: float  # seconds of speech transcribed
    finalize_ms: float  # from finish() called to the text ready
    compute_ms: float  # all recogniser time spent on this utterance
    confidence: float | None = None
    fitted_choice: str | None = None  # a closed question's answer that replaced a misheard text


class TranscriptionStream(Protocol):
    """One utterance. Not thread-safe; one per utterance."""

    def accept(self, frame: np.ndarray) -> str | None:
        """Feed a 16 kHz frame; returns the partial text when it changed, else None."""
        ...

    def finish(self) -> Transcript: ...


# What the caller may have said, given the words heard (the dialog's guess at an open step,
# e.g. their own names as an e-mail address): phrases to fit against the audio.
Likely = Callable[[str], Sequence[str]]


class Transcriber(Protocol):
    """A loaded speech recogniser, shared across utterances."""

    name: str  # "vosk" or "whisper"
    model_name: str

    def stream(
        self,
        vocabulary: Sequence[str] = (),
        expecting: str = "none",
        choices: Sequence[str] = (),
        likely: Likely | None = None,
    ) -> TranscriptionStream:
        """Open a stream biased towards `vocabulary` (clinic names, types, species and
        the words of the current step, `expecting` as in the scenario format) and fitted
        to `choices`, the answers of a closed question, or to what `likely` says the caller
        may have said given the free text (see `voice.fit`)."""
        ...


@dataclass(frozen=True)
class SynthChunk:
    samples: np.ndarray  # int16 mono
    sample_rate_hz: int
    sentence: str  # the sentence this chunk belongs to
    last_of_sentence: bool


class SentenceCache:
    """Sentences already spoken, as (samples, rate) chunks, least recently used first. It
    belongs to the loaded voice, not to one conversation: the same questions are asked of
    every caller ("What's the best phone number to reach you?"), so each is made once for
    the life of the voice and plays at once after that (the benchmarks, which start an
    engine per scenario on the same loaded voice, see what a kiosk that has been running
    sees). Thread-safe."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._items: OrderedDict[str, list[tuple[np.ndarray, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sentence: str) -> list[tuple[np.ndarray, int]] | None:
        with self._lock:
            chunks = self._items.get(sentence)
            if chunks is not None:
                self._items.move_to_end(sentence)
            return chunks

    def put(self, sentence: str, chunks: list[tuple[np.ndarray, int]]) -> None:
        with self._lock:
            self._items[sentence] = chunks
            self._items.move_to_end(sentence)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def __contains__(self, sentence: object) -> bool:
        with self._lock:
            return sentence in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class Synthesizer(Protocol):
    sample_rate_hz: int
    voice: str
    made: SentenceCache  # sentences already made with this voice

    def synthesize(
        self, sentence: str, cancel: threading.Event | None = None
    ) -> Iterator[SynthChunk]:
        """Audio for one sentence, in chunks as they are made; stops early once `cancel` is
        set (the caller spoke over it)."""
        ...
