"""Thinking ahead: the voice loop runs the model on the words heard so far while the caller is
silent; the answer is used only when the same words arrive in the same dialog state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from model_util import CountingModel

from petvisor_desktop.engine import BookingBackend, booking_backend, load_llm, new_assistant
from petvisor_desktop.settings import Settings

pytestmark = [pytest.mark.llm]
QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"


@pytest.fixture(scope="module")
def backend(settings: Settings) -> Iterator[BookingBackend]:
    with booking_backend(settings, now="2026-11-23T09:00", sandbox_only=True) as b:
        yield b


def _at_clinician_step(settings: Settings, backend: BookingBackend, model: Any) -> Any:
    pinned = backend.sandbox.pinned_now if backend.sandbox else None
    assistant = new_assistant(settings, backend, model, now=lambda: pinned)
    turn = assistant.respond("I'd like a consultation for my cat please")
    assert turn.expecting == "clinician", turn.text
    return assistant


def test_a_foreseen_answer_is_used_without_a_second_model_call(
    settings: Settings, require_model: Any, backend: BookingBackend
) -> None:
    require_model("llm", QUICK_LLM)
    model = CountingModel(load_llm(settings, QUICK_LLM))
    ahead = _at_clinician_step(settings, backend, model)
    plain = _at_clinician_step(settings, backend, model)
    foresight = ahead.foresee("Doctor Norman please")
    assert foresight is not None and foresight.calls
    assert ahead.expecting == "clinician"  # foreseeing changed nothing
    before = model.calls
    with_foresight = ahead.respond("Doctor Norman please", foresight)
    assert model.calls == before  # no model call: the answer was ready
    without = plain.respond("Doctor Norman please")
    assert (with_foresight.text, with_foresight.expecting) == (without.text, without.expecting)
    assert with_foresight.llm_ms > 0  # the model's time is still reported


def test_other_words_or_another_state_do_not_use_it(
    settings: Settings, require_model: Any, backend: BookingBackend
) -> None:
    require_model("llm", QUICK_LLM)
    model = CountingModel(load_llm(settings, QUICK_LLM))
    assistant = _at_clinician_step(settings, backend, model)
    foresight = assistant.foresee("Doctor Norman")
    before = model.calls
    turn = assistant.respond("Doctor Norman, on Thursday afternoon", foresight)
    assert model.calls == before + 1  # the caller went on speaking: asked afresh
    assert turn.expecting == "time"
    # A plain phone number at the phone step needs no model at all.
    assert assistant.foresee("") is None
