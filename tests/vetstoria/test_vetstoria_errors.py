"""Pure logic: status codes to typed errors, Retry-After parsing, fault strings, paths, models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from vetstoria.errors import (
    AuthError,
    BadRequestError,
    BadResponseError,
    NotFoundError,
    RateLimitedError,
    SlotTakenError,
    UnavailableError,
    error_for_status,
    parse_retry_after,
)
from vetstoria.models import BookingRequest, ClientDetails, Slot
from vetstoria.paths import build_endpoints, template_pattern
from vetstoria.sandbox import demo_config, parse_fault


@pytest.mark.parametrize(
    ("status", "cls", "code", "retryable"),
    [
        (400, BadRequestError, "bad_request", False),
        (401, AuthError, "auth", False),
        (403, AuthError, "auth", False),
        (404, NotFoundError, "not_found", False),
        (409, SlotTakenError, "slot_taken", False),
        (413, BadRequestError, "bad_request", False),
        (429, RateLimitedError, "rate_limited", True),
        (500, UnavailableError, "unavailable", True),
        (502, UnavailableError, "unavailable", True),
        (503, UnavailableError, "unavailable", True),
        (501, UnavailableError, "unavailable", False),
        (302, BadResponseError, "bad_response", False),
    ],
)
def test_error_for_status_decides_class_and_retryable(
    status: int, cls: type, code: str, retryable: bool
) -> None:
    error = error_for_status(status, None, None)
    assert type(error) is cls
    assert error.code == code
    assert error.retryable is retryable
    assert error.status == status


def test_error_message_comes_from_json_or_text_body() -> None:
    assert (
        "period.to must be after"
        in error_for_status(400, '{"message": "period.to must be after"}').message
    )
    taken = error_for_status(409, "Timeslot unavailable. Please select a different slot.")
    assert "Timeslot unavailable" in taken.message
    assert "slot_taken" in str(taken) and "409" in str(taken)


def test_retry_after_seconds_and_http_date() -> None:
    error = error_for_status(429, "", "3")
    assert isinstance(error, RateLimitedError) and error.retry_after_s == 3.0
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    parsed = parse_retry_after(when)
    assert parsed is not None and 25 <= parsed <= 31
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("spec", "stage", "kind"),
    [
        ("booking:409", "booking", "409"),
        ("booking:timeout-after-commit", "booking", "timeout-after-commit"),
        ("slots:500", "slots", "500"),
        ("catalogue:content-type", "catalogue", "content-type"),
        ("appointmentTypes:503", "appointmentTypes", "503"),
        ("auth:401", "auth", "401"),
        ("expired", "token", "expired"),
        ("token:expired", "token", "expired"),
    ],
)
def test_fault_strings(spec: str, stage: str, kind: str) -> None:
    fault = parse_fault(spec)
    assert (fault.stage, fault.kind) == (stage, kind)


@pytest.mark.parametrize(
    "spec", ["booking:418", "slots:timeout-after-commit", "nowhere:500", "booking", "auth:expired"]
)
def test_unknown_fault_strings_are_refused_naming_the_allowed(spec: str) -> None:
    with pytest.raises(ValueError, match="allowed: STAGE:KIND"):
        parse_fault(spec)


def test_paths_come_from_the_config() -> None:
    urls = build_endpoints(demo_config("http://127.0.0.1:9999/"))
    loc = "http://127.0.0.1:9999/partners/petvisor-demo/clinics/demo-clinic-4f7c2a/locations/4242"
    assert urls.auth == "http://127.0.0.1:9999/partners/petvisor-demo/authentications"
    assert urls.species == loc + "/species"
    assert urls.appointment_types == loc + "/appointmentTypes"
    assert urls.schedules == loc + "/schedules"
    assert urls.slots == loc + "/slots"
    assert urls.bookings == (
        "http://127.0.0.1:9999/partners/petvisor-demo/clinics/demo-clinic-4f7c2a"
        "/bookings/demo-booking-9b1e"
    )


def test_path_parts_are_percent_encoded_and_matchable() -> None:
    config = demo_config("http://127.0.0.1:9999")
    from dataclasses import replace

    urls = build_endpoints(replace(config, partner_key="a b?c"))
    assert "/partners/a%20b%3Fc/authentications" in urls.auth
    match = template_pattern("/partners/{partner_key}/x/{site_id}").match("/partners/pk/x/12")
    assert match is not None and match.groupdict() == {"partner_key": "pk", "site_id": "12"}


def test_models_keep_personal_data_out_of_repr() -> None:
    slot = Slot(datetime(2026, 11, 26, 13, tzinfo=UTC), 85268, 2)
    request = BookingRequest(
        slot, ClientDetails("James", "Okafor", "j@example.com", "07700900456"), 6964, 2, "Mittens"
    )
    text = repr(request)
    for secret in ("James", "Okafor", "j@example.com", "07700900456", "Mittens"):
        assert secret not in text
    with pytest.raises(ValueError, match="timezone-aware"):
        Slot(datetime(2026, 11, 26, 13), 85268, 2)
