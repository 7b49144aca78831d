"""Stand-ins for the microphone and the speaker, used by tests and the simulator: pushed
audio or a WAV file as a live microphone, and a sink that records what was played. In real
time by default, on the monotonic clock; a test of the stand-ins themselves can give them
another clock and wait (see clock.py) so that no real time passes."""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from petvisor_desktop.voice.audio.clock import Clock, Wait, wait_for_event
from petvisor_desktop.voice.audio.convert import resample
from petvisor_desktop.voice.audio.playback import _PlaybackQueue, _SinkFace, _TailFlusher
from petvisor_desktop.voice.audio.wav import read_wav, write_wav
from petvisor_desktop.voice.base import FRAME_SAMPLES, SAMPLE_RATE_HZ

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE_HZ


class PushSource:
    """A live microphone fed from code: `feed()` queues speech, and `read()` hands it out in
    16 kHz frames. With `realtime` the frames come on a monotonic schedule (frame k is due at
    start + (k+1) * 32 ms, so pacing does not drift), and with `idle_silence` the source
    yields silence when nothing is queued, as a microphone in a quiet room does. After
    `end_input()` and once the queue is empty, `read()` raises EOFError.

    The schedule follows `clock` and `wait` (clock.py), real time unless a test gives its own;
    waiting for fed audio without `idle_silence` stays on real time (it waits for a thread)."""

    def __init__(
        self,
        *,
        realtime: bool = True,
        idle_silence: bool = True,
        clock: Clock = time.monotonic,
        wait: Wait = wait_for_event,
    ) -> None:
        self.realtime = realtime
        self.idle_silence = idle_silence
        self._now = clock
        self._wait = wait
        self._cond = threading.Condition()
        self._chunks: deque[np.ndarray] = deque()
        self._queued = 0  # samples in _chunks
        self._ended = False
        self._stopped = threading.Event()
        self._t0: float | None = None
        self._frames_out = 0
        self.last_frame_time: float | None = None

    # feeding ---------------------------------------------------------------
    def feed(self, samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        """Queue audio (any rate, int16 or float, mono or (frames, channels))."""
        x = resample(samples, sample_rate_hz)
        if len(x) == 0:
            return
        with self._cond:
            self._chunks.append(x)
            self._queued += len(x)
            self._cond.notify_all()

    def feed_silence(self, seconds: float) -> None:
        self.feed(np.zeros(round(seconds * SAMPLE_RATE_HZ), dtype=np.float32))

    def end_input(self) -> None:
        """No more audio will be fed: EOFError once the queue is played out."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    @property
    def pending_s(self) -> float:
        """Seconds of fed audio not yet read."""
        return self._queued / SAMPLE_RATE_HZ

    # AudioSource -----------------------------------------------------------
    def start(self) -> None:
        self._stopped.clear()
        self._t0 = self._now()
        self._frames_out = 0

    def stop(self) -> None:
        self._stopped.set()
        with self._cond:
            self._cond.notify_all()

    def read(self, timeout_s: float) -> np.ndarray | None:
        if self._t0 is None:
            self.start()
        if self._stopped.is_set():
            raise EOFError("the source was stopped")
        if self.realtime:
            return self._read_realtime(timeout_s)
        return self._read_now(timeout_s)

    def _read_realtime(self, timeout_s: float) -> np.ndarray | None:
        assert self._t0 is not None
        now = self._now()
        if not self.idle_silence and self._queued == 0 and not self._ended:
            # Nothing to say and no silence wanted: wait for speech, then restart the
            # schedule from now so the gap does not come out as a burst.
            with self._cond:
                if not self._cond.wait_for(self._has_input, timeout_s):
                    return None
            now = self._now()
            self._t0 = now - self._frames_out * FRAME_S
            timeout_s = 0.0
        due = self._t0 + (self._frames_out + 1) * FRAME_S
        if due - now > timeout_s:
            self._wait(self._stopped, timeout_s)
            return None
        if due > now and self._wait(self._stopped, due - now):
            raise EOFError("the source was stopped")
        frame = self._take()
        if frame is None:
            raise EOFError("end of input")
        self._frames_out += 1
        self.last_frame_time = due
        return frame

    def _read_now(self, timeout_s: float) -> np.ndarray | None:
        if not self.idle_silence:
            with self._cond:
                if not self._cond.wait_for(self._has_input, timeout_s):
                    return None
        frame = self._take()
        if frame is None:
            raise EOFError("end of input")
        self._frames_out += 1
        self.last_frame_time = self._now()
        return frame

    def _has_input(self) -> bool:
        return self._queued > 0 or self._ended or self._stopped.is_set()

    def _on_empty(self) -> bool:
        """Called when the queue runs dry; a subclass may refill it (looping)."""
        return False

    def _take(self) -> np.ndarray | None:
        """The next frame: queued audio, padded with silence at the end of a line; silence
        when idle; None at the end of input."""
        with self._cond:
            if self._queued == 0 and not self._on_empty():
                if self._ended:
                    return None
                return np.zeros(FRAME_SAMPLES, dtype=np.float32)
            frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
            filled = 0
            while filled < FRAME_SAMPLES and self._chunks:
                chunk = self._chunks[0]
                n = min(FRAME_SAMPLES - filled, len(chunk))
                frame[filled : filled + n] = chunk[:n]
                filled += n
                if n == len(chunk):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = chunk[n:]
                self._queued -= n
            return frame

    def __enter__(self) -> PushSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class WavFileSource(PushSource):
    """A WAV file played as a microphone (the tests' and the simulator's caller): any WAV
    is read, mixed to mono and resampled to 16 kHz up front, then handed out in frames, at
    real time when `realtime`. At its end: EOFError, or the file again with `loop`. More
    audio can be `feed()`-ed while it plays; it follows the file."""

    def __init__(
        self,
        path: str | Path,
        *,
        realtime: bool = True,
        loop: bool = False,
        clock: Clock = time.monotonic,
        wait: Wait = wait_for_event,
    ) -> None:
        super().__init__(realtime=realtime, idle_silence=True, clock=clock, wait=wait)
        self.path = Path(path)
        samples, rate = read_wav(self.path)
        self.audio = resample(samples, rate)
        self.loop = loop
        self._load()

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE_HZ

    def _load(self) -> None:
        with self._cond:
            self._chunks.clear()
            self._chunks.append(self.audio)
            self._queued = len(self.audio)
            self._ended = not self.loop

    def start(self) -> None:
        if self._frames_out:  # started again: from the top
            self._load()
        super().start()

    def _on_empty(self) -> bool:
        if self.loop and not self._stopped.is_set():
            self._chunks.append(self.audio)
            self._queued += len(self.audio)
            return True
        return False


class RecordingSink(_SinkFace):
    """A speaker for tests and the simulator: keeps everything played. With `realtime` a
    clock thread takes the audio at 16 kHz in `tick_ms` steps on a monotonic schedule, so
    `started_at`, `played_s` and `interrupt()` behave as with a real device; without it,
    audio counts as played the moment it is queued. The clock thread and `drain()` follow
    `clock` and `wait` (clock.py), real time unless a test gives its own."""

    def __init__(
        self,
        realtime: bool = True,
        *,
        tick_ms: int = 10,
        history_s: float = 10.0,
        clock: Clock = time.monotonic,
        wait: Wait = wait_for_event,
    ) -> None:
        self.realtime = realtime
        self.tick_ms = tick_ms
        self.rate_hz = SAMPLE_RATE_HZ
        self._now = clock
        self._wait = wait
        self._playback = _PlaybackQueue(
            self.rate_hz, history_s, flush_each_play=not realtime, clock=clock, wait=wait
        )
        self._recorded: list[np.ndarray] = []
        self._stop = threading.Event()
        self._clock: threading.Thread | None = None
        self._flusher: _TailFlusher | None = None

    def start(self) -> None:
        if not self.realtime or self._clock is not None:
            return
        self._stop.clear()
        self._flusher = _TailFlusher(self._playback, "recording-tail")
        self._clock = threading.Thread(target=self._run_clock, name="recording-sink", daemon=True)
        self._clock.start()

    def _run_clock(self) -> None:
        tick = self.rate_hz * self.tick_ms // 1000
        tick_s = tick / self.rate_hz
        buf = np.zeros(tick, dtype=np.float32)
        t0 = self._now()
        k = 0
        while True:
            due = t0 + k * tick_s
            delay = due - self._now()
            if delay > 0 and self._wait(self._stop, delay):
                return
            if self._stop.is_set():
                return
            if -delay > 0.5:  # the machine stalled: carry on from now instead of rushing
                t0, k = self._now(), 0
            played = self._playback.fill(buf, self._now(), 0.0)
            if played:
                self._recorded.append(buf[:played].copy())
            k += 1

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        self._playback.play(samples, sample_rate_hz)
        if not self.realtime:
            self._take_all()

    def _take_all(self) -> None:
        buf = np.zeros(self.rate_hz, dtype=np.float32)
        while True:
            n = self._playback.fill(buf, self._now(), 0.0, pad=False)
            if n == 0:
                return
            self._recorded.append(buf[:n].copy())

    def recording(self) -> np.ndarray:
        """Everything played so far (the replies, without the silence between them)."""
        parts = list(self._recorded)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def save_wav(self, path: str | Path) -> Path:
        return write_wav(path, self.recording(), self.rate_hz)

    def stop(self) -> None:
        self._playback.interrupt()
        self._stop.set()
        if self._clock is not None:
            self._clock.join(1.0)
            self._clock = None
        if self._flusher is not None:
            self._flusher.close()
            self._flusher = None

    def __enter__(self) -> RecordingSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
