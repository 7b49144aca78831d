"""A scripted chat model: the test double at the LLM boundary (the only double the dialog
tests allow), so that whole conversations run through the real policy, grounding, replies,
repair and sandbox clinic in seconds, with no model file.

It answers each `complete` call from a script, in exactly the form the real model gives: one
compact JSON tool call, keys in the order of the grammar the assistant handed it, and only
what that grammar admits (a time that was not offered, a tool not open at this step or a
species not in the catalogue fails the test, as the real model could never produce it). A
caller line the script has no answer for fails the test with the line and the prompt, so no
test passes on an answer nobody wrote.

    model = ScriptedChatModel([
        ("consultation for my cat", {"tool": "update", "species": "Cat"}),
        ("the first one", lambda p: {"tool": "update", "time": p.offered[0]}),
        ("the um", {"tool": "other"}),
        ("hmm", LlmError("context", "the prompt does not fit the context")),
    ])

The entry whose words occur in the caller's line (case-insensitive) answers, the longest such
words when several do (so "her name is actually Luna" wins over "Mittens" in "her name is
actually Luna, not Mittens"); a callable answer is given the `Prompt` (the caller's words,
what was asked, the times offered). A whole script may also be one callable of the `Prompt`,
returning None where it has no answer.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

from petvisor_desktop.llm.chat_model import ChatMessage, Completion, LlamaChatModel, LlmError

# What a script entry answers: a tool call (a mapping with "tool", or its JSON text), an
# LlmError the model raises, or a function of the prompt giving one of those.
Answer: TypeAlias = "Mapping[str, Any] | str | LlmError | Callable[[Prompt], Any]"
Script: TypeAlias = (
    "Sequence[tuple[str, Answer]] | Mapping[str, Answer] | Callable[[Prompt], Any | None]"
)

# The per-turn user message (dialog/tools.py `user_message`).
_USER_MESSAGE = re.compile(
    r"\AAsked: (?P<asked>[^\n]*)(?:\nOffered times: (?P<offered>[^\n]*))?"
    r"\nCaller: (?P<caller>.*)\Z",
    re.S,
)
_CHARS_PER_TOKEN = 3.0  # about what Qwen's tokenizer gives on these prompts and calls


@dataclass(frozen=True)
class Prompt:
    """What the model was asked on one call, read from the last user message."""

    caller: str  # the caller's words
    asked: str  # what the assistant was waiting for ("which time", "shall I book it")
    offered: tuple[str, ...]  # the times offered, "HH:MM"
    message: str  # the last user message, whole
    grammar: str  # the GBNF grammar the call must follow

    def tools(self) -> tuple[str, ...]:
        """The tools open at this step."""
        return tuple(_tool_rules(self.grammar))


@dataclass(frozen=True)
class ModelCall:
    """One call as the double answered it ("" when it raised)."""

    prompt: Prompt
    output: str


class ScriptedChatModel:
    """Implements `ChatModel` (and `warm`, as `LlamaChatModel` does) from a script."""

    def __init__(self, script: Script) -> None:
        if callable(script):
            self._entries: list[tuple[str, Answer]] = []
            self._fallback: Callable[[Prompt], Any | None] | None = script
        else:
            items = script.items() if isinstance(script, Mapping) else script
            self._entries = [(words, answer) for words, answer in items]
            self._fallback = None
            for words, _answer in self._entries:
                assert words.strip(), "a script entry needs the caller's words it answers"
        self._used = [False] * len(self._entries)
        self.calls: list[ModelCall] = []
        self._last_prompt = ""

    # -- the ChatModel interface ---------------------------------------------------------------
    def complete(
        self,
        messages: list[ChatMessage],
        grammar: str,
        max_tokens: int = 96,
        forced: Callable[[str], str] | None = None,
    ) -> Completion:
        started = time.perf_counter()
        prompt = _read_prompt(messages, grammar, max_tokens)
        answer = self._answer_for(prompt)
        if isinstance(answer, LlmError):
            self.calls.append(ModelCall(prompt, ""))
            raise answer
        text = _as_model_output(answer, prompt)
        if forced is not None:
            _check_forced(text, forced, prompt)
        tokens_out = math.ceil(len(text) / _CHARS_PER_TOKEN)
        assert tokens_out <= max_tokens, (
            f"{text!r} is longer than the {max_tokens} tokens the real model may write; it "
            f"would stop part-way (caller line {prompt.caller!r})"
        )
        rendered = LlamaChatModel.render(messages)
        # As llama.cpp's KV cache does: only the part after the last prompt's common prefix
        # is evaluated again.
        common = _common_prefix(rendered, self._last_prompt)
        self._last_prompt = rendered
        self.calls.append(ModelCall(prompt, text))
        total_ms = (time.perf_counter() - started) * 1000
        return Completion(
            text=text,
            tokens_in=max(1, math.ceil((len(rendered) - common) / _CHARS_PER_TOKEN)),
            tokens_prompt=math.ceil(len(rendered) / _CHARS_PER_TOKEN),
            tokens_out=tokens_out,
            first_token_ms=total_ms,
            total_ms=total_ms,
            grammar_ms=0.0,
            grammar_fallbacks=0,
        )

    def warm(self, messages: list[ChatMessage], cache_dir: Any = None) -> float:
        """The fixed prompt is "evaluated": the next call reuses it as the real cache would."""
        self._last_prompt = LlamaChatModel.render(messages)
        return 0.0

    # -- what the test can check ---------------------------------------------------------------
    def unused(self) -> list[str]:
        """The caller words of script entries no call needed: a sign the test does not go
        the way its author thought (rules understood the line, or it was never said)."""
        return [
            words for (words, _a), used in zip(self._entries, self._used, strict=True) if not used
        ]

    def assert_all_used(self) -> None:
        unused = self.unused()
        assert not unused, (
            f"the model was never asked about {unused}: the rules understood those lines "
            "without it, or the conversation went another way; asked about: "
            f"{[c.prompt.caller for c in self.calls]}"
        )

    def asked_about(self, words: str) -> list[ModelCall]:
        """The calls whose caller line contains `words`."""
        return [c for c in self.calls if words.casefold() in c.prompt.caller.casefold()]

    # -- helpers -------------------------------------------------------------------------------
    def _answer_for(self, prompt: Prompt) -> Any:
        said = prompt.caller.casefold()
        matching = [i for i, (words, _a) in enumerate(self._entries) if words.casefold() in said]
        if matching:
            # The most specific entry: "her name is Luna, not Mittens" over "Mittens".
            i = max(matching, key=lambda j: (len(self._entries[j][0]), -j))
            self._used[i] = True
            answer = self._entries[i][1]
            return answer(prompt) if callable(answer) else answer
        found = self._fallback(prompt) if self._fallback is not None else None
        if found is None:
            raise AssertionError(
                f"the scripted model has no answer for the caller line {prompt.caller!r}\n"
                f"(script entries: {[w for w, _a in self._entries]})\n"
                f"prompt's last user message:\n{prompt.message}"
            )
        return found


def _read_prompt(messages: list[ChatMessage], grammar: str, max_tokens: int) -> Prompt:
    assert messages, "the model was called with no messages"
    assert all(m.role in ("system", "user", "assistant") for m in messages), messages
    assert messages[0].role == "system", "the prompt starts with the system message"
    last = messages[-1]
    assert last.role == "user", f"the prompt must end with the caller's turn, not {last!r}"
    assert max_tokens > 0, max_tokens
    assert grammar.strip(), "the model was called without a grammar"
    match = _USER_MESSAGE.match(last.content)
    assert match, (
        "the last user message is not in the form dialog/tools.py user_message writes "
        f"(the double reads it to find the caller's line):\n{last.content}"
    )
    offered = match["offered"]
    return Prompt(
        caller=match["caller"],
        asked=match["asked"],
        offered=tuple(offered.split(", ")) if offered else (),
        message=last.content,
        grammar=grammar,
    )


def _as_model_output(answer: Any, prompt: Prompt) -> str:
    """The text the real model would write for `answer`, checked against the step's grammar."""
    if isinstance(answer, Mapping):
        text = _render(answer, prompt)
    elif isinstance(answer, str):
        text = answer
    else:
        raise AssertionError(
            f"a script answer is a tool call (mapping or JSON text) or an LlmError, not "
            f"{answer!r} (caller line {prompt.caller!r})"
        )
    assert grammar_accepts(prompt.grammar, text), (
        f"the real model could not write {text} at this step: its grammar does not admit it "
        f"(tools open: {', '.join(prompt.tools())}; times offered: {list(prompt.offered)}).\n"
        f"Caller line {prompt.caller!r}; asked {prompt.asked!r}"
    )
    return text


