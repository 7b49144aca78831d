"""The microphone and speaker through the real PortAudio path (ALSA's pulse plugin) against
a private PulseAudio server shaped like a kiosk: the caller speaks into `room`, the app
listens on `room.monitor`, plays into `app_speaker`, and part of that leaks back into `room`
(see pulse.py). Marked `audio` through the `pulse` fixtures."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pulse import APP_SPEAKER, PulseServer

from petvisor_desktop.settings import AudioSettings
from petvisor_desktop.voice import audio
from petvisor_desktop.voice.audio import MicrophoneSource, SpeakerSink
from petvisor_desktop.voice.base import FRAME_SAMPLES, SAMPLE_RATE_HZ, AudioError

SR = SAMPLE_RATE_HZ
SENTENCE = "Hello, this is the Petvisor clinic. How can I help you and your pet today?"
LONG_SENTENCE = (
    "Thank you for calling. We have appointments on Monday morning, Tuesday afternoon and "
    "Wednesday evening, with doctor Patel, doctor Jones or any of our nurses, whichever "
    "suits you and your dog best."
)


class MicReader:
    """Reads a MicrophoneSource on its own thread, as the pipeline does, keeping every frame
    with its capture time and the time read() returned it."""

    def __init__(self, mic: MicrophoneSource) -> None:
        self.mic = mic
        self.frames: list[np.ndarray] = []
        self.captured: list[float] = []
        self.returned: list[float] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.mic.read(0.2)
                if frame is not None:
                    self.frames.append(frame)
                    self.captured.append(self.mic.last_frame_time or 0.0)
                    self.returned.append(time.monotonic())
        except BaseException as exc:
            self.error = exc

    def stop(self) -> np.ndarray:
        self._stop.set()
        self._thread.join(5)
        if self.error is not None:
            raise self.error
        return np.concatenate(self.frames) if self.frames else np.zeros(0, np.float32)


def load_16k(path: Path) -> np.ndarray:
    samples, rate = audio.read_wav(path)
    return audio.resample(samples, rate)


def best_match(haystack: np.ndarray, needle: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of `needle` within `haystack`, and where."""
    n = len(needle)
    if len(haystack) < n:
        haystack = np.concatenate((haystack, np.zeros(n - len(haystack), np.float32)))
    size = 1 << int(np.ceil(np.log2(len(haystack) + n)))
    corr = np.fft.irfft(np.fft.rfft(haystack, size) * np.conj(np.fft.rfft(needle, size)), size)
    corr = corr[: len(haystack) - n + 1]
    energy = np.convolve(haystack.astype(np.float64) ** 2, np.ones(n), "valid")
    # Where the haystack is (nearly) silent the ratio means nothing: score it 0.
    energy = np.where(energy > 1e-6 * max(float(energy.max()), 1e-12), energy, np.inf)
    score = corr / np.sqrt(energy * np.sum(needle.astype(np.float64) ** 2))
    at = int(np.argmax(score))
    return float(score[at]), at


