"""Audio I/O without a sound server: the streaming resampler and framer the microphone uses,
WAV reading, the WAV/pushed-audio sources and the recording sink. The stand-ins keep time on
a ManualClock, so their pacing is checked exactly and without sleeping; one test each checks
that they keep real time by default."""

from __future__ import annotations

import struct
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from manual_clock import ManualClock

from petvisor_desktop.voice import audio
from petvisor_desktop.voice.audio import (
    FrameResampler,
    PushSource,
    RecordingSink,
    WavFileSource,
    read_wav,
)
from petvisor_desktop.voice.base import FRAME_SAMPLES, SAMPLE_RATE_HZ, AudioError

SR = SAMPLE_RATE_HZ


def sine(freq: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def write_pcm16(path: Path, frames: np.ndarray, rate: int) -> Path:
    """frames: (n, channels) float in [-1, 1]."""
    pcm = (np.clip(frames, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def riff(
    fmt_tag: int, channels: int, rate: int, bits: int, payload: bytes, data_size: int | None = None
) -> bytes:
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * align, align, bits)
    size = len(payload) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", size) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --------------------------------------------------------------------------- resampling


def test_resampler_turns_48k_blocks_into_exact_16k_frames_keeping_the_tone() -> None:
    rate = 48_000
    x = sine(1000, 1.0, rate)
    framer = FrameResampler(rate)
    frames = []
    # Odd block sizes, as a device might deliver, so block edges fall mid-frame.
    pos = 0
    for size in [1000, 1536, 441, 2048, 17] * 40:
        if pos >= len(x):
            break
        framer.push(x[pos : pos + size])
        pos += size
        while (item := framer.pop()) is not None:
            frames.append(item[0])
    assert frames, "no frames came out"
    assert all(f.shape == (FRAME_SAMPLES,) and f.dtype == np.float32 for f in frames)
    y = np.concatenate(frames)
    # 1 s in, minus what soxr still holds, is out: the rate really is 16 kHz.
    assert abs(len(y) - SR) <= FRAME_SAMPLES + 200
    assert abs(peak_hz(y, SR) - 1000) <= 2
    # No discontinuities at block or frame edges: past the filter's start-up, the output is
    # a clean 1 kHz sine (least-squares fit), sample for sample.
    steady = y[400:]
    t = (np.arange(len(steady)) + 400) / SR
    basis = np.stack([np.sin(2 * np.pi * 1000 * t), np.cos(2 * np.pi * 1000 * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, steady, rcond=None)
    residual = steady - basis @ coef
    assert np.max(np.abs(residual)) < 2e-3
    assert np.max(np.abs(np.diff(steady))) < 2 * np.pi * 1000 / SR * 0.5 * 1.01
    assert abs(np.hypot(*coef) - 0.5) < 0.01


def test_resampler_output_does_not_depend_on_how_input_is_blocked() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(44_100).astype(np.float32) * 0.1

    def run(sizes: list[int]) -> np.ndarray:
        framer = FrameResampler(44_100)
        out, pos, i = [], 0, 0
        while pos < len(x):
            framer.push(x[pos : pos + sizes[i % len(sizes)]])
            pos += sizes[i % len(sizes)]
            i += 1
            while (item := framer.pop()) is not None:
                out.append(item[0])
        return np.concatenate(out)

    a, b = run([1411]), run([64, 3000, 777])
    n = min(len(a), len(b))
    assert n > 14_000
    np.testing.assert_allclose(a[:n], b[:n], atol=1e-5)


def test_frame_times_follow_the_capture_clock() -> None:
    rate, block = 48_000, 1536
    framer = FrameResampler(rate)
    t0 = 1000.0
    times = []
    for k in range(60):  # blocks whose last sample was captured at t0 + (k+1)*32 ms
        framer.push(np.zeros(block, np.float32), end_time=t0 + (k + 1) * block / rate)
        while (item := framer.pop()) is not None:
            times.append(item[1])
    assert len(times) >= 55
    # Frame j's last sample is at t0 + (j+1)*32 ms of signal time, whatever soxr holds back.
    expected = t0 + (np.arange(len(times)) + 1) * FRAME_SAMPLES / SR
    assert np.max(np.abs(np.array(times) - expected)) < 1e-3


# --------------------------------------------------------------------------- WAV reading


def test_reads_stereo_44k_int16_as_mono_16k(tmp_path: Path) -> None:
    left = sine(440, 1.0, 44_100, 0.6)
    right = sine(440, 1.0, 44_100, 0.2)
    path = write_pcm16(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 44_100)
    source = WavFileSource(path, realtime=False)
    frames = []
    with pytest.raises(EOFError):
        while True:
            frame = source.read(1.0)
            assert frame is not None and frame.shape == (FRAME_SAMPLES,)
            assert frame.dtype == np.float32
            frames.append(frame)
    y = np.concatenate(frames)
    assert len(frames) == int(np.ceil(SR / FRAME_SAMPLES))
    assert abs(peak_hz(y[:SR], SR) - 440) <= 2
    # The channels are averaged: amplitude (0.6 + 0.2) / 2.
    assert abs(np.max(np.abs(y[1000:15000])) - 0.4) < 0.01
    assert source.duration_s == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    ("tag", "bits", "encode"),
    [
        (1, 8, lambda x: ((x * 127) + 128).astype(np.uint8).tobytes()),
        (1, 24, lambda x: b"".join(int(v * 8388607).to_bytes(3, "little", signed=True) for v in x)),
        (1, 32, lambda x: (x * 2147483647).astype("<i4").tobytes()),
        (3, 32, lambda x: x.astype("<f4").tobytes()),
        (3, 64, lambda x: x.astype("<f8").tobytes()),
    ],
)
def test_reads_other_sample_formats(tmp_path: Path, tag: int, bits: int, encode) -> None:
    x = sine(300, 0.1, 8000, 0.5)
    path = tmp_path / f"f{tag}-{bits}.wav"
    path.write_bytes(riff(tag, 1, 8000, bits, encode(x)))
    y, rate = read_wav(path)
    assert rate == 8000 and y.shape == (len(x), 1)
    np.testing.assert_allclose(y[:, 0], x, atol=1.0 / 100 if bits == 8 else 1e-4)


def test_reads_wav_whose_length_was_never_filled_in(tmp_path: Path) -> None:
    x = (sine(300, 0.1, 8000) * 32767).astype("<i2").tobytes()
    path = tmp_path / "piped.wav"
    path.write_bytes(riff(1, 1, 8000, 16, x, data_size=0xFFFFFFFF))
    y, _ = read_wav(path)
    assert len(y) == 800


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.wav", b"these are not the samples you are looking for", "not a WAV file"),
        ("empty.wav", b"", "not a WAV file"),
        ("cut.wav", riff(1, 1, 16000, 16, b"\x00\x01" * 100, data_size=64_000), "truncated"),
        ("nochannels.wav", riff(1, 0, 16000, 16, b"\x00\x00" * 100), "0 channels"),
        ("twelve.wav", riff(1, 1, 16000, 12, b"\x00\x00" * 100), "unsupported sample format"),
        ("mp3.wav", riff(0x55, 1, 16000, 16, b"\x00\x00" * 100), "0x0055"),
        ("silent.wav", riff(1, 1, 16000, 16, b""), "no audio"),
        (
            "nofmt.wav",
            b"RIFF\x10\x00\x00\x00WAVEdata\x04\x00\x00\x00\x00\x00\x00\x00",
            "no format chunk",
        ),
    ],
)
def test_malformed_audio_is_a_bad_audio_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError) as err:
        WavFileSource(path)
    assert err.value.code == "bad-audio"
    assert err.value.message.startswith(f"{name}: ")
    assert reason in err.value.message


