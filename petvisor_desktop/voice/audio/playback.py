"""Playback: the queue between `play()` and a device clock, the record of what was actually
heard and when (the echo reference), and the real speaker through PortAudio."""

from __future__ import annotations

import threading
import time
from collections import deque
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import soxr

from petvisor_desktop.voice.audio.clock import Clock, Wait, wait_for_event
from petvisor_desktop.voice.audio.convert import RESAMPLE_QUALITY, resample, to_mono_float32
from petvisor_desktop.voice.audio.devices import Kind
from petvisor_desktop.voice.audio.stream import FALLBACK_RATES_HZ, _PortAudioDevice
from petvisor_desktop.voice.base import SAMPLE_RATE_HZ

if TYPE_CHECKING:
    from petvisor_desktop.settings import AudioSettings


class PlaybackRing:
    """The last few seconds of what a device actually played (silence included), with the
    time the newest sample is heard: the echo reference."""

    def __init__(self, rate_hz: int, seconds: float) -> None:
        self.rate_hz = rate_hz
        self.seconds = seconds
        # One spare second so a reader copying the oldest part never meets the writer.
        self._buf = np.zeros(int(rate_hz * (seconds + 1.0)), dtype=np.float32)
        self._mark: tuple[int, float | None] = (0, None)  # (samples written, end time)

    def write(self, block: np.ndarray, end_time: float | None) -> None:
        total = self._mark[0]
        size = len(self._buf)
        n = len(block)
        if n > size:
            block, n = block[-size:], size
        i = total % size
        first = min(n, size - i)
        self._buf[i : i + first] = block[:first]
        if first < n:
            self._buf[: n - first] = block[first:]
        self._mark = (total + n, end_time)

    @property
    def end_time(self) -> float | None:
        """When the newest sample is heard (monotonic), None before anything was played."""
        return self._mark[1]

    def last(self, seconds: float) -> tuple[np.ndarray, float | None]:
        """The newest `seconds` (less when less was played) and the time its last sample is
        heard."""
        total, end_time = self._mark
        n = min(round(seconds * self.rate_hz), total, int(self.seconds * self.rate_hz))
        if n <= 0:
            return np.zeros(0, dtype=np.float32), end_time
        size = len(self._buf)
        start = (total - n) % size
        if start + n <= size:
            return self._buf[start : start + n].copy(), end_time
        return np.concatenate((self._buf[start:], self._buf[: n - (size - start)])), end_time


