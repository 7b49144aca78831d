"""The echo guard: the adaptive filter, delay search and reference stitching on synthetic
signals (pure logic), the text layer, and the whole guard on real speech: the assistant's
Piper voice (or espeak-ng's) leaking back into the microphone through a simulated kiosk,
with a caller (espeak-ng, another voice) talking over it."""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from petvisor_desktop.modelstore import InstalledModel
from petvisor_desktop.voice.base import FRAME_SAMPLES
from petvisor_desktop.voice.echo import (
    EchoCanceller,
    EchoGuard,
    estimate_delay,
    matched_words,
    words_of,
)

FS = 16_000
N = FRAME_SAMPLES
T0 = 1000.0  # an arbitrary monotonic clock origin
FindModel = Callable[..., InstalledModel]

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no espeak-ng")


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# --------------------------------------------------------------------------------------------
# Words (pure logic)
# --------------------------------------------------------------------------------------------


def _w(text: str) -> list[str]:
    return text.split()


def test_words_of_spells_numbers_times_and_titles() -> None:
    assert words_of("Dr Amy Roberts on Thursday the 26th at 9:30am.") == _w(
        "doctor amy roberts on thursday the twenty sixth at nine thirty am"
    )
    assert words_of("nine thirty a.m.") == _w("nine thirty am")
    assert words_of("0 7 7 0 0, 9 0 0") == _w("zero seven seven zero zero nine zero zero")
    assert words_of("07700 900456") == _w("zero seven seven zero zero nine zero zero four five six")
    assert words_of("oh seven seven") == _w("zero seven seven")
    assert words_of("That's the 1st, 2nd, 3rd and 12th") == _w(
        "thats the first second third and twelfth"
    )


def test_four_digit_numbers_are_the_words_the_voice_says() -> None:
    """Piper (espeak-ng) says 2000 "two thousand" and 2026 "two thousand twenty six"; what
    the assistant wrote must give those words, or its echo heard back never matches. (2000
    used to give one word, "two zero zero zero".)"""
    assert words_of("in 2000") == _w("in two thousand")
    assert words_of("in 2026") == _w("in two thousand twenty six")
    assert words_of("1200 and 2010") == _w("one thousand two hundred and two thousand ten")
    clock = Clock()
    guard = EchoGuard(clock=clock)
    guard.note_spoken("That is Monday the 3rd of January 2000.")
    clock.t += 2.0
    assert guard.is_echo("January two thousand")
    assert guard.is_echo("the third of January 2000")


def test_matched_words_wants_one_compact_stretch() -> None:
    said = words_of(
        "On Thursday the 26th of November I have 9am or 2pm. "
        "What day would suit you, and do you prefer morning or afternoon?"
    )
    assert matched_words(words_of("what day would suit you"), said) == 5
    # Recogniser errors: a changed word, a dropped one, an extra one.
    assert matched_words(words_of("what they would suit you and you prefer morning"), said) == 8
    # Words scattered over the assistant's speech do not add up.
    assert matched_words(words_of("Thursday afternoon please"), said) == 1
    assert matched_words(words_of("okay for"), words_of("James Okafor")) == 0
    assert matched_words(words_of("James Okafa"), words_of("Your name is James Okafor")) == 2


# --------------------------------------------------------------------------------------------
# The text layer
# --------------------------------------------------------------------------------------------

GREETING = [
    "Hello, welcome to Petvisor Demo Clinic.",
    "I can book an appointment for your cat or dog.",
    "How can I help?",
]
OFFER = [
    "Would you like to see Dr Amy Roberts or Dr Michael Norman, or whoever is free first?",
    "On Thursday the 26th of November I have 9am, 10:30am or 2pm.",
    "What day would suit you, and do you prefer morning or afternoon?",
]


def _speak(guard: EchoGuard, clock: Clock, sentences: list[str]) -> None:
    """The assistant says the sentences one after another (about 2.5 spoken words a
    second: "9:30am" is three)."""
    for sentence in sentences:
        guard.note_spoken(sentence)
        clock.t += len(words_of(sentence)) / 2.5


@pytest.fixture
def talked() -> tuple[EchoGuard, Clock]:
    """The guard after the greeting and the question about the vet and the day."""
    clock = Clock()
    guard = EchoGuard(clock=clock)
    _speak(guard, clock, GREETING)
    clock.t += 10.0  # the caller answers; the greeting is over 10 s old by the next reply
    _speak(guard, clock, [OFFER[0], OFFER[2]])
    return guard, clock


