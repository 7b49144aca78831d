"""The fixed prompt's KV cache kept on disk: the next start loads it instead of evaluating
~1,200 tokens again, and the answers are the same as from a freshly evaluated prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from petvisor_desktop.llm.chat_model import ChatMessage, LlamaChatModel
from petvisor_desktop.llm.grammar import ToolSchema, tool_call_grammar

pytestmark = [pytest.mark.llm]
QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"
PREFIX = [
    ChatMessage("system", "You take bookings for a vet clinic. " * 40),
    ChatMessage("user", "Reply with a tool call."),
    ChatMessage("assistant", '{"tool": "update", "arguments": {"species": "Dog"}}'),
]
TOOLS = [
    ToolSchema(
        "update", "what the caller said", {"species": {"type": "string", "enum": ["Cat", "Dog"]}}
    )
]


def test_the_prefix_cache_is_saved_loaded_and_answers_the_same(
    require_model: Any, tmp_path: Path
) -> None:
    path = require_model("llm", QUICK_LLM).file()
    question = [*PREFIX, ChatMessage("user", "It's for my cat")]
    grammar = tool_call_grammar(TOOLS)

    first = LlamaChatModel.load(path, n_ctx=2048)
    first.warm(PREFIX, tmp_path)
    saved = list(tmp_path.glob("prefix-*.kv"))
    assert len(saved) == 1 and saved[0].stat().st_size > 1_000_000
    fresh = first.complete(question, grammar)
    del first

    second = LlamaChatModel.load(path, n_ctx=2048)
    loaded_ms = second.warm(PREFIX, tmp_path)
    cached = second.complete(question, grammar)
    assert cached.text == fresh.text and '"Cat"' in cached.text
    # Only the new question was evaluated: the prefix came from the file.
    assert cached.tokens_in == fresh.tokens_in < 40
    print(f"prefix loaded from disk in {loaded_ms:.0f} ms")

    # A damaged cache file is dropped and the prefix evaluated again.
    saved[0].write_bytes(b"\0" * 1000)
    third = LlamaChatModel.load(path, n_ctx=2048)
    third.warm(PREFIX, tmp_path)
    assert third.complete(question, grammar).text == fresh.text


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads /proc")
def test_the_weights_are_held_once(require_model: Any) -> None:
    from petvisor_desktop.memory import resident

    path = require_model("llm", QUICK_LLM).file()
    before = resident()
    model = LlamaChatModel.load(path, n_ctx=2048)
    model.complete([*PREFIX, ChatMessage("user", "It's for my dog")], tool_call_grammar(TOOLS))
    after = resident()
    model.close()
    assert before is not None and after is not None
    # Read into llama.cpp's own buffers, not also mapped: the file's pages are not resident
    # beside them (with the file mapped, 1.1 GB of the 1.5B model's were).
    assert after.llm_file == 0
    size_mb = path.stat().st_size / 1e6
    assert after.own - before.own < size_mb + 300


def test_a_primed_prompt_leaves_only_the_callers_words_to_evaluate(require_model: Any) -> None:
    """`prefill`: the prompt up to where the caller's words go is evaluated before they
    come; the call then evaluates only the words (and the turn's closing tokens), and
    answers exactly as without it."""
    path = require_model("llm", QUICK_LLM).file()
    model = LlamaChatModel.load(path, n_ctx=2048)
    grammar = tool_call_grammar(TOOLS)
    opening = "Asked: which animal\nCaller:"
    question = [*PREFIX, ChatMessage("user", f"{opening} It's for my cat")]
    model.warm(PREFIX)
    plain = model.complete(question, grammar)
    model.warm(PREFIX)  # the prefix alone again, as after a call at another step
    evaluated = model.prefill(PREFIX, opening)
    # (Its first token, <|im_start|>, may be cached already: the warmed prompt ends with one.)
    assert evaluated >= len(model.tokenize(f"<|im_start|>user\n{opening}")) - 1
    assert model.prefill(PREFIX, opening) == 0  # already there: nothing to do
    primed = model.complete(question, grammar)
    assert primed.text == plain.text and '"Cat"' in primed.text
    assert primed.tokens_in == plain.tokens_in - evaluated