class _PlaybackQueue:
    """Between `play()` and the device clock. The producer side (play, interrupt, ...)
    resamples to the device rate and takes a lock among producers; the consumer side
    (`fill`, called from the device callback or the recorder's clock) takes no lock and only
    copies already-made arrays. Each piece of audio is tagged with its utterance, so
    `started_at` and `played_s` follow the reply that is playing. `drain()` waits on `clock`
    and `wait` (clock.py): the recorder's, which a test may replace; real time otherwise."""

    def __init__(
        self,
        rate_hz: int,
        history_s: float,
        *,
        flush_each_play: bool = False,
        clock: Clock = time.monotonic,
        wait: Wait = wait_for_event,
    ) -> None:
        self.rate_hz = rate_hz
        self._now = clock
        self._wait = wait
        self.ring = PlaybackRing(rate_hz, history_s)
        self._flush_each_play = flush_each_play
        self._lock = threading.Lock()
        self._items: deque[tuple[int, np.ndarray]] = deque()
        # Producer-written state.
        self._utterance = 0
        self._generation = 0  # bumped by interrupt()
        self._queued = 0
        self._dropped = 0
        self._resampler: Any = None
        self._resampler_rate = 0
        self._held = False  # the resampler holds back the tail of what was played
        # Consumer-written state.
        self._seen_generation = 0
        self._current: np.ndarray | None = None
        self._current_utterance = -1
        self._offset = 0
        self._finished = 0
        self._was_busy = False
        self._played: tuple[int, int] = (-1, 0)  # (utterance, samples taken)
        self._started: tuple[int, float] = (-1, 0.0)  # (utterance, monotonic)
        self.idle = threading.Event()
        self.idle.set()
        self.starved = threading.Event()  # ran dry while the resampler held a tail

    # producer --------------------------------------------------------------
    def play(self, samples: np.ndarray, rate_hz: int) -> None:
        x = to_mono_float32(samples)
        if len(x) == 0:
            return
        with self._lock:
            if rate_hz != self._resampler_rate:
                self._flush_locked()
                self._resampler_rate = rate_hz
            if rate_hz == self.rate_hz:
                y = x
            else:
                if self._resampler is None:
                    self._resampler = soxr.ResampleStream(
                        rate_hz, self.rate_hz, 1, dtype="float32", quality=RESAMPLE_QUALITY
                    )
                y = self._resampler.resample_chunk(x)
                self._held = True
            self._enqueue_locked(y)
            if self._flush_each_play:
                self._flush_locked()

    def _enqueue_locked(self, y: np.ndarray) -> None:
        if len(y) == 0:
            return
        self._queued += 1
        self.idle.clear()
        self._items.append((self._utterance, np.ascontiguousarray(y, dtype=np.float32)))

    def _flush_locked(self) -> None:
        """Play out what the resampler holds back (a few ms at the end of a reply)."""
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            self._resampler = None
            self._enqueue_locked(tail)
        self._held = False

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def begin_utterance(self) -> None:
        with self._lock:
            self._flush_locked()
            self._utterance += 1

    def interrupt(self) -> float:
        with self._lock:
            self._generation += 1
            while True:
                try:
                    self._items.popleft()
                except IndexError:
                    break
                self._dropped += 1
            self._resampler = None
            self._held = False
            played = self.played_s
        return played

    @property
    def busy(self) -> bool:
        return self._queued > self._finished + self._dropped or self._held

    @property
    def played_s(self) -> float:
        utterance, samples = self._played
        return samples / self.rate_hz if utterance == self._utterance else 0.0

    @property
    def started_at(self) -> float | None:
        utterance, at = self._started
        return at if utterance == self._utterance else None

    def drain(self, timeout_s: float) -> bool:
        self.flush()
        deadline = self._now() + timeout_s
        while True:
            self.idle.clear()
            if not self.busy:
                return True
            remaining = deadline - self._now()
            if remaining <= 0 or not self._wait(self.idle, remaining):
                return not self.busy

    # consumer --------------------------------------------------------------
    def fill(self, out: np.ndarray, now: float, lag_s: float, *, pad: bool = True) -> int:
        """Copy the next len(out) samples into `out` (silence when there is nothing), record
        them in the ring as heard `lag_s` after `now`; returns how many were real audio.
        Called from the device callback: copies only, no locks, no waiting."""
        if self._seen_generation != self._generation:
            self._seen_generation = self._generation
            if self._current is not None:
                self._current = None
                self._finished += 1
        n = len(out)
        pos = 0
        while pos < n:
            current = self._current
            if current is None:
                try:
                    self._current_utterance, current = self._items.popleft()
                except IndexError:
                    break
                self._current = current
                self._offset = 0
                self._was_busy = True
            offset = self._offset
            take = min(n - pos, len(current) - offset)
            out[pos : pos + take] = current[offset : offset + take]
            utterance = self._current_utterance
            played_utt, played = self._played
            if played_utt != utterance:
                self._started = (utterance, now + pos / self.rate_hz)
                played = 0
            self._played = (utterance, played + take)
            pos += take
            if offset + take >= len(current):
                self._current = None
                self._finished += 1
            else:
                self._offset = offset + take
        if pos < n and self._current is None and self._was_busy and not self._items:
            self._was_busy = False
            if self._held:
                self.starved.set()
            self.idle.set()
        if pad:
            if pos < n:
                out[pos:] = 0.0
            self.ring.write(out, now + lag_s + n / self.rate_hz)
        elif pos:
            self.ring.write(out[:pos], now + lag_s + pos / self.rate_hz)
        return pos

    # echo reference ----------------------------------------------------------
    def recent(self, seconds: float) -> np.ndarray:
        """The last `seconds` (at most the ring's history) at 16 kHz; silence before the
        device started, so the length is always round(seconds * 16 kHz)."""
        seconds = min(seconds, self.ring.seconds)
        samples, _ = self.ring.last(seconds)
        out = resample(samples, self.rate_hz)
        wanted = round(seconds * SAMPLE_RATE_HZ)
        if len(out) < wanted:
            out = np.concatenate((np.zeros(wanted - len(out), dtype=np.float32), out))
        return out[-wanted:] if wanted else out[:0]

    def since(self, t: float) -> tuple[float | None, np.ndarray]:
        end_time = self.ring.end_time
        if end_time is None:
            return None, np.zeros(0, dtype=np.float32)
        samples, end_time = self.ring.last(max(0.0, end_time - t))
        if end_time is None or len(samples) == 0:
            return None, np.zeros(0, dtype=np.float32)
        first = end_time - len(samples) / self.rate_hz
        return first, resample(samples, self.rate_hz)


