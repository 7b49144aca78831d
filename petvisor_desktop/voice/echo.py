"""The assistant must not hear itself. At the kiosk the speaker's sound leaks back into the
microphone; two layers keep it out.

- Audio: an acoustic echo canceller. The echo's delay is found by cross-correlating the
  microphone with what the speaker played (GCC-PHAT over -32..300 ms; re-checked every 2 s,
  and soon after each pause); a partitioned-block frequency-domain NLMS filter (512 taps,
  from 4 ms before the delay) learns the room and its echo estimate is subtracted. Small
  shifts of the alignment (the sink's time stamps move by a few ms from one reply to the
  next) are followed by sliding the learnt response; double talk is told from a changed room
  by whether the residual looks like the echo estimate. `process` returns the cleaned frame
  and `echo_only` says whether the frame is only our own voice, so the VAD runs on cleaned
  audio and a barge-in triggers only on the caller's real voice.
- Text: `note_spoken` records what the assistant said; `is_echo` discards a transcript that
  is a fragment of it (a local alignment of words, tolerant of recogniser errors), unless the
  caller began speaking after the speaker had gone quiet.

The reference (what was played, 16 kHz) comes from the sink (`playback_since`, else
`recent_playback`), or is pushed with `note_played`. The sink's pieces are stitched by their
content, not their jittery time stamps, so the reference stays sample-exact through a reply.
Microphone frames go on the same clock: at the capture time given to `process`, else by
counting frames from the first call (also the frames between replies, when the loop does not
call). Whatever offset this leaves is part of the delay the correlation finds.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

import numpy as np

from petvisor_desktop.voice.base import FRAME_SAMPLES, SAMPLE_RATE_HZ

log = logging.getLogger(__name__)

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


_MATCH = 2000  # samples (125 ms) of held reference to find in a new piece
_SEARCH = 240  # +-15 ms around where the time stamps say
# Ask the sink again for this much of what we hold: the new piece is placed by finding the
# last sound we hold in it, so a pause between sentences shorter than this keeps the exact
# alignment. (The time stamps alone are off by a few ms at every piece.)
_ASK_BACK_S = 1.0
_FINE = 96  # samples (6 ms): delay changes the learnt filter is slid to follow
# Blocks (4 s) of "double talk" after which the room is taken to have changed (the speaker
# moved). Real double talk is short: the caller's voice stops the playback (barge-in).
_FROZEN_MAX = 250
_RELEARN = 94  # blocks (1.5 s) of learning without the double-talk check, after that


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


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_SAME_WORD = {
    "oh": "zero",
    "o": "zero",
    "dr": "doctor",
    "mr": "mister",
    "mrs": "missus",
    "okay": "ok",
    "alright": "all right",
}


def _number_words(number: int) -> list[str]:
    if number < 20:
        return [_ONES[number]]
    if number < 100:
        tens, ones = divmod(number, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return [_ONES[hundreds], "hundred"] + (_number_words(rest) if rest else [])
    if number < 10000 and number % 100:
        high, low = divmod(number, 100)  # years and such: "twenty twenty six"
        return _number_words(high) + _number_words(low)
    return [" ".join(_ONES[int(c)] for c in str(number))]


def _ordinal_words(number: int) -> list[str]:
    words = _number_words(number)
    last = words[-1]
    if last in _ORDINAL_WORDS:
        words[-1] = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return words


def words_of(text: str) -> list[str]:
    """Lower-case words with numbers spelt out, so that what the assistant wrote ("9:30am",
    "26th", "Dr") and what a recogniser hears ("nine thirty a m", "twenty sixth", "doctor")
    compare equal."""
    text = text.lower().replace("'", "").replace("\u2019", "")
    text = re.sub(r"([a-z])\.(?=[a-z]\.)", r"\1", text)  # "a.m." -> "am."
    words: list[str] = []
    for token in re.findall(r"[a-z]+|\d+(?:st|nd|rd|th)?", text):
        if token[0].isdigit():
            digits = re.match(r"\d+", token)
            assert digits is not None
            value = int(digits.group())
            if len(digits.group()) > 4:
                words.extend(_ONES[int(c)] for c in digits.group())
            elif token[-1].isalpha():
                words.extend(_ordinal_words(value))
            else:
                words.extend(_number_words(value))
            continue
        words.extend(_SAME_WORD.get(token, token).split())
    return words


def _similar(a: str, b: str) -> bool:
    """The same word, or one a recogniser could have made of it ("okafor"/"okafa")."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.7


