"""The sound devices PortAudio knows: listing them, choosing the one a setting names, and
turning PortAudio's errors into ones a person can act on. sounddevice is imported on first
use, so the engine loads on machines without PortAudio."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from petvisor_desktop.voice.base import AudioError

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]

_FIX = {
    "input": "Plug in a microphone or choose another in Settings > Audio.",
    "output": "Connect a speaker or choose another in Settings > Audio.",
}
_WHAT = {"input": "microphone", "output": "speaker"}

# PortAudio error codes (portaudio.h) and the ALSA errno values behind "unanticipated host
# error" that tell a missing device from a busy one.
_PA_INVALID_DEVICE = -9996
_PA_DEVICE_UNAVAILABLE = -9985
_ERRNO_BUSY = (-16,)  # EBUSY
_ERRNO_GONE = (-2, -6, -19)  # ENOENT, ENXIO, ENODEV


def _sd() -> ModuleType:
    """sounddevice, imported on first use so the engine loads on machines without PortAudio."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        raise AudioError(
            "no-audio-backend",
            f"The sound system could not be loaded ({exc}). Install PortAudio "
            "(libportaudio2) and the 'voice' extra.",
            recoverable=False,
        ) from exc
    return sounddevice


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device as the Settings window lists it."""

    index: int
    name: str
    hostapi: str
    inputs: int
    outputs: int
    default_rate_hz: int
    is_default_input: bool
    is_default_output: bool

    def channels(self, kind: Kind) -> int:
        return self.inputs if kind == "input" else self.outputs

    def __str__(self) -> str:
        return f"{self.index}: {self.name}"


_registry_lock = threading.Lock()
_open_streams = 0  # streams opened by this module and not yet closed


def _stream_opened() -> None:
    global _open_streams
    with _registry_lock:
        _open_streams += 1


def _stream_closed() -> None:
    global _open_streams
    with _registry_lock:
        _open_streams = max(0, _open_streams - 1)


def rescan_devices() -> bool:
    """Make PortAudio list the devices again (it only looks once, when it starts).

    Restarting PortAudio closes every stream, so this only happens while none of ours is
    open; returns False when it was skipped. See python-sounddevice issue #125."""
    sd = _sd()
    with _registry_lock:
        if _open_streams:
            return False
        sd._terminate()
        sd._initialize()
    return True


def _default_index(sd: ModuleType, kind: Kind) -> int:
    try:
        return int(sd.query_devices(kind=kind)["index"])
    except (sd.PortAudioError, ValueError, KeyError, TypeError):
        return -1


def list_devices(*, rescan: bool = False) -> list[AudioDevice]:
    """Every device PortAudio knows, with its channel counts and native rate."""
    sd = _sd()
    if rescan:
        rescan_devices()
    hostapis = [h["name"] for h in sd.query_hostapis()]
    default_in = _default_index(sd, "input")
    default_out = _default_index(sd, "output")
    devices = []
    for d in sd.query_devices():
        index = int(d["index"])
        devices.append(
            AudioDevice(
                index=index,
                name=str(d["name"]),
                hostapi=hostapis[d["hostapi"]] if d["hostapi"] < len(hostapis) else "?",
                inputs=int(d["max_input_channels"]),
                outputs=int(d["max_output_channels"]),
                default_rate_hz=round(d["default_samplerate"]),
                is_default_input=index == default_in,
                is_default_output=index == default_out,
            )
        )
    return devices


def resolve_device(spec: str | int | None, kind: Kind = "input") -> AudioDevice:
    """The device `spec` names: None or "" for the system default, an index (int or digits),
    an exact name, or a case-insensitive part of a name. Raises AudioError("device-not-found")
    listing what is available."""
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', not {kind!r}")
    candidates = [d for d in list_devices() if d.channels(kind) > 0]
    what = _WHAT[kind]
    available = ", ".join(str(d) for d in candidates) or "none"
    if isinstance(spec, str):
        spec = spec.strip()
    if spec is None or spec == "":
        for d in candidates:
            if d.is_default_input if kind == "input" else d.is_default_output:
                return d
        if candidates:
            log.warning("No default %s device; using %s", kind, candidates[0])
            return candidates[0]
        raise AudioError("device-not-found", f"No {what} found. {_FIX[kind]}")
    if isinstance(spec, int) or spec.isdigit():
        index = int(spec)
        for d in candidates:
            if d.index == index:
                return d
        raise AudioError(
            "device-not-found",
            f"No {kind} device has number {index}. Available: {available}. {_FIX[kind]}",
        )
    wanted = spec.casefold()
    for matches in (
        [d for d in candidates if d.name == spec],
        [d for d in candidates if d.name.casefold() == wanted],
        [d for d in candidates if wanted in d.name.casefold()],
        [d for d in candidates if wanted in f"{d.name}, {d.hostapi}".casefold()],
    ):
        if matches:
            if len(matches) > 1:
                chosen = next(
                    (d for d in matches if d.is_default_input or d.is_default_output), matches[0]
                )
                log.info("%r matches %d %s devices; using %s", spec, len(matches), kind, chosen)
                return chosen
            return matches[0]
    raise AudioError(
        "device-not-found",
        f"No {kind} device matches {spec!r}. Available: {available}. {_FIX[kind]}",
    )


def _error_from_portaudio(exc: BaseException, kind: Kind, device: AudioDevice) -> AudioError:
    """Turn a PortAudioError from opening a stream into an AudioError a person can act on."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    code = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    host: tuple[Any, ...] = args[2] if len(args) > 2 and isinstance(args[2], tuple) else ()
    host_errno = host[1] if len(host) > 1 and isinstance(host[1], int) else 0
    detail = host[2] if len(host) > 2 and host[2] else (args[0] if args else str(exc))
    what = _WHAT[kind]
    if code == _PA_DEVICE_UNAVAILABLE or host_errno in _ERRNO_BUSY:
        return AudioError(
            "device-busy",
            f"The {what} '{device.name}' is in use by another program. Close that program, "
            "or choose another device in Settings > Audio.",
        )
    if code == _PA_INVALID_DEVICE or host_errno in _ERRNO_GONE:
        return AudioError(
            "device-not-found", f"The {what} '{device.name}' is not connected. {_FIX[kind]}"
        )
    return AudioError(
        "device-error", f"The {what} '{device.name}' could not be opened ({detail}). {_FIX[kind]}"
    )
