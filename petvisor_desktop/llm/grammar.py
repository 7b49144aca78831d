"""GBNF grammars generated from tool schemas.

A tool schema is a small JSON-Schema subset: an object whose properties are strings (free,
with a length cap, an enum, or a pattern of digits) or integers. Every call is rendered as one
flat JSON object, `{"tool": "<name>", "<prop>": <value>, ...}`, with properties in schema
order, optional ones omitted. The fixed order keeps the output short and the grammar small;
the prompt's examples show the same order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolSchema:
    """A tool the model may call: a name, a description and JSON-Schema-like properties."""

    name: str
    description: str
    properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def narrowed(self, **enums: Sequence[str] | None) -> ToolSchema:
        """A copy whose listed string properties accept only the given values.

        An empty sequence removes the property (nothing is valid for it at this step); None
        leaves it as it is."""
        props: dict[str, Mapping[str, Any]] = {}
        for key, spec in self.properties.items():
            values = enums.get(key)
            if values is None:
                props[key] = spec
            elif values:
                props[key] = {**spec, "enum": list(dict.fromkeys(values))}
        return ToolSchema(
            self.name, self.description, props, tuple(r for r in self.required if r in props)
        )

    def signature(self) -> str:
        """One line for the prompt: name(prop: type, ...) - description."""
        parts = []
        for key, spec in self.properties.items():
            if "enum" in spec:
                kind = "|".join(str(v) for v in spec["enum"][:12])
                if len(spec["enum"]) > 12:
                    kind += "|..."
            else:
                kind = spec.get("description", spec.get("type", "string"))
            parts.append(f"{key}: {kind}")
        return f"{self.name}({', '.join(parts)}) - {self.description}"


_SAFE_RULE = re.compile(r"[^a-zA-Z0-9-]")


def _rule_name(*parts: str) -> str:
    return "-".join(_SAFE_RULE.sub("-", p) for p in parts).lower()


def _literal(text: str) -> str:
    """A GBNF string literal that matches `text` exactly (as JSON-encoded text)."""
    return json.dumps(text)


def _json_string_literal(value: str) -> str:
    """GBNF for the JSON encoding of `value`, quotes included."""
    return _literal(json.dumps(value))


def _value_rule(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type", "string")
    if "enum" in spec:
        return "(" + " | ".join(_json_string_literal(str(v)) for v in spec["enum"]) + ")"
    if kind == "integer":
        return '("-"? [0-9]{1,6})'
    if kind == "string":
        pattern = spec.get("gbnf")
        if pattern:
            return f'("\\"" {pattern} "\\"")'
        max_len = int(spec.get("maxLength", 60))
        # Free text: printable characters without quotes, backslashes or braces.
        return f'("\\"" [^"\\\\{{}}\\x00-\\x1f]{{1,{max_len}}} "\\"")'
    raise ValueError(f"unsupported property type {kind!r}")


def tool_call_grammar(tools: Sequence[ToolSchema]) -> str:
    """A GBNF grammar whose sentences are exactly the valid calls of `tools`."""
    if not tools:
        raise ValueError("at least one tool is needed")
    lines = ["root ::= " + " | ".join(_rule_name("call", t.name) for t in tools)]
    for tool in tools:
        body = [
            f'"{{" {_literal(chr(34) + "tool" + chr(34) + ":")} {_json_string_literal(tool.name)}'
        ]
        for key, spec in tool.properties.items():
            item = f'"," {_literal(json.dumps(key) + ":")} {_value_rule(spec)}'
            body.append(item if key in tool.required else f"({item})?")
        body.append('"}"')
        lines.append(f"{_rule_name('call', tool.name)} ::= " + " ".join(body))
    return "\n".join(lines) + "\n"


def parse_call(text: str, tools: Sequence[ToolSchema]) -> tuple[str, dict[str, Any]]:
    """Parse a generated call and check it against the schemas (grammar output always passes;
    this guards text from any other source)."""
    data = json.loads(text)
    if not isinstance(data, dict) or "tool" not in data:
        raise ValueError("a tool call is a JSON object with a 'tool' field")
    by_name = {t.name: t for t in tools}
    tool = by_name.get(data.pop("tool"))
    if tool is None:
        raise ValueError("unknown tool")
    args: dict[str, Any] = {}
    for key, value in data.items():
        spec = tool.properties.get(key)
        if spec is None:
            raise ValueError(f"unknown argument {key!r} for {tool.name}")
        if "enum" in spec and value not in spec["enum"]:
            raise ValueError(f"{key}={value!r} is not one of the allowed values")
        args[key] = value
    return tool.name, args


def forced_text(tools: Sequence[ToolSchema], text: str) -> str:
    """What every valid call of `tools` that starts with `text` writes next, up to the next
    choice ("" when the next character is a choice, or `text` is no call's prefix). The
    model need not choose these characters one token at a time: `LlamaChatModel` evaluates
    them in one batch. Derived from the schemas, as the grammar is."""
    forced = ""
    while step := _forced_step(tools, text + forced):
        forced += step
    return forced


def _forced_step(tools: Sequence[ToolSchema], text: str) -> str:
    """`forced_text` up to the end of the key, value or name being written."""
    heads = {t.name: '{"tool":' + json.dumps(t.name) for t in tools}
    tool = next((t for t in tools if text.startswith(heads[t.name])), None)
    if tool is None:
        return _common_rest(heads.values(), text)
    rest = text[len(heads[tool.name]) :]
    keys = list(tool.properties)
    index = 0  # the next key that may come
    while True:
        if rest.startswith("}"):
            return ""
        open_keys = []  # the keys that may come next: up to the first required one
        for key in keys[index:]:
            open_keys.append(key)
            if key in tool.required:
                break
        items = {k: "," + json.dumps(k) + ":" for k in open_keys}
        chosen = next((k for k in open_keys if rest.startswith(items[k])), None)
        if chosen is None:
            ends = [
                *items.values(),
                *(["}"] if all(k not in tool.required for k in open_keys) else []),
            ]
            return _common_rest(ends, rest)
        rest = rest[len(items[chosen]) :]
        index = keys.index(chosen) + 1
        spec = tool.properties[chosen]
        value = _value_end(spec, rest)
        if value is None:  # the value is still being written
            if "enum" in spec:
                return _common_rest([json.dumps(str(v)) for v in spec["enum"]], rest)
            return '"' if not rest and spec.get("type", "string") == "string" else ""
        rest = rest[value:]


def _value_end(spec: Mapping[str, Any], rest: str) -> int | None:
    """Where the value at the start of `rest` ends, or None while it is not complete."""
    if "enum" in spec:
        encoded = [json.dumps(str(v)) for v in spec["enum"]]
        return next((len(e) for e in encoded if rest.startswith(e)), None)
    if spec.get("type", "string") == "integer":
        match = re.match(r"-?[0-9]+", rest)
        return match.end() if match and match.end() < len(rest) else None
    if not rest.startswith('"'):
        return None
    close = rest.find('"', 1)
    return close + 1 if close > 0 else None


def _common_rest(options: Any, text: str) -> str:
    """The longest text that every option starting with `text` continues with."""
    matching = [o[len(text) :] for o in options if o.startswith(text)]
    if not matching:
        return ""
    first = matching[0]
    length = 0
    while length < len(first) and all(
        len(m) > length and m[length] == first[length] for m in matching
    ):
        length += 1
    return first[:length]
