"""The text a tool call's format forces (`grammar.forced_text`), which the model takes in one
batch instead of a decode per token: never anything a valid call would not write, and, with
the real model, the same calls as generating every token."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

import pytest

from petvisor_desktop.dialog.tools import (
    Catalogue,
    fixed_prompt,
    step_tools,
    user_message,
)
from petvisor_desktop.llm.chat_model import ChatMessage, LlamaChatModel
from petvisor_desktop.llm.grammar import ToolSchema, forced_text, tool_call_grammar

QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"
TOOLS = [
    ToolSchema(
        "update",
        "what the caller said",
        {
            "species": {"type": "string", "enum": ["Cat", "Dog"]},
            "vet": {"type": "string", "enum": ["Dr Amy Roberts", "Dr Michael Norman", "anyone"]},
            "pet": {"type": "string", "maxLength": 30},
            "count": {"type": "integer"},
        },
    ),
    ToolSchema("handoff", "a person", {"reason": {"type": "string"}}, ("reason",)),
]


@pytest.mark.parametrize(
    "call",
    [
        '{"tool":"update","vet":"Dr Amy Roberts","pet":"Rex","count":12}',
        '{"tool":"update","species":"Dog"}',
        '{"tool":"update"}',
        '{"tool":"handoff","reason":"person"}',
    ],
)
def test_forced_text_never_contradicts_a_valid_call(call: str) -> None:
    for end in range(len(call) + 1):
        so_far = call[:end]
        ahead = forced_text(TOOLS, so_far)
        assert call.startswith(so_far + ahead), (so_far, ahead)


@pytest.mark.parametrize(
    ("so_far", "forced"),
    [
        ("", '{"tool":"'),  # the tool names share nothing more
        ('{"tool":"u', 'pdate"'),
        ('{"tool":"update"', ""),  # a key or the end: the model chooses
        ('{"tool":"update",', '"'),
        ('{"tool":"update","v', 'et":"'),
        ('{"tool":"update","vet":"Dr ', ""),  # Amy or Michael
        ('{"tool":"update","vet":"Dr M', 'ichael Norman"'),
        ('{"tool":"update","pet":"Re', ""),  # free text
        ('{"tool":"update","pet":"Rex",', '"count":'),  # the one key left
        ('{"tool":"handoff"', ',"reason":"'),  # a required key
        ('{"tool":"nothing', ""),  # no call starts so
    ],
)
def test_what_is_forced(so_far: str, forced: str) -> None:
    assert forced_text(TOOLS, so_far) == forced


@pytest.mark.llm
def test_with_the_real_model_forced_text_gives_the_same_calls_in_fewer_decodes(
    require_model: Any,
) -> None:
    model = LlamaChatModel.load(require_model("llm", QUICK_LLM).file(), n_ctx=4096)
    catalogue = Catalogue(
        ("Cat", "Dog"),
        ("Vaccinations", "Consultation", "Nurse appointment", "Dental"),
        ("Dr Amy Roberts", "Dr Michael Norman"),
    )
    today = date(2026, 11, 23)
    prefix = fixed_prompt(catalogue, today)
    decodes = {False: 0, True: 0}
    real_eval = model._llama.eval

    def counted(tokens: list[int]) -> None:
        decodes[counting] += 1
        real_eval(tokens)

    model._llama.eval = counted
    for asked, said, offered in [
        ("how can I help", "My dog Rex needs his vaccinations with Dr Norman on Monday", []),
        ("which vet", "Doctor Roberts please", []),
        ("which time", "The second one please", ["09:15", "10:30", "11:45"]),
        ("your name", "Sarah Jones", []),
    ]:
        tools = step_tools(catalogue, today, offered, False)
        messages = [*prefix, ChatMessage("user", user_message(asked, said, offered))]
        grammar = tool_call_grammar(tools)
        calls = {}
        for counting in (False, True):
            forced = partial(forced_text, tools) if counting else None
            calls[counting] = model.complete(messages, grammar, forced=forced)
        assert calls[True].text == calls[False].text, said
        assert calls[True].tokens_out == calls[False].tokens_out
    assert decodes[True] < decodes[False] * 0.9, decodes  # 55 against 67 when written
    model.close()