def test_missing_file_is_a_bad_audio_error(tmp_path: Path) -> None:
    with pytest.raises(AudioError) as err:
        read_wav(tmp_path / "gone.wav")
    assert err.value.code == "bad-audio" and "gone.wav" in err.value.message


# --------------------------------------------------------------------------- sources


def test_wav_source_paces_at_real_time(tmp_path: Path) -> None:
    seconds = 1.0
    path = write_pcm16(tmp_path / "tone.wav", sine(500, seconds, SR)[:, None], SR)
    clock = ManualClock()
    source = WavFileSource(path, realtime=True, clock=clock, wait=clock.wait)
    source.start()
    t0 = clock()
    arrivals, stamps = [], []
    with pytest.raises(EOFError):
        while True:
            if source.read(1.0) is not None:
                arrivals.append(clock() - t0)
                stamps.append(source.last_frame_time)
    frames = int(np.ceil(seconds * SR / FRAME_SAMPLES))
    assert len(arrivals) == frames
    # Frame k is released at (k+1) * 32 ms, neither early nor drifting late, and stamped so.
    due = (np.arange(frames) + 1) * FRAME_SAMPLES / SR
    np.testing.assert_allclose(arrivals, due, atol=1e-9)
    np.testing.assert_allclose(np.array(stamps) - t0, due, atol=1e-9)