def _render(call: Mapping[str, Any], prompt: Prompt) -> str:
    """Compact JSON, "tool" first and the arguments in the grammar's order (the schema's),
    as greedy grammar-constrained decoding writes it."""
    args = dict(call)
    tool = args.pop("tool", None)
    rules = _tool_rules(prompt.grammar)
    assert tool in rules, (
        f"tool {tool!r} is not open at this step (open: {', '.join(rules)}); caller line "
        f"{prompt.caller!r}"
    )
    rule = rules[tool]

    def place(key: str) -> int:
        at = rule.find(json.dumps(json.dumps(key) + ":"))
        assert at >= 0, f"{tool} takes no argument {key!r}; caller line {prompt.caller!r}"
        return at

    parts = [f'"tool":{json.dumps(tool)}']
    for key in sorted(args, key=place):
        parts.append(f"{json.dumps(key)}:{json.dumps(args[key], ensure_ascii=False)}")
    return "{" + ",".join(parts) + "}"


# -- the grammar, read as a regular expression ---------------------------------------------------
# grammar.tool_call_grammar writes a small regular subset of GBNF: string literals, character
# classes, {m,n} repeats, groups, alternatives, ? * + and references to non-recursive rules.
_GBNF_TOKEN = re.compile(
    r"\s*(?:(?P<lit>\"(?:[^\"\\]|\\.)*\")|(?P<cls>\[(?:[^\]\\]|\\.)*\])"
    r"|(?P<rep>\{\d+(?:,\d*)?\})|(?P<op>[()|?*+])|(?P<ref>[a-zA-Z0-9-]+))"
)


