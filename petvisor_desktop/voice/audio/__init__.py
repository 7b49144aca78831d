"""Audio in and out for the voice path: microphones and speakers through PortAudio
(sounddevice), and the stand-ins that tests and the simulator use in their place (a WAV file or
pushed audio as the microphone, a recorder as the speaker).

Everything leaves here as the engine's audio (16 kHz mono float32, frames of FRAME_SAMPLES)
whatever rate the device runs at. Device callbacks only copy buffers; resampling, framing and
error handling happen on the caller's thread. A device that disappears raises
`AudioError("device-lost", recoverable=True)` from `read()`/`play()`, and `recover()` reopens
it with backoff when it comes back.

One concern per module: devices (listing, choosing, PortAudio's errors), stream (what the
microphone and speaker share), capture (the microphone), playback (the speaker and the record
of what was heard), convert (mono, resampling, framing), wav (WAV files), clock (the time the
stand-ins keep) and doubles (the stand-ins). Callers import from here.
"""

from petvisor_desktop.voice.audio.capture import MicrophoneSource, open_source
from petvisor_desktop.voice.audio.convert import (
    RESAMPLE_QUALITY,
    FrameResampler,
    resample,
    to_mono_float32,
)
from petvisor_desktop.voice.audio.devices import (
    AudioDevice,
    Kind,
    _error_from_portaudio,  # noqa: F401 - tests/voice/test_audio_devices.py reaches it here
    list_devices,
    rescan_devices,
    resolve_device,
)
from petvisor_desktop.voice.audio.doubles import FRAME_S, PushSource, RecordingSink, WavFileSource
from petvisor_desktop.voice.audio.playback import PlaybackRing, SpeakerSink, open_sink
from petvisor_desktop.voice.audio.stream import FALLBACK_RATES_HZ
from petvisor_desktop.voice.audio.wav import read_wav, write_wav

__all__ = [
    "FALLBACK_RATES_HZ",
    "FRAME_S",
    "RESAMPLE_QUALITY",
    "AudioDevice",
    "FrameResampler",
    "Kind",
    "MicrophoneSource",
    "PlaybackRing",
    "PushSource",
    "RecordingSink",
    "SpeakerSink",
    "WavFileSource",
    "list_devices",
    "open_sink",
    "open_source",
    "read_wav",
    "resample",
    "rescan_devices",
    "resolve_device",
    "to_mono_float32",
    "write_wav",
]
