"""How the simulated caller sounds: its two voices (espeak-ng, robotic and hard for the
recogniser; Piper shifted up in pitch, natural but clearly not the assistant), the clinic
noise around it (a fan, a barking dog, waiting-room chatter) mixed in at a chosen SNR, and the
pause it leaves before answering. Every sound is made here from a seed, so a simulator run,
a test and the benchmark hear the same audio each time (Piper's own sampling noise aside).

Audio is mono float32 in [-1, 1]. The voices return their own rate (espeak-ng and Piper
both make 22.05 kHz); the noise is made at the rate asked for.
"""

from __future__ import annotations

import functools
import io
import random
import re
import shutil
import subprocess
import wave
from typing import TYPE_CHECKING, Any

import numpy as np

from petvisor_desktop.spoken import digit_words
from petvisor_desktop.voice.base import AudioError

if TYPE_CHECKING:
    from petvisor_desktop.settings import Settings
    from petvisor_desktop.voice.tts import PiperSynthesizer

CALLER_VOICE = "en-us+m7"  # espeak-ng; the assistant is Piper's joe. Whisper tiny.en
# understood this variant best of those tried (WER 0.41 on scenario lines, against 0.93 for
# en-us+f3 and 0.51 for en-gb-x-rp), though every espeak voice is hard for it.
CALLER_WPM = 140

# The neural caller is the assistant's own Piper voice (the only neural voice here) moved
# 4.5 semitones up and slowed to 0.92 of its tempo (each line varies by +-4 % around that,
# from the seed, as a person's pace does). The shift puts joe's median F0 of ~93 Hz at
# ~120 Hz (measured: +4.25 semitones median over 15 lines, 2.9-4.8 per line): a different,
# lighter speaker, well beyond the wobble of one voice (about a semitone). sox's `pitch`
# moves the formants with it, which is what makes it another person rather than the same
# one higher; much more (+6 and up) starts to sound like a cartoon. The slower pace is a
# caller reading out details; it also keeps the two voices apart in rhythm.
# Whisper tiny.en with the vocabulary prompt on 15 scenario lines
# (tests/voice/test_caller_voice.py), mean WER over repeated runs (Piper's own sampling noise
# makes each run differ): neural caller 0.22 (0.17-0.29 over 10 runs; +3 to +6 semitones,
# tempo 0.92-1.06, all within that spread), plain Piper 0.19-0.20, espeak-ng en-us+m7 0.42.
# Part of every figure is the scorer, not the recogniser: "nine double oh" heard right and
# written "900" counts as three word errors.
NEURAL_PITCH_SEMITONES = 4.5
NEURAL_TEMPO = 0.92
NEURAL_TEMPO_JITTER = 0.04

VOICES = ("espeak", "neural")

# After the assistant stops, a caller starts within a normal conversational gap: turn-taking
# studies put most gaps between 100 and 500 ms; 150-400 ms keeps the caller neither
# unnaturally quick nor slow enough for the end-of-turn timer to matter.
REPLY_PAUSE_S = (0.15, 0.40)


# --------------------------------------------------------------------------------------------
# Voices
# --------------------------------------------------------------------------------------------


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as wav:
        rate = wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0, rate


def _espeak(args: list[str], text: str) -> tuple[np.ndarray, int]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise AudioError("espeak-missing", "espeak-ng is not installed (apt install espeak-ng)")
    result = subprocess.run(
        [exe, *args, "--stdout", text], capture_output=True, check=False, timeout=60
    )
    if result.returncode != 0 or not result.stdout:
        raise AudioError(
            "espeak-failed",
            f"espeak-ng could not speak {text!r}: {result.stderr.decode(errors='replace').strip()}",
        )
    return _read_wav(result.stdout)


def speak_with_espeak(
    text: str, voice: str = CALLER_VOICE, wpm: int = CALLER_WPM
) -> tuple[np.ndarray, int]:
    """Audio of `text` from espeak-ng, as float32 mono and its rate. A phone number written
    in digits is said digit by digit, as people say one (espeak alone says "900101" as
    "nine hundred thousand one hundred one")."""
    return _espeak(["-v", voice, "-s", str(wpm)], digits_as_said(text))


