"""End of turn: Smart Turn v3.2 (pipecat-ai/smart-turn-v3, a Whisper-tiny encoder with a
classifier) run with onnxruntime, and the Whisper-style log-mel features it reads, computed
here with numpy (pipecat is not a dependency).

After a short silence the voice loop asks `probability(turn_audio)`: how likely it is that the
caller has finished, judged from the sound of the last 8 s of the turn (intonation, a trailing
"and", a number stopped in the middle), where a fixed silence wait can only judge the pause.

The features follow Whisper's feature extractor with Smart Turn's settings (the model card at
huggingface.co/pipecat-ai/smart-turn-v3 and pipecat's `LocalSmartTurnAnalyzerV3`): the last
8 s, left-padded with zeros when shorter; the waveform scaled to zero mean and unit variance;
a centred STFT (400-sample periodic Hann window, hop 160, reflect padding); power through an
80-band Slaney mel filterbank over 0-8000 Hz; log10, clamped 8 below the maximum, then
(x + 4) / 4; 800 frames. Written from that description; checked against pipecat's numpy port
of the transformers extractor while writing (largest difference 4e-7)."""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from petvisor_desktop.voice.base import SAMPLE_RATE_HZ, TurnError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "smart-turn-v3.2-cpu"
WINDOW_S = 8
WINDOW_SAMPLES = WINDOW_S * SAMPLE_RATE_HZ  # 128,000
N_FFT = 400  # 25 ms
HOP_SAMPLES = 160  # 10 ms
N_MELS = 80
N_FRAMES = WINDOW_SAMPLES // HOP_SAMPLES  # 800: the centred STFT gives 801; the last is dropped
INPUT_NAME = "input_features"
_POWER_FLOOR = 1e-10  # before log10, so digital silence stays finite
_DYNAMIC_RANGE = 8.0  # log10 units kept below the loudest band (80 dB)
_VARIANCE_EPS = 1e-7  # keeps an all-zero window finite when it is scaled to unit variance
_FIX = (
    "run `petvisor-desktop models pull {name}` "
    "(or `petvisor-desktop models install-dev` on a development machine)"
)