def segment_match(
    heard: np.ndarray, reference: np.ndarray, seconds: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Match each voiced half second of `reference` within `heard` on its own (so a
    dropout of a few ms on a loaded machine costs one segment, not the whole comparison):
    per-segment scores and gains."""
    n = int(seconds * SR)
    scores, gains = [], []
    for k in range(0, len(reference) - n + 1, n):
        seg = reference[k : k + n]
        if rms(seg) < 0.01:
            continue
        score, at = best_match(heard, seg)
        scores.append(score)
        gains.append(rms(heard[at : at + n]) / rms(seg))
    return np.array(scores), np.array(gains)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


# --------------------------------------------------------------------------- devices


def test_lists_and_resolves_devices(pulse: PulseServer) -> None:
    devices = audio.list_devices()
    names = [d.name for d in devices]
    assert "pulse" in names and "default" in names
    default_in = audio.resolve_device(None, "input")
    assert default_in.is_default_input and default_in.inputs > 0
    assert audio.resolve_device(None, "output").is_default_output
    pulse_dev = next(d for d in devices if d.name == "pulse")
    assert audio.resolve_device("PULS", "input") == pulse_dev  # any case, any part
    assert audio.resolve_device(str(pulse_dev.index), "output") == pulse_dev
    assert audio.resolve_device(pulse_dev.index, "input") == pulse_dev
    assert pulse_dev.default_rate_hz in (44_100, 48_000)


@pytest.mark.parametrize("kind", ["input", "output"])
def test_a_device_that_does_not_exist_is_named_with_the_choices(
    pulse: PulseServer, kind: str
) -> None:
    with pytest.raises(AudioError) as err:
        audio.resolve_device("Blue Yeti USB", kind)  # type: ignore[arg-type]
    assert err.value.code == "device-not-found"
    message = err.value.message
    assert f"No {kind} device matches 'Blue Yeti USB'" in message
    assert "Available:" in message and "pulse" in message
    assert "Settings > Audio" in message
    with pytest.raises(AudioError) as err:
        MicrophoneSource("Blue Yeti USB") if kind == "input" else SpeakerSink("Blue Yeti USB")
    assert err.value.code == "device-not-found"
    with pytest.raises(AudioError, match="number 99"):
        audio.resolve_device(99, kind)  # type: ignore[arg-type]


def test_factories_open_the_devices_the_settings_name(pulse_devices: PulseServer) -> None:
    source = audio.open_source(AudioSettings(input_device="pulse"))
    sink = audio.open_sink(AudioSettings(output_device="default"))
    assert source.device.name == "pulse" and sink.device.name == "default"
    with source, sink:
        assert source.read(2.0) is not None
        assert sink.rate_hz in (44_100, 48_000)


def test_opening_a_vanished_pulse_source_is_a_device_error(
    pulse_devices: PulseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_SOURCE", "unplugged.monitor")
    mic = MicrophoneSource()
    with pytest.raises(AudioError) as err:
        mic.start()
    assert err.value.code in ("device-error", "device-not-found")
    assert "Plug in a microphone or choose another in Settings > Audio" in err.value.message


# --------------------------------------------------------------------------- microphone


def test_microphone_hears_the_caller_in_the_room(
    pulse_devices: PulseServer, speech_wav: Callable[..., Path]
) -> None:
    wav = speech_wav(SENTENCE)
    reference = load_16k(wav)
    mic = MicrophoneSource()
    with mic:
        reader = MicReader(mic)
        time.sleep(0.6)  # quiet room first
        t_say = time.monotonic()
        pulse_devices.play_into_room(wav)
        time.sleep(0.6)
        heard = reader.stop()
    assert mic.rate_hz in (44_100, 48_000) and mic.overflows == 0
    assert all(f.shape == (FRAME_SAMPLES,) and f.dtype == np.float32 for f in reader.frames)
    captured = np.array(reader.captured)
    assert np.all(np.diff(captured) > 0), "capture times must increase"
    # Capture times advance at the sample clock: 32 ms a frame.
    assert np.median(np.diff(captured)) == pytest.approx(FRAME_SAMPLES / SR, abs=0.002)

    scores, _ = segment_match(heard, reference)
    assert np.median(scores) > 0.95, f"the microphone did not capture the sentence ({scores})"
    score, at = best_match(heard, reference[: SR // 2])  # where the sentence starts
    assert score > 0.9
    before = heard[: max(0, at - SR // 10)]
    speech = heard[at : at + len(reference)]
    assert rms(speech) > 0.02
    assert rms(before) < 1e-4, "the room should be silent before the caller speaks"
    # The sentence starts in the capture shortly after paplay was started.
    frame_of_start = at // FRAME_SAMPLES
    start_time = captured[frame_of_start] - (FRAME_SAMPLES - at % FRAME_SAMPLES) / SR
    assert 0.0 < start_time - t_say < 1.0  # paplay's own start-up is in there
    latency = np.array(reader.returned) - captured
    print(
        f"\ncapture: speech captured {1000 * (start_time - t_say):.0f} ms after paplay start;"
        f" read() returns frames {1000 * np.median(latency):.0f} ms (median) /"
        f" {1000 * np.max(latency):.0f} ms (max) after their last sample was captured"
    )
    assert np.median(latency) < 0.25, "read() holds frames back"


def test_capture_latency_from_room_to_read(pulse_devices: PulseServer) -> None:
    """A click written into `room` through a low-latency pacat stream comes out of read()
    with a capture time stamp between writing and reading it; prints the latencies."""
    player = subprocess.Popen(
        [
            "pacat",
            "--playback",
            "--raw",
            "--device=room",
            "--format=float32le",
            "--channels=1",
            "--rate=16000",
            "--latency-msec=10",
        ],
        stdin=subprocess.PIPE,
        env=pulse_devices.client_env(),
    )
    assert player.stdin is not None
    mic = MicrophoneSource()
    results = []
    try:
        with mic:
            reader = MicReader(mic)
            click = np.zeros(SR // 10, np.float32)
            click[:160] = 0.8
            for _ in range(3):
                player.stdin.write(np.zeros(SR // 2, np.float32).tobytes())
                player.stdin.flush()
                time.sleep(0.5)
                n_before = len(reader.frames)
                t_write = time.monotonic()
                player.stdin.write(click.tobytes())
                player.stdin.flush()
                i, deadline = n_before, t_write + 3.0
                while time.monotonic() < deadline:
                    if i >= len(reader.frames):
                        time.sleep(0.01)  # the reader thread appends as frames arrive
                        continue
                    loud = np.flatnonzero(np.abs(reader.frames[i]) > 0.3)
                    if len(loud):
                        est = reader.captured[i] - (FRAME_SAMPLES - loud[0]) / SR
                        results.append((reader.returned[i] - t_write, est - t_write))
                        break
                    i += 1
            reader.stop()
    finally:
        player.stdin.close()
        player.wait(5)
    assert len(results) == 3, "a click was not heard"
    to_read = [r[0] for r in results]
    stamp = [r[1] for r in results]
    print(
        f"\ncapture latency (write into room -> read() returns): "
        f"{', '.join(f'{1000 * x:.0f}' for x in to_read)} ms; capture stamp - write time: "
        f"{', '.join(f'{1000 * x:.0f}' for x in stamp)} ms"
    )
    # Figures, not limits (a busy machine decides them); what must hold is that the stamp
    # says when the click was captured: after it was written, before read() returned it.
    assert all(-0.02 < s < r for r, s in results)


# --------------------------------------------------------------------------- speaker


def test_speaker_output_reaches_the_caller_and_leaks_into_the_microphone(
    pulse_devices: PulseServer, speech_wav: Callable[..., Path]
) -> None:
    wav = speech_wav(SENTENCE)
    samples, rate = audio.read_wav(wav)
    reference = audio.resample(samples, rate)
    monitor = pulse_devices.record(f"{APP_SPEAKER}.monitor")
    mic = MicrophoneSource()
    sink = SpeakerSink()
    with mic, sink:
        reader = MicReader(mic)
        time.sleep(0.3)
        sink.begin_utterance()
        t_play = time.monotonic()
        pcm = (samples[:, 0] * 32767).astype(np.int16)
        for chunk in np.array_split(pcm, 9):  # streamed like synthesizer chunks
            sink.play(chunk, rate)
        assert sink.busy
        assert sink.drain(len(reference) / SR + 3.0)
        t_done = time.monotonic()
        time.sleep(0.4)
        heard_by_mic = reader.stop()
        echo_ref = sink.recent_playback(len(reference) / SR + 0.5)
        portaudio_latency = sink.latency_s
        played_from, played = sink.playback_since(t_play - 0.2)
    at_monitor, arrived = monitor.stop().snapshot()

    assert sink.started_at is not None and 0 <= sink.started_at - t_play < 0.2
    assert sink.played_s == pytest.approx(len(reference) / SR, abs=0.01)
    assert t_done - sink.started_at == pytest.approx(sink.played_s, abs=0.1)
    assert sink.underflows == 0 or sink.underflows < 5

    onset = arrived[np.flatnonzero(np.abs(at_monitor) > 0.01)[0]]
    print(
        f"\noutput: first sample taken -> heard at app_speaker.monitor "
        f"{1000 * (onset - sink.started_at):.0f} ms (upper bound, incl. recorder latency);"
        f" PortAudio output latency {1000 * portaudio_latency:.0f} ms"
    )
    scores, gains = segment_match(at_monitor, reference)
    assert len(scores) >= 6
    assert np.median(scores) > 0.95, f"the caller did not hear the app ({scores.round(2)})"
    assert np.median(gains) == pytest.approx(1.0, abs=0.05)

    scores, gains = segment_match(heard_by_mic, reference)
    assert np.median(scores) > 0.9, f"the app's voice did not leak into the mic ({scores})"
    assert np.median(gains) == pytest.approx(pulse_devices.echo_gain, rel=0.15)

    # The time stamps line the echo up: the leaked voice reaches the microphone's capture
    # stamps about a loopback latency (20 ms) after the speaker's stamps say it was heard.
    assert played_from is not None
    _, at_speaker = best_match(played, reference[: SR // 2])
    heard_at_speaker = played_from + at_speaker / SR
    _, at_mic = best_match(heard_by_mic, reference[: SR // 2])
    i = at_mic // FRAME_SAMPLES
    heard_at_mic = reader.captured[i] - (FRAME_SAMPLES - at_mic % FRAME_SAMPLES) / SR
    print(
        f"echo path: mic stamp - speaker stamp = {1000 * (heard_at_mic - heard_at_speaker):.0f} ms"
    )
    # Both stamps carry scheduling jitter on a busy machine (tens of ms), hence the margin.
    assert -0.05 < heard_at_mic - heard_at_speaker < 0.15
    # The echo reference is what was played, at 16 kHz.
    assert len(echo_ref) == round((len(reference) / SR + 0.5) * SR)
    score, _ = best_match(echo_ref, reference)
    assert score > 0.98


def test_interrupt_stops_the_sound_at_the_monitor_within_200_ms(
    pulse_devices: PulseServer, speech_wav: Callable[..., Path]
) -> None:
    wav = speech_wav(LONG_SENTENCE)
    samples, rate = audio.read_wav(wav)
    monitor = pulse_devices.record(f"{APP_SPEAKER}.monitor")
    latencies = []
    with SpeakerSink() as sink:
        time.sleep(0.3)
        for _ in range(3):
            sink.begin_utterance()
            sink.play(samples, rate)
            time.sleep(1.2)
            assert sink.started_at is not None and sink.busy
            t_int = time.monotonic()
            played = sink.interrupt()
            assert played == pytest.approx(t_int - sink.started_at, abs=0.05)
            assert sink.drain(0.2)
            time.sleep(0.6)
            x, t = monitor.recording.snapshot()
            loud = np.flatnonzero((np.abs(x) > 0.01) & (t > t_int - 1.0))
            assert len(loud), "nothing was heard before the interrupt"
            last_loud = t[loud[-1]]
            latencies.append(last_loud - t_int)
            after = np.abs(x[(t > t_int + 0.2) & (t < t_int + 0.6)])
            assert after.max() < 1e-3, "sound still at the monitor 200 ms after interrupt()"
    monitor.stop()
    print(
        "\ninterrupt -> silence at app_speaker.monitor (upper bound, incl. recorder "
        f"latency): {', '.join(f'{1000 * x:.0f}' for x in latencies)} ms"
    )
    assert max(latencies) < 0.2


# --------------------------------------------------------------------------- device loss


def test_a_microphone_that_dies_is_device_lost_and_comes_back_when_plugged_in(
    pulse_devices: PulseServer, speech_wav: Callable[..., Path]
) -> None:
    mic = MicrophoneSource()
    with mic:
        for _ in range(5):
            assert mic.read(2.0) is not None
        # The device fails under the stream, and then is unplugged altogether.
        assert pulse_devices.kill_app_streams("source-output") == 1
        pulse_devices.remove_room()
        t_kill = time.monotonic()
        with pytest.raises(AudioError) as err:
            for _ in range(200):
                mic.read(0.1)
        assert err.value.code == "device-lost" and err.value.recoverable
        assert "microphone" in err.value.message
        assert time.monotonic() - t_kill < 2.0
        with pytest.raises(AudioError):  # stays lost until recovered
            mic.read(0.1)

        plug_in = threading.Timer(1.5, pulse_devices.build_topology)
        plug_in.start()
        t_recover = time.monotonic()
        assert mic.recover(max_wait_s=15.0)
        took = time.monotonic() - t_recover
        plug_in.join()
        assert took >= 1.4, "recover() claimed success while the device was gone"
        assert took < 8.0

        reader = MicReader(mic)
        pulse_devices.play_into_room(speech_wav("Is my cat all right?"))
        heard = reader.stop()
    assert rms(heard) > 0.01, "nothing was heard after recovering"


def test_a_microphone_that_goes_silent_is_device_lost(pulse_devices: PulseServer) -> None:
    mic = MicrophoneSource(stall_timeout_s=0.5)
    with mic:
        for _ in range(3):
            assert mic.read(2.0) is not None
        pulse_devices.pactl("suspend-sink", "room", "1")  # the device stops delivering
        try:
            t0 = time.monotonic()
            with pytest.raises(AudioError) as err:
                for _ in range(100):
                    mic.read(0.1)
            assert err.value.code == "device-lost"
            assert 0.3 < time.monotonic() - t0 < 2.0
        finally:
            pulse_devices.pactl("suspend-sink", "room", "0")
        assert mic.recover(max_wait_s=10.0)
        assert mic.read(2.0) is not None


def test_recover_gives_up_after_max_wait(pulse_devices: PulseServer) -> None:
    mic = MicrophoneSource()
    with mic:
        assert mic.read(2.0) is not None
        pulse_devices.kill_app_streams("source-output")
        pulse_devices.remove_room()
        with pytest.raises(AudioError):
            for _ in range(100):
                mic.read(0.1)
        t0 = time.monotonic()
        assert not mic.recover(max_wait_s=1.0)
        assert time.monotonic() - t0 < 2.5
        with pytest.raises(AudioError) as err:
            mic.read(0.1)
        assert err.value.code == "device-lost"


def test_stop_cancels_a_recovery_in_progress(pulse_devices: PulseServer) -> None:
    mic = MicrophoneSource()
    mic.start()
    assert mic.read(2.0) is not None
    pulse_devices.kill_app_streams("source-output")
    pulse_devices.remove_room()
    with pytest.raises(AudioError):
        for _ in range(100):
            mic.read(0.1)
    threading.Timer(0.8, mic.stop).start()
    t0 = time.monotonic()
    assert not mic.recover(max_wait_s=30.0)
    assert time.monotonic() - t0 < 3.0


def test_a_speaker_that_dies_is_device_lost_and_recovers(
    pulse_devices: PulseServer,
) -> None:
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32)
    with SpeakerSink() as sink:
        sink.play(tone[: SR // 10], SR)
        assert sink.drain(2.0)
        assert pulse_devices.kill_app_streams("sink-input") == 1
        time.sleep(0.5)
        with pytest.raises(AudioError) as err:
            sink.play(tone, SR)
        assert err.value.code == "device-lost"
        assert sink.recover(max_wait_s=5.0)
        monitor = pulse_devices.record(f"{APP_SPEAKER}.monitor")
        sink.begin_utterance()
        sink.play(tone, SR)
        assert sink.drain(3.0)
        time.sleep(0.3)
        heard = monitor.stop().samples
    assert rms(heard) > 0.05


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("Error opening InputStream: Device unavailable", -9985), "device-busy"),
        (
            ("Error: Unanticipated host error", -9999, (8, -16, "Device or resource busy")),
            "device-busy",
        ),
        (("Error opening InputStream: Invalid device", -9996), "device-not-found"),
        (
            ("Error: Unanticipated host error", -9999, (8, -19, "No such device")),
            "device-not-found",
        ),
        (("Error: Unanticipated host error", -9999, (8, -5, "Input/output error")), "device-error"),
    ],
)
def test_portaudio_errors_become_errors_a_person_can_act_on(args: tuple, code: str) -> None:
    sd = pytest.importorskip("sounddevice")
    device = audio.AudioDevice(3, "USB Mic", "ALSA", 1, 0, 48_000, False, False)
    err = audio._error_from_portaudio(sd.PortAudioError(*args), "input", device)
    assert err.code == code and err.recoverable
    assert "'USB Mic'" in err.message
    if code == "device-busy":
        assert "in use by another program" in err.message
    else:
        assert "Plug in a microphone or choose another in Settings > Audio." in err.message
