"""Typed Vetstoria errors, each with a short code, a human message and a `retryable` flag that
is decided once, from the HTTP status, in `error_for_status`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class VetstoriaError(Exception):
    """Base of every error the client raises; `code` is short and stable, `message` is human."""

    code: str = "error"

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable

    def __str__(self) -> str:
        where = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.code}: {self.message}{where}"


class AuthError(VetstoriaError):
    """The credentials or the token were refused; retrying will not help."""

    code = "auth"


class NotFoundError(VetstoriaError):
    """The site, location or resource does not exist (usually a wrong setting)."""

    code = "not_found"


class SlotTakenError(VetstoriaError):
    """The slot is no longer free; look again and offer what is."""

    code = "slot_taken"


class RateLimitedError(VetstoriaError):
    """Too many requests; wait `retry_after_s` (when Vetstoria said) and try again."""

    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        retryable: bool = True,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, status=status, retryable=retryable)
        self.retry_after_s = retry_after_s


class UnavailableError(VetstoriaError):
    """Vetstoria could not be reached or answered with a server error or not in time."""

    code = "unavailable"

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message, status=status, retryable=retryable)


class BadResponseError(VetstoriaError):
    """The answer was not what the API promises (wrong content type, unreadable JSON, ...)."""

    code = "bad_response"


class BadRequestError(VetstoriaError):
    """Vetstoria refused the request as malformed (400 and other client errors)."""

    code = "bad_request"


def parse_retry_after(value: str | float | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return max(0.0, float(value))
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _message_from_body(body: str | bytes | None, limit: int = 200) -> str:
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "title"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                text = value.strip()
                break
    return text[:limit]


def error_for_status(
    status: int, body: str | bytes | None = None, retry_after: str | float | None = None
) -> VetstoriaError:
    """The typed error for a non-success HTTP status; the only place `retryable` is decided."""
    detail = _message_from_body(body)

    def text(default: str) -> str:
        return f"{default}: {detail}" if detail else default

    if status in (401, 403):
        return AuthError(text("Vetstoria refused the credentials"), status=status, retryable=False)
    if status == 404:
        return NotFoundError(text("not found at Vetstoria"), status=status, retryable=False)
    if status == 409:
        return SlotTakenError(text("the slot is no longer free"), status=status, retryable=False)
    if status == 429:
        return RateLimitedError(
            text("Vetstoria asked us to slow down"),
            status=status,
            retryable=True,
            retry_after_s=parse_retry_after(retry_after),
        )
    if status == 408 or 500 <= status <= 599:
        # 501 and 505 mean the server will never handle this request, so waiting is pointless.
        retryable = status not in (501, 505)
        return UnavailableError(
            text("Vetstoria had a server problem"), status=status, retryable=retryable
        )
    if 400 <= status <= 499:
        return BadRequestError(
            text("Vetstoria refused the request"), status=status, retryable=False
        )
    return BadResponseError(
        text(f"unexpected HTTP status {status}"), status=status, retryable=False
    )
