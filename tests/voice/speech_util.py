"""Test audio made on the spot: espeak-ng (and optionally Piper) speech, and synthetic clinic
noise (fan, barking, chatter) mixed at a chosen SNR. Nothing is downloaded; every sound is
made here from a seed, so tests and the benchmark are repeatable.

All audio is mono float32 at 16 kHz, as inside the engine."""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from scipy import signal

SR = 16_000
FRAME = 512
ROOT = Path(__file__).resolve().parents[2]


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        rate = w.getframerate()
        raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0, rate


def resample(x: np.ndarray, rate: int, to: int = SR) -> np.ndarray:
    if rate == to:
        return x.astype(np.float32)
    g = np.gcd(rate, to)
    return signal.resample_poly(x, to // g, rate // g).astype(np.float32)


@functools.lru_cache(maxsize=256)
def _espeak_cached(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-z", "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    x, rate = _read_wav(out)
    x = resample(x, rate)
    x.setflags(write=False)
    return x


def espeak(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """Speech for `text`, trimmed of espeak's leading and trailing silence."""
    return trim(_espeak_cached(text, voice, speed, pitch).copy())


def piper_model() -> Path | None:
    path = ROOT / "models" / "en_US-joe-medium" / "en_US-joe-medium.onnx"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=1)
def _piper_voice() -> object:
    from piper import PiperVoice

    return PiperVoice.load(str(piper_model()))


def piper(text: str) -> np.ndarray:
    """Speech from the Piper voice the app itself speaks with (a second, more natural voice)."""
    voice = _piper_voice()
    chunks = [c.audio_float_array for c in voice.synthesize(text)]  # type: ignore[attr-defined]
    rate = voice.config.sample_rate  # type: ignore[attr-defined]
    return trim(resample(np.concatenate(chunks), rate))


def trim(x: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x) > floor)
    if idx.size == 0:
        return x[:0]
    return x[idx[0] : idx[-1] + 1]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SR), dtype=np.float32)


def pad(x: np.ndarray, before_s: float, after_s: float) -> np.ndarray:
    return np.concatenate([silence(before_s), x, silence(after_s)]).astype(np.float32)


