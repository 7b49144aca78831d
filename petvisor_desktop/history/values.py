"""How `History` stores moments (timezone-aware, as UTC ISO text) and reads them back, and the
check of a value against its allowed choices. Package-private: shared by the parts of
`History`, not meant for use outside `petvisor_desktop.history`."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime

# The moment a write was asked for, while `history.spool` writes it later (a full disk made it
# wait): rows get the time things happened, not the time space came back.
asked_at: ContextVar[datetime | None] = ContextVar("asked_at", default=None)


def _now() -> datetime:
    return asked_at.get() or datetime.now(UTC)


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware (e.g. datetime.now(UTC))")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _opt_ts(moment: datetime | None) -> str | None:
    return None if moment is None else _ts(moment)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _opt_dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _check_choice(kind: str, value: object, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{kind} must be one of {', '.join(allowed)}; got {value!r}")
    return value