def digits_as_said(text: str) -> str:
    """`text` with each phone number written in digits ("07700 900101": eight digits or
    more, in groups or not) spelt out as its digits said one by one, a pause between the
    groups; other numbers ("2026", "at 2") are left to the voice."""

    def said(number: re.Match[str]) -> str:
        return ", ".join(digit_words(group) for group in number.group().split())

    return re.sub(r"(?<![\d])\d(?:\d| (?=\d)){6,}\d(?![\d])", said, text)


def _sox_shift(samples: np.ndarray, rate: int, semitones: float, tempo: float) -> np.ndarray:
    """`samples` moved `semitones` up in pitch and played at `tempo` (1.0: unchanged), by sox
    (`pitch` then `tempo -s`, its speech setting). `-G` lowers the gain only where the shift
    would clip."""
    exe = shutil.which("sox")
    if exe is None:
        raise AudioError("sox-missing", "sox is not installed (apt install sox)")
    raw = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-L"]
    result = subprocess.run(
        [exe, "-V1", "-G", *raw, "-r", str(rate), "-", *raw, "-",
         "pitch", f"{semitones * 100:.0f}", "tempo", "-s", f"{tempo:.4f}"],
        input=samples.astype("<f4").tobytes(),
        capture_output=True,
        check=False,
        timeout=60,
    )  # fmt: skip
    if result.returncode != 0 or not result.stdout:
        raise AudioError(
            "sox-failed",
            f"sox could not shift the caller's voice: "
            f"{result.stderr.decode(errors='replace').strip()}",
        )
    return np.frombuffer(result.stdout, dtype="<f4").astype(np.float32)


def speak_neural(
    text: str,
    synthesizer: PiperSynthesizer,
    *,
    seed: int,
    semitones: float = NEURAL_PITCH_SEMITONES,
    tempo: float = NEURAL_TEMPO,
) -> tuple[np.ndarray, int]:
    """Audio of `text` from the Piper voice, shifted `semitones` up and slowed to about
    `tempo` (the seed varies the tempo by +-4 % per line), as float32 mono and its rate."""
    chunks = [c.samples for c in synthesizer.synthesize_text(text)]
    if not chunks:
        return np.zeros(0, dtype=np.float32), synthesizer.sample_rate_hz
    speech = np.concatenate(chunks).astype(np.float32) / 32768.0
    rate = synthesizer.sample_rate_hz
    return _sox_shift(speech, rate, semitones, line_tempo(seed, tempo)), rate


def line_tempo(seed: int, tempo: float = NEURAL_TEMPO) -> float:
    """The neural caller's pace for one line: `tempo` +-4 %, the same for the same seed."""
    return tempo * (1.0 + random.Random(seed).uniform(-NEURAL_TEMPO_JITTER, NEURAL_TEMPO_JITTER))


class CallerVoice:
    """The simulated caller's voice, chosen by name: "espeak" (the default, robotic and hard
    for the recogniser) or "neural" (Piper shifted up; needs the loaded synthesizer).
    `speak(text)` returns (samples, rate); the neural voice's per-line variation follows
    `seed`, so a run is repeatable."""

    def __init__(
        self, name: str = "espeak", *, synthesizer: PiperSynthesizer | None = None, seed: int = 0
    ) -> None:
        if name not in VOICES:
            raise ValueError(f"unknown caller voice {name!r}; use {' or '.join(VOICES)}")
        if name == "neural" and synthesizer is None:
            raise ValueError("the neural caller voice needs the loaded Piper synthesizer")
        self.name = name
        self._synthesizer = synthesizer
        self._rng = random.Random(seed)

    @classmethod
    def load(
        cls,
        name: str,
        settings: Settings,
        *,
        synthesizer: PiperSynthesizer | None = None,
        seed: int = 0,
    ) -> CallerVoice:
        """The caller voice `name`; for "neural" the given synthesizer (the assistant's, to
        share the loaded model) or the configured Piper voice, loaded here (seconds)."""
        if name == "neural" and synthesizer is None:
            from petvisor_desktop.voice.tts import load_synthesizer

            synthesizer = load_synthesizer(settings)
        return cls(name, synthesizer=synthesizer, seed=seed)

    def speak(self, text: str) -> tuple[np.ndarray, int]:
        if self.name == "neural":
            assert self._synthesizer is not None
            return speak_neural(text, self._synthesizer, seed=self._rng.randrange(2**32))
        return speak_with_espeak(text)


