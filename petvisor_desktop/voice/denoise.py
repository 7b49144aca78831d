"""Noise reduction for the caller's audio: stationary spectral gating (noisereduce's method)
with a noise profile learnt from the frames the VAD calls silence.

noisereduce works on whole recordings, so there are two ways in:
- `clean(utterance)`: noisereduce itself on a finished turn, before a final decode. No
  streaming change, but it adds its run time to the finalize latency (Whisper decodes at the
  end anyway).
- `process(frame)`: the same gate run frame by frame (a streaming STFT, 512-point Hann
  windows, hop 128, overlap-add) for a streaming recogniser (Vosk). Output frames have the
  input's length and lag it by a fixed `latency_samples` (384, 24 ms), the overlap-add's
  look-back; nothing is buffered beyond that.

Which to use, if any, is decided by benchmarks/bench_stt.py; see `audio.noise_reduction`."""

from __future__ import annotations

import logging
from collections import deque

import numpy as np

from petvisor_desktop.voice.base import FRAME_SAMPLES, SAMPLE_RATE_HZ

log = logging.getLogger(__name__)

MODES = ("utterance", "stream")


def _db(magnitude: np.ndarray) -> np.ndarray:
    return 20.0 * np.log10(magnitude + 1e-10)


class NoiseReducer:
    """Stationary spectral gate. Feed `observe_noise(frame)` with frames outside speech (the
    VAD says silence) so it learns the room; then `process(frame)` (streaming) or
    `clean(utterance)` (whole turn). Until some noise has been observed, audio passes
    through unchanged. Not thread-safe; one per audio stream."""

    def __init__(
        self,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        *,
        prop_decrease: float = 0.8,
        n_std_thresh: float = 1.5,
        noise_memory_s: float = 3.0,
        min_noise_s: float = 0.25,
        n_fft: int = 512,
        hop: int = 128,
        freq_smooth_hz: float = 250.0,
        release_ms: float = 40.0,
    ) -> None:
        if not 0.0 <= prop_decrease <= 1.0:
            raise ValueError(f"prop_decrease must be 0..1, got {prop_decrease}")
        if n_fft % hop or n_fft // hop < 2:
            raise ValueError("hop must divide n_fft at least twice")
        self.sample_rate_hz = sample_rate_hz
        self.prop_decrease = prop_decrease
        self.n_std_thresh = n_std_thresh
        self.n_fft = n_fft
        self.hop = hop
        self._noise: deque[np.ndarray] = deque(
            maxlen=max(1, round(noise_memory_s * sample_rate_hz / FRAME_SAMPLES))
        )
        self._min_noise_frames = max(1, round(min_noise_s * sample_rate_hz / FRAME_SAMPLES))
        self._dirty = False
        self._thresh_db: np.ndarray | None = None
        self._window = np.hanning(n_fft + 1)[:-1].astype(np.float64)  # periodic Hann
        # Hann analysis and synthesis windows overlap-add to sum(w^2) per sample.
        self._ola_gain = float(np.sum(self._window**2) / hop)
        bins = n_fft // 2 + 1
        width = max(1, round(freq_smooth_hz / (sample_rate_hz / n_fft)))
        kernel = np.concatenate([np.arange(1, width + 1), np.arange(width - 1, 0, -1)])
        self._freq_kernel = kernel / kernel.sum()
        self._release = float(np.exp(-hop / (release_ms / 1000 * sample_rate_hz)))
        self._bins = bins
        self.reset_stream()

    # -- Noise profile -------------------------------------------------------------------------

    @property
    def latency_samples(self) -> int:
        """How far `process()` output lags its input: n_fft - hop (384 samples, 24 ms)."""
        return self.n_fft - self.hop

    @property
    def has_noise_profile(self) -> bool:
        return len(self._noise) >= self._min_noise_frames

    def observe_noise(self, frame: np.ndarray) -> None:
        """A frame with no speech in it (the VAD says so); keeps the last `noise_memory_s`."""
        self._noise.append(np.asarray(frame, dtype=np.float32).copy())
        self._dirty = True

    def _threshold(self) -> np.ndarray | None:
        if not self.has_noise_profile:
            return None
        if self._dirty or self._thresh_db is None:
            noise = np.concatenate(self._noise).astype(np.float64)
            spec = self._frames_spectrum(noise)
            db = _db(np.abs(spec))
            # As noisereduce's _amp_to_db: nothing counts below 80 dB under the loudest, or
            # digital silence in the profile would make the spread (and threshold) huge.
            db = np.maximum(db, db.max(axis=0, keepdims=True) - 80.0)
            self._thresh_db = db.mean(axis=0) + self.n_std_thresh * db.std(axis=0)
            self._dirty = False
        return self._thresh_db

    def _frames_spectrum(self, x: np.ndarray) -> np.ndarray:
        n = 1 + max(0, (len(x) - self.n_fft) // self.hop)
        idx = np.arange(self.n_fft)[None, :] + self.hop * np.arange(n)[:, None]
        return np.fft.rfft(x[idx] * self._window, axis=1)

    # -- Streaming -----------------------------------------------------------------------------

    def reset_stream(self) -> None:
        """Start a new stream (a new turn); the noise profile is kept."""
        self._in = np.zeros(self.n_fft, dtype=np.float64)
        self._out = np.zeros(self.n_fft, dtype=np.float64)
        self._mask = np.ones(self._bins, dtype=np.float64)
        self._pending = np.zeros(0, dtype=np.float64)
        self._ready = np.zeros(0, dtype=np.float64)

    def process(self, frame: np.ndarray) -> np.ndarray:
        """Denoise the next frame; returns as many samples as given, `latency_samples` late.
        The frame length must be a multiple of the hop (128): the engine's 512 is."""
        x = np.asarray(frame, dtype=np.float64)
        if len(x) % self.hop:
            raise ValueError(f"frames must be a multiple of {self.hop} samples, got {len(x)}")
        thresh = self._threshold()
        data = np.concatenate([self._pending, x])
        pos = 0
        produced = [self._ready]
        while len(data) - pos >= self.hop:
            self._in = np.roll(self._in, -self.hop)
            self._in[-self.hop :] = data[pos : pos + self.hop]
            pos += self.hop
            spec = np.fft.rfft(self._in * self._window)
            if thresh is not None:
                spec *= self._gate(spec, thresh)
            self._out += np.fft.irfft(spec, self.n_fft) * self._window / self._ola_gain
            produced.append(self._out[: self.hop].copy())
            self._out = np.roll(self._out, -self.hop)
            self._out[-self.hop :] = 0.0
        self._pending = data[pos:]
        ready = np.concatenate(produced)
        self._ready = ready[len(x) :]
        return ready[: len(x)].astype(np.float32)

    def _gate(self, spec: np.ndarray, thresh: np.ndarray) -> np.ndarray:
        above = (_db(np.abs(spec)) > thresh).astype(np.float64)
        mask = above * self.prop_decrease + (1.0 - self.prop_decrease)
        mask = np.convolve(mask, self._freq_kernel, mode="same")
        # Open at once on speech, close slowly: fewer "musical noise" blips than a centred
        # time smoothing, and no look-ahead.
        self._mask = np.maximum(mask, self._mask * self._release)
        return self._mask

    def flush(self) -> np.ndarray:
        """The last `latency_samples` of the stream, still in the overlap-add line."""
        tail = self.process(np.zeros(self.latency_samples, dtype=np.float32))
        self.reset_stream()
        return tail

    # -- Whole utterance -----------------------------------------------------------------------

    def clean(self, utterance: np.ndarray) -> np.ndarray:
        """Denoise a finished turn with noisereduce (same length, no lag). Without a learnt
        profile the quietest fifth of the turn (pre-roll, pauses) stands in for the noise."""
        import noisereduce

        y = np.asarray(utterance, dtype=np.float32)
        if len(y) < self.n_fft * 2:
            return y.copy()
        noise = np.concatenate(self._noise) if self.has_noise_profile else self._quietest(y)
        if noise is None:
            return y.copy()
        out = noisereduce.reduce_noise(
            y=y,
            sr=self.sample_rate_hz,
            y_noise=noise,
            stationary=True,
            prop_decrease=self.prop_decrease,
            n_std_thresh_stationary=self.n_std_thresh,
            n_fft=self.n_fft,
            hop_length=self.hop,
            padding=self.n_fft,
            n_jobs=1,
        )
        return np.asarray(out, dtype=np.float32)[: len(y)]

    def _quietest(self, y: np.ndarray, share: float = 0.2) -> np.ndarray | None:
        n = len(y) // FRAME_SAMPLES
        if n < 5:
            return None
        frames = y[: n * FRAME_SAMPLES].reshape(n, FRAME_SAMPLES)
        energy = np.mean(frames.astype(np.float64) ** 2, axis=1)
        keep = np.sort(np.argsort(energy)[: max(2, round(n * share))])
        return frames[keep].reshape(-1)