@pytest.mark.parametrize(
    ("said", "heard"),
    [
        (GREETING, "I can book an appointment for your cat or dog"),
        (GREETING, "I can look an appointment for you cat or dog"),  # two recogniser errors
        (GREETING, "welcome to pet visor demo clinic"),  # a name split in two
        (GREETING, "how can I help"),
        (OFFER[:1], "would you like to see doctor amy roberts or doctor michael"),
        (OFFER[1:2], "on thursday the twenty sixth of november I have nine am ten thirty"),
        (OFFER[2:], "what they would suit you and do you prefer morning or"),
    ],
)
def test_the_assistants_own_words_are_echo(said: list[str], heard: str) -> None:
    clock = Clock()
    guard = EchoGuard(clock=clock)
    _speak(guard, clock, said)
    assert guard.is_echo(heard)


@pytest.mark.parametrize(
    "heard",
    [
        "yes",
        "Mittens",
        "yes that's right",
        "Thursday afternoon please",  # both words were said, far apart
        "a dog",
        "Dr Michael Norman please",
        "my name is James Okafor",
        "I'd like to book my cat in for a vaccination",
        "",
    ],
)
def test_the_callers_answers_are_not_echo(talked: tuple[EchoGuard, Clock], heard: str) -> None:
    guard, _ = talked
    assert not guard.is_echo(heard)


def test_words_the_assistant_said_apart_do_not_make_an_echo() -> None:
    clock = Clock()
    guard = EchoGuard(clock=clock)
    _speak(guard, clock, OFFER[1:])  # "... on Thursday ..." then "... morning or afternoon?"
    assert not guard.is_echo("Thursday afternoon please")
    assert not guard.is_echo("Thursday afternoon please", started_at=clock.t - 1.0)
    assert not guard.is_echo("yes Thursday")
    assert guard.is_echo("morning or afternoon", started_at=clock.t - 1.0)


def test_speech_that_began_after_the_speaker_stopped_is_never_echo(
    talked: tuple[EchoGuard, Clock],
) -> None:
    guard, clock = talked
    # The caller repeats an offered option word for word...
    assert guard.is_echo("whoever is free first")  # ... which text alone cannot tell apart,
    # but they began speaking after the assistant had finished.
    assert not guard.is_echo("whoever is free first", started_at=clock.t + 1.0)
    # During playback the same words are the speaker heard back, and two words are enough.
    during = clock.t - 2.0
    assert guard.is_echo("whoever is free first", started_at=during)
    assert guard.is_echo("or afternoon", started_at=during)
    assert not guard.is_echo("or afternoon")  # two words without a time: kept
    assert not guard.is_echo("yes", started_at=during)


def test_old_speech_is_forgotten() -> None:
    clock = Clock()
    guard = EchoGuard(clock=clock)
    _speak(guard, clock, GREETING)
    assert guard.is_echo("I can book an appointment for your cat or dog")
    clock.t += 11.0
    assert not guard.is_echo("I can book an appointment for your cat or dog")


def test_read_back_digits_and_times_match_what_a_recogniser_writes() -> None:
    clock = Clock()
    guard = EchoGuard(clock=clock)
    _speak(
        guard,
        clock,
        [
            "Your name is James Okafor, phone 0 7 7 0 0, 9 0 0, 4 5 6.",
            "Your appointment is at 9:30am on Thursday the 26th.",
        ],
    )
    assert guard.is_echo("your name is James okafa phone 07700 900456")
    assert guard.is_echo("appointment is at 9.30 a.m. on Thursday the twenty sixth")
    # The caller correcting the number after the read-back: kept, when the time they began
    # is known (from the text alone it is the read-back heard again).
    correction = "no it's 07700 900457"
    assert guard.is_echo(correction)
    assert not guard.is_echo(correction, started_at=clock.t + 1.0)


# --------------------------------------------------------------------------------------------
# The filter, the delay and the reference (pure logic)
# --------------------------------------------------------------------------------------------


