"""What the voice loop is made of and how each piece is loaded: the VAD (with the end-of-turn
model), the recogniser, the voice, the microphone and the speaker (`load_part`, one at a
time so that start-up can report each), and the echo guard and noise reducer made from the
settings when a test does not give its own."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from petvisor_desktop.settings import Settings
from petvisor_desktop.voice.base import VoiceError

if TYPE_CHECKING:
    from petvisor_desktop.voice.base import AudioSink, AudioSource, Synthesizer, Transcriber
    from petvisor_desktop.voice.vad import FrameScorer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoiceParts:
    """What the loop is made of: the models and the audio ends (`load_part` loads each one;
    a test gives a WAV-file microphone and a recording speaker). The echo guard and the
    noise reducer are made from the settings when not given."""

    vad: FrameScorer
    stt: Transcriber
    tts: Synthesizer
    source: AudioSource
    sink: AudioSink
    echo: Any = None
    denoise: Any = None
    turn: Any = None  # the end-of-turn model; without it the fixed silence ends each turn


def load_part(name: str, settings: Settings, parts: dict[str, Any], injected: Any = None) -> str:
    """Load one voice component into `parts`; returns what the diagnostics screen shows."""
    from petvisor_desktop import modelstore

    if name == "vad":
        from petvisor_desktop.voice.vad import SileroVad

        installed = modelstore.find_role(
            "vad", settings.models.vad_model, settings.models.search_path()
        )
        parts["vad"] = SileroVad.load(installed.file())
        return f"{installed.spec.name}; end of turn: {_load_turn(settings, parts)}"
    if name == "stt":
        from petvisor_desktop.voice.stt import load_transcriber

        parts["stt"] = load_transcriber(settings)
        return f"{parts['stt'].name}: {parts['stt'].model_name}"
    if name == "tts":
        from petvisor_desktop.voice.tts import load_synthesizer

        parts["tts"] = load_synthesizer(settings)
        return parts["tts"].voice
    if name in ("microphone", "speaker"):
        from petvisor_desktop.voice import audio

        mic = name == "microphone"
        device = injected
        if device is None:
            device = (audio.open_source if mic else audio.open_sink)(settings.audio)
        device.start()
        parts["source" if mic else "sink"] = device
        configured = settings.audio.input_device if mic else settings.audio.output_device
        return str(getattr(device, "description", None) or configured or f"system default {name}")
    raise ValueError(f"unknown voice component {name!r}")


def _load_turn(settings: Settings, parts: dict[str, Any]) -> str:
    """The end-of-turn model into `parts["turn"]` (None: the fixed silence ends each turn,
    by choice or because the model cannot be loaded); returns what diagnostics show."""
    parts["turn"] = None
    if settings.audio.turn_taking != "model":
        return "fixed silence (audio.turn_taking)"
    from petvisor_desktop.voice.turn_end import load_turn_detector

    try:
        parts["turn"] = load_turn_detector(settings)
    except VoiceError as exc:
        log.warning("end-of-turn model not loaded, the fixed silence ends turns: %s", exc)
        return f"fixed silence ({exc.message})"
    return settings.models.turn_model


def new_echo_guard() -> Any:
    try:
        from petvisor_desktop.voice.echo import EchoGuard
    except ImportError:
        return None
    return _EchoAdapter(EchoGuard())


class _EchoAdapter:
    """The loop's view of the echo guard: clean a frame while the speaker plays."""

    def __init__(self, guard: Any) -> None:
        self.guard = guard

    def filter(self, frame: np.ndarray, sink: Any, playing: bool) -> tuple[np.ndarray, bool]:
        if not playing:
            return frame, False
        cleaned = self.guard.process(frame, sink)
        return cleaned, bool(self.guard.echo_only(frame))

    def note_spoken(self, text: str) -> None:
        self.guard.note_spoken(text)

    def converged(self) -> bool:
        return bool(self.guard.converged())

    def note_playback_end(self, t: float) -> None:
        self.guard.note_playback_end(t)

    def is_echo(self, text: str, started_at: float | None = None) -> bool:
        return bool(self.guard.is_echo(text, started_at))


def new_denoiser(settings: Settings) -> Any:
    if not settings.audio.noise_reduction:
        return None
    try:
        from petvisor_desktop.voice.denoise import NoiseReducer
    except ImportError:
        return None
    return NoiseReducer()
