"""Recognition fitted to a closed question (voice/fit.py): the text rules, and Whisper
tiny.en scoring the choices against real audio (espeak-ng and Piper speech)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import speech_util as su

from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.spoken import SAID_DAYS
from petvisor_desktop.voice.caller_voice import speak_with_espeak
from petvisor_desktop.voice.fit import (
    _substituted,
    fit_to_choices,
    fit_to_likely,
    names_a_choice,
    open_step_choices,
)
from petvisor_desktop.voice.whisper_engine import WhisperTranscriber

VETS = ("Dr Amy Roberts", "Dr Michael Norman", "Whoever is free first")
TIMES = ("9:00am", "9:15am", "11:30am")


def test_a_free_text_that_names_a_choice_is_left_alone() -> None:
    assert names_a_choice("Doctor Roberts please", VETS)
    assert names_a_choice("roberts", VETS)
    assert names_a_choice("nine fifteen please", TIMES)
    assert names_a_choice("9.15 a.m.", TIMES)
    assert names_a_choice("Yes, that's right", ("Yes", "No"))
    assert not names_a_choice("she's a cap", ("Cat", "Dog"))
    assert not names_a_choice("nine fifty", TIMES)


def test_the_choice_replaces_the_misheard_span_and_keeps_the_carrier_words() -> None:
    assert _substituted("She's a cap.", "Cat") == "She's a Cat."
    assert _substituted("Doctor Robbins please", "Dr Amy Roberts") == "Dr Amy Roberts please"
    assert _substituted("", "Dog") == "Dog"
    assert _substituted("mmm", "Whoever is free first") == "Whoever is free first"
    # Fewer words heard than the choice has, and alike: it crashed a spoken turn (an index
    # past the end of the words), seen with the neural caller in noise.
    assert _substituted("Whoever.", "Whoever is free first") == "Whoever is free first"


@pytest.fixture(scope="module")
def whisper(require_model) -> WhisperTranscriber:
    model = require_model("stt-whisper", "faster-whisper-tiny.en")
    return WhisperTranscriber.load(model.path, model_name=model.spec.name)


@pytest.mark.models
@pytest.mark.skipif(not su.have_espeak(), reason="espeak-ng is not installed")
def test_a_misheard_closed_answer_is_fitted_to_the_choice_the_audio_says(
    whisper: WhisperTranscriber,
) -> None:
    scorer = whisper.choice_scorer()
    cases = [
        ("She's a cat", "She's a cap", ("Cat", "Dog"), "Cat"),
        ("Doctor Norman please", "Doctor Gorman please", VETS, "Dr Michael Norman"),
        ("A vaccination", "A vacation", ("Consultation", "Vaccination", "Dental"), "Vaccination"),
    ]
    for said, misheard, choices, want in cases:
        audio = su.espeak(said, voice="en-us+m7", speed=140)
        fitted = fit_to_choices(scorer, audio, misheard, 0.4, choices)
        assert fitted.choice == want, (said, fitted)
        assert fitted.confidence is not None and 0 < fitted.confidence <= 1


@pytest.mark.models
@pytest.mark.skipif(not su.have_espeak(), reason="espeak-ng is not installed")
def test_a_misheard_time_picked_by_its_place_is_fitted_to_that_time(
    whisper: WhisperTranscriber,
) -> None:
    """Run 14 (espeak): "The second one" heard "The Sanken One" went to the language model.
    An offered time is also fitted in the words that pick it by its place; words that
    already say a place are left to the dialog."""
    scorer = whisper.choice_scorer()
    audio = su.espeak("The second one", voice="en-us+m7", speed=140)
    fitted = fit_to_choices(scorer, audio, "The Sanken One", 0.4, TIMES)
    assert fitted.choice == "9:15am" and fitted.text == "the second one", fitted
    said = fit_to_choices(scorer, audio, "The second one", 0.8, TIMES)
    assert said.choice is None and said.text == "The second one"


@pytest.mark.models
@pytest.mark.skipif(not su.have_espeak(), reason="espeak-ng is not installed")
def test_an_answer_off_the_list_stays_free(whisper: WhisperTranscriber) -> None:
    """A correction at a yes/no question, or another day at the time question, is not
    forced into a choice."""
    scorer = whisper.choice_scorer()
    for said, choices in [
        ("Wait, I said Thursday", ("Yes", "No")),
        ("What about Friday instead", TIMES),
    ]:
        audio = su.espeak(said, voice="en-us+m7", speed=140)
        text, conf = whisper.decode(audio)
        fitted = fit_to_choices(scorer, audio, text, conf, choices)
        assert fitted.choice is None and fitted.text == text, (said, fitted)


@pytest.mark.models
def test_the_stream_fits_at_a_closed_step_only(whisper: WhisperTranscriber) -> None:
    audio = su.piper("Whoever is free first.")
    if audio is None or not len(audio):
        pytest.skip("the Piper voice is not installed")
    closed = whisper.stream(["Dr Amy Roberts"], expecting="clinician", choices=VETS)
    for start in range(0, len(audio), 512):
        closed.accept(np.asarray(audio[start : start + 512], dtype=np.float32))
    result = closed.finish()
    assert names_a_choice(result.text, VETS), result


def test_a_date_answer_is_fitted_to_the_day_names_only_when_it_names_no_date() -> None:
    for dated in ("the fourteenth please", "2nd of January", "Thursday afternoon",
                  "next week", "as soon as possible", "tomorrow morning"):  # fmt: skip
        assert open_step_choices("date", dated) == (), dated
    assert open_step_choices("date", "to stay afternoon") == SAID_DAYS
    assert open_step_choices("pet_name", "to stay") == ()  # other open answers stay free


@pytest.mark.models
@pytest.mark.skipif(not su.have_espeak(), reason="espeak-ng is not installed")
def test_a_misheard_day_is_fitted_to_the_day_the_audio_says(whisper: WhisperTranscriber) -> None:
    """Seen in the spoken suite: the espeak caller's "Tuesday afternoon" came out as "to stay
    afternoon", and the date was asked again until the caller was handed off."""
    scorer = whisper.choice_scorer()
    audio = su.espeak("Tuesday afternoon", voice="en-us+m7", speed=140)
    choices = open_step_choices("date", "to stay afternoon")
    fitted = fit_to_choices(scorer, audio, "to stay afternoon", 0.4, choices)
    assert fitted.choice == "Tuesday" and fitted.text == "Tuesday afternoon", fitted