def _rules(grammar: str) -> dict[str, str]:
    rules: dict[str, str] = {}
    for line in grammar.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, body = line.partition("::=")
        if not sep:
            raise AssertionError(f"not a GBNF rule (the double reads one rule a line): {line!r}")
        rules[name.strip()] = body
    return rules


def _tool_rules(grammar: str) -> dict[str, str]:
    """Each open tool's rule, by tool name (read from its `"tool":"<name>"` literal)."""
    found: dict[str, str] = {}
    for body in _rules(grammar).values():
        match = re.match(r'\s*"\{" "\\"tool\\":" "\\"([^"\\]+)\\""', body)
        if match:
            found[match[1]] = body
    return found


def _regex(rules: dict[str, str], name: str, depth: int = 0) -> str:
    if depth > 16:
        raise AssertionError("the grammar is recursive; the double reads only regular grammars")
    if name not in rules:
        raise AssertionError(f"the grammar refers to an undefined rule {name!r}")
    body, out, pos = rules[name], [], 0
    while body[pos:].strip():
        match = _GBNF_TOKEN.match(body, pos)
        if match is None:
            raise AssertionError(f"GBNF the double cannot read, in {name}: {body[pos:][:40]!r}")
        pos = match.end()
        if match["lit"]:
            out.append(re.escape(json.loads(match["lit"])))
        elif match["cls"] or match["rep"]:
            out.append(match["cls"] or match["rep"])
        elif match["op"]:
            out.append("(?:" if match["op"] == "(" else match["op"])
        else:
            out.append(f"(?:{_regex(rules, match['ref'], depth + 1)})")
    return "".join(out)


@lru_cache(maxsize=64)
def _compiled(grammar: str) -> re.Pattern[str]:
    return re.compile(_regex(_rules(grammar), "root"), re.S)


def grammar_accepts(grammar: str, text: str) -> bool:
    """Whether `text` is a sentence of the GBNF `grammar` (the subset grammar.py writes)."""
    return _compiled(grammar).fullmatch(text) is not None


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _check_forced(text: str, forced: Callable[[str], str], prompt: Prompt) -> None:
    """The real model takes what `forced` says as written without asking; at every point of
    a valid call, that must be what the call goes on with."""
    for end in range(len(text) + 1):
        so_far = text[:end]
        ahead = forced(so_far)
        assert text.startswith(so_far + ahead) or (so_far + ahead).startswith(text), (
            f"after {so_far!r} the forced text {ahead!r} contradicts the call {text!r} "
            f"(caller line {prompt.caller!r})"
        )
