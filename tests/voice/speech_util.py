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

# The clinic noise and the mixing live with the simulated caller (one home).
from petvisor_desktop.voice.caller_voice import (  # noqa: F401 - re-exported for the tests
    NOISES,
    babble_noise,
    bark,
    barking_noise,
    fan_noise,
    mix_at_snr,
)

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