@pytest.mark.models
@pytest.mark.skipif(not su.have_espeak(), reason="espeak-ng is not installed")
def test_an_address_heard_wrong_is_fitted_to_the_callers_names_only_when_the_audio_says_so(
    whisper: WhisperTranscriber,
) -> None:
    """Run 13: espeak's "claire dot robinson at example dot com" came out "...at blampl.com"
    and the address was left off. The caller's names as the address explain the audio
    about as well as the free text, so they are what is read; an address that is not
    made of the names ("bigdog77") stays as heard."""
    scorer = whisper.choice_scorer()
    usual = ("example.com", "gmail.com")
    cases = [
        ("claire dot robinson at example dot com", ("Claire", "Robinson"),
         "claire.robinson@example.com"),
        ("bigdog77 at gmail dot com", ("Claire", "Robinson"), None),
    ]  # fmt: skip
    for said, (first, last), want in cases:
        samples, rate = speak_with_espeak(said)  # the simulated caller's voice
        audio = su.resample(samples, rate)
        text, conf = whisper.decode(audio, "")
        likely = n.likely_addresses(text, first, last, usual)
        fitted = fit_to_likely(scorer, audio, text, conf, likely)
        if want is None:
            assert fitted.choice is None and fitted.text == text, (said, fitted)
        else:
            assert n.parse_email(fitted.text) == want, (said, text, fitted)
            assert fitted.confidence is not None and fitted.confidence < 0.5


@pytest.mark.models
@pytest.mark.skipif(not su.have_espeak(), reason="espeak-ng is not installed")
def test_the_fit_reuses_the_free_decodes_encoding_of_the_turn(whisper: WhisperTranscriber) -> None:
    """Run 17: the e-mail step's "I heard <address>" replies came late because the fit of
    the caller's likely addresses encoded the turn's audio a second time (~170 ms of both
    cores). The turn is encoded once for the decode and the fit; new audio is encoded anew,
    and what the fit finds is the same as with an encoder that remembers nothing."""
    audio = su.espeak("claire dot robinson at example dot com", voice="en-us+m7", speed=140)
    likely = functools.partial(
        n.likely_addresses, first="Claire", last="Robinson", usual=("example.com",)
    )
    before = whisper.model.encoded
    stream = whisper.stream(expecting="email", likely=likely)
    stream.accept(audio)
    fitted = stream.finish()
    assert whisper.model.encoded == before + 1
    other = su.espeak("sarah dot lee at example dot com", voice="en-us+m7", speed=140)
    whisper.decode(other, "")
    assert whisper.model.encoded == before + 2
    # Against a fresh scorer's own encoding (nothing remembered): the same fit.
    whisper.model._encodings.clear()
    scorer = whisper.choice_scorer()
    text, conf = whisper.decode(audio, stream.prompt)
    again = fit_to_likely(scorer, audio, text, conf, likely(text))
    assert (again.text, again.choice) == (fitted.text, fitted.fitted_choice)