def test_wav_source_read_times_out_with_none_before_a_frame_is_due(tmp_path: Path) -> None:
    path = write_pcm16(tmp_path / "tone.wav", sine(500, 0.5, SR)[:, None], SR)
    clock = ManualClock()
    source = WavFileSource(path, realtime=True, clock=clock, wait=clock.wait)
    source.start()
    t0 = clock()
    assert source.read(0.005) is None  # the first frame is due 32 ms after start
    assert clock() - t0 == pytest.approx(0.005)
    assert source.read(0.2) is not None
    assert clock() - t0 == pytest.approx(FRAME_SAMPLES / SR)


def test_wav_source_loops(tmp_path: Path) -> None:
    path = write_pcm16(tmp_path / "short.wav", sine(500, 0.1, SR)[:, None], SR)
    source = WavFileSource(path, realtime=False, loop=True)
    frames = [source.read(0.1) for _ in range(20)]  # 0.64 s from a 0.1 s file, no EOF
    assert all(f is not None for f in frames)


def test_push_source_is_a_live_microphone_with_silence_between_lines() -> None:
    clock = ManualClock()
    source = PushSource(realtime=True, clock=clock, wait=clock.wait)
    source.start()
    t0 = clock()
    speech = sine(300, 0.2, 22_050, 0.5)
    got: list[np.ndarray] = []
    first = [source.read(0.5) for _ in range(3)]  # nothing fed yet: silence, paced
    assert all(f is not None and not f.any() for f in first)
    source.feed(speech, 22_050)
    for _ in range(12):
        frame = source.read(0.5)
        assert frame is not None
        got.append(frame)
    y = np.concatenate(got)
    loud = np.flatnonzero(np.abs(y) > 0.1)
    # 0.2 s of speech came out, then silence again.
    assert (loud[-1] - loud[0]) / SR == pytest.approx(0.2, abs=0.01)
    assert not y[loud[-1] + 20 :].any()
    assert clock() - t0 == pytest.approx(15 * FRAME_SAMPLES / SR)  # one frame every 32 ms
    source.end_input()
    with pytest.raises(EOFError):
        source.read(0.5)


def test_push_source_keeps_real_time_by_default() -> None:
    source = PushSource()
    source.start()
    t0 = time.monotonic()
    for _ in range(3):
        assert source.read(0.5) is not None
    assert time.monotonic() - t0 >= 3 * FRAME_SAMPLES / SR - 0.002


def test_push_source_without_idle_silence_waits_for_input() -> None:
    source = PushSource(realtime=False, idle_silence=False)
    assert source.read(0.05) is None
    threading.Timer(0.05, source.feed, args=(np.ones(100, np.float32) * 0.5,)).start()
    frame = source.read(2.0)
    assert frame is not None and np.count_nonzero(frame) == 100


# --------------------------------------------------------------------------- recording sink


