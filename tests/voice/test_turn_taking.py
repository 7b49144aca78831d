"""When the caller has finished (voice/turn_taking.py): with the end-of-turn model a finished
answer ends after a short silence, an unfinished one is waited for, answers in groups keep the
fixed silence, and a failing model falls back to it. Real Smart Turn on real speech."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from petvisor_desktop.voice.audio.convert import resample
from petvisor_desktop.voice.base import FRAME_MS, FRAME_SAMPLES, TurnError
from petvisor_desktop.voice.caller_voice import speak_with_espeak
from petvisor_desktop.voice.turn_taking import TurnTaking, TurnTakingSettings

pytestmark = [pytest.mark.models]


@pytest.fixture(scope="module")
def detector(require_model: Any) -> Any:
    from petvisor_desktop.voice.turn_end import SmartTurnDetector

    installed = require_model("turn")
    return SmartTurnDetector.load(installed.file())


def frames_of(text: str, silence_ms: int) -> list[tuple[np.ndarray, bool]]:
    """`text` spoken, then silence, as the loop's 32 ms frames with a rough speech flag."""
    samples, rate = speak_with_espeak(text)
    audio = np.concatenate([resample(samples, rate), np.zeros(16 * silence_ms, np.float32)])
    audio = audio[: len(audio) // FRAME_SAMPLES * FRAME_SAMPLES]
    out = []
    for frame in audio.reshape(-1, FRAME_SAMPLES):
        out.append((frame, float(np.sqrt(np.mean(frame**2))) > 0.01))
    return out


def ended_after_ms(taking: TurnTaking, frames: list[tuple[np.ndarray, bool]]) -> float | None:
    """Silence after the last speech when `frame` ended the turn; None if it never did."""
    last_speech = 0
    for i, (frame, speech) in enumerate(frames):
        if speech:
            last_speech = i
        if taking.frame(frame, speech):
            return (i - last_speech) * FRAME_MS
    return None


SETTINGS = TurnTakingSettings(mode="model", end_silence_ms=550, check_ms=200, max_silence_ms=1500)


def test_a_finished_answer_ends_after_a_short_silence(detector: Any) -> None:
    taking = TurnTaking(SETTINGS, detector)
    assert taking.begin("date") == 1500  # the segmenter only ends what the model will not
    ended = ended_after_ms(taking, frames_of("Thursday afternoon, please.", 1200))
    assert ended is not None and ended <= 300, taking.checks


def test_an_unfinished_answer_is_waited_for(detector: Any) -> None:
    taking = TurnTaking(SETTINGS, detector)
    taking.begin("none")
    assert ended_after_ms(taking, frames_of("I'd like to book an appointment for my", 700)) is None
    assert taking.checks and all(p < 0.5 for p, _ in taking.checks), taking.checks


def test_answers_in_groups_and_the_silence_mode_keep_the_fixed_silence(detector: Any) -> None:
    taking = TurnTaking(SETTINGS, detector)
    assert taking.begin("phone") == int(550 * 1.8)
    assert ended_after_ms(taking, frames_of("Thursday afternoon, please.", 600)) is None
    assert taking.checks == []
    fixed = TurnTaking(TurnTakingSettings(mode="silence"), detector)
    assert fixed.begin("anything_else") == int(550 * 0.7)
    assert fixed.begin("confirm") == 550  # corrections come in two sentences
    assert ended_after_ms(fixed, frames_of("Yes please.", 600)) is None
    held = TurnTaking(SETTINGS, detector)
    held.begin("date", held=True)  # the talk key's release ends it
    assert ended_after_ms(held, frames_of("Thursday afternoon, please.", 600)) is None


class Broken:
    def probability(self, audio: np.ndarray) -> float:
        raise TurnError("turn-failed", "the end-of-turn model failed: out of memory")


def test_a_failing_model_leaves_the_fixed_silence_to_end_the_turn() -> None:
    taking = TurnTaking(SETTINGS, Broken())
    taking.begin("date")
    assert ended_after_ms(taking, frames_of("Thursday afternoon, please.", 600)) is None
    assert not taking.uses_model or taking.checks == []