def _room(taps: int = 300, seed: int = 0) -> np.ndarray:
    """A short decaying room response with a direct path."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal(taps) * np.exp(-np.arange(taps) / 40.0) * 0.1
    h[5] += 0.5
    return h


def test_canceller_learns_a_room_from_noise() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(FS * 3) * 0.1
    d = np.convolve(x, _room())[: len(x)]
    canceller = EchoCanceller(taps=512, block=256, mu=0.4)
    taps = canceller.taps
    padded = np.concatenate((np.zeros(taps), x))
    residual = []
    for start in range(0, len(x) - N + 1, N):
        _y, e = canceller.run(padded[start : start + taps + N], d[start : start + N], True)
        residual.append(float(np.mean(e**2)) / float(np.mean(d[start : start + N] ** 2)))
    erle_db = -10 * np.log10(np.mean(residual[-20:]))
    assert erle_db > 40
    learnt = canceller.impulse_response()
    assert int(np.argmax(np.abs(learnt))) == 5


def test_canceller_shift_moves_the_response() -> None:
    canceller = EchoCanceller(taps=512, block=256)
    h = np.zeros(512)
    h[100] = 1.0
    canceller.set_impulse_response(h)
    canceller.shift(7)
    assert int(np.argmax(canceller.impulse_response())) == 107
    canceller.shift(-20)
    assert int(np.argmax(canceller.impulse_response())) == 87


@pytest.mark.parametrize("delay", [-200, 0, 37, 1600, 4700])
def test_delay_is_found_by_gcc_phat(delay: int) -> None:
    rng = np.random.default_rng(2)
    lo, hi = -512, 4800
    ref = rng.standard_normal(FS + hi - lo) * 0.1
    # mic[i] = ref[i + hi - delay]: the echo of what was played `delay` samples before.
    mic = 0.3 * ref[hi - delay : hi - delay + FS] + rng.standard_normal(FS) * 0.003
    found, clarity = estimate_delay(mic, ref, lo, hi)
    assert found == delay
    assert clarity > 5
    # Through a low-pass room: the peak moves by the filter's own delay (a sample or so).
    filtered = signal.lfilter(*signal.butter(2, 0.4), ref) * 0.3
    mic = filtered[hi - delay : hi - delay + FS] + rng.standard_normal(FS) * 0.003
    found, clarity = estimate_delay(mic, ref, lo, hi)
    assert delay <= found <= delay + 2
    assert clarity > 5


@dataclass
class PlayedSink:
    """The playback side of a kiosk, as the echo guard sees it: a device that plays `ref`
    (16 kHz, first sample heard at `t0`) in blocks of 20 ms, and tells what it played with
    time stamps that jitter by up to 2 ms, as a real device's do."""

    ref: np.ndarray
    t0: float
    clock: Clock
    rng: np.random.Generator
    lag_s: float = 0.03
    block_s: float = 0.02
    jitter_s: float = 0.002

    def __post_init__(self) -> None:
        self._jitter = self.rng.uniform(-self.jitter_s, self.jitter_s, 100_000)

    def playback_since(self, t: float) -> tuple[float | None, np.ndarray]:
        k = int((self.clock() + self.lag_s - self.t0) / self.block_s)
        heard_until = self.t0 + k * self.block_s
        stamp = heard_until + self._jitter[k % len(self._jitter)]
        n = round((stamp - t) * FS)
        if n <= 0:
            return None, np.zeros(0, np.float32)
        hi = round((heard_until - self.t0) * FS)
        out = np.zeros(n, np.float32)
        a, b = max(hi - n, 0), min(hi, len(self.ref))
        if b > a:
            out[a - (hi - n) : b - (hi - n)] = self.ref[a:b]
        return stamp - n / FS, out


class RecentOnlySink(PlayedSink):
    """A sink that offers only `recent_playback` (the base contract)."""

    playback_since = None  # type: ignore[assignment]

    def recent_playback(self, seconds: float) -> np.ndarray:
        _first, samples = PlayedSink.playback_since(self, self.clock() - seconds)
        return samples


