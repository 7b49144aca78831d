"""Audio in and out for the voice path: microphones and speakers through PortAudio
(sounddevice), and the stand-ins that tests and the simulator use in their place (a WAV file or
pushed audio as the microphone, a recorder as the speaker).

Everything leaves here as the engine's audio (16 kHz mono float32, frames of FRAME_SAMPLES)
whatever rate the device runs at. Device callbacks only copy buffers; resampling, framing and
error handling happen on the caller's thread. A device that disappears raises
`AudioError("device-lost", recoverable=True)` from `read()`/`play()`, and `recover()` reopens
it with backoff when it comes back.
"""

from __future__ import annotations

import logging
import queue
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import soxr

from petvisor_desktop.voice.base import FRAME_SAMPLES, SAMPLE_RATE_HZ, AudioError

if TYPE_CHECKING:
    from petvisor_desktop.settings import AudioSettings

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE_HZ
RESAMPLE_QUALITY = "HQ"  # soxr's "high quality": flat to 0.91 of Nyquist, -126 dB aliasing
FALLBACK_RATES_HZ = (48_000, 44_100, 16_000)

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


# --------------------------------------------------------------------------- devices


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


# --------------------------------------------------------------------------- conversions


def to_mono_float32(samples: np.ndarray) -> np.ndarray:
    """Mono float32 in [-1, 1] from int16/int32/float audio, averaging channels of a
    (frames, channels) array."""
    x = np.asarray(samples)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    elif x.dtype == np.int32:
        x = x.astype(np.float32) / 2147483648.0
    elif x.dtype != np.float32:
        x = x.astype(np.float32)
    if x.ndim == 2:
        x = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)
    elif x.ndim != 1:
        raise ValueError(f"audio must be 1-D or (frames, channels), not shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def resample(samples: np.ndarray, rate_hz: int, to_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """One-shot resampling of a whole clip (mono float32)."""
    x = to_mono_float32(samples)
    if rate_hz == to_rate_hz or len(x) == 0:
        return x
    return np.asarray(
        soxr.resample(x, rate_hz, to_rate_hz, quality=RESAMPLE_QUALITY), dtype=np.float32
    )


class FrameResampler:
    """A streaming resampler and framer: blocks of any size at `in_rate_hz` in, frames of
    exactly `frame_samples` at `out_rate_hz` out, each with the capture time of its last
    sample. soxr's stream keeps its filter state between blocks, so block edges leave no
    trace; it holds back a few ms of input (its delay), which the frame times account for."""

    def __init__(
        self,
        in_rate_hz: int,
        *,
        out_rate_hz: int = SAMPLE_RATE_HZ,
        frame_samples: int = FRAME_SAMPLES,
        quality: str = RESAMPLE_QUALITY,
    ) -> None:
        self.in_rate_hz = in_rate_hz
        self.out_rate_hz = out_rate_hz
        self.frame_samples = frame_samples
        self._stream = (
            soxr.ResampleStream(in_rate_hz, out_rate_hz, 1, dtype="float32", quality=quality)
            if in_rate_hz != out_rate_hz
            else None
        )
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames: deque[tuple[np.ndarray, float | None]] = deque()
        self._in_total = 0  # input samples pushed
        self._out_framed = 0  # output samples already cut into frames

    def push(self, samples: np.ndarray, end_time: float | None = None) -> int:
        """Add a mono block whose last sample was captured at `end_time` (monotonic);
        returns how many frames are ready."""
        x = np.ascontiguousarray(samples, dtype=np.float32)
        self._in_total += len(x)
        out = self._stream.resample_chunk(x) if self._stream is not None else x
        if len(out):
            self._pending = np.concatenate((self._pending, out))
        n = self.frame_samples
        while len(self._pending) >= n:
            frame = self._pending[:n].copy()
            self._pending = self._pending[n:]
            self._out_framed += n
            self._frames.append((frame, self._time_of_output(self._out_framed, end_time)))
        return len(self._frames)

    def _time_of_output(self, out_count: int, end_time: float | None) -> float | None:
        """Capture time of output sample `out_count - 1`: soxr's output is aligned with its
        input, so it maps to input position out_count * in/out; what is still held inside
        the resampler (its delay) is what the frame lags behind the newest block."""
        if end_time is None:
            return None
        in_pos = out_count * self.in_rate_hz / self.out_rate_hz
        return end_time - (self._in_total - in_pos) / self.in_rate_hz

    def pop(self) -> tuple[np.ndarray, float | None] | None:
        """The next frame and the capture time of its last sample, or None."""
        return self._frames.popleft() if self._frames else None

    @property
    def ready(self) -> int:
        return len(self._frames)

    @property
    def delay_s(self) -> float:
        """Input the resampler holds back, in seconds."""
        return float(self._stream.delay()) / self.out_rate_hz if self._stream is not None else 0.0


# --------------------------------------------------------------------------- WAV files


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A WAV file as float32 (frames, channels) and its rate. Reads PCM 8/16/24/32-bit and
    IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE (the stdlib `wave` reads only
    integer PCM). Raises AudioError("bad-audio", "<file>: <reason>")."""
    p = Path(path)

    def bad(reason: str) -> AudioError:
        return AudioError("bad-audio", f"{p.name}: {reason}", recoverable=False)

    try:
        data = p.read_bytes()
    except OSError as exc:
        raise bad(f"cannot be read ({exc.strerror or exc})") from exc
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise bad("not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int] | None = None
    audio: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise bad("the format chunk is truncated")
            tag, channels, rate, _byte_rate, _align, bits = struct.unpack_from(
                "<HHIIHH", data, body
            )
            if tag == 0xFFFE and size >= 40 and body + 26 <= len(data):
                tag = struct.unpack_from("<H", data, body + 24)[0]  # the sub-format GUID's tag
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            available = len(data) - body
            if size in (0, 0xFFFFFFFF):  # written to a pipe: the length was never filled in
                size = available
            elif size > available:
                raise bad(
                    f"truncated: the header promises {size} bytes of audio but only "
                    f"{available} are there"
                )
            audio = data[body : body + size]
            break
        pos = body + size + (size & 1)
    if fmt is None:
        raise bad("no format chunk ('fmt ') before the audio")
    if audio is None:
        raise bad("no audio ('data' chunk)")
    tag, channels, rate, bits = fmt
    if channels == 0:
        raise bad("the header says 0 channels")
    if rate < 1000:
        raise bad(f"unusable sample rate {rate} Hz")
    kinds = {(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64)}
    if (tag, bits) not in kinds:
        name = {1: "PCM", 3: "float"}.get(tag, f"format tag 0x{tag:04x}")
        raise bad(f"unsupported sample format ({name}, {bits}-bit); convert it to 16-bit PCM")
    width = bits // 8
    frames = len(audio) // (width * channels)
    if frames == 0:
        raise bad("no audio (0 samples)")
    raw = audio[: frames * width * channels]
    if tag == 3:
        x = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8").astype(np.float32)
    elif bits == 8:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif bits == 16:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    else:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    return x.reshape(frames, channels), rate


def write_wav(path: str | Path, samples: np.ndarray, rate_hz: int = SAMPLE_RATE_HZ) -> Path:
    """Save mono audio as 16-bit PCM."""
    import wave

    x = to_mono_float32(samples)
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    p = Path(path)
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())
    return p


# --------------------------------------------------------------------------- sources


class PushSource:
    """A live microphone fed from code: `feed()` queues speech, and `read()` hands it out in
    16 kHz frames. With `realtime` the frames come on a monotonic schedule (frame k is due at
    start + (k+1) * 32 ms, so pacing does not drift), and with `idle_silence` the source
    yields silence when nothing is queued, as a microphone in a quiet room does. After
    `end_input()` and once the queue is empty, `read()` raises EOFError."""

    def __init__(self, *, realtime: bool = True, idle_silence: bool = True) -> None:
        self.realtime = realtime
        self.idle_silence = idle_silence
        self._cond = threading.Condition()
        self._chunks: deque[np.ndarray] = deque()
        self._queued = 0  # samples in _chunks
        self._ended = False
        self._stopped = threading.Event()
        self._t0: float | None = None
        self._frames_out = 0
        self.last_frame_time: float | None = None

    # feeding ---------------------------------------------------------------
    def feed(self, samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        """Queue audio (any rate, int16 or float, mono or (frames, channels))."""
        x = resample(samples, sample_rate_hz)
        if len(x) == 0:
            return
        with self._cond:
            self._chunks.append(x)
            self._queued += len(x)
            self._cond.notify_all()

    def feed_silence(self, seconds: float) -> None:
        self.feed(np.zeros(round(seconds * SAMPLE_RATE_HZ), dtype=np.float32))

    def end_input(self) -> None:
        """No more audio will be fed: EOFError once the queue is played out."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    @property
    def pending_s(self) -> float:
        """Seconds of fed audio not yet read."""
        return self._queued / SAMPLE_RATE_HZ

    # AudioSource -----------------------------------------------------------
    def start(self) -> None:
        self._stopped.clear()
        self._t0 = time.monotonic()
        self._frames_out = 0

    def stop(self) -> None:
        self._stopped.set()
        with self._cond:
            self._cond.notify_all()

    def read(self, timeout_s: float) -> np.ndarray | None:
        if self._t0 is None:
            self.start()
        if self._stopped.is_set():
            raise EOFError("the source was stopped")
        if self.realtime:
            return self._read_realtime(timeout_s)
        return self._read_now(timeout_s)

    def _read_realtime(self, timeout_s: float) -> np.ndarray | None:
        assert self._t0 is not None
        now = time.monotonic()
        if not self.idle_silence and self._queued == 0 and not self._ended:
            # Nothing to say and no silence wanted: wait for speech, then restart the
            # schedule from now so the gap does not come out as a burst.
            with self._cond:
                if not self._cond.wait_for(self._has_input, timeout_s):
                    return None
            now = time.monotonic()
            self._t0 = now - self._frames_out * FRAME_S
            timeout_s = 0.0
        due = self._t0 + (self._frames_out + 1) * FRAME_S
        if due - now > timeout_s:
            self._stopped.wait(timeout_s)
            return None
        if due > now and self._stopped.wait(due - now):
            raise EOFError("the source was stopped")
        frame = self._take()
        if frame is None:
            raise EOFError("end of input")
        self._frames_out += 1
        self.last_frame_time = due
        return frame

    def _read_now(self, timeout_s: float) -> np.ndarray | None:
        if not self.idle_silence:
            with self._cond:
                if not self._cond.wait_for(self._has_input, timeout_s):
                    return None
        frame = self._take()
        if frame is None:
            raise EOFError("end of input")
        self._frames_out += 1
        self.last_frame_time = time.monotonic()
        return frame

    def _has_input(self) -> bool:
        return self._queued > 0 or self._ended or self._stopped.is_set()

    def _on_empty(self) -> bool:
        """Called when the queue runs dry; a subclass may refill it (looping)."""
        return False

    def _take(self) -> np.ndarray | None:
        """The next frame: queued audio, padded with silence at the end of a line; silence
        when idle; None at the end of input."""
        with self._cond:
            if self._queued == 0 and not self._on_empty():
                if self._ended:
                    return None
                return np.zeros(FRAME_SAMPLES, dtype=np.float32)
            frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
            filled = 0
            while filled < FRAME_SAMPLES and self._chunks:
                chunk = self._chunks[0]
                n = min(FRAME_SAMPLES - filled, len(chunk))
                frame[filled : filled + n] = chunk[:n]
                filled += n
                if n == len(chunk):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = chunk[n:]
                self._queued -= n
            return frame

    def __enter__(self) -> PushSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class WavFileSource(PushSource):
    """A WAV file played as a microphone (the tests' and the simulator's caller): any WAV
    is read, mixed to mono and resampled to 16 kHz up front, then handed out in frames, at
    real time when `realtime`. At its end: EOFError, or the file again with `loop`. More
    audio can be `feed()`-ed while it plays; it follows the file."""

    def __init__(self, path: str | Path, *, realtime: bool = True, loop: bool = False) -> None:
        super().__init__(realtime=realtime, idle_silence=True)
        self.path = Path(path)
        samples, rate = read_wav(self.path)
        self.audio = resample(samples, rate)
        self.loop = loop
        self._load()

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE_HZ

    def _load(self) -> None:
        with self._cond:
            self._chunks.clear()
            self._chunks.append(self.audio)
            self._queued = len(self.audio)
            self._ended = not self.loop

    def start(self) -> None:
        if self._frames_out:  # started again: from the top
            self._load()
        super().start()

    def _on_empty(self) -> bool:
        if self.loop and not self._stopped.is_set():
            self._chunks.append(self.audio)
            self._queued += len(self.audio)
            return True
        return False


# --------------------------------------------------------------------------- PortAudio streams


class _PortAudioDevice:
    """What the microphone and the speaker share: opening a stream on the right device at a
    rate and channel count it accepts, telling a lost device from a quiet one, and reopening
    with backoff."""

    kind: Kind = "input"

    def __init__(
        self, device: str | int | None, *, stall_timeout_s: float, first_block_timeout_s: float
    ) -> None:
        self.device_spec = device
        self.device = resolve_device(device, self.kind)
        self.stall_timeout_s = stall_timeout_s
        self.first_block_timeout_s = first_block_timeout_s
        self.rate_hz = 0
        self.channels = 0
        self._stream: Any = None
        self._opened_at = 0.0
        self._last_block_at = 0.0
        self._first_block = threading.Event()
        self._finished = threading.Event()
        self._lost: AudioError | None = None
        self._stop_requested = threading.Event()

    # subclass hooks --------------------------------------------------------
    def _make_stream(self, sd: ModuleType, rate: int, channels: int) -> Any:
        raise NotImplementedError

    def _on_opened(self) -> None:
        """Reset per-stream state; called before the stream starts."""

    def _check_settings(self, sd: ModuleType, rate: int, channels: int) -> None:
        check = sd.check_input_settings if self.kind == "input" else sd.check_output_settings
        check(device=self.device.index, channels=channels, dtype="float32", samplerate=rate)

    # opening ---------------------------------------------------------------
    def _open(self) -> None:
        sd = _sd()
        self.device = resolve_device(self.device_spec, self.kind)
        dev = self.device
        rates = list(dict.fromkeys([dev.default_rate_hz, *FALLBACK_RATES_HZ]))
        channel_options = [1, 2] if dev.channels(self.kind) >= 2 else [1]
        last_error: BaseException | None = None
        chosen: tuple[int, int] | None = None
        for rate in rates:
            for channels in channel_options:
                try:
                    self._check_settings(sd, rate, channels)
                except (sd.PortAudioError, ValueError) as exc:
                    last_error = exc
                    continue
                chosen = (rate, channels)
                break
            if chosen:
                break
        if chosen is None:
            if isinstance(last_error, sd.PortAudioError):
                raise _error_from_portaudio(last_error, self.kind, dev) from last_error
            raise AudioError(
                "device-error",
                f"The {_WHAT[self.kind]} '{dev.name}' accepts none of the usual formats "
                f"({last_error}). {_FIX[self.kind]}",
            )
        self.rate_hz, self.channels = chosen
        # Fresh events per stream: a dying predecessor still closing in the background
        # must not mark this one finished.
        self._first_block = threading.Event()
        self._finished = threading.Event()
        self._on_opened()
        stream = None
        try:
            stream = self._make_stream(sd, self.rate_hz, self.channels)
            self._opened_at = self._last_block_at = time.monotonic()
            stream.start()
        except sd.PortAudioError as exc:
            if stream is not None:
                _close_stream(stream, registered=False)
            raise _error_from_portaudio(exc, self.kind, dev) from exc
        self._stream = stream
        self._lost = None
        _stream_opened()
        log.info(
            "Opened %s '%s' at %d Hz, %d channel(s), latency %.0f ms",
            _WHAT[self.kind],
            dev.name,
            self.rate_hz,
            self.channels,
            1000 * float(stream.latency),
        )

    # health ----------------------------------------------------------------
    def _check_alive(self) -> None:
        """Raise AudioError("device-lost") when the stream died or went silent."""
        if self._lost is not None:
            raise self._lost
        stream = self._stream
        if stream is None:
            raise AudioError(
                "not-started",
                f"The {_WHAT[self.kind]} is not open (call start()).",
                recoverable=False,
            )
        now = time.monotonic()
        reason = None
        try:
            if self._finished.is_set() or not stream.active:
                reason = "the sound system closed the stream"
        except _sd().PortAudioError as exc:
            reason = f"the stream failed ({exc})"
        if reason is None:
            if self._first_block.is_set():
                if now - self._last_block_at > self.stall_timeout_s:
                    reason = f"no audio for {now - self._last_block_at:.1f} s"
            elif now - self._opened_at > self.first_block_timeout_s:
                reason = f"no audio since it was opened {now - self._opened_at:.1f} s ago"
        if reason is not None:
            self._lose(reason)

    def _lose(self, reason: str) -> None:
        what = _WHAT[self.kind]
        self._lost = AudioError(
            "device-lost",
            f"The {what} '{self.device.name}' stopped working ({reason}). Check that it is "
            f"plugged in; Petvisor reconnects when it is back. {_FIX[self.kind]}",
            recoverable=True,
        )
        log.warning("%s lost: %s", what.capitalize(), reason)
        self._detach_stream(wait_s=0.0)
        raise self._lost

    def _detach_stream(self, wait_s: float) -> None:
        """Close the current stream on a helper thread: a stalled ALSA stream can take tens
        of seconds to close, and nobody should wait for that. `wait_s` bounds the wait."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        closer = threading.Thread(
            target=_close_stream, args=(stream,), name=f"{self.kind}-close", daemon=True
        )
        closer.start()
        if wait_s > 0:
            closer.join(wait_s)
            if closer.is_alive():
                log.warning("The %s stream is slow to close; leaving it", _WHAT[self.kind])

    # lifecycle -------------------------------------------------------------
    @property
    def lost(self) -> bool:
        return self._lost is not None

    @property
    def latency_s(self) -> float:
        """PortAudio's estimate of the device latency of the open stream."""
        stream = self._stream
        return float(stream.latency) if stream is not None else 0.0

    def reopen(self) -> None:
        """Close and open the device once (raises AudioError when it cannot)."""
        self._detach_stream(wait_s=2.0)
        self._open()

    def recover(self, max_wait_s: float = 30.0) -> bool:
        """Reopen a lost device, retrying with backoff (0.25 s doubling to 5 s) until sound
        flows again, `max_wait_s` passes, or `stop()` is called. True when it is back."""
        deadline = time.monotonic() + max_wait_s
        delay = 0.25
        attempts = 0
        self._stop_requested.clear()
        while True:
            attempts += 1
            try:
                self._detach_stream(wait_s=0.5)
                rescan_devices()  # a replugged USB device may come back under a new index
                self._open()
                wait = max(0.0, min(self.first_block_timeout_s, deadline - time.monotonic()))
                if self._first_block.wait(wait):
                    log.info("%s back after %d attempt(s)", _WHAT[self.kind].capitalize(), attempts)
                    return True
                log.debug("Reopened %s but no audio yet", _WHAT[self.kind])
            except AudioError as exc:
                log.log(
                    logging.WARNING if attempts == 1 else logging.DEBUG,
                    "Reopening the %s failed (%s); retrying",
                    _WHAT[self.kind],
                    exc.code,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._detach_stream(wait_s=0.0)
                self._lost = self._lost or AudioError(
                    "device-lost", f"The {_WHAT[self.kind]} did not come back. {_FIX[self.kind]}"
                )
                log.warning(
                    "Gave up reopening the %s after %d attempts", _WHAT[self.kind], attempts
                )
                return False
            if self._stop_requested.wait(min(delay, remaining)):
                return False
            delay = min(delay * 2, 5.0)

    def _close(self) -> None:
        self._stop_requested.set()
        self._detach_stream(wait_s=2.0)


def _close_stream(stream: Any, registered: bool = True) -> None:
    try:
        stream.abort()
    except Exception as exc:  # noqa: BLE001 - a dying device can fail in any way; we close it regardless
        log.debug("Aborting the stream failed: %s", exc)
    try:
        stream.close()
    except Exception as exc:  # noqa: BLE001 - as above
        log.debug("Closing the stream failed: %s", exc)
    if registered:
        _stream_closed()


class MicrophoneSource(_PortAudioDevice):
    """A microphone through PortAudio. The device runs at its own rate (mono, or stereo
    mixed down); the callback only stamps, copies and enqueues each block, and `read()`
    resamples to 16 kHz and cuts exact FRAME_SAMPLES frames on the caller's thread."""

    kind: Kind = "input"

    def __init__(
        self,
        device: str | int | None = None,
        *,
        block_ms: int = 32,
        max_queued_s: float = 10.0,
        stall_timeout_s: float = 2.0,
        first_block_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(
            device, stall_timeout_s=stall_timeout_s, first_block_timeout_s=first_block_timeout_s
        )
        self.block_ms = block_ms
        self.max_queued_s = max_queued_s
        self._queue: queue.SimpleQueue[tuple[float, float, np.ndarray]] = queue.SimpleQueue()
        self._max_blocks = 1
        self._framer: FrameResampler | None = None
        self._overflows = 0
        self._dropped = 0
        self.last_frame_time: float | None = None

    def _on_opened(self) -> None:
        self._queue = queue.SimpleQueue()
        self._max_blocks = max(4, int(self.max_queued_s * 1000 / self.block_ms))
        self._framer = FrameResampler(self.rate_hz)

    def _make_stream(self, sd: ModuleType, rate: int, channels: int) -> Any:
        return sd.InputStream(
            device=self.device.index,
            samplerate=rate,
            channels=channels,
            dtype="float32",
            blocksize=max(64, rate * self.block_ms // 1000),
            callback=self._callback_for(self._queue),
            finished_callback=self._finished.set,
        )

    def _callback_for(
        self, q: queue.SimpleQueue[tuple[float, float, np.ndarray]]
    ) -> Callable[..., None]:
        # Bound to this stream's own queue, so a dying stream still closing in the
        # background cannot slip stale blocks into its successor's.
        max_blocks = self._max_blocks
        first = self._first_block

        def on_audio(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            now = time.monotonic()
            self._last_block_at = now
            if status.input_overflow:
                self._overflows += 1
            if q.qsize() >= max_blocks:  # nobody is reading: drop rather than grow
                self._dropped += 1
                return
            q.put((now, time_info.currentTime - time_info.inputBufferAdcTime, indata.copy()))
            if not first.is_set():
                first.set()

        return on_audio

    @property
    def overflows(self) -> int:
        """Blocks lost: the device overran, or the queue was full because nobody read."""
        return self._overflows + self._dropped

    def start(self) -> None:
        self._stop_requested.clear()
        if self._stream is None:
            self._open()

    def stop(self) -> None:
        self._close()

    def read(self, timeout_s: float) -> np.ndarray | None:
        framer = self._framer
        if framer is not None and framer.ready:
            return self._emit(framer)
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_alive()
            framer = self._framer
            assert framer is not None
            remaining = deadline - time.monotonic()
            try:
                # Wake at least every 100 ms to notice a device that went away.
                captured, lag, block = self._queue.get(timeout=max(0.0, min(remaining, 0.1)))
            except queue.Empty:
                if remaining <= 0:
                    return None
                continue
            mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
            # PortAudio stamps the block's first sample (ADC time); fall back to the callback
            # time when the host API gives no usable stamp.
            end = captured - lag + len(mono) / self.rate_hz if 0.0 <= lag < 1.0 else captured
            if framer.push(mono, end):
                return self._emit(framer)

    def _emit(self, framer: FrameResampler) -> np.ndarray:
        item = framer.pop()
        assert item is not None
        frame, at = item
        self.last_frame_time = at
        return frame

    def __enter__(self) -> MicrophoneSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- sinks


class PlaybackRing:
    """The last few seconds of what a device actually played (silence included), with the
    time the newest sample is heard: the echo reference."""

    def __init__(self, rate_hz: int, seconds: float) -> None:
        self.rate_hz = rate_hz
        self.seconds = seconds
        # One spare second so a reader copying the oldest part never meets the writer.
        self._buf = np.zeros(int(rate_hz * (seconds + 1.0)), dtype=np.float32)
        self._mark: tuple[int, float | None] = (0, None)  # (samples written, end time)

    def write(self, block: np.ndarray, end_time: float | None) -> None:
        total = self._mark[0]
        size = len(self._buf)
        n = len(block)
        if n > size:
            block, n = block[-size:], size
        i = total % size
        first = min(n, size - i)
        self._buf[i : i + first] = block[:first]
        if first < n:
            self._buf[: n - first] = block[first:]
        self._mark = (total + n, end_time)

    @property
    def end_time(self) -> float | None:
        """When the newest sample is heard (monotonic), None before anything was played."""
        return self._mark[1]

    def last(self, seconds: float) -> tuple[np.ndarray, float | None]:
        """The newest `seconds` (less when less was played) and the time its last sample is
        heard."""
        total, end_time = self._mark
        n = min(round(seconds * self.rate_hz), total, int(self.seconds * self.rate_hz))
        if n <= 0:
            return np.zeros(0, dtype=np.float32), end_time
        size = len(self._buf)
        start = (total - n) % size
        if start + n <= size:
            return self._buf[start : start + n].copy(), end_time
        return np.concatenate((self._buf[start:], self._buf[: n - (size - start)])), end_time


class _PlaybackQueue:
    """Between `play()` and the device clock. The producer side (play, interrupt, ...)
    resamples to the device rate and takes a lock among producers; the consumer side
    (`fill`, called from the device callback or the recorder's clock) takes no lock and only
    copies already-made arrays. Each piece of audio is tagged with its utterance, so
    `started_at` and `played_s` follow the reply that is playing."""

    def __init__(self, rate_hz: int, history_s: float, *, flush_each_play: bool = False) -> None:
        self.rate_hz = rate_hz
        self.ring = PlaybackRing(rate_hz, history_s)
        self._flush_each_play = flush_each_play
        self._lock = threading.Lock()
        self._items: deque[tuple[int, np.ndarray]] = deque()
        # Producer-written state.
        self._utterance = 0
        self._generation = 0  # bumped by interrupt()
        self._queued = 0
        self._dropped = 0
        self._resampler: Any = None
        self._resampler_rate = 0
        self._held = False  # the resampler holds back the tail of what was played
        # Consumer-written state.
        self._seen_generation = 0
        self._current: np.ndarray | None = None
        self._current_utterance = -1
        self._offset = 0
        self._finished = 0
        self._was_busy = False
        self._played: tuple[int, int] = (-1, 0)  # (utterance, samples taken)
        self._started: tuple[int, float] = (-1, 0.0)  # (utterance, monotonic)
        self.idle = threading.Event()
        self.idle.set()
        self.starved = threading.Event()  # ran dry while the resampler held a tail

    # producer --------------------------------------------------------------
    def play(self, samples: np.ndarray, rate_hz: int) -> None:
        x = to_mono_float32(samples)
        if len(x) == 0:
            return
        with self._lock:
            if rate_hz != self._resampler_rate:
                self._flush_locked()
                self._resampler_rate = rate_hz
            if rate_hz == self.rate_hz:
                y = x
            else:
                if self._resampler is None:
                    self._resampler = soxr.ResampleStream(
                        rate_hz, self.rate_hz, 1, dtype="float32", quality=RESAMPLE_QUALITY
                    )
                y = self._resampler.resample_chunk(x)
                self._held = True
            self._enqueue_locked(y)
            if self._flush_each_play:
                self._flush_locked()

    def _enqueue_locked(self, y: np.ndarray) -> None:
        if len(y) == 0:
            return
        self._queued += 1
        self.idle.clear()
        self._items.append((self._utterance, np.ascontiguousarray(y, dtype=np.float32)))

    def _flush_locked(self) -> None:
        """Play out what the resampler holds back (a few ms at the end of a reply)."""
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            self._resampler = None
            self._enqueue_locked(tail)
        self._held = False

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def begin_utterance(self) -> None:
        with self._lock:
            self._flush_locked()
            self._utterance += 1

    def interrupt(self) -> float:
        with self._lock:
            self._generation += 1
            while True:
                try:
                    self._items.popleft()
                except IndexError:
                    break
                self._dropped += 1
            self._resampler = None
            self._held = False
            played = self.played_s
        return played

    @property
    def busy(self) -> bool:
        return self._queued > self._finished + self._dropped or self._held

    @property
    def played_s(self) -> float:
        utterance, samples = self._played
        return samples / self.rate_hz if utterance == self._utterance else 0.0

    @property
    def started_at(self) -> float | None:
        utterance, at = self._started
        return at if utterance == self._utterance else None

    def drain(self, timeout_s: float) -> bool:
        self.flush()
        deadline = time.monotonic() + timeout_s
        while True:
            self.idle.clear()
            if not self.busy:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.idle.wait(remaining):
                return not self.busy

    # consumer --------------------------------------------------------------
    def fill(self, out: np.ndarray, now: float, lag_s: float, *, pad: bool = True) -> int:
        """Copy the next len(out) samples into `out` (silence when there is nothing), record
        them in the ring as heard `lag_s` after `now`; returns how many were real audio.
        Called from the device callback: copies only, no locks, no waiting."""
        if self._seen_generation != self._generation:
            self._seen_generation = self._generation
            if self._current is not None:
                self._current = None
                self._finished += 1
        n = len(out)
        pos = 0
        while pos < n:
            current = self._current
            if current is None:
                try:
                    self._current_utterance, current = self._items.popleft()
                except IndexError:
                    break
                self._current = current
                self._offset = 0
                self._was_busy = True
            offset = self._offset
            take = min(n - pos, len(current) - offset)
            out[pos : pos + take] = current[offset : offset + take]
            utterance = self._current_utterance
            played_utt, played = self._played
            if played_utt != utterance:
                self._started = (utterance, now + pos / self.rate_hz)
                played = 0
            self._played = (utterance, played + take)
            pos += take
            if offset + take >= len(current):
                self._current = None
                self._finished += 1
            else:
                self._offset = offset + take
        if pos < n and self._current is None and self._was_busy and not self._items:
            self._was_busy = False
            if self._held:
                self.starved.set()
            self.idle.set()
        if pad:
            if pos < n:
                out[pos:] = 0.0
            self.ring.write(out, now + lag_s + n / self.rate_hz)
        elif pos:
            self.ring.write(out[:pos], now + lag_s + pos / self.rate_hz)
        return pos

    # echo reference ----------------------------------------------------------
    def recent(self, seconds: float) -> np.ndarray:
        """The last `seconds` (at most the ring's history) at 16 kHz; silence before the
        device started, so the length is always round(seconds * 16 kHz)."""
        seconds = min(seconds, self.ring.seconds)
        samples, _ = self.ring.last(seconds)
        out = resample(samples, self.rate_hz)
        wanted = round(seconds * SAMPLE_RATE_HZ)
        if len(out) < wanted:
            out = np.concatenate((np.zeros(wanted - len(out), dtype=np.float32), out))
        return out[-wanted:] if wanted else out[:0]

    def since(self, t: float) -> tuple[float | None, np.ndarray]:
        end_time = self.ring.end_time
        if end_time is None:
            return None, np.zeros(0, dtype=np.float32)
        samples, end_time = self.ring.last(max(0.0, end_time - t))
        if end_time is None or len(samples) == 0:
            return None, np.zeros(0, dtype=np.float32)
        first = end_time - len(samples) / self.rate_hz
        return first, resample(samples, self.rate_hz)


class _SinkFace:
    """The AudioSink properties and methods every sink delegates to its _PlaybackQueue."""

    _playback: _PlaybackQueue

    def begin_utterance(self) -> None:
        self._playback.begin_utterance()

    @property
    def started_at(self) -> float | None:
        return self._playback.started_at

    @property
    def played_s(self) -> float:
        return self._playback.played_s

    @property
    def busy(self) -> bool:
        return self._playback.busy

    def interrupt(self) -> float:
        return self._playback.interrupt()

    def drain(self, timeout_s: float) -> bool:
        return self._playback.drain(timeout_s)

    def recent_playback(self, seconds: float) -> np.ndarray:
        return self._playback.recent(seconds)

    def playback_since(self, t_monotonic: float) -> tuple[float | None, np.ndarray]:
        """What was heard from `t_monotonic` on, as 16 kHz float32, with the (estimated)
        time its first sample was heard; for an echo guard to align with the microphone's
        `last_frame_time`."""
        return self._playback.since(t_monotonic)


class _TailFlusher:
    """A small worker that plays out the resampler's held-back tail when the device runs
    dry, so the last few ms of a reply are heard even when nobody calls drain()."""

    def __init__(self, playback: _PlaybackQueue, name: str) -> None:
        self._playback = playback
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._playback.starved.wait()
            self._playback.starved.clear()
            if self._closing.is_set():
                return
            self._playback.flush()

    def close(self) -> None:
        self._closing.set()
        self._playback.starved.set()
        self._thread.join(1.0)


class SpeakerSink(_SinkFace, _PortAudioDevice):
    """A speaker through PortAudio at its native rate. `play()` resamples on the caller's
    thread; the callback copies ready blocks of `block_ms` (20 ms) so `interrupt()` is heard
    within one block plus the device latency."""

    kind: Kind = "output"

    def __init__(
        self,
        device: str | int | None = None,
        *,
        block_ms: int = 20,
        latency_s: float = 0.04,
        history_s: float = 10.0,
        stall_timeout_s: float = 2.0,
        first_block_timeout_s: float = 5.0,
    ) -> None:
        _PortAudioDevice.__init__(
            self,
            device,
            stall_timeout_s=stall_timeout_s,
            first_block_timeout_s=first_block_timeout_s,
        )
        self.block_ms = block_ms
        self.latency_request_s = latency_s
        self.history_s = history_s
        self.rate_hz = self.device.default_rate_hz or FALLBACK_RATES_HZ[0]
        self._playback = _PlaybackQueue(self.rate_hz, history_s)
        self._flusher: _TailFlusher | None = None
        self.underflows = 0

    def _on_opened(self) -> None:
        if self._playback.rate_hz != self.rate_hz:  # opened at another rate: start afresh
            self._playback.interrupt()
            self._playback = _PlaybackQueue(self.rate_hz, self.history_s)
            if self._flusher is not None:
                self._flusher.close()
                self._flusher = None
        if self._flusher is None:
            self._flusher = _TailFlusher(self._playback, "speaker-tail")

    def _make_stream(self, sd: ModuleType, rate: int, channels: int) -> Any:
        playback = self._playback
        fallback_lag = self.latency_request_s
        first = self._first_block

        def on_output(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            now = time.monotonic()
            self._last_block_at = now
            if status.output_underflow:
                self.underflows += 1
            lag = time_info.outputBufferDacTime - time_info.currentTime
            playback.fill(outdata[:, 0], now, lag if 0.0 <= lag < 1.0 else fallback_lag)
            if channels > 1:
                outdata[:, 1:] = outdata[:, :1]
            if not first.is_set():
                first.set()

        return sd.OutputStream(
            device=self.device.index,
            samplerate=rate,
            channels=channels,
            dtype="float32",
            blocksize=max(64, rate * self.block_ms // 1000),
            latency=self.latency_request_s,
            callback=on_output,
            finished_callback=self._finished.set,
        )

    def start(self) -> None:
        self._stop_requested.clear()
        if self._stream is None:
            self._open()

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        """Queue audio; raises AudioError("device-lost") when the speaker has gone."""
        if self._stream is not None or self._lost is not None:
            self._check_alive()
        self._playback.play(samples, sample_rate_hz)

    def stop(self) -> None:
        self._playback.interrupt()
        self._close()
        if self._flusher is not None:
            self._flusher.close()
            self._flusher = None

    def __enter__(self) -> SpeakerSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RecordingSink(_SinkFace):
    """A speaker for tests and the simulator: keeps everything played. With `realtime` a
    clock thread takes the audio at 16 kHz in `tick_ms` steps on a monotonic schedule, so
    `started_at`, `played_s` and `interrupt()` behave as with a real device; without it,
    audio counts as played the moment it is queued."""

    def __init__(
        self, realtime: bool = True, *, tick_ms: int = 10, history_s: float = 10.0
    ) -> None:
        self.realtime = realtime
        self.tick_ms = tick_ms
        self.rate_hz = SAMPLE_RATE_HZ
        self._playback = _PlaybackQueue(self.rate_hz, history_s, flush_each_play=not realtime)
        self._recorded: list[np.ndarray] = []
        self._stop = threading.Event()
        self._clock: threading.Thread | None = None
        self._flusher: _TailFlusher | None = None

    def start(self) -> None:
        if not self.realtime or self._clock is not None:
            return
        self._stop.clear()
        self._flusher = _TailFlusher(self._playback, "recording-tail")
        self._clock = threading.Thread(target=self._run_clock, name="recording-sink", daemon=True)
        self._clock.start()

    def _run_clock(self) -> None:
        tick = self.rate_hz * self.tick_ms // 1000
        tick_s = tick / self.rate_hz
        buf = np.zeros(tick, dtype=np.float32)
        t0 = time.monotonic()
        k = 0
        while True:
            due = t0 + k * tick_s
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            if self._stop.is_set():
                return
            if -delay > 0.5:  # the machine stalled: carry on from now instead of rushing
                t0, k = time.monotonic(), 0
            played = self._playback.fill(buf, time.monotonic(), 0.0)
            if played:
                self._recorded.append(buf[:played].copy())
            k += 1

    def play(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        self._playback.play(samples, sample_rate_hz)
        if not self.realtime:
            self._take_all()

    def _take_all(self) -> None:
        buf = np.zeros(self.rate_hz, dtype=np.float32)
        while True:
            n = self._playback.fill(buf, time.monotonic(), 0.0, pad=False)
            if n == 0:
                return
            self._recorded.append(buf[:n].copy())

    def recording(self) -> np.ndarray:
        """Everything played so far (the replies, without the silence between them)."""
        parts = list(self._recorded)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def save_wav(self, path: str | Path) -> Path:
        return write_wav(path, self.recording(), self.rate_hz)

    def stop(self) -> None:
        self._playback.interrupt()
        self._stop.set()
        if self._clock is not None:
            self._clock.join(1.0)
            self._clock = None
        if self._flusher is not None:
            self._flusher.close()
            self._flusher = None

    def __enter__(self) -> RecordingSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- factories


def open_source(audio: AudioSettings) -> MicrophoneSource:
    """The microphone the settings name (not started yet; `start()` opens it)."""
    return MicrophoneSource(audio.input_device)


def open_sink(audio: AudioSettings) -> SpeakerSink:
    """The speaker the settings name (not started yet; `start()` opens it)."""
    return SpeakerSink(audio.output_device)