def test_recording_sink_plays_at_real_time_and_interrupts_within_a_tick() -> None:
    tick = 0.01
    clock = ManualClock(threads=1)  # the sink's clock thread
    sink = RecordingSink(realtime=True, tick_ms=10, clock=clock, wait=clock.wait)
    sink.start()
    try:
        clock.settle()  # the clock thread has taken its first (silent) tick
        sink.begin_utterance()
        assert sink.started_at is None and sink.played_s == 0.0
        t_play = clock()
        sink.play(sine(440, 2.0, 22_050), 22_050)
        assert sink.busy
        clock.advance(0.4)
        assert sink.started_at == pytest.approx(t_play + tick)  # from the next tick on
        t_int = clock()
        played = sink.interrupt()
        assert played == pytest.approx(t_int - sink.started_at, abs=tick + 1e-6)
        assert sink.drain(0.2), "still busy 200 ms after interrupt()"
        assert clock() - t_int <= tick + 1e-6  # silent from the next tick
        after = sink.played_s
        assert after == played  # interrupted between ticks: nothing more was taken
        assert len(sink.recording()) == pytest.approx(after * SR, abs=2)
        clock.advance(0.1)
        assert sink.played_s == after  # nothing more came out
        first, since = sink.playback_since(sink.started_at - 0.1)
        assert first is not None
        onset = first + np.flatnonzero(np.abs(since) > 0.1)[0] / SR
        assert onset == pytest.approx(sink.started_at, abs=0.001)
        echo = sink.recent_playback(1.0)
        assert len(echo) == SR
        # The last second holds what was played, then the silence since the interrupt
        # (and silence from before the sink started: the length is always the same).
        loud = np.flatnonzero(np.abs(echo) > 0.1)
        assert (loud[-1] - loud[0]) / SR == pytest.approx(after, abs=0.01)
        assert (len(echo) - loud[-1]) / SR == pytest.approx(clock() - t_int, abs=2 * tick)
    finally:
        sink.stop()


def test_recording_sink_keeps_real_time_by_default() -> None:
    with RecordingSink(realtime=True) as sink:
        t0 = time.monotonic()
        sink.play(np.full(SR // 10, 0.5, np.float32), SR)
        assert sink.drain(2.0)
        assert time.monotonic() - t0 >= 0.1 - 0.011  # 0.1 s of audio, less the tick under way
        assert sink.played_s == pytest.approx(0.1)


def test_recording_sink_drain_plays_everything_including_the_resampler_tail() -> None:
    clock = ManualClock(threads=1)
    sink = RecordingSink(realtime=True, clock=clock, wait=clock.wait)
    with sink:
        sink.begin_utterance()
        t0 = clock()
        x = sine(440, 0.3, 22_050)
        for chunk in np.array_split(x, 7):  # streamed in pieces, as a synthesizer does
            sink.play(chunk, 22_050)
        assert sink.drain(2.0)
        assert clock() - t0 == pytest.approx(0.3, abs=0.02)  # as long as it takes to play
        assert not sink.busy
        y = sink.recording()
        assert len(y) == pytest.approx(0.3 * SR, abs=2)
        assert sink.played_s == pytest.approx(0.3, abs=2 / SR)
        expected = audio.resample(x, 22_050)
        np.testing.assert_allclose(y[100:-100], expected[100 : len(y) - 100], atol=1e-3)


def test_recording_sink_tracks_each_utterance_and_saves_wav(tmp_path: Path) -> None:
    sink = RecordingSink(realtime=False)
    sink.begin_utterance()
    sink.play((sine(440, 0.25, SR) * 32767).astype(np.int16), SR)  # int16 accepted
    assert sink.played_s == pytest.approx(0.25, abs=1e-3)
    assert sink.started_at is not None
    assert sink.drain(0.1) and not sink.busy
    sink.begin_utterance()
    assert sink.played_s == 0.0 and sink.started_at is None
    sink.play(sine(220, 0.5, 8000), 8000)
    assert sink.played_s == pytest.approx(0.5, abs=1e-3)
    assert sink.interrupt() == pytest.approx(0.5, abs=1e-3)
    path = sink.save_wav(tmp_path / "out.wav")
    y, rate = read_wav(path)
    assert rate == SR and len(y) == pytest.approx(0.75 * SR, abs=2)
    assert len(sink.recent_playback(0.5)) == SR // 2