# -- Features ----------------------------------------------------------------------------------


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale (librosa's default, Whisper's): linear to 1 kHz (15 mels), then
    logarithmic with 27 mels per factor of 6.4."""
    f = np.asarray(hz, dtype=np.float64)
    linear = f * 3.0 / 200.0
    log_part = 15.0 + np.log(np.maximum(f, 1e-12) / 1000.0) * (27.0 / math.log(6.4))
    return np.where(f >= 1000.0, log_part, linear)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    m = np.asarray(mel, dtype=np.float64)
    linear = m * 200.0 / 3.0
    log_part = 1000.0 * np.exp((m - 15.0) * (math.log(6.4) / 27.0))
    return np.where(m >= 15.0, log_part, linear)


@functools.cache
def mel_filterbank(
    n_mels: int = N_MELS,
    n_fft: int = N_FFT,
    rate_hz: int = SAMPLE_RATE_HZ,
    f_min_hz: float = 0.0,
    f_max_hz: float = SAMPLE_RATE_HZ / 2,
) -> np.ndarray:
    """Triangular filters, shape (n_mels, n_fft // 2 + 1), evenly spaced in mels; each is
    scaled to the same area (Slaney's normalisation), so wide high bands are not louder."""
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min_hz), hz_to_mel(f_max_hz), n_mels + 2))
    bins_hz = np.arange(n_fft // 2 + 1) * (rate_hz / n_fft)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins_hz - lower) / (centre - lower)
    falling = (upper - bins_hz) / (upper - centre)
    filters = np.clip(np.minimum(rising, falling), 0.0, None) * (2.0 / (upper - lower))
    filters.setflags(write=False)
    return filters


@functools.cache
def _filter_spans() -> tuple[tuple[int, int, np.ndarray], ...]:
    """Each filter of `mel_filterbank()` as (first bin, end bin, weights as a column): a
    filter covers 1 to 14 of the 201 bins."""
    spans = []
    for row in mel_filterbank():
        nonzero = np.flatnonzero(row)
        first, end = int(nonzero[0]), int(nonzero[-1]) + 1
        spans.append((first, end, row[first:end, np.newaxis].copy()))
    return tuple(spans)


def _apply_filterbank(power: np.ndarray) -> np.ndarray:
    """`mel_filterbank() @ power` for power of shape (bins, frames), band by band. A plain
    matrix product goes through OpenBLAS, whose threads spin against the recogniser and the
    LLM on a busy 2-core PC: measured 8-28 ms there against about 1 ms this way."""
    out = np.empty((N_MELS, power.shape[1]), dtype=np.float64)
    for band, (first, end, weights) in enumerate(_filter_spans()):
        np.sum(power[first:end] * weights, axis=0, out=out[band])
    return out


@functools.cache
def _hann(n: int = N_FFT) -> np.ndarray:
    # Periodic (torch.hann_window's default, which Whisper was trained with), not symmetric.
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    window.setflags(write=False)
    return window


def turn_window(audio: np.ndarray) -> np.ndarray:
    """The last WINDOW_S seconds of `audio`, left-padded with zeros when shorter (the end of
    the turn stays at the end of the window, where the model looks for it)."""
    x = as_mono_float(audio)
    if x.size >= WINDOW_SAMPLES:
        return x[-WINDOW_SAMPLES:].copy()
    out = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    if x.size:
        out[-x.size :] = x
    return out


def log_mel_features(audio: np.ndarray) -> np.ndarray:
    """Smart Turn's input for the turn `audio` (16 kHz mono; see the module docstring):
    float32, shape (N_MELS, N_FRAMES), values in [max - 2, max]."""
    x = turn_window(audio).astype(np.float64)
    # Unit variance over the whole padded window, as the model was trained; it also makes the
    # features independent of the microphone's level.
    x = (x - x.mean()) / math.sqrt(float(x.var()) + _VARIANCE_EPS)
    half = N_FFT // 2
    padded = np.pad(x, (half, half), mode="reflect")
    frames = sliding_window_view(padded, N_FFT)[::HOP_SAMPLES][:N_FRAMES]
    spectrum = np.fft.rfft(frames * _hann(), axis=1)  # (frames, bins)
    # Bins as rows, contiguous: the band-by-band product reads a few whole rows at a time.
    power = np.ascontiguousarray((spectrum.real**2 + spectrum.imag**2).T)
    mel = _apply_filterbank(power)  # (mels, frames)
    logs = np.log10(np.maximum(mel, _POWER_FLOOR))
    logs = np.maximum(logs, logs.max() - _DYNAMIC_RANGE)
    return ((logs + 4.0) / 4.0).astype(np.float32)


def as_mono_float(audio: np.ndarray) -> np.ndarray:
    """`audio` as 1-D float32 in [-1, 1]; int16 is scaled."""
    a = np.asarray(audio)
    if a.ndim != 1:
        raise TurnError("audio-shape", f"turn audio must be 1-D mono samples, got {a.shape}")
    if a.dtype == np.int16:
        return a.astype(np.float32) / 32768.0
    return a.astype(np.float32, copy=False)


# -- The model ---------------------------------------------------------------------------------


class TurnEndDetector(Protocol):
    """What the voice loop needs from an end-of-turn model (SmartTurnDetector, or a scripted
    double in tests)."""

    def probability(self, audio: np.ndarray) -> float: ...


class SmartTurnDetector:
    """The probability that the caller has finished the turn, from the turn's audio. Holds
    no state between calls and onnxruntime sessions may be run from several threads, so one
    instance serves the live turn and a speculative one alike."""

    def __init__(self, session: Any, model_path: Path | None = None) -> None:
        self._session = session
        self.model_path = model_path
        inputs = session.get_inputs()
        shape = list(inputs[0].shape) if len(inputs) == 1 else []
        if len(inputs) != 1 or inputs[0].name != INPUT_NAME or shape[1:] != [N_MELS, N_FRAMES]:
            found = ", ".join(f"{i.name} {list(i.shape)}" for i in inputs)
            raise TurnError(
                "model-corrupt",
                f"{model_path or 'the end-of-turn model'} is not a Smart Turn v3 model "
                f"(inputs: {found}; expected {INPUT_NAME} [batch, {N_MELS}, {N_FRAMES}]); "
                + _FIX.format(name=DEFAULT_MODEL),
                recoverable=False,
            )

    @classmethod
    def load(cls, path: str | Path, threads: int = 1) -> SmartTurnDetector:
        """Open the ONNX file on the CPU with `threads` intra-op threads. One is the default:
        a call costs tens of milliseconds and runs once per pause, while the recogniser and
        the speculative reply want the other core (see benchmarks/bench_turn_end.py)."""
        import onnxruntime as ort

        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        path = Path(path)
        if not path.is_file():
            raise TurnError(
                "model-missing",
                f"the end-of-turn model {path} is missing; " + _FIX.format(name=DEFAULT_MODEL),
                recoverable=False,
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise TurnError(
                "model-corrupt",
                f"the end-of-turn model {path} cannot be loaded ({exc}); "
                + _FIX.format(name=DEFAULT_MODEL),
                recoverable=False,
            ) from exc
        log.info("end-of-turn model %s loaded (%d thread(s))", path.name, threads)
        return cls(session, path)

    def probability(self, audio: np.ndarray) -> float:
        """The probability (0-1) that the speaker has finished, from up to the last 8 s of
        `audio`: the turn so far, 16 kHz mono float32 in [-1, 1] (or int16), including the
        silence heard since the speech stopped (the model was trained with a short one)."""
        features = log_mel_features(audio)[np.newaxis]
        try:
            (out,) = self._session.run(None, {INPUT_NAME: features})
        except Exception as exc:  # onnxruntime errors have no common public base class
            raise TurnError("turn-failed", f"the end-of-turn model failed: {exc}") from exc
        # The exported graph ends in a sigmoid: its "logits" output is already a probability.
        p = float(np.asarray(out).reshape(-1)[0])
        if not 0.0 <= p <= 1.0:  # also catches NaN
            raise TurnError("turn-failed", f"the end-of-turn model returned {p}, not 0-1")
        return p


def load_turn_detector(settings: Any, threads: int = 1) -> SmartTurnDetector:
    """The end-of-turn model the settings name (`models.turn_model`), found on the model
    search path and loaded (about a second cold)."""
    from petvisor_desktop import modelstore

    try:
        installed = modelstore.find_role(
            "turn", settings.models.turn_model, settings.models.search_path()
        )
    except modelstore.ModelError as exc:
        raise TurnError("model-missing", str(exc), recoverable=False) from exc
    return SmartTurnDetector.load(installed.file(), threads=threads)
