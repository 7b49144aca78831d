"""Sample conversions: any audio to mono float32, one-shot resampling of a clip, and the
streaming resampler and framer that turns a device's blocks into the engine's frames."""

from __future__ import annotations

from collections import deque

import numpy as np
import soxr

from petvisor_desktop.voice.base import FRAME_SAMPLES, SAMPLE_RATE_HZ

RESAMPLE_QUALITY = "HQ"  # soxr's "high quality": flat to 0.91 of Nyquist, -126 dB aliasing


def to_mono_float32(samples: np.ndarray) -> np.ndarray:
    """Mono float32 in [-1, 1] from int16/int32/float audio, averaging channels of a
    (frames, channels) array."""
    x = np.asarray(samples)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    elif x.dtype == np.int32:
        x = x.astype(np.float32) / 2147483648.0
    elif x.dtype != np.float32:
        x = x.astype(np.float32)
    if x.ndim == 2:
        x = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)
    elif x.ndim != 1:
        raise ValueError(f"audio must be 1-D or (frames, channels), not shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def resample(samples: np.ndarray, rate_hz: int, to_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """One-shot resampling of a whole clip (mono float32)."""
    x = to_mono_float32(samples)
    if rate_hz == to_rate_hz or len(x) == 0:
        return x
    return np.asarray(
        soxr.resample(x, rate_hz, to_rate_hz, quality=RESAMPLE_QUALITY), dtype=np.float32
    )


class FrameResampler:
    """A streaming resampler and framer: blocks of any size at `in_rate_hz` in, frames of
    exactly `frame_samples` at `out_rate_hz` out, each with the capture time of its last
    sample. soxr's stream keeps its filter state between blocks, so block edges leave no
    trace; it holds back a few ms of input (its delay), which the frame times account for."""

    def __init__(
        self,
        in_rate_hz: int,
        *,
        out_rate_hz: int = SAMPLE_RATE_HZ,
        frame_samples: int = FRAME_SAMPLES,
        quality: str = RESAMPLE_QUALITY,
    ) -> None:
        self.in_rate_hz = in_rate_hz
        self.out_rate_hz = out_rate_hz
        self.frame_samples = frame_samples
        self._stream = (
            soxr.ResampleStream(in_rate_hz, out_rate_hz, 1, dtype="float32", quality=quality)
            if in_rate_hz != out_rate_hz
            else None
        )
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames: deque[tuple[np.ndarray, float | None]] = deque()
        self._in_total = 0  # input samples pushed
        self._out_framed = 0  # output samples already cut into frames

    def push(self, samples: np.ndarray, end_time: float | None = None) -> int:
        """Add a mono block whose last sample was captured at `end_time` (monotonic);
        returns how many frames are ready."""
        x = np.ascontiguousarray(samples, dtype=np.float32)
        self._in_total += len(x)
        out = self._stream.resample_chunk(x) if self._stream is not None else x
        if len(out):
            self._pending = np.concatenate((self._pending, out))
        n = self.frame_samples
        while len(self._pending) >= n:
            frame = self._pending[:n].copy()
            self._pending = self._pending[n:]
            self._out_framed += n
            self._frames.append((frame, self._time_of_output(self._out_framed, end_time)))
        return len(self._frames)

    def _time_of_output(self, out_count: int, end_time: float | None) -> float | None:
        """Capture time of output sample `out_count - 1`: soxr's output is aligned with its
        input, so it maps to input position out_count * in/out; what is still held inside
        the resampler (its delay) is what the frame lags behind the newest block."""
        if end_time is None:
            return None
        in_pos = out_count * self.in_rate_hz / self.out_rate_hz
        return end_time - (self._in_total - in_pos) / self.in_rate_hz

    def pop(self) -> tuple[np.ndarray, float | None] | None:
        """The next frame and the capture time of its last sample, or None."""
        return self._frames.popleft() if self._frames else None

    @property
    def ready(self) -> int:
        return len(self._frames)

    @property
    def delay_s(self) -> float:
        """Input the resampler holds back, in seconds."""
        return float(self._stream.delay()) / self.out_rate_hz if self._stream is not None else 0.0