class _SinkFace:
    """The AudioSink properties and methods every sink delegates to its _PlaybackQueue."""

    _playback: _PlaybackQueue

    def begin_utterance(self) -> None:
        self._playback.begin_utterance()

    @property
    def started_at(self) -> float | None:
        return self._playback.started_at

    @property
    def played_s(self) -> float:
        return self._playback.played_s

    @property
    def busy(self) -> bool:
        return self._playback.busy

    def interrupt(self) -> float:
        return self._playback.interrupt()

    def drain(self, timeout_s: float) -> bool:
        return self._playback.drain(timeout_s)

    def recent_playback(self, seconds: float) -> np.ndarray:
        return self._playback.recent(seconds)

    def playback_since(self, t_monotonic: float) -> tuple[float | None, np.ndarray]:
        """What was heard from `t_monotonic` on, as 16 kHz float32, with the (estimated)
        time its first sample was heard; for an echo guard to align with the microphone's
        `last_frame_time`."""
        return self._playback.since(t_monotonic)


class _TailFlusher:
    """A small worker that plays out the resampler's held-back tail when the device runs
    dry, so the last few ms of a reply are heard even when nobody calls drain()."""

    def __init__(self, playback: _PlaybackQueue, name: str) -> None:
        self._playback = playback
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._playback.starved.wait()
            self._playback.starved.clear()
            if self._closing.is_set():
                return
            self._playback.flush()

    def close(self) -> None:
        self._closing.set()
        self._playback.starved.set()
        self._thread.join(1.0)


class SpeakerSink(_SinkFace, _PortAudioDevice):
    """A speaker through PortAudio at its native rate. `play()` resamples on the caller's
    thread; the callback copies ready blocks of `block_ms` (20 ms) so `interrupt()` is heard
    within one block plus the device latency."""

    kind: Kind = "output"

    def __init__(
        self,
        device: str | int | None = None,
        *,
        block_ms: int = 20,
        latency_s: float = 0.04,
        history_s: float = 10.0,
        stall_timeout_s: float = 2.0,
        first_block_timeout_s: float = 5.0,
    ) -> None:
        _PortAudioDevice.__init__(
            self,
            device,
            stall_timeout_s=stall_timeout_s,
            first_block_timeout_s=first_block_timeout_s,
        )
        self.block_ms = block_ms
        self.latency_request_s = latency_s
        self.history_s = history_s
        self.rate_hz = self.device.default_rate_hz or FALLBACK_RATES_HZ[0]
        self._playback = _PlaybackQueue(self.rate_hz, history_s)
        self._flusher: _TailFlusher | None = None
        self.underflows = 0

    def _on_opened(self) -> None:
        if self._playback.rate_hz != self.rate_hz:  # opened at another rate: start afresh
            self._playback.interrupt()
            self._playback = _PlaybackQueue(self.rate_hz, self.history_s)
            if self._flusher is not None:
                self._flusher.close()
                self._flusher = None
        if self._flusher is None:
            self._flusher = _TailFlusher(self._playback, "speaker-tail")

    def _make_stream(self, sd: ModuleType, rate: int, channels: int) -> Any:
        playback = self._playback
        fallback_lag = self.latency_request_s
        first = self._first_block

        def on_output(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            now = time.monotonic()
            self._last_block_at = now
            if status.output_underflow:
                self.underflows += 1
            lag = time_info.outputBufferDacTime - time_info.currentTime
            playback.fill(outdata[:, 0], now, lag if 0.0 <= lag < 1.0 else fallback_lag)
            if channels > 1:
                outdata[:, 1:] = outdata[:, :1]
            if not first.is_set():
                first.set()

        return sd.OutputStream(
            device=self.device.index,
            samplerate=rate,
            channels=channels,
            dtype="float32",
            blocksize=max(64, rate * self.block_ms // 1000),
            latency=self.latency_request_s,
            callback=on_output,
            finished_callback=self._finished.set,
        )

    def start(self) -> None:
        self._stop_requested.clear()
        if self._stream is None:
            self._open()

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        """Queue audio; raises AudioError("device-lost") when the speaker has gone."""
        if self._stream is not None or self._lost is not None:
            self._check_alive()
        self._playback.play(samples, sample_rate_hz)

    def stop(self) -> None:
        self._playback.interrupt()
        self._close()
        if self._flusher is not None:
            self._flusher.close()
            self._flusher = None

    def __enter__(self) -> SpeakerSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def open_sink(audio: AudioSettings) -> SpeakerSink:
    """The speaker the settings name (not started yet; `start()` opens it)."""
    return SpeakerSink(audio.output_device)
