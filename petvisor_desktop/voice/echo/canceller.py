"""The audio layer's signal processing: an adaptive filter that learns the room, the search
for the echo's delay, and the sample timeline the reference and the microphone are kept on.

The delay is found by cross-correlating the microphone with what the speaker played
(GCC-PHAT); a partitioned-block frequency-domain NLMS filter learns the room and its echo
estimate is subtracted. `guard.EchoGuard` decides when each runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from petvisor_desktop.voice.base import SAMPLE_RATE_HZ

FS = SAMPLE_RATE_HZ
_EPS = 1e-12


# --------------------------------------------------------------------------------------------
# Sample timeline
# --------------------------------------------------------------------------------------------


class _Timeline:
    """A ring of samples addressed by absolute sample index (zeros where nothing was written)."""

    def __init__(self, seconds: float) -> None:
        self.size = int(seconds * FS)
        self.buf = np.zeros(self.size, dtype=np.float32)
        self.end: int | None = None  # one past the newest sample written

    def write(self, start: int, samples: np.ndarray) -> None:
        n = len(samples)
        if n == 0:
            return
        if self.end is not None and start > self.end:
            self._zero(self.end, min(start, self.end + self.size))
        if n > self.size:
            samples, start, n = samples[-self.size :], start + n - self.size, self.size
        i = start % self.size
        first = min(n, self.size - i)
        self.buf[i : i + first] = samples[:first]
        if first < n:
            self.buf[: n - first] = samples[first:]
        self.end = start + n if self.end is None else max(self.end, start + n)

    def _zero(self, start: int, stop: int) -> None:
        n = stop - start
        if n <= 0:
            return
        i = start % self.size
        first = min(n, self.size - i)
        self.buf[i : i + first] = 0.0
        if first < n:
            self.buf[: n - first] = 0.0

    def read(self, start: int, n: int) -> np.ndarray:
        """Samples [start, start + n); zeros for what is not (or no longer) held."""
        out = np.zeros(n, dtype=np.float32)
        if self.end is None or n <= 0:
            return out
        lo = max(start, self.end - self.size)
        hi = min(start + n, self.end)
        if hi <= lo:
            return out
        i, m = lo % self.size, hi - lo
        first = min(m, self.size - i)
        out[lo - start : lo - start + first] = self.buf[i : i + first]
        if first < m:
            out[lo - start + first : hi - start] = self.buf[: m - first]
        return out


# --------------------------------------------------------------------------------------------
# The adaptive filter
# --------------------------------------------------------------------------------------------


class EchoCanceller:
    """Partitioned-block frequency-domain NLMS (overlap-save, constrained gradient), as in
    Speex's MDF: per-bin step normalisation converges on speech in about half a second,
    where a time-domain NLMS with the same taps needs several seconds."""

    def __init__(self, taps: int = 512, block: int = 256, mu: float = 0.5) -> None:
        if taps % block:
            raise ValueError("taps must be a multiple of block")
        self.taps, self.block, self.mu = taps, block, mu
        self.parts = taps // block
        self.weights = np.zeros((self.parts, block + 1), dtype=np.complex128)
        self.power: np.ndarray | None = None  # per-bin reference power, smoothed
        # About -60 dBFS of reference power per bin: no huge steps on near-silence.
        self._floor = 2 * block * 1e-6

    def reset(self) -> None:
        self.weights[:] = 0
        self.power = None

    def impulse_response(self) -> np.ndarray:
        """The filter in the time domain (taps samples)."""
        return np.fft.irfft(self.weights, axis=1)[:, : self.block].reshape(-1)

    def set_impulse_response(self, h: np.ndarray) -> None:
        b = self.block
        padded = np.zeros((self.parts, 2 * b))
        padded[:, :b] = h.reshape(self.parts, b)
        self.weights = np.fft.rfft(padded, axis=1)

    def shift(self, samples: int) -> None:
        """Move the modelled response later by `samples` (earlier when negative): what is
        needed when the alignment in front of the filter moves the other way."""
        if samples == 0:
            return
        h = self.impulse_response()
        out = np.zeros_like(h)
        if samples > 0:
            out[samples:] = h[: len(h) - samples]
        else:
            out[: len(h) + samples] = h[-samples:]
        self.set_impulse_response(out)

    def run(
        self, x: np.ndarray, d: np.ndarray, adapt: bool | Callable[[np.ndarray, np.ndarray], bool]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Filter one stretch. `x` is the reference with `taps` samples of history before the
        first of len(d) samples (len(x) == taps + len(d)); returns (echo estimate, residual).
        `adapt`: learn from this stretch, or a function of each block's (estimate, residual)
        that says whether to learn from that block."""
        b, p = self.block, self.parts
        n = len(d)
        y = np.empty(n)
        e = np.empty(n)
        for start in range(0, n, b):
            # Windows of 2b reference samples ending at this block's end, one per partition
            # (partition k sees the reference k blocks earlier).
            end = self.taps + start + b
            windows = np.stack([x[end - (k + 2) * b : end - k * b] for k in range(p)])
            spectra = np.fft.rfft(windows, axis=1)
            yb = np.fft.irfft(np.sum(self.weights * spectra, axis=0))[b:]
            eb = d[start : start + b] - yb
            y[start : start + b], e[start : start + b] = yb, eb
            if not (adapt(yb, eb) if callable(adapt) else adapt):
                continue
            current = np.abs(spectra[0]) ** 2
            self.power = current if self.power is None else 0.8 * self.power + 0.2 * current
            err = np.fft.rfft(np.concatenate((np.zeros(b), eb)))
            # Never a step longer than the loudest reference the filter now sees allows: the
            # smoothed power lags behind speech onsets, and at the start (or just after a
            # word) an older partition can hold far more than the current block.
            norm = np.maximum(self.power, np.max(np.abs(spectra) ** 2, axis=0)) + self._floor
            step = (self.mu / p) * np.conj(spectra) * err / norm
            grad = np.fft.irfft(step, axis=1)
            grad[:, b:] = 0.0  # the constraint: keep the filter causal and `block` long
            self.weights += np.fft.rfft(grad, axis=1)
        return y, e


