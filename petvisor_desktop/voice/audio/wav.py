"""WAV files: reading any common PCM or float WAV (and saying plainly what is wrong with one
that cannot be read), and saving mono audio as 16-bit PCM."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from petvisor_desktop.voice.audio.convert import to_mono_float32
from petvisor_desktop.voice.base import SAMPLE_RATE_HZ, AudioError


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