@pytest.mark.parametrize("sink_kind", [PlayedSink, RecentOnlySink])
def test_reference_is_stitched_sample_exact_from_jittery_pieces(
    sink_kind: type[PlayedSink],
) -> None:
    rng = np.random.default_rng(3)
    speechy = signal.lfilter([1.0], [1.0, -0.95], rng.standard_normal(FS * 4)) * 0.02
    speechy[FS : FS + 4000] = 0.0  # a pause between sentences
    ref = np.concatenate((np.zeros(FS // 2), speechy)).astype(np.float32)
    clock = Clock()
    guard = EchoGuard(clock=clock)
    sink = sink_kind(ref, T0, clock, rng)
    for k in range(len(ref) // N):
        clock.t = T0 + (k + 1) * N / FS + rng.uniform(0, 0.008)
        guard.process(np.zeros(N, np.float32), sink)
    end = guard._ref.end
    assert end is not None
    held = guard._ref.read(end - 3 * FS, 3 * FS)  # the last 3 s
    # Where in `ref` that stretch lies: it must be there as one exact copy.
    windows = np.lib.stride_tricks.sliding_window_view(ref, 4000)
    errors = np.sum((windows - held[-4000:]) ** 2, axis=1)
    found = int(np.argmin(errors)) + 4000
    assert np.array_equal(held, ref[found - 3 * FS : found])


def test_nothing_played_nothing_changed() -> None:
    guard = EchoGuard()
    frame = np.random.default_rng(4).standard_normal(N).astype(np.float32) * 0.1
    assert np.array_equal(guard.process(frame), frame)
    assert not guard.echo_only(frame)
    assert not guard.is_echo("hello there everyone")


# --------------------------------------------------------------------------------------------
# The whole guard on real speech
# --------------------------------------------------------------------------------------------


def _wav(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
    g = np.gcd(FS, rate)
    return signal.resample_poly(x, FS // g, rate // g).astype(np.float32)


@functools.lru_cache(maxsize=32)
def espeak(text: str, voice: str) -> np.ndarray:
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-z", "--stdout", text], capture_output=True, check=True
    ).stdout
    return _wav(out)


@functools.lru_cache(maxsize=1)
def _piper(path: Path) -> object:
    from petvisor_desktop.voice.tts import PiperSynthesizer

    return PiperSynthesizer.load(path)


def piper(text: str, path: Path) -> np.ndarray:
    synth = _piper(path)
    chunks = list(synth.synthesize_text(text))  # type: ignore[attr-defined]
    audio = np.concatenate([c.samples for c in chunks]).astype(np.float32) / 32768
    return signal.resample_poly(audio, 320, 441).astype(np.float32)  # 22050 -> 16000 Hz


def echo_path(played: np.ndarray, delay_s: float, gain: float = 0.3) -> np.ndarray:
    """The speaker heard at the microphone: low-passed (a small speaker, the room), three
    early reflections, delayed and scaled."""
    b, a = signal.butter(2, 3500 / (FS / 2))
    y = signal.lfilter(b, a, played)
    h = np.zeros(int(0.03 * FS))
    h[[0, 112, 208, 352]] = [1.0, 0.35, -0.2, 0.12]
    y = np.convolve(y, h)[: len(played)]
    d = int(delay_s * FS)
    return (gain * np.concatenate((np.zeros(d), y[: len(played) - d]))).astype(np.float32)


def frame_energy(x: np.ndarray) -> np.ndarray:
    k = len(x) // N
    return np.mean(x[: k * N].reshape(k, N).astype(np.float64) ** 2, axis=1)


@dataclass
class Run:
    out: np.ndarray
    echo_only: np.ndarray  # per frame
    playing: np.ndarray  # per frame: the loop called the guard
    echo_e: np.ndarray
    caller_e: np.ndarray
    reply2: int  # first frame of the second reply
    guard: EchoGuard

    def erle_db(self, frames: np.ndarray) -> float:
        out_e = frame_energy(self.out)
        return float(10 * np.log10(self.echo_e[frames].sum() / out_e[frames].sum()))


def kiosk(
    greeting: np.ndarray,
    reply: np.ndarray,
    caller: np.ndarray | None,
    *,
    delay_s: float,
    caller_at_s: float = 2.5,
    seed: int = 0,
    push: bool = False,
    reply_path: tuple[float, float] | None = None,
) -> Run:
    """A greeting, a 1.5 s pause, a reply (the caller talking over it from `caller_at_s`),
    through the echo path plus -60 dBFS noise. The guard is driven as the voice loop drives
    it: `process(frame, sink)` then `echo_only(frame)` for each frame while the speaker plays
    (up to 0.3 s after), at call times 0-8 ms after each frame was captured. With `push`, the
    reference is pushed with `note_played` and the frames carry their capture times.
    `reply_path`: (delay, gain) of the echo during the reply, when the kiosk was moved."""
    rng = np.random.default_rng(seed)
    lead = np.zeros(FS // 2, np.float32)
    gap = np.zeros(int(1.5 * FS), np.float32)
    played = np.concatenate((lead, greeting, gap, reply, np.zeros(FS // 2, np.float32)))
    echo = echo_path(played, delay_s)
    reply_at = len(lead) + len(greeting) + len(gap)
    if reply_path is not None:  # the kiosk was moved between the replies
        moved = echo_path(played, reply_path[0], reply_path[1])
        echo[reply_at:] = moved[reply_at:]
    noise = (rng.standard_normal(len(played)) * 1e-3).astype(np.float32)
    talk = np.zeros_like(played)
    if caller is not None:
        at = reply_at + int(caller_at_s * FS)
        talk[at : at + len(caller)] = caller[: len(talk) - at]
    mic = echo + talk + noise
    active = frame_energy(played) > 1e-7
    playing = np.convolve(active.astype(int), np.ones(10, int))[: len(active)] > 0

    clock = Clock()
    guard = EchoGuard(clock=clock, suppress_db=0.0)
    sink = PlayedSink(played, T0, clock, rng)
    out = mic.copy()
    flags = np.zeros(len(active), bool)
    for k in range(len(active)):
        clock.t = T0 + (k + 1) * N / FS + rng.uniform(0, 0.008)
        frame = mic[k * N : (k + 1) * N]
        if push:
            guard.note_played(played[k * N : (k + 1) * N], T0 + k * N / FS)
        if not playing[k]:
            continue
        if push:
            out[k * N : (k + 1) * N] = guard.process(frame, t=T0 + k * N / FS)
        else:
            out[k * N : (k + 1) * N] = guard.process(frame, sink)
        flags[k] = guard.echo_only(frame)
    return Run(
        out=out,
        echo_only=flags,
        playing=playing,
        echo_e=frame_energy(echo),
        caller_e=frame_energy(talk),
        reply2=reply_at // N,
        guard=guard,
    )


GREETING_TEXT = " ".join(GREETING)
READ_BACK_TEXT = (
    "Let me check I have everything right. A vaccination for Mittens, your cat, with "
    "Dr Amy Roberts on Thursday the 26th of November at 9:30am. Shall I book that?"
)
CALLER_TEXT = "Yes that's right, Thursday afternoon please"


@pytest.fixture(scope="module")
def piper_speech(require_model: FindModel) -> tuple[np.ndarray, np.ndarray]:
    path = require_model("tts", "en_US-joe-medium").path / "en_US-joe-medium.onnx"
    return piper(GREETING_TEXT, path), piper(READ_BACK_TEXT, path)


def _echo_frames(run: Run, *, reply2_only: bool = True) -> np.ndarray:
    """Frames where the echo is well above the noise and the caller is silent."""
    frames = run.playing & (run.echo_e > 1e-5) & (run.caller_e < 1e-9)
    if reply2_only:
        frames[: run.reply2] = False
    return frames


def _caller_frames(run: Run) -> np.ndarray:
    """Frames of the caller's speech (above -40 dBFS) not buried under the echo (the caller
    at most 6 dB below it), while the speaker plays."""
    return run.playing & (run.caller_e > 1e-4) & (run.caller_e > 0.25 * run.echo_e)


@pytest.mark.models
@pytest.mark.parametrize("delay_s", [0.04, 0.08, 0.12])
def test_echo_alone_is_flagged_and_cancelled(
    piper_speech: tuple[np.ndarray, np.ndarray], delay_s: float
) -> None:
    greeting, reply = piper_speech
    run = kiosk(greeting, reply, None, delay_s=delay_s, seed=int(delay_s * 100))
    frames = _echo_frames(run)
    assert frames.sum() > 150
    # After the greeting taught it the room, the reply is recognised as our own voice...
    assert run.echo_only[frames].mean() >= 0.95
    # ... and cancelled: measured 26-28 dB here (0 dB would be no cancellation at all).
    assert run.erle_db(frames) >= 18.0
    stats = run.guard.stats()
    # The delay found: the acoustic delay plus when the loop handles the first frame (0-8 ms).
    assert stats.delay_ms is not None
    assert delay_s * 1000 - 4 <= stats.delay_ms <= delay_s * 1000 + 12


@pytest.mark.models
def test_caller_over_the_echo_is_not_flagged(piper_speech: tuple[np.ndarray, np.ndarray]) -> None:
    greeting, reply = piper_speech
    caller = espeak(CALLER_TEXT, "en-us+f3") * 0.5
    run = kiosk(greeting, reply, caller, delay_s=0.07, seed=7)
    caller_frames = _caller_frames(run)
    assert caller_frames.sum() >= 20
    assert 1.0 - run.echo_only[caller_frames].mean() >= 0.90
    # The caller's voice passes through the canceller unharmed: what comes out of the
    # caller's frames is about the caller's level, not cut away with the echo.
    out_e = frame_energy(run.out)
    kept_db = 10 * np.log10(out_e[caller_frames].sum() / run.caller_e[caller_frames].sum())
    assert -3.0 < kept_db < 3.0
    # Double talk did not make the filter learn the caller: the echo after them is still
    # cancelled and recognised.
    after = _echo_frames(run)
    after[: int(np.nonzero(run.caller_e > 1e-9)[0].max()) + 1] = False
    assert after.sum() > 20
    assert run.erle_db(after) >= 15.0
    assert run.echo_only[after].mean() >= 0.9


@pytest.mark.models
def test_quiet_caller_over_loud_echo(piper_speech: tuple[np.ndarray, np.ndarray]) -> None:
    """The caller 4-6 dB below the echo (standing back from the kiosk)."""
    greeting, reply = piper_speech
    caller = espeak(CALLER_TEXT, "en-us+f3") * 0.15
    run = kiosk(greeting, reply, caller, delay_s=0.1, seed=11)
    caller_frames = _caller_frames(run)
    assert 1.0 - run.echo_only[caller_frames].mean() >= 0.90


@pytest.mark.models
def test_reference_pushed_with_time_stamps(piper_speech: tuple[np.ndarray, np.ndarray]) -> None:
    greeting, reply = piper_speech
    run = kiosk(greeting, reply, None, delay_s=0.06, push=True)
    frames = _echo_frames(run)
    assert run.echo_only[frames].mean() >= 0.95
    assert run.erle_db(frames) >= 18.0


@pytest.mark.models
def test_a_moved_kiosk_is_learnt_again(piper_speech: tuple[np.ndarray, np.ndarray]) -> None:
    """Between the replies the echo gets 30 ms later and 6 dB louder."""
    greeting, reply = piper_speech
    run = kiosk(greeting, reply, None, delay_s=0.05, reply_path=(0.08, 0.6), seed=3)
    frames = _echo_frames(run)
    late = frames.copy()
    late[: run.reply2 + int(3.0 * FS / N)] = False  # after the first 3 s of the reply
    assert run.echo_only[late].mean() >= 0.9
    assert run.erle_db(late) >= 15.0
    stats = run.guard.stats()
    assert stats.delay_ms is not None and 78 <= stats.delay_ms <= 92


@needs_espeak
def test_espeak_assistant_voice() -> None:
    """The same kiosk without the Piper model: the assistant in espeak-ng's default voice."""
    greeting = espeak(GREETING_TEXT, "en-us")
    reply = espeak(READ_BACK_TEXT, "en-us")
    caller = espeak(CALLER_TEXT, "en-us+f3") * 0.5
    run = kiosk(greeting, reply, caller, delay_s=0.09, seed=5)
    echo = _echo_frames(run)
    assert run.echo_only[echo].mean() >= 0.95
    assert run.erle_db(echo) >= 15.0
    caller_frames = _caller_frames(run)
    assert 1.0 - run.echo_only[caller_frames].mean() >= 0.90


def test_a_prompt_answer_that_repeats_an_offered_option_is_kept(
    talked: tuple[EchoGuard, Clock],
) -> None:
    """People answer 200-300 ms after the question ends, often in its own words."""
    guard, clock = talked
    guard.note_playback_end(clock.t)
    assert not guard.is_echo("whoever is free first", started_at=clock.t + 0.15)
    # The same words heard while the speaker still played are its echo.
    assert guard.is_echo("whoever is free first", started_at=clock.t - 0.5)


def test_the_speakers_own_end_replaces_the_estimate_from_the_words() -> None:
    """A reply estimated (from its words) to last longer than it played: the caller who
    answers right after the real end is not taken for the assistant."""
    clock = Clock()
    guard = EchoGuard(clock=clock)
    guard.note_spoken(
        "Would you like to see Dr Amy Roberts or Dr Michael Norman, or whoever is free first?"
    )
    clock.t += 3.0  # it played in 3 s; 17 words at 2.5 a second were estimated as 6.8 s
    guard.note_playback_end(clock.t)
    assert not guard.is_echo("Doctor Michael Norman please", started_at=clock.t + 0.2)