def _find_continuation(
    tail: np.ndarray, piece: np.ndarray, expected: int, search: int
) -> int | None:
    """How many samples at the start of `piece` repeat what ends with `tail`: the offset
    (within `search` of `expected`) where `tail` best matches the piece just before it, or
    None when nothing matches closely (to -20 dB: the sink resamples each piece on its own,
    so the copies need not be exact)."""
    n = len(tail)
    lo = max(n, expected - search)
    hi = min(len(piece), expected + search)
    if hi < lo:
        return None
    region = piece[lo - n : hi].astype(np.float64)
    t = tail.astype(np.float64)
    size = 1 << math.ceil(math.log2(len(region) + n))
    dots = np.fft.irfft(np.fft.rfft(region, size) * np.conj(np.fft.rfft(t, size)), size)
    dots = dots[: hi - lo + 1]  # dots[i] = region[i : i + n] . tail
    csum = np.concatenate(([0.0], np.cumsum(region**2)))
    energies = csum[n : n + hi - lo + 1] - csum[: hi - lo + 1]
    own = float(np.dot(t, t))
    errors = energies - 2 * dots + own
    best = int(np.argmin(errors))
    # Close, and clearly closer than elsewhere (a near-silent tail matches everywhere).
    if errors[best] > 1e-2 * own or errors[best] > 0.1 * float(np.median(errors)):
        return None
    return lo + best


# --------------------------------------------------------------------------------------------
# Delay estimation
# --------------------------------------------------------------------------------------------


def estimate_delay(
    mic: np.ndarray, ref: np.ndarray, min_lag: int, max_lag: int
) -> tuple[int, float]:
    """The lag (samples) at which `ref` best explains `mic`, by GCC-PHAT, and how clear the
    peak is (peak over the 99th percentile of the correlation; above ~3 is trustworthy).
    `ref` must start `max_lag` samples before `mic` and run `-min_lag` samples past its end:
    len(ref) == len(mic) + max_lag - min_lag."""
    n_mic = len(mic)
    span = max_lag - min_lag
    size = 1 << math.ceil(math.log2(n_mic + span + 1))
    cross = np.fft.rfft(ref, size) * np.conj(np.fft.rfft(mic, size))
    # A little spectral smoothing of the PHAT weight keeps silent bins from adding noise.
    cross /= np.abs(cross) + 1e-3 * np.max(np.abs(cross)) + _EPS
    corr = np.fft.irfft(cross, size)[: span + 1]  # corr[j]: mic[i] ~ ref[i + j]
    j = int(np.argmax(corr))
    background = float(np.percentile(np.abs(corr), 99)) + _EPS
    return max_lag - j, float(corr[j]) / background