def reply_pause_s(rng: random.Random) -> float:
    """How long the caller waits after the assistant stops before answering (seconds)."""
    return rng.uniform(*REPLY_PAUSE_S)


# --------------------------------------------------------------------------------------------
# Levels and mixing
# --------------------------------------------------------------------------------------------

_LEVEL_FRAME = 512  # 32 ms at 16 kHz


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def active_rms(x: np.ndarray, frame: int = _LEVEL_FRAME) -> float:
    """RMS over the frames that carry speech (those within 26 dB of the loudest), so pauses
    do not lower it: the usual reference for a speech-to-noise ratio."""
    if not len(x):
        return 0.0
    n = -(-len(x) // frame) * frame
    padded = np.zeros(n, dtype=np.float64)
    padded[: len(x)] = x
    energies = np.sqrt(np.mean(np.square(padded.reshape(-1, frame)), axis=1))
    if energies.max() == 0:
        return 0.0
    loud = energies[energies > energies.max() * 0.05]
    return float(np.sqrt(np.mean(loud**2)))


def snr_gain(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> float:
    """The factor for `noise` that puts it `snr_db` below the speech's active power."""
    level = rms(noise)
    if level == 0:
        return 0.0
    return active_rms(speech) / (level * 10 ** (snr_db / 20))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`speech` with `noise` added `snr_db` below the speech's active power (the noise is
    looped or cut to the speech's length). A mix that would clip is scaled down as a whole,
    which keeps the ratio."""
    if not len(speech):
        return speech.astype(np.float32)
    if len(noise) < len(speech):
        noise = np.tile(noise, -(-len(speech) // len(noise)))
    noise = noise[: len(speech)]
    mixed = speech.astype(np.float64) + snr_gain(speech, noise, snr_db) * noise
    peak = float(np.abs(mixed).max())
    if peak > 0.99:
        mixed *= 0.99 / peak
    return mixed.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Clinic noise (synthetic; nothing downloaded). At 16 kHz these are sample for sample the
# sounds benchmarks/bench_stt.py has always used, so its figures stay comparable.
# scipy comes with the voice extra (noisereduce needs it); only the noise needs it here.
# --------------------------------------------------------------------------------------------


def _resample(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    from scipy import signal

    if rate == to:
        return x.astype(np.float32)
    g = np.gcd(rate, to)
    return signal.resample_poly(x, to // g, rate // g).astype(np.float32)


def _trim(x: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x) > floor)
    return x[idx[0] : idx[-1] + 1] if idx.size else x[:0]


@functools.lru_cache(maxsize=128)
def _chatter_line(text: str, voice: str, wpm: int, pitch: int, rate: int) -> np.ndarray:
    samples, espeak_rate = _espeak(["-v", voice, "-s", str(wpm), "-p", str(pitch), "-z"], text)
    line = _trim(_resample(samples, espeak_rate, rate))
    line.setflags(write=False)
    return line


def fan_noise(seconds: float, rate: int = 16_000, seed: int = 1) -> np.ndarray:
    """A ventilation fan: brown-ish noise low-passed, with a 50 Hz mains hum and harmonics
    and a slow blade-rate wobble. Stationary."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    brown = np.cumsum(rng.standard_normal(n))
    brown = signal.lfilter([1, -1], [1, -0.995], brown)  # remove the drift, keep the tilt
    b, a = signal.butter(2, 1500 / (rate / 2))
    air = signal.lfilter(b, a, brown + 0.3 * rng.standard_normal(n))
    air /= rms(air) or 1.0
    hum = sum(0.25 / k * np.sin(2 * np.pi * 50 * k * t + k) for k in (1, 2, 3, 4))
    wobble = 1 + 0.1 * np.sin(2 * np.pi * 7.5 * t)
    return np.asarray(air * wobble + hum, dtype=np.float32)


def bark(rate: int = 16_000, seed: int = 0) -> np.ndarray:
    """One bark: a harmonic tone (pitch ~450-700 Hz, falling) with a noisy attack and a fast
    decay, 0.2-0.35 s."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    dur = rng.uniform(0.2, 0.35)
    n = round(dur * rate)
    t = np.arange(n) / rate
    f0 = rng.uniform(450, 700) * (1 - 0.35 * t / dur)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    tone = sum(rng.uniform(0.3, 1.0) / k * np.sin(k * phase) for k in range(1, 8))
    band = signal.butter(2, [400 / (rate / 2), 3000 / (rate / 2)], "band")
    rough = signal.lfilter(*band, rng.standard_normal(n))
    env = (1 - np.exp(-t / 0.01)) * np.exp(-t / (dur / 3))
    return np.asarray((tone + 0.8 * rough) * env, dtype=np.float32)


def barking_noise(seconds: float, rate: int = 16_000, seed: int = 2) -> np.ndarray:
    """A dog in the waiting room: barks in bursts of 1-4 with gaps, over a quiet room tone
    (~40 dB below the barks). Non-stationary."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    out = (0.01 * fan_noise(seconds, rate, seed + 100)[:n]).astype(np.float32)
    pos = int(rng.uniform(0, 0.3) * rate)
    k = 0
    while pos < n:
        for _ in range(int(rng.integers(1, 5))):
            b = bark(rate, seed * 1000 + k)
            k += 1
            end = min(n, pos + len(b))
            out[pos:end] += b[: end - pos]
            pos += len(b) + int(rng.uniform(0.05, 0.25) * rate)
            if pos >= n:
                break
        pos += int(rng.uniform(0.3, 1.2) * rate)
    return out


CHATTER_LINES = (
    "Is he due his booster this year or next",
    "She has been scratching her ears all week",
    "We parked round the back by the pharmacy",
    "Can I pay for the flea treatment at the desk",
    "The puppy would not stop chewing the lead",
    "My neighbour recommended this practice to us",
)
_CHATTER_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-us-nyc", "en-029", "en-gb-x-rp")


def babble_noise(seconds: float, rate: int = 16_000, seed: int = 3, talkers: int = 4) -> np.ndarray:
    """Waiting-room chatter: several espeak-ng voices saying other sentences, summed, half of
    them reversed, so it sounds like speech without words the recogniser could pick up."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    out = np.zeros(n, dtype=np.float32)
    for i in range(talkers):
        track = np.zeros(0, dtype=np.float32)
        while len(track) < n:
            line = CHATTER_LINES[int(rng.integers(len(CHATTER_LINES)))]
            voice = _CHATTER_VOICES[i % len(_CHATTER_VOICES)]
            x = _chatter_line(
                line, voice, int(rng.integers(140, 190)), int(rng.integers(20, 80)), rate
            )
            if i % 2:
                x = x[::-1]
            gap = np.zeros(round(rng.uniform(0.05, 0.3) * rate), dtype=np.float32)
            track = np.concatenate([track, x, gap])
        start = int(rng.integers(0, max(1, len(track) - n)))
        seg = track[start : start + n]
        out += seg / (rms(seg) or 1.0)
    return out


NOISES = {"fan": fan_noise, "barking": barking_noise, "babble": babble_noise}
# The share of each kind in `clinic_noise`, by power: chatter and a dog stand out over a
# steady fan, as at a reception desk.
CLINIC_MIX = {"fan": 0.25, "barking": 0.40, "babble": 0.35}


def clinic_noise_parts(seconds: float, rate: int, seed: int) -> dict[str, np.ndarray]:
    """The kinds of `clinic_noise`, each at its level in the mix (their sum is the mix)."""
    parts: dict[str, np.ndarray] = {}
    for k, (kind, share) in enumerate(CLINIC_MIX.items()):
        sound = NOISES[kind](seconds, rate, seed * 10 + k)
        parts[kind] = (sound * (np.sqrt(share) / (rms(sound) or 1.0))).astype(np.float32)
    return parts


def clinic_noise(seconds: float, rate: int, seed: int) -> np.ndarray:
    """A reception room: barking, chatter and a fan together (unit RMS, roughly), the same
    for the same seed."""
    total: Any = sum(clinic_noise_parts(seconds, rate, seed).values())
    return np.asarray(total, dtype=np.float32)