def matched_words(heard: list[str], said: list[str]) -> int:
    """How many of `heard` a compact fragment of `said` accounts for, in order: a local
    alignment (Smith-Waterman; +1 per matching word, -0.6 per missing, extra or wrong word),
    so words scattered across the assistant's speech do not add up."""
    if not heard or not said:
        return 0
    gap = 0.6
    rows, cols = len(heard) + 1, len(said) + 1
    score = np.zeros((rows, cols))
    count = np.zeros((rows, cols), dtype=np.int32)
    best_score, best_count = 0.0, 0
    for i in range(1, rows):
        for j in range(1, cols):
            hit = _similar(heard[i - 1], said[j - 1])
            options = (
                (score[i - 1, j - 1] + (1.0 if hit else -gap), count[i - 1, j - 1] + int(hit)),
                (score[i - 1, j] - gap, count[i - 1, j]),
                (score[i, j - 1] - gap, count[i, j - 1]),
                (0.0, 0),
            )
            s, c = max(options, key=lambda o: (o[0], o[1]))
            score[i, j], count[i, j] = s, c
            if s > best_score or (s == best_score and c > best_count):
                best_score, best_count = s, int(c)
    return best_count


# --------------------------------------------------------------------------------------------
# The guard
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EchoStats:
    """What the guard has learnt and done so far (for logs and the benchmark)."""

    delay_ms: float | None
    leak_db: float | None  # echo level relative to the reference (the echo path loss)
    erle_db: float | None  # echo removed by the filter (median over recent echo-only frames)
    frames: int
    echo_only_frames: int


@dataclass
class _Said:
    words: list[str]
    started: float
    ended: float