def frames(x: np.ndarray) -> Iterator[np.ndarray]:
    """512-sample frames; the tail is zero-padded to a full frame."""
    n = -(-len(x) // FRAME) * FRAME
    y = np.zeros(n, dtype=np.float32)
    y[: len(x)] = x
    for i in range(0, n, FRAME):
        yield y[i : i + FRAME]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def active_rms(x: np.ndarray) -> float:
    """RMS over the frames that carry speech (ignores pauses), the usual SNR reference."""
    blocks = [b for b in frames(x)]
    energies = np.array([rms(b) for b in blocks])
    if not len(energies) or energies.max() == 0:
        return 0.0
    loud = energies[energies > energies.max() * 0.05]
    return float(np.sqrt(np.mean(loud**2)))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """speech + noise scaled so that active-speech power / noise power = snr_db. Noise is
    looped or cut to the speech length."""
    if len(noise) < len(speech):
        noise = np.tile(noise, -(-len(speech) // len(noise)))
    noise = noise[: len(speech)]
    gain = active_rms(speech) / (rms(noise) * 10 ** (snr_db / 20))
    mixed = speech + gain * noise
    peak = np.abs(mixed).max()
    if peak > 0.99:  # keep it a valid signal; both parts are scaled alike, the SNR stays
        mixed = mixed * (0.99 / peak)
    return mixed.astype(np.float32)


def snr_db(clean: np.ndarray, test: np.ndarray) -> float:
    """SNR of `test` against the clean reference, after the best gain match."""
    n = min(len(clean), len(test))
    c, t = clean[:n].astype(np.float64), test[:n].astype(np.float64)
    g = float(np.dot(c, t) / max(np.dot(c, c), 1e-12))
    err = t - g * c
    return float(10 * np.log10(np.sum((g * c) ** 2) / max(np.sum(err**2), 1e-12)))


# -- Synthetic clinic noise ------------------------------------------------------------------


def white_noise(seconds: float, seed: int = 0, level: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(round(seconds * SR)) * level).astype(np.float32)


def fan_noise(seconds: float, seed: int = 1) -> np.ndarray:
    """A ventilation fan: brown-ish noise low-passed, with a 50 Hz mains hum and harmonics
    and a slow blade-rate wobble. Stationary, the easy case for spectral gating."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    t = np.arange(n) / SR
    brown = np.cumsum(rng.standard_normal(n))
    brown = signal.lfilter([1, -1], [1, -0.995], brown)  # remove the drift, keep the tilt
    b, a = signal.butter(2, 1500 / (SR / 2))
    air = signal.lfilter(b, a, brown + 0.3 * rng.standard_normal(n))
    air /= rms(air) or 1.0
    hum = sum(0.25 / k * np.sin(2 * np.pi * 50 * k * t + k) for k in (1, 2, 3, 4))
    wobble = 1 + 0.1 * np.sin(2 * np.pi * 7.5 * t)
    return (air * wobble + hum).astype(np.float32)


def bark(seed: int = 0) -> np.ndarray:
    """One synthetic bark: a harmonic tone (pitch ~450-700 Hz falling) with a noisy attack
    and a fast decay, about 0.2-0.35 s."""
    rng = np.random.default_rng(seed)
    dur = rng.uniform(0.2, 0.35)
    n = round(dur * SR)
    t = np.arange(n) / SR
    f0 = rng.uniform(450, 700) * (1 - 0.35 * t / dur)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    tone = sum(rng.uniform(0.3, 1.0) / k * np.sin(k * phase) for k in range(1, 8))
    rough = signal.lfilter(
        *signal.butter(2, [400 / (SR / 2), 3000 / (SR / 2)], "band"), rng.standard_normal(n)
    )
    env = (1 - np.exp(-t / 0.01)) * np.exp(-t / (dur / 3))
    return ((tone + 0.8 * rough) * env).astype(np.float32)


def barking_noise(seconds: float, seed: int = 2) -> np.ndarray:
    """A dog in the waiting room: barks in bursts of 1-4, with gaps, over a quiet room tone
    (~40 dB below the barks). Non-stationary."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    out = (0.01 * fan_noise(seconds, seed + 100)[:n]).astype(np.float32)
    pos = int(rng.uniform(0, 0.3) * SR)
    k = 0
    while pos < n:
        for _ in range(int(rng.integers(1, 5))):
            b = bark(seed * 1000 + k)
            k += 1
            end = min(n, pos + len(b))
            out[pos:end] += b[: end - pos]
            pos += len(b) + int(rng.uniform(0.05, 0.25) * SR)
            if pos >= n:
                break
        pos += int(rng.uniform(0.3, 1.2) * SR)
    return out


BABBLE_LINES = (
    "Is he due his booster this year or next",
    "She has been scratching her ears all week",
    "We parked round the back by the pharmacy",
    "Can I pay for the flea treatment at the desk",
    "The puppy would not stop chewing the lead",
    "My neighbour recommended this practice to us",
)


def babble_noise(seconds: float, seed: int = 3, talkers: int = 4) -> np.ndarray:
    """Waiting-room chatter: several espeak voices of other sentences summed, some reversed
    so the babble is speech-like but not intelligible words the recogniser could pick up."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    out = np.zeros(n, dtype=np.float32)
    voices = ("en-us", "en-gb", "en-gb-scotland", "en-us-nyc", "en-029", "en-gb-x-rp")
    for i in range(talkers):
        track = np.zeros(0, dtype=np.float32)
        while len(track) < n:
            line = BABBLE_LINES[int(rng.integers(len(BABBLE_LINES)))]
            x = espeak(
                line,
                voices[i % len(voices)],
                int(rng.integers(140, 190)),
                int(rng.integers(20, 80)),
            )
            if i % 2:
                x = x[::-1]
            track = np.concatenate([track, x, silence(rng.uniform(0.05, 0.3))])
        start = int(rng.integers(0, max(1, len(track) - n)))
        seg = track[start : start + n]
        out += seg / (rms(seg) or 1.0)
    return out


def click(seconds: float = 0.1, seed: int = 4) -> np.ndarray:
    """A cough- or knock-like burst: band-passed noise with a sharp attack and decay."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    t = np.arange(n) / SR
    b, a = signal.butter(2, [300 / (SR / 2), 4000 / (SR / 2)], "band")
    x = signal.lfilter(b, a, rng.standard_normal(n))
    env = (1 - np.exp(-t / 0.003)) * np.exp(-t / (seconds / 3))
    x = x * env
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


NOISES = {"fan": fan_noise, "barking": barking_noise, "babble": babble_noise}
