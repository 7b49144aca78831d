"""One conversation as JSON (everything) or CSV (one row per turn, for spreadsheets)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import datetime
from typing import Any

from petvisor_desktop.history.records import LATENCY_FIELDS, ConversationDetail, Message

CSV_COLUMNS = (
    "conversation_id",
    "turn_id",
    "role",
    "text",
    "expecting",
    "started_at",
    "ended_at",
    "created_at",
    *LATENCY_FIELDS,
    "tokens_in",
    "tokens_out",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_dict(detail: ConversationDetail, messages: list[Message]) -> dict[str, Any]:
    info = dataclasses.asdict(detail.info)
    return _plain(
        {
            "conversation": info,
            "messages": [dataclasses.asdict(m) for m in messages],
            "bookings": [dataclasses.asdict(b) for b in detail.bookings],
            "handoffs": [dataclasses.asdict(h) for h in detail.handoffs],
            "tool_calls": [dataclasses.asdict(t) for t in detail.tool_calls],
        }
    )


def to_json(detail: ConversationDetail, messages: list[Message]) -> str:
    return json.dumps(to_dict(detail, messages), indent=2, ensure_ascii=False) + "\n"


def to_csv(messages: list[Message]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for m in messages:
        row = {name: getattr(m, name) for name in CSV_COLUMNS if hasattr(m, name)}
        row["conversation_id"] = m.conversation_id
        row["turn_id"] = m.id
        writer.writerow({k: "" if v is None else _plain(v) for k, v in row.items()})
    return out.getvalue()
