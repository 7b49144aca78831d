"""Checking a request body field by field, as the sandbox clinic does before it acts: each
check raises `Invalid` with a message that names the field, which becomes a 400 answer."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from vetstoria.sandbox import demo
from vetstoria.sandbox.http import Request


class Invalid(Exception):
    """A request the sandbox refuses; becomes a JSON {"message"} answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def json_object(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise Invalid(f"Content-Type must be application/json, got {media or 'none'}")
    try:
        data = json.loads(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise Invalid("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise Invalid(f"the body is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise Invalid("the body is nested too deeply") from None
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    return data


def get_field(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise Invalid(f"{where}{key} is required")
    return obj[key]


def int_field(obj: dict[str, Any], key: str, where: str = "") -> int:
    value = get_field(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{where}{key} must be a whole number")
    return value


def str_field(obj: dict[str, Any], key: str, where: str = "", *, required: bool = False) -> str:
    value = get_field(obj, key, where)
    if not isinstance(value, str):
        raise Invalid(f"{where}{key} must be a string")
    if required and not value.strip():
        raise Invalid(f"{where}{key} must not be empty")
    return value


def object_field(obj: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    value = get_field(obj, key, where)
    if not isinstance(value, dict):
        raise Invalid(f"{where}{key} must be an object")
    return value


def list_field(obj: dict[str, Any], key: str, where: str = "") -> list[Any]:
    value = get_field(obj, key, where)
    if not isinstance(value, list):
        raise Invalid(f"{where}{key} must be an array")
    return value


def check_optional(obj: dict[str, Any], key: str, kind: type, where: str) -> None:
    """A field that may be absent or null, but has `kind` when given."""
    value = obj.get(key)
    if value is None:
        return
    ok = (
        isinstance(value, bool)
        if kind is bool
        else (isinstance(value, kind) and not isinstance(value, bool))
    )
    if not ok:
        raise Invalid(f"{where}{key} has the wrong type")


def instant_field(obj: dict[str, Any], key: str, where: str) -> datetime:
    text = str_field(obj, key, where)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{where}{key} is not an ISO-8601 date-time: {text[:40]!r}") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(f"{where}{key} must include a UTC offset, e.g. 2026-11-23T09:00:00+00:00")
    return value


def known_id(value: int, names: dict[int, str], what: str) -> int:
    if value not in names:
        raise Invalid(f"unknown {what} {value}; this clinic has {sorted(names)}")
    return value


def appointment_field(raw: Any, where: str) -> tuple[int, int]:
    if not isinstance(raw, dict):
        raise Invalid(f"{where} must be an object")
    int_field(raw, "index", where + ".")
    type_id = known_id(
        int_field(raw, "appointmentTypeId", where + "."),
        demo.APPOINTMENT_TYPES,
        "appointmentTypeId",
    )
    species_id = known_id(int_field(raw, "speciesId", where + "."), demo.SPECIES, "speciesId")
    return type_id, species_id