class EchoGuard:
    """Keeps the assistant's own voice out of what the caller is heard to say.

    Audio: call `process(frame, sink)` for every microphone frame while the speaker plays,
    then `echo_only(frame)`. Text: `note_spoken(sentence)` as each sentence starts playing,
    `is_echo(transcript, started_at)` before acting on a transcript. Audio calls come from the
    capture thread, text calls from others; each layer has its own lock."""

    def __init__(
        self,
        *,
        taps: int = 512,
        mu: float = 0.4,
        min_delay_ms: float = -32.0,
        max_delay_ms: float = 300.0,
        echo_margin_db: float = 8.0,
        suppress_db: float = 12.0,
        text_window_s: float = 10.0,
        echo_tail_s: float = 0.12,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.canceller = EchoCanceller(taps=taps, block=FRAME_SAMPLES // 2, mu=mu)
        self.taps = taps
        self.pre = 64  # filter taps before the estimated delay (4 ms): room for estimate error
        self.min_lag = round(min_delay_ms * FS / 1000)
        self.max_lag = round(max_delay_ms * FS / 1000)
        self.echo_margin = 10 ** (-echo_margin_db / 10)
        self.suppress = 10 ** (-suppress_db / 20)
        self.text_window_s = text_window_s
        self.echo_tail_s = echo_tail_s
        self.clock = clock
        self._audio_lock = threading.Lock()
        self._text_lock = threading.Lock()
        self._origin: float | None = None
        self._ref = _Timeline(4.0)
        self._mic = _Timeline(2.0)
        self._next_mic: int | None = None
        self._last_call: float | None = None
        self._pulled_until: float | None = None
        self._piece = 0  # samples held since the last join placed by time stamps
        # Delay
        self.delay: int | None = None
        self._candidate: int | None = None
        self._frames_since_estimate = 0
        self._estimate_every = 4  # frames (0.13 s) until the delay is found, then 60 (2 s)
        # Levels
        self._ratios: deque[float] = deque(maxlen=120)  # mic/ref energy, reference active
        self._erle: deque[float] = deque(maxlen=60)
        self._noise = 1e-7  # the room's noise floor (mean square), see _track_noise
        self._hangover = 0
        self._frozen = 0  # blocks the filter has waited out double talk
        self._relearn = 0  # blocks left to learn without the double-talk check
        self._held_back = False  # the filter waited out double talk in this frame
        self._trained = False  # the filter has once cancelled well (its response is worth keeping)
        self._saved: np.ndarray | None = None  # a copy of the weights when they cancelled well
        self._saved_at = -(10**9)
        self._last_echo_only = False
        self._last_ref_active: float | None = None
        self.frames = 0
        self.echo_only_frames = 0
        self._said: deque[_Said] = deque()
        self._quiet_at: float | None = None  # when the speaker last went quiet

    # -- clock ----------------------------------------------------------------------------
    def _index(self, t: float) -> int:
        if self._origin is None:
            self._origin = t - 10.0  # indices stay positive for reads a little back in time
        return round((t - self._origin) * FS)

    def _time(self, index: int) -> float:
        assert self._origin is not None
        return self._origin + index / FS

    # -- the reference ----------------------------------------------------------------------
    def note_played(self, samples: np.ndarray, t: float | None = None) -> None:
        """What the speaker played (16 kHz float32), heard from time `t` (monotonic) on;
        without `t`, right after the previous samples (or now, after a pause)."""
        with self._audio_lock:
            x = np.asarray(samples, dtype=np.float32).reshape(-1)
            end = self._ref.end
            if t is None:
                now = self.clock()
                if end is None or self._time(end) < now - 1.0:
                    self._ref.write(self._index(now), x)
                else:
                    self._ref.write(end, x)
                self._piece = len(x)
            else:
                self._add_reference(x, t)

    def _add_reference(self, samples: np.ndarray, t: float, search: int = _SEARCH) -> None:
        """Place a piece of the played audio whose first sample is heard at `t` (give or
        take `search` samples). The device's time stamps jitter by a few ms, so a piece that
        overlaps what we hold is placed by its content (sample-exact); only a piece after a
        silence or a pause goes by its time stamp."""
        start = self._index(t)
        end = self._ref.end
        if end is None or start > end + FS // 10 or start < end - 2 * round(_ASK_BACK_S * FS):
            self._ref.write(start, samples)
            self._piece = len(samples)
            return
        expected = end - start  # samples of the piece we already hold, by the time stamps
        # What we hold since the last join placed by time stamps is one unbroken stretch of
        # the device's output; find its last sound in the new piece.
        span = min(self._piece, expected - 2 * search // 3)
        found = None
        if span >= 256:
            held = self._ref.read(end - span, span)
            loud = np.flatnonzero(np.abs(held) > 1e-4)  # -80 dBFS
            last = int(loud[-1]) + 1 if len(loud) else 0
            n = min(_MATCH, last)
            if n >= 256:
                after = span - last  # silence held after that sound
                at = _find_continuation(held[last - n : last], samples, expected - after, search)
                found = None if at is None else at + after
        overlap = expected
        if found is not None:
            overlap = found
        if overlap >= len(samples):
            return
        if overlap >= 0:
            self._ref.write(end, samples[overlap:])
            fresh = len(samples) - overlap
        else:
            self._ref.write(end - overlap, samples)  # a short gap: silence in between
            fresh = len(samples)
        if found is None and self.delay is not None:
            # A join placed by its time stamp may be a few ms off: check the alignment soon.
            self._estimate_every = min(self._estimate_every, 2)
        self._piece = self._piece + fresh if found is not None else fresh

    def _pull(self, sink: Any) -> None:
        now = self.clock()
        since = getattr(sink, "playback_since", None)
        if since is not None:
            # Ask for a little of what we already hold too, to place the new part by content.
            frm = now - 1.0 if self._pulled_until is None else self._pulled_until - _ASK_BACK_S
            first, samples = since(frm)
            if first is None or len(samples) == 0:
                return
            self._add_reference(np.asarray(samples, dtype=np.float32).reshape(-1), first)
            self._pulled_until = first + len(samples) / FS
            return
        last = self._pulled_until if self._pulled_until is not None else now - 1.0
        seconds = min(2.0, max(0.0, now - last) + _ASK_BACK_S)
        samples = np.asarray(sink.recent_playback(seconds), dtype=np.float32).reshape(-1)
        if len(samples):
            # Without time stamps: the newest sample is taken as heard now, which is off by
            # the device's latency and block (tens of ms); the content places it exactly.
            self._add_reference(samples, now - len(samples) / FS, search=FS // 10)
            self._pulled_until = now

    # -- audio ------------------------------------------------------------------------------
    def process(
        self, frame: np.ndarray, sink: Any | None = None, *, t: float | None = None
    ) -> np.ndarray:
        """The microphone frame with the speaker's echo taken out. `sink`: where to read what
        was played (else `note_played` feeds it); `t`: when the frame's first sample was
        captured (else counted from the first frame of this run of calls)."""
        with self._audio_lock:
            return self._process(np.asarray(frame, dtype=np.float32).reshape(-1), sink, t)

    def _process(self, d: np.ndarray, sink: Any | None, t: float | None) -> np.ndarray:
        now = self.clock()
        n = len(d)
        if sink is not None:
            self._pull(sink)
        m = self._place_mic(n, now, t)
        self._last_call = now
        self._next_mic = m + n
        self._mic.write(m, d)
        self.frames += 1

        self._frames_since_estimate += 1
        if self._frames_since_estimate >= self._estimate_every:
            self._frames_since_estimate = 0
            self._update_delay(m + n)

        mic_energy = float(np.mean(d.astype(np.float64) ** 2))
        if self.delay is None:
            self._last_echo_only = False
            return d
        lag = self.delay - self.pre
        x = self._ref.read(m - lag - self.taps, self.taps + n).astype(np.float64)
        ref_energy = float(np.mean(x[self.taps - self.pre :] ** 2))
        ref_active = ref_energy > 1e-6  # -60 dBFS
        if not ref_active:
            self._track_noise(mic_energy)
            self._last_echo_only = False
            _y, e = self.canceller.run(x, d.astype(np.float64), adapt=False)
            return e.astype(np.float32)
        self._last_ref_active = now

        ratio = mic_energy / ref_energy
        typical = float(np.median(self._ratios)) if len(self._ratios) >= 10 else None
        if typical is None or ratio < 4.0 * typical:
            self._ratios.append(ratio)  # the echo path's level, for the decision below
        self._held_back = False
        _y, e = self.canceller.run(x, d.astype(np.float64), adapt=self._gate)
        residual = float(np.mean(e**2))
        if not self._held_back:
            # Only frames the filter learnt from throughout: with the caller talking the
            # residual is their voice, which says nothing of how well the echo is cancelled.
            self._erle.append(10 * math.log10((mic_energy + _EPS) / (residual + _EPS)))
        recent = list(self._erle)[-6:]
        converged = len(recent) == 6 and float(np.median(recent)) > 6.0
        if len(recent) == 6 and float(np.median(recent)) > 12.0:
            self._trained = True
            if self.frames - self._saved_at >= 30 and not self._held_back:
                # A response known to cancel well, to go back to if the alignment jumps and
                # the frames before the jump is noticed have taught the filter nonsense.
                self._saved = self.canceller.weights.copy()
                self._saved_at = self.frames
        self._track_noise(residual)
        floor = 4.0 * self._noise
        if converged:
            echo_only = residual < max(mic_energy * self.echo_margin, floor)
        else:
            # Until the filter has learnt the room: the level the echo path explains.
            echo_only = typical is not None and ratio < 2.0 * typical
        self._last_echo_only = echo_only
        if residual > mic_energy:
            e = d.astype(np.float64)  # the filter is off (it is re-learning): never add to it
        if echo_only:
            self.echo_only_frames += 1
            e = e * self.suppress
        return e.astype(np.float32)

    def _track_noise(self, energy: float) -> None:
        """The room's noise floor: follows quieter frames at once and louder ones only
        slowly (0.6 dB/s), so a caller talking through a pause does not raise it."""
        energy = max(energy, 1e-10)
        if energy < self._noise:
            self._noise = 0.7 * self._noise + 0.3 * energy
        else:
            self._noise *= 1.005

    def _gate(self, y: np.ndarray, e: np.ndarray) -> bool:
        """Whether the filter may learn from this block. Once it has learnt the room, a
        residual far above what it usually leaves is either someone else talking (double
        talk), or the room changed (the speaker was moved, the volume turned up). Double talk
        leaves a residual unlike the echo estimate (the caller's voice): learning then would
        teach the filter that voice, so it waits (and 100 ms more). A residual shaped like
        the echo estimate is the room: it learns. Should it still wait after 4 s, it learns
        for 1.5 s whatever the residual is."""
        if not self._trained:
            return True
        if self._relearn:
            self._relearn -= 1
            return True
        echo = float(np.dot(y, y))
        residual = float(np.dot(e, e))
        if residual > 0.5 * echo + 4.0 * self._noise * len(e):
            likeness = abs(float(np.dot(e, y))) / math.sqrt(residual * echo + _EPS)
            if likeness < 0.5:
                self._hangover = 6
                self._frozen += 1
                if self._frozen >= _FROZEN_MAX:
                    log.info("echo path changed: the filter learns again")
                    self._frozen = self._hangover = 0
                    self._relearn = _RELEARN
                    return True
                self._held_back = True
                return False
        if self._hangover:
            self._hangover -= 1
            self._frozen += 1
            self._held_back = True
            return False
        self._frozen = 0
        return True

    def _place_mic(self, n: int, now: float, t: float | None) -> int:
        """Where a microphone frame goes on the reference's clock. The source delivers every
        frame, also between replies when nobody calls us, so the frames missed since the last
        call are counted (call times jitter by far less than a frame); a frame is never put
        in the future, which undoes a count fooled by frames that queued up behind a stall."""
        if t is not None:
            return self._index(t)
        if self._next_mic is None or self._last_call is None or now - self._last_call > 60.0:
            self._new_run()
            return self._index(now) - n  # the frame has just been captured
        missed = max(0, round((now - self._last_call) * FS / n) - 1)
        if missed:
            self._new_run()
        m = self._next_mic + missed * n
        latest = self._index(now) - n
        if m > latest + n // 2:
            # Half a frame in the future is no call-time jitter: the count went wrong.
            self._new_run()
            return latest
        return m

    def _new_run(self) -> None:
        """The speaker starts again after a pause: check the delay soon (the reference's
        time stamps may have moved by a few ms). Should the filter now be off, its residual
        shows it within a few frames and the decision falls back to levels meanwhile."""
        self._estimate_every = 4
        self._frames_since_estimate = 0
        self._candidate = None

    def echo_only(self, frame: np.ndarray | None = None) -> bool:
        """Whether the frame just given to `process` is only the speaker's echo (no caller).
        `frame` is that frame (accepted for the caller's convenience; it is not re-examined)."""
        with self._audio_lock:
            return self._last_echo_only

    def _update_delay(self, end: int) -> None:
        """Look for the echo delay in the last 0.5 s (GCC-PHAT). A first value is taken from
        a clear peak or once two checks in a row agree, a move too big for the filter to follow
        once two agree; smaller moves (a new reply's time stamps, the estimate's own scatter
        of a ms or two) are left to `_fine_align`, which uses the room response the filter has
        learnt."""
        n = FS // 2
        start = end - n
        ref = self._ref.read(start - self.max_lag, n + self.max_lag - self.min_lag)
        if float(np.mean(ref.astype(np.float64) ** 2)) < 1e-6:
            return
        mic = self._mic.read(start, n)
        if float(np.mean(mic.astype(np.float64) ** 2)) < 1e-8:
            return
        moved = self.delay is not None and self._trained and self._fine_align(end)
        lag, clarity = estimate_delay(mic, ref, self.min_lag, self.max_lag)
        if clarity < 3.0:
            return
        agreed = self._candidate is not None and abs(lag - self._candidate) <= 8
        self._candidate = lag
        if self.delay is not None and abs(lag - self.delay) <= _FINE:
            # Confirmed: re-check every 2 s; soon again if the response had to be slid.
            self._estimate_every = 4 if moved else 60
            return
        # A first value is taken at once from a clear peak (false peaks measured below 3,
        # true ones mostly 5-20 on speech); else, and for a big move, two checks must agree.
        clear_first = self.delay is None and clarity >= 5.0
        if not (agreed or clear_first):
            return
        self._estimate_every = 4  # let _fine_align settle the response soon
        self._hangover = self._frozen = 0  # what looked like double talk was the move
        if self.delay is None:
            log.info("echo delay found: %.1f ms", lag * 1000 / FS)
        else:
            log.info("echo delay moved: %.1f -> %.1f ms", self.delay * 1000 / FS, lag * 1000 / FS)
            # The filter models the room from the direct path on, and the new alignment puts
            # the direct path where it was (what moved was the path's delay, or the clocks):
            # the last response known to cancel well is right again. A slightly wrong one is
            # then fixed by _fine_align.
            if self._saved is not None:
                self.canceller.weights = self._saved.copy()
        self.delay = lag

    def _fine_align(self, end: int) -> bool:
        """Slide the learnt response by up to `_FINE` samples to where it best explains the
        last 0.25 s of microphone signal; the reference's time stamps move by a few ms from
        one reply to the next, which would otherwise cost half a second of re-learning."""
        assert self.delay is not None
        n, reach, taps = FS // 4, _FINE, self.taps
        start = end - n
        lag = self.delay - self.pre
        x = self._ref.read(start - lag - taps + 1 - reach, n + taps - 1 + 2 * reach)
        if float(np.mean(x.astype(np.float64) ** 2)) < 1e-6:
            return False
        h = self.canceller.impulse_response()
        size = 1 << math.ceil(math.log2(len(x) + taps))
        y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)
        y = y[taps - 1 : taps - 1 + n + 2 * reach]  # the echo estimate, reach either side
        d = self._mic.read(start, n).astype(np.float64)
        windows = np.lib.stride_tricks.sliding_window_view(y, n)  # windows[i]: shift reach-i
        errors = np.sum(windows**2, axis=1) - 2 * (windows @ d) + float(np.dot(d, d))
        best = int(np.argmin(errors))
        shift = reach - best
        if shift and errors[best] * 2.0 < errors[reach]:
            self.canceller.shift(shift)
            self._hangover = self._frozen = 0  # what looked like double talk was this
            log.debug("echo response moved by %d samples", shift)
            return True
        return False

    def stats(self) -> EchoStats:
        with self._audio_lock:
            typical = float(np.median(self._ratios)) if self._ratios else None
            return EchoStats(
                delay_ms=None if self.delay is None else self.delay * 1000 / FS,
                leak_db=None if typical is None else 10 * math.log10(typical + _EPS),
                erle_db=float(np.median(self._erle)) if self._erle else None,
                frames=self.frames,
                echo_only_frames=self.echo_only_frames,
            )

    # -- text -------------------------------------------------------------------------------
    def note_spoken(
        self, text: str, started_at: float | None = None, duration_s: float | None = None
    ) -> None:
        """The assistant starts saying `text` (at `started_at`, monotonic; now by default)."""
        words = words_of(text)
        if not words:
            return
        start = self.clock() if started_at is None else started_at
        # Without a duration: about 2.5 words a second, Piper's pace.
        length = duration_s if duration_s is not None else len(words) / 2.5
        with self._text_lock:
            self._said.append(_Said(words, start, start + length))

    def note_playback_end(self, t: float | None = None) -> None:
        """The speaker went quiet at `t` (monotonic; now by default): a reply finished
        playing or was cut off. What was said ends there, whatever the words' estimate."""
        end = self.clock() if t is None else t
        with self._text_lock:
            for said in self._said:
                said.ended = max(said.started, min(said.ended, end))
            self._quiet_at = end

    def is_echo(self, transcript: str, started_at: float | None = None) -> bool:
        """Whether `transcript` is the assistant's own recent speech heard back: one stretch
        of what it said in the last `text_window_s` accounts, in order, for every word of a
        short transcript (up to four words) or for 60 % of a longer one, with recogniser
        errors allowed for ("okafor"/"okafa", "nine thirty"/"9:30").

        `started_at` (monotonic, when the caller's speech began) decides most cases: speech
        that began after the speaker had gone quiet is never an echo, however much it repeats
        the assistant ("whoever is free first"); speech during playback may be as short as two
        words. Without it, a transcript needs three words: a short answer that repeats one of
        the offered options ("a vaccination") would otherwise be thrown away. A one-word
        answer ("yes", "Mittens") is never an echo."""
        heard = words_of(transcript)
        if len(heard) < 2:
            return False
        now = self.clock()
        with self._text_lock:
            while self._said and self._said[0].ended < now - self.text_window_s:
                self._said.popleft()
            said = list(self._said)
        if not said:
            return False
        if started_at is not None:
            latest = max(said, key=lambda s: s.started)
            quiet_from = max(s.ended for s in said)  # estimated from the words
            if self._quiet_at is not None and self._quiet_at >= latest.started:
                quiet_from = self._quiet_at  # the speaker's own report of going quiet
            heard_until = self._last_ref_active
            if heard_until is not None and heard_until >= latest.started:
                # Measured at the microphone: the last frame the delayed reference was live.
                quiet_from = max(quiet_from, heard_until)
            # An echo begins while its reference plays; speech that began after the speaker
            # went quiet (plus the room's short ring) is the caller's, however much it
            # repeats the assistant. People answer within 200-300 ms, so this margin must
            # stay well below that.
            if started_at > quiet_from + self.echo_tail_s:
                return False
        elif len(heard) < 3:
            return False
        spoken = [w for s in said for w in s.words]
        matched = matched_words(heard, spoken)
        if len(heard) <= 4:
            return matched == len(heard)
        return matched >= math.ceil(0.6 * len(heard))
