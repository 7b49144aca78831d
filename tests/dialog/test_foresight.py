"""Thinking ahead: the voice loop prepares the reply to the words heard so far while the caller
is silent; it is committed only when the same words arrive, as surely heard, in the same
dialog state (a booking is placed only at commit: tests/dialog/test_prepare_commit.py)."""

from __future__ import annotations

from typing import Any

import pytest
from model_util import CountingModel

from petvisor_desktop.engine import BookingBackend, load_llm, new_assistant
from petvisor_desktop.settings import Settings

pytestmark = [pytest.mark.llm]
QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"
# An answer with words about the pet, so that the model is asked for a note (a plain "Doctor
# Norman please" is read by the rules alone, and there is no model call to save).
VET = "Doctor Norman please, she is nervous with other vets"


def _at_clinician_step(settings: Settings, backend: BookingBackend, model: Any) -> Any:
    pinned = backend.sandbox.pinned_now if backend.sandbox else None
    assistant = new_assistant(settings, backend, model, now=lambda: pinned)
    turn = assistant.respond("I'd like a consultation for my cat please")
    assert turn.expecting == "clinician", turn.text
    return assistant


def test_a_reply_prepared_ahead_is_committed_without_a_second_model_call(
    settings: Settings, require_model: Any, backend: BookingBackend
) -> None:
    require_model("llm", QUICK_LLM)
    model = CountingModel(load_llm(settings, QUICK_LLM))
    ahead = _at_clinician_step(settings, backend, model)
    plain = _at_clinician_step(settings, backend, model)
    rows_before = len(ahead.turns)
    foreseen = ahead.foresee(VET, 0.8)
    assert foreseen is not None and foreseen.text
    assert ahead.expecting == "clinician" and len(ahead.turns) == rows_before  # no trace
    before = model.calls
    with_foreseen = ahead.respond(VET, foreseen, confidence=0.8)
    assert model.calls == before  # no model call: the reply was ready
    assert with_foreseen.prepared_ahead and with_foreseen.text == foreseen.text
    without = plain.respond(VET, confidence=0.8)
    assert not without.prepared_ahead
    assert (with_foreseen.text, with_foreseen.expecting) == (without.text, without.expecting)
    assert with_foreseen.llm_ms > 0  # the model's time is still reported


def test_other_words_another_confidence_or_another_state_do_not_use_it(
    settings: Settings, require_model: Any, backend: BookingBackend
) -> None:
    require_model("llm", QUICK_LLM)
    model = CountingModel(load_llm(settings, QUICK_LLM))
    assistant = _at_clinician_step(settings, backend, model)
    foreseen = assistant.foresee(VET)
    before = model.calls
    turn = assistant.respond(f"{VET}, on Thursday afternoon", foreseen)
    assert model.calls == before + 1  # the caller went on speaking: asked afresh
    assert turn.expecting == "time" and not turn.prepared_ahead
    # Prepared before that turn: the conversation has moved on, so it is not used.
    stale = assistant.respond(VET, foreseen)
    assert not stale.prepared_ahead
    # Heard less surely at the end than when prepared: prepared afresh (the confidence
    # decides whether a heard value is checked with the caller).
    again = _at_clinician_step(settings, backend, model)
    unsure = again.respond(VET, again.foresee(VET, 0.9), confidence=0.3)
    assert not unsure.prepared_ahead
    assert assistant.foresee("") is None
