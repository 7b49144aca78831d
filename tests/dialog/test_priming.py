"""While a reply is spoken, the model is readied for the caller's answer (`Assistant.prime`):
the prompt up to where the answer's words go (the question asked, the times offered) is
evaluated then, so that a call for the answer evaluates only the words. The answer is the
same; the call is shorter by the question's tokens (10 ms each on this 2-core machine)."""

from __future__ import annotations

from typing import Any

import pytest

from petvisor_desktop.engine import BookingBackend, load_llm, new_assistant
from petvisor_desktop.settings import Settings

pytestmark = [pytest.mark.llm]
QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"
OPENING = "I'd like a consultation for my cat with Dr Norman on Thursday afternoon"
# An answer to the offered times that the rules leave to the model (words about the pet).
ANSWER = "The first one, and could you note that she has been limping"


def test_an_answer_after_priming_costs_only_its_own_words(
    settings: Settings, require_model: Any, backend: BookingBackend
) -> None:
    require_model("llm", QUICK_LLM)
    model = load_llm(settings, QUICK_LLM)
    pinned = backend.sandbox.pinned_now if backend.sandbox else None
    turns = {}
    for primed in (False, True):
        assistant = new_assistant(settings, backend, model, now=lambda: pinned)
        assistant.warm()
        offer = assistant.respond(OPENING)
        assert offer.expecting == "time", offer.text
        assistant.warm()  # the prompt back to its fixed prefix, as after any other call
        evaluated = assistant.prime() if primed else 0
        assert (evaluated > 15) == primed  # the question and the three times offered
        turns[primed] = (assistant.respond(ANSWER), evaluated)
    (plain, _), (after, evaluated) = turns[False], turns[True]
    assert plain.tokens_in > 0 and after.tokens_in == plain.tokens_in - evaluated
    assert (after.text, after.card) == (plain.text, plain.card)
