"""The echo guard: keeps the assistant's own voice out of what the caller is heard to say.

The reference (what was played, 16 kHz) comes from the sink (`playback_since`, else
`recent_playback`), or is pushed with `note_played`. The sink's pieces are stitched by their
content, not their jittery time stamps, so the reference stays sample-exact through a reply.
Microphone frames go on the same clock: at the capture time given to `process`, else by
counting frames from the first call (also the frames between replies, when the loop does not
call). Whatever offset this leaves is part of the delay the correlation finds.

Small shifts of the alignment (the sink's time stamps move by a few ms from one reply to the
next) are followed by sliding the learnt response; double talk is told from a changed room
by whether the residual looks like the echo estimate. The guard also owns the rules the
voice loop needs from it: how long after playback the echo may still arrive
(`PLAYBACK_TAIL_S`) and when the canceller has learnt the room (`converged`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from petvisor_desktop.voice.base import FRAME_SAMPLES
from petvisor_desktop.voice.echo.canceller import (
    _EPS,
    FS,
    EchoCanceller,
    _find_continuation,
    _Timeline,
    estimate_delay,
)
from petvisor_desktop.voice.echo.text import TranscriptEchoCheck

log = logging.getLogger(__name__)

# The canceller keeps running this long after playback, for the echo still on its way (the
# echo path's delay is at most 0.3 s, plus the room's ring and the device's buffer).
PLAYBACK_TAIL_S = 0.4
# Echo cancelled by at least this much: the filter has learnt the room. Its response is then
# worth keeping, and barge-in no longer needs extra care.
TRAINED_ERLE_DB = 12.0
# Without a delay found after this many frames (1 s) of playback there is no echo to learn.
_NO_ECHO_FRAMES = 32

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


@dataclass(frozen=True)
class EchoStats:
    """What the guard has learnt and done so far (for logs and the benchmark)."""

    delay_ms: float | None
    leak_db: float | None  # echo level relative to the reference (the echo path loss)
    erle_db: float | None  # echo removed by the filter (median over recent echo-only frames)
    frames: int
    echo_only_frames: int


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
        self.clock = clock
        self._audio_lock = threading.Lock()
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
        self.text = TranscriptEchoCheck(
            text_window_s=text_window_s, echo_tail_s=echo_tail_s, clock=clock
        )

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
        if len(recent) == 6 and float(np.median(recent)) > TRAINED_ERLE_DB:
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

    def converged(self) -> bool:
        """The canceller has learnt the room (it removes `TRAINED_ERLE_DB`), or playback went
        on for a second without any echo to find. Until then more of the assistant's own
        voice gets through, and a barge-in needs more speech to count."""
        stats = self.stats()
        if stats.delay_ms is None:
            return stats.frames >= _NO_ECHO_FRAMES
        return stats.erle_db is not None and stats.erle_db >= TRAINED_ERLE_DB

    # -- text -------------------------------------------------------------------------------
    def note_spoken(
        self, text: str, started_at: float | None = None, duration_s: float | None = None
    ) -> None:
        """The assistant starts saying `text` (at `started_at`, monotonic; now by default)."""
        self.text.note_spoken(text, started_at, duration_s)

    def note_playback_end(self, t: float | None = None) -> None:
        """The speaker went quiet at `t` (monotonic; now by default)."""
        self.text.note_playback_end(t)

    def is_echo(self, transcript: str, started_at: float | None = None) -> bool:
        """Whether `transcript` is the assistant's own recent speech heard back (see
        `TranscriptEchoCheck.is_echo`); the audio layer says until when the speaker was
        heard at the microphone."""
        return self.text.is_echo(transcript, started_at, heard_until=self._last_ref_active)
