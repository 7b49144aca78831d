"""Silero VAD on synthesized speech, and the turn segmenter's rules (pure logic and with the
real model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import speech_util as su

from petvisor_desktop.voice.base import FRAME_MS, FRAME_SAMPLES, VadError
from petvisor_desktop.voice.vad import SegmentEvent, SegmentEventType, SileroVad, TurnSegmenter

FRAME_S = FRAME_MS / 1000
T0 = 1000.0  # an arbitrary monotonic clock origin
SENTENCE = "I'd like to book my cat in with Doctor Norman on Thursday"

needs_espeak = pytest.mark.skipif(not su.have_espeak(), reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def vad(require_model) -> SileroVad:
    return SileroVad.load(require_model("vad").file())


def run(seg: TurnSegmenter, audio: np.ndarray) -> list[SegmentEvent]:
    """Push audio frame by frame; frame i is stamped with the time its last sample arrived."""
    events: list[SegmentEvent] = []
    for i, frame in enumerate(su.frames(audio)):
        events += seg.push(frame, T0 + (i + 1) * FRAME_S)
    return events


def of(events: list[SegmentEvent], kind: SegmentEventType) -> list[SegmentEvent]:
    return [e for e in events if e.type is kind]


class Scripted:
    """A VAD double at the model boundary: replays given probabilities."""

    def __init__(self, probs: list[float]) -> None:
        self.probs = list(probs)
        self.resets = 0

    def probability(self, frame: np.ndarray) -> float:
        return self.probs.pop(0)

    def reset(self) -> None:
        self.resets += 1


def scripted_run(seg: TurnSegmenter, probs: list[float]) -> list[tuple[int, SegmentEvent]]:
    seg.vad = Scripted(probs)
    out = []
    frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
    for i in range(len(probs)):
        out += [(i, e) for e in seg.push(frame, T0 + i * FRAME_S)]
    return out


# -- Pure logic ------------------------------------------------------------------------------


def test_hysteresis_keeps_turn_through_dips_between_thresholds() -> None:
    seg = TurnSegmenter(threshold=0.5, end_silence_ms=320, min_speech_ms=200)
    assert seg.neg_threshold == pytest.approx(0.35)
    probs = [0.0] * 5 + [0.9] * 10 + [0.4] * 40 + [0.1] * 12
    events = scripted_run(seg, probs)
    kinds = [(i, e.type) for i, e in events if e.type is not SegmentEventType.SPEECH]
    # Opens on the 7th frame over the threshold (7 x 32 ms >= 200 ms), ends after 10 frames
    # (320 ms) under neg_threshold, and the 0.4 stretch counts as speech.
    assert kinds == [(11, SegmentEventType.SPEECH_START), (64, SegmentEventType.SPEECH_END)]
    end = events[-1][1]
    assert end.speech_end_t == pytest.approx(T0 + 54 * FRAME_S)
    assert end.speech_start_t == pytest.approx(T0 + 5 * FRAME_S)


def test_short_burst_never_opens_a_turn_and_joins_the_pre_roll() -> None:
    seg = TurnSegmenter(threshold=0.5, end_silence_ms=320, pre_roll_ms=320, min_speech_ms=200)
    events = scripted_run(seg, [0.0] * 5 + [0.95] * 6 + [0.0] * 30)
    assert events == []
    assert not seg.in_speech


def test_brief_gap_inside_the_onset_is_tolerated() -> None:
    seg = TurnSegmenter(threshold=0.5, min_speech_ms=200)
    # A stop consonant: one frame under neg_threshold in the middle of the onset.
    events = scripted_run(seg, [0.9] * 4 + [0.1] + [0.9] * 3)
    assert [e.type for _, e in events] == [SegmentEventType.SPEECH_START]


def test_start_event_carries_pre_roll_and_onset_frames() -> None:
    seg = TurnSegmenter(threshold=0.5, pre_roll_ms=96, min_speech_ms=96)
    seg.vad = Scripted([0.0] * 6 + [0.9] * 3)
    frames = [np.full(FRAME_SAMPLES, i, dtype=np.float32) for i in range(9)]
    events = [e for i, f in enumerate(frames) for e in seg.push(f, T0 + i)]
    (start,) = events
    # 3 pre-roll frames (96 ms), then the 3 onset frames.
    assert [int(f[0]) for f in start.frames] == [3, 4, 5, 6, 7, 8]


def test_set_end_silence_ms_applies_to_the_open_turn() -> None:
    seg = TurnSegmenter(threshold=0.5, end_silence_ms=1000, min_speech_ms=64)
    seg.vad = Scripted([0.9] * 5 + [0.0] * 20)
    frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
    events = []
    for i in range(25):
        if i == 6:
            seg.set_end_silence_ms(192)  # the dialog moved to a yes/no step
        events += [(i, e.type) for e in seg.push(frame, T0 + i * FRAME_S)]
    ends = [i for i, kind in events if kind is SegmentEventType.SPEECH_END]
    assert ends == [4 + 6]


def test_force_end_for_push_to_talk() -> None:
    seg = TurnSegmenter(threshold=0.5, min_speech_ms=200)
    frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
    assert seg.force_end(T0) == []
    seg.vad = Scripted([0.9] * 10)
    for i in range(10):
        seg.push(frame, T0 + i * FRAME_S)
    (end,) = seg.force_end(T0 + 1)
    assert end.type is SegmentEventType.SPEECH_END and end.forced
    assert end.audio is not None and len(end.audio) >= 10 * FRAME_SAMPLES
    assert not seg.in_speech
    # Released while the onset was still being confirmed: the turn is opened and closed.
    seg.vad = Scripted([0.9] * 2)
    seg.push(frame, T0 + 2)
    seg.push(frame, T0 + 2.032)
    kinds = [e.type for e in seg.force_end(T0 + 2.05)]
    assert kinds == [SegmentEventType.SPEECH_START, SegmentEventType.SPEECH_END]


def test_segmenter_needs_a_vad_or_a_probability() -> None:
    seg = TurnSegmenter()
    frame = np.zeros(FRAME_SAMPLES, dtype=np.float32)
    assert seg.push(frame, T0, probability=0.1) == []
    with pytest.raises(VadError) as err:
        seg.push(frame, T0)
    assert err.value.code == "no-vad"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        TurnSegmenter(threshold=1.2)
    with pytest.raises(ValueError):
        TurnSegmenter(threshold=0.5, neg_threshold=0.6)
    with pytest.raises(ValueError):
        TurnSegmenter().set_end_silence_ms(10)


# -- The real model ----------------------------------------------------------------------------


def test_missing_and_corrupt_model_files(tmp_path: Path) -> None:
    with pytest.raises(VadError) as err:
        SileroVad.load(tmp_path / "nothing.onnx")
    assert err.value.code == "model-missing"
    bad = tmp_path / "silero_vad.onnx"
    bad.write_bytes(b"not an onnx model" * 100)
    with pytest.raises(VadError) as err:
        SileroVad.load(bad)
    assert err.value.code == "model-corrupt"
    assert "models pull silero-vad-v6" in err.value.message


@pytest.mark.models
def test_frame_size_is_checked(vad: SileroVad) -> None:
    with pytest.raises(VadError) as err:
        vad.probability(np.zeros(480, dtype=np.float32))
    assert err.value.code == "frame-size"


@pytest.mark.models
@needs_espeak
def test_probability_high_in_speech_low_in_silence_and_noise(vad: SileroVad) -> None:
    def probs(audio: np.ndarray) -> np.ndarray:
        vad.reset()
        return np.array([vad.probability(f) for f in su.frames(audio)])

    assert probs(su.silence(1.0)).max() < 0.1
    assert probs(su.white_noise(2.0, level=0.1)).max() < 0.2
    assert probs(0.1 * su.fan_noise(2.0)).max() < 0.2
    speech = probs(su.espeak(SENTENCE))
    assert np.median(speech) > 0.9
    # int16 frames are accepted as well
    vad.reset()
    loud = (su.espeak("hello there")[: FRAME_SAMPLES * 8] * 32767).astype(np.int16)
    assert max(vad.probability(loud[i : i + 512]) for i in range(0, len(loud), 512)) > 0.5


@pytest.mark.models
@needs_espeak
@pytest.mark.parametrize("end_silence_ms", [320, 700])
def test_turn_timing_on_real_speech(vad: SileroVad, end_silence_ms: int) -> None:
    speech = su.espeak(SENTENCE)
    onset_s, offset_s = 1.0, 1.0 + len(speech) / su.SR
    vad.reset()
    seg = TurnSegmenter(vad, threshold=0.5, end_silence_ms=end_silence_ms, pre_roll_ms=300)
    events = run(seg, su.pad(speech, onset_s, 2.0))
    (start,) = of(events, SegmentEventType.SPEECH_START)
    (end,) = of(events, SegmentEventType.SPEECH_END)
    assert start.speech_start_t is not None and end.speech_end_t is not None
    # Speech is found within 100 ms of its onset (the frame holding it ends up to 32 ms late).
    assert 0 <= start.speech_start_t - (T0 + onset_s) <= 0.1 + FRAME_S
    # The start event itself waits for min_speech_ms of speech.
    assert start.t - start.speech_start_t == pytest.approx(0.192, abs=FRAME_S + 1e-6)
    # The end of speech is placed where the caller stopped (Silero trails by a frame or two).
    assert abs(end.speech_end_t - (T0 + offset_s)) <= 0.1
    # The end is declared end_silence_ms after the last speech frame, within one frame.
    assert abs((end.t - end.speech_end_t) - end_silence_ms / 1000) <= FRAME_S + 1e-6
    # One SPEECH event per frame between start and end.
    n_speech = len(of(events, SegmentEventType.SPEECH))
    assert n_speech == round((end.t - start.t) / FRAME_S)


@pytest.mark.models
@needs_espeak
def test_pre_roll_keeps_the_first_syllable(vad: SileroVad) -> None:
    speech = su.espeak(SENTENCE)
    onset = su.SR  # speech starts 1 s in
    audio = su.pad(speech, 1.0, 1.5)
    vad.reset()
    seg = TurnSegmenter(vad, threshold=0.5, pre_roll_ms=300)
    events = run(seg, audio)
    (start,) = of(events, SegmentEventType.SPEECH_START)
    (end,) = of(events, SegmentEventType.SPEECH_END)
    opened = np.concatenate(start.frames)
    # The start event's audio ends at the frame that confirmed the turn; find where it began.
    confirm_frame = round((start.t - T0) / FRAME_S) - 1
    first_sample = (confirm_frame + 1) * FRAME_SAMPLES - len(opened)
    assert first_sample <= onset - 0.25 * su.SR  # at least ~300 ms before the first sound
    assert np.abs(opened[: onset - first_sample]).max() < 1e-3  # that lead-in is silence
    assert np.array_equal(opened, audio[first_sample : first_sample + len(opened)])
    # The whole turn's audio holds every sample of the speech.
    assert end.audio is not None
    turn_start = first_sample
    assert np.array_equal(end.audio[onset - turn_start :][: len(speech)], speech)


@pytest.mark.models
@needs_espeak
@pytest.mark.parametrize("kind", ["click", "voiced"])
def test_100ms_burst_does_not_start_a_turn(vad: SileroVad, kind: str) -> None:
    # The voiced burst is a 100 ms cut of a vowel: Silero calls it speech for ~5 frames.
    burst = su.click(0.1) if kind == "click" else su.espeak("aaaah")[1000:2600]
    vad.reset()
    seg = TurnSegmenter(vad, threshold=0.5, min_speech_ms=200)
    assert run(seg, su.pad(burst, 0.5, 1.0)) == []
    # A real answer right after the burst still opens exactly one turn.
    vad.reset()
    seg = TurnSegmenter(vad, threshold=0.5, min_speech_ms=200, end_silence_ms=500)
    audio = np.concatenate([su.pad(burst, 0.5, 0.3), su.pad(su.espeak("Yes please"), 0, 1.0)])
    events = run(seg, audio)
    assert len(of(events, SegmentEventType.SPEECH_START)) == 1
    assert len(of(events, SegmentEventType.SPEECH_END)) == 1


@pytest.mark.models
@needs_espeak
def test_pause_shorter_than_end_silence_keeps_one_turn(vad: SileroVad) -> None:
    a, b = su.espeak("Thursday afternoon"), su.espeak("if that is possible")
    vad.reset()
    seg = TurnSegmenter(vad, end_silence_ms=700)
    one = run(seg, np.concatenate([su.pad(a, 0.5, 0.4), su.pad(b, 0, 1.0)]))
    assert len(of(one, SegmentEventType.SPEECH_END)) == 1
    vad.reset()
    seg = TurnSegmenter(vad, end_silence_ms=300)
    two = run(seg, np.concatenate([su.pad(a, 0.5, 0.6), su.pad(b, 0, 1.0)]))
    assert len(of(two, SegmentEventType.SPEECH_END)) == 2
