"""The noise reducer: streaming keeps length and a fixed lag, and both modes raise the SNR of a
sentence in fan noise without harming clean speech."""

from __future__ import annotations

import numpy as np
import pytest
import speech_util as su

from petvisor_desktop.voice.base import FRAME_SAMPLES
from petvisor_desktop.voice.denoise import NoiseReducer

SENTENCE = "I'd like to book my cat in with Doctor Norman on Thursday"
needs_espeak = pytest.mark.skipif(not su.have_espeak(), reason="espeak-ng is not installed")


def stream_through(nr: NoiseReducer, audio: np.ndarray, frame: int = FRAME_SAMPLES) -> np.ndarray:
    """Frame by frame (the last one zero-padded), then the tail still in the delay line;
    returned aligned with the input and of its length."""
    n = -(-len(audio) // frame) * frame
    padded = np.zeros(n, dtype=np.float32)
    padded[: len(audio)] = audio
    out = []
    for i in range(0, n, frame):
        y = nr.process(padded[i : i + frame])
        assert len(y) == frame and y.dtype == np.float32
        out.append(y)
    lag = nr.latency_samples
    return np.concatenate([*out, nr.flush()])[lag : lag + len(audio)]


def fan_mix(snr_db: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clean turn, the same at snr_db in fan noise, 1 s of that noise before the turn)."""
    clean = su.pad(su.espeak(SENTENCE), 0.3, 0.5)
    noise = su.fan_noise(len(clean) / su.SR + 1.0, seed=11)
    before, during = noise[: su.SR], noise[su.SR : su.SR + len(clean)]
    gain = su.active_rms(clean) / (su.rms(during) * 10 ** (snr_db / 20))
    return clean, (clean + gain * during).astype(np.float32), (gain * before).astype(np.float32)


def learnt(noise: np.ndarray) -> NoiseReducer:
    nr = NoiseReducer()
    for frame in su.frames(noise):
        nr.observe_noise(frame)
    assert nr.has_noise_profile
    return nr


def test_passes_audio_through_with_a_fixed_lag_until_noise_is_known() -> None:
    nr = NoiseReducer()
    assert not nr.has_noise_profile
    assert nr.latency_samples == 384  # 24 ms: the overlap-add look-back, the only delay
    x = np.random.default_rng(0).standard_normal(FRAME_SAMPLES * 10).astype(np.float32) * 0.1
    first = nr.process(x[:FRAME_SAMPLES])
    lag = nr.latency_samples
    np.testing.assert_allclose(first[:lag], 0.0, atol=1e-7)
    np.testing.assert_allclose(first[lag:], x[: FRAME_SAMPLES - lag], atol=1e-6)
    nr.reset_stream()
    np.testing.assert_allclose(stream_through(nr, x), x, atol=1e-6)


def test_frame_sizes_must_be_whole_hops() -> None:
    nr = NoiseReducer()
    x = np.zeros(5120, dtype=np.float32)
    x[1000] = 1.0  # an impulse comes out latency_samples later for any whole-hop frame
    for frame in (128, 256, 512, 1024):
        nr.reset_stream()
        out = np.concatenate([nr.process(x[i : i + frame]) for i in range(0, len(x), frame)])
        assert int(np.argmax(np.abs(out))) == 1000 + nr.latency_samples
    with pytest.raises(ValueError):
        nr.process(np.zeros(300, dtype=np.float32))


@needs_espeak
def test_streaming_raises_snr_in_fan_noise() -> None:
    clean, mixed, before = fan_mix(5.0)
    nr = learnt(before)
    out = stream_through(nr, mixed)
    assert len(out) == len(clean)
    snr_in, snr_out = su.snr_db(clean, mixed), su.snr_db(clean, out)
    # Measured: about +10 dB (3 dB in, 13 dB out).
    assert snr_out >= snr_in + 5.0, (snr_in, snr_out)


@needs_espeak
def test_utterance_mode_raises_snr_in_fan_noise() -> None:
    clean, mixed, before = fan_mix(5.0)
    out = learnt(before).clean(mixed)
    assert len(out) == len(mixed)
    assert su.snr_db(clean, out) >= su.snr_db(clean, mixed) + 5.0
    # Without a learnt profile the quietest part of the turn stands in for the noise.
    alone = NoiseReducer().clean(mixed)
    assert su.snr_db(clean, alone) >= su.snr_db(clean, mixed) + 3.0


@needs_espeak
def test_clean_speech_is_left_nearly_intact() -> None:
    clean = su.pad(su.espeak(SENTENCE), 0.3, 0.5)
    room = 1e-3 * su.fan_noise(2.0, seed=3)  # a quiet room: 60 dB under the speech
    nr = learnt(room)
    assert su.snr_db(clean, stream_through(nr, clean)) >= 20.0
    assert su.snr_db(clean, nr.clean(clean)) >= 20.0


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        NoiseReducer(prop_decrease=1.5)
    with pytest.raises(ValueError):
        NoiseReducer(n_fft=512, hop=300)
