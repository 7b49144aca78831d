"""When the caller has finished (voice/turn_taking.py): with the end-of-turn model a finished
answer ends after a short silence, an unfinished one is waited for, answers in groups keep the
fixed silence, and a failing model falls back to it; the words decoded at a pause hold an
unfinished answer open and keep the model from ending a turn on a greeting or a spelling.
Real Smart Turn on real speech."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from petvisor_desktop.voice.audio.convert import resample
from petvisor_desktop.voice.base import FRAME_MS, FRAME_SAMPLES, TurnError
from petvisor_desktop.voice.caller_voice import speak_with_espeak
from petvisor_desktop.voice.turn_taking import (
    OPEN,
    UNFINISHED,
    WHOLE,
    TurnTaking,
    TurnTakingSettings,
    words_verdict,
)

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


# -- the words decoded at a pause (Whisper) --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Thursday afternoon, please.", WHOLE),
        ("Yes, it is.", WHOLE),  # "is" can end an answer
        ("Hmm, the second one.", WHOLE),
        ("Mm-hmm.", WHOLE),  # a yes, not a hesitation
        ("It's 07 7.0.0.0.0", WHOLE),  # digits are words (and no letters being spelled)
        ("", UNFINISHED),  # an "um" Whisper leaves out, or a cough: waiting costs nothing
        ("Um.", UNFINISHED),
        ("Hi there.", UNFINISHED),  # a greeting before what they came for
        ("Hello, good morning.", UNFINISHED),
        ("My dog is called...", UNFINISHED),
        ("my email is john at", UNFINISHED),
        ("Thursday and", UNFINISHED),
        ("Thursday, erm", UNFINISHED),
        ("B-E-L-L", OPEN),  # a name being spelled
        ("B-E-L-L-A.", OPEN),  # its last letter is "a", not the article
        ("O, K, A.", OPEN),
    ],
)
def test_what_the_words_at_a_pause_say_of_the_turn(text: str, verdict: str) -> None:
    assert words_verdict(text) == verdict


def silence_then(taking: TurnTaking, words: str | None, at_ms: int, total_ms: int) -> int | None:
    """Speech, then `total_ms` of silence with `words` heard after `at_ms` of it (as the
    loop's decode at the pause delivers them); the silence at which the turn ended."""
    speech = np.full(FRAME_SAMPLES, 0.1, np.float32)
    quiet = np.zeros(FRAME_SAMPLES, np.float32)
    for _ in range(20):
        assert not taking.frame(speech, True)
    for i in range(1, total_ms // FRAME_MS + 1):
        if i * FRAME_MS >= at_ms and i * FRAME_MS - FRAME_MS < at_ms:
            taking.heard(words)
        if taking.frame(quiet, False):
            return i * FRAME_MS
    return None


def test_with_the_words_the_fixed_silence_waits_for_an_unfinished_answer() -> None:
    taking = TurnTaking(TurnTakingSettings(mode="silence"))
    assert taking.begin("date", words=True) == 1500  # the longest wait backs it up
    assert silence_then(taking, "Thursday afternoon.", 400, 1400) == 544  # 550 ms: 17 frames
    taking.begin("date", words=True)
    assert silence_then(taking, "Um,", 400, 1400) is None  # "um... Thursday" is not cut
    assert taking.held_by_words == 1
    taking.begin("date", words=True)
    assert silence_then(taking, "Thursday.", 800, 1400) == 800  # not before its words are known
    taking.begin("date", words=True)
    assert silence_then(taking, None, 400, 1400) == 544  # a failed decode says nothing
    assert taking.begin("date", words=False) == 550  # Vosk: the silence alone, as before
    assert taking.begin("date", held=True, words=True) == 550  # the talk key ends it


def test_with_the_words_the_model_ends_a_turn_early_only_on_words_that_can_end_it(
    detector: Any,
) -> None:
    taking = TurnTaking(SETTINGS, detector)
    taking.begin("date", words=True)
    ended = ended_with_words(taking, "Thursday afternoon, please.", "Thursday afternoon, please.")
    assert ended is not None and ended < 550, taking.checks  # sooner than the fixed silence
    taking.begin("none", words=True)
    # Piper's "Hi there." sounds final to the model; the words say the caller is going on.
    assert ended_with_words(taking, "Thursday afternoon, please.", "Hi there.") is None
    taking.begin("pet_name", words=True)
    spelled = ended_with_words(taking, "Thursday afternoon, please.", "B. E. L.")
    assert spelled == 17 * FRAME_MS  # the fixed 550 ms: another letter may follow


def ended_with_words(taking: TurnTaking, said: str, words: str) -> float | None:
    """`said` with 1,200 ms of silence after it, `words` heard 300 ms into the silence."""
    last_speech = 0
    for i, (frame, speech) in enumerate(frames_of(said, 1200)):
        if speech:
            last_speech = i
        elif (i - last_speech) * FRAME_MS == 320:
            taking.heard(words)
        if taking.frame(frame, speech):
            return (i - last_speech) * FRAME_MS
    return None
