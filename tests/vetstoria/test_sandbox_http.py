"""The sandbox clinic seen by a plain HTTP client: every endpoint, and bad input of every kind
answered with 400/401/404/405/413 and a JSON message, never a crash."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from vetstoria_support import raw_token

from vetstoria.paths import Endpoints, build_endpoints
from vetstoria.sandbox import DEMO_SECRET, DEMO_SITE_HASH, SLOT_TAKEN_TEXT, SandboxClinic

GOOD_SLOTS = {
    "scheduleIds": [85268],
    "period": {"from": "2026-11-26T13:00:00+00:00", "to": "2026-11-26T14:00:00+00:00"},
    "appointments": [{"index": 1, "appointmentTypeId": 6964, "speciesId": 2}],
}
GOOD_BOOKING: dict[str, Any] = {
    "locationId": 4242,
    "slot": {"scheduleId": 85268, "partitionId": 2, "dateTime": "2026-11-26T13:00:00+00:00"},
    "client": {
        "id": None,
        "isNewClient": True,
        "firstName": "James",
        "lastName": "Okafor",
        "email": "james.okafor@example.com",
        "phone": "07700900456",
        "postCode": None,
    },
    "appointments": [
        {
            "index": 1,
            "appointmentTypeId": 6964,
            "speciesId": 2,
            "patientId": None,
            "patientName": "Mittens",
            "notes": "",
            "screeningOverrides": [],
        }
    ],
    "isPreferredClinician": False,
}


@pytest.fixture
def urls(clinic: SandboxClinic) -> Endpoints:
    return build_endpoints(clinic.config())


@pytest.fixture
def http(clinic: SandboxClinic) -> Iterator[httpx.Client]:
    token = raw_token(clinic)
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=5) as c:
        yield c


def with_path(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of `data` with one field replaced (value ...: removed)."""
    copy = json.loads(json.dumps(data))
    *parents, last = dotted.split(".")
    target: Any = copy
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    index: Any = int(last) if isinstance(target, list) else last
    if value is ...:
        del target[index]
    else:
        target[index] = value
    return copy


def assert_message(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert fragment.lower() in response.json()["message"].lower()


def still_serving(http: httpx.Client, urls: Endpoints) -> None:
    response = http.post(urls.slots, json=GOOD_SLOTS)
    assert response.status_code == 200
    assert len(response.json()) == 4


def test_every_endpoint_answers(http: httpx.Client, urls: Endpoints, clinic: SandboxClinic) -> None:
    assert [i["name"] for i in http.get(urls.species).json()] == ["Dog", "Cat"]
    assert len(http.get(urls.appointment_types).json()) == 4
    assert [i["id"] for i in http.get(urls.schedules).json()] == [85267, 85268]
    slots = http.post(urls.slots, json=GOOD_SLOTS).json()
    assert slots[0] == {
        "dateTime": "2026-11-26T13:00:00+00:00",
        "scheduleId": 85268,
        "partitionId": 2,
    }
    booked = http.post(urls.bookings, json=GOOD_BOOKING)
    assert booked.status_code == 201
    assert booked.json() == {
        "id": 1,
        "appointments": [{"index": 1, "pimsAppointmentId": "PIMS-700001"}],
    }
    again = http.post(urls.bookings, json=GOOD_BOOKING)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("text/plain")
    assert again.text == SLOT_TAKEN_TEXT
    assert len(http.post(urls.slots, json=GOOD_SLOTS).json()) == 3
    assert len(clinic.bookings()) == 1


def test_auth_validation(clinic: SandboxClinic, urls: Endpoints) -> None:
    site = {"Site-Hash": DEMO_SITE_HASH}
    assert_message(httpx.post(urls.auth, json={"secret": DEMO_SECRET}), 400, "Site-Hash")
    assert_message(
        httpx.post(urls.auth, json={"secret": DEMO_SECRET}, headers={"Site-Hash": "other"}),
        401,
        "invalid",
    )
    assert_message(httpx.post(urls.auth, json={"secret": "wrong"}, headers=site), 401, "invalid")
    assert_message(httpx.post(urls.auth, json={}, headers=site), 400, "secret is required")
    assert_message(
        httpx.post(urls.auth, json={"secret": 7}, headers=site), 400, "secret must be a string"
    )
    bad_json = httpx.post(
        urls.auth, content=b"{secret", headers={**site, "Content-Type": "application/json"}
    )
    assert_message(bad_json, 400, "not valid JSON")
    good = httpx.post(urls.auth, json={"secret": DEMO_SECRET}, headers=site).json()
    assert set(good) == {"token", "expiry"} and good["expiry"].endswith("+00:00")


def test_missing_or_unknown_tokens_are_refused(urls: Endpoints) -> None:
    assert_message(httpx.get(urls.species), 401, "missing bearer token")
    assert_message(
        httpx.get(urls.species, headers={"Authorization": "Bearer nope"}), 401, "unknown token"
    )
    assert_message(httpx.get(urls.species, headers={"Authorization": "Basic abc"}), 401, "bearer")


def test_wrong_paths_and_methods(
    http: httpx.Client, clinic: SandboxClinic, urls: Endpoints
) -> None:
    assert_message(http.get(urls.species.replace("/4242/", "/4243/")), 404, "location")
    assert_message(http.get(urls.species.replace("demo-clinic-4f7c2a", "x")), 404, "site hash")
    assert_message(
        http.post(urls.bookings.replace("demo-booking-9b1e", "x"), json=GOOD_BOOKING),
        404,
        "booking hash",
    )
    assert_message(
        http.get(clinic.url + "/partners/petvisor-demo/nothing"), 404, "no such endpoint"
    )
    response = http.get(urls.slots)
    assert_message(response, 405, "POST")
    assert response.headers["allow"] == "POST"
    assert_message(http.delete(urls.bookings), 405, "POST")
    still_serving(http, urls)


@pytest.mark.parametrize(
    ("content", "content_type", "fragment"),
    [
        (b'{"scheduleIds": [85268],', "application/json", "not valid JSON"),
        (json.dumps(GOOD_SLOTS).encode(), "text/plain", "Content-Type must be application/json"),
        (b"", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object"),
        (b"\xff\xfe{}", "application/json", "not UTF-8"),
        (b"[" * 20000 + b"]" * 20000, "application/json", "nested too deeply"),
    ],
)
def test_unreadable_bodies(
    http: httpx.Client, urls: Endpoints, content: bytes, content_type: str, fragment: str
) -> None:
    response = http.post(urls.slots, content=content, headers={"Content-Type": content_type})
    assert_message(response, 400, fragment)
    still_serving(http, urls)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("scheduleIds", ..., "scheduleIds is required"),
        ("scheduleIds", "85268", "scheduleIds must be an array"),
        ("scheduleIds", [], "at least one"),
        ("scheduleIds", ["85268"], "whole numbers"),
        ("scheduleIds", [True], "whole numbers"),
        ("scheduleIds", [12], "unknown scheduleId 12"),
        ("period", ..., "period is required"),
        ("period.from", ..., "period.from is required"),
        ("period.from", 20261126, "period.from must be a string"),
        ("period.from", "next thursday", "not an ISO-8601"),
        ("period.from", "2026-11-26T13:00:00", "UTC offset"),
        ("period.to", "2026-11-26T12:00:00+00:00", "period.to must be after"),
        ("period.to", "2027-01-26T12:00:00+00:00", "31 days"),
        ("appointments", [], "one appointment"),
        ("appointments.0.speciesId", "2", "speciesId must be a whole number"),
        ("appointments.0.speciesId", 3, "unknown speciesId 3"),
        ("appointments.0.appointmentTypeId", ..., "appointmentTypeId is required"),
        ("appointments.0", "consultation", "must be an object"),
    ],
)
def test_bad_slot_searches(
    http: httpx.Client, urls: Endpoints, field: str, value: Any, fragment: str
) -> None:
    assert_message(http.post(urls.slots, json=with_path(GOOD_SLOTS, field, value)), 400, fragment)
    still_serving(http, urls)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("locationId", ..., "locationId is required"),
        ("locationId", "4242", "locationId must be a whole number"),
        ("locationId", 1, "unknown locationId"),
        ("slot", ..., "slot is required"),
        ("slot.partitionId", ..., "slot.partitionId is required"),
        ("slot.partitionId", 1, "partitionId 1 does not belong"),
        ("slot.scheduleId", 1, "unknown scheduleId"),
        ("slot.dateTime", "2026-11-26 13:00", "UTC offset"),
        ("client.firstName", ..., "client.firstName is required"),
        ("client.firstName", " ", "client.firstName must not be empty"),
        ("client.lastName", None, "client.lastName must be a string"),
        ("client.email", "not-an-email", "not an email address"),
        ("client.phone", "call me", "7 to 15 digits"),
        ("client.isNewClient", "yes", "isNewClient has the wrong type"),
        ("appointments.0.patientName", "", "patientName must not be empty"),
        ("appointments.0.speciesId", 9, "unknown speciesId"),
        ("appointments.0.screeningOverrides", {}, "must be an array"),
        ("appointments", [], "exactly one"),
        ("isPreferredClinician", ..., "isPreferredClinician is required"),
        ("isPreferredClinician", "no", "true or false"),
    ],
)
def test_bad_bookings(
    http: httpx.Client,
    urls: Endpoints,
    clinic: SandboxClinic,
    field: str,
    value: Any,
    fragment: str,
) -> None:
    assert_message(
        http.post(urls.bookings, json=with_path(GOOD_BOOKING, field, value)), 400, fragment
    )
    assert clinic.bookings() == []
    still_serving(http, urls)


def test_a_client_with_only_an_email_or_only_a_phone_may_book(
    http: httpx.Client, urls: Endpoints
) -> None:
    assert (
        http.post(urls.bookings, json=with_path(GOOD_BOOKING, "client.phone", "")).status_code
        == 201
    )
    both_empty = with_path(with_path(GOOD_BOOKING, "client.phone", ""), "client.email", "")
    assert_message(http.post(urls.bookings, json=both_empty), 400, "email or a phone")


def test_an_oversized_body_is_refused(http: httpx.Client, urls: Endpoints) -> None:
    huge = dict(GOOD_BOOKING, padding="x" * 100_000)
    assert_message(http.post(urls.bookings, json=huge), 413, "64 KiB")
    still_serving(http, urls)


def read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (it closes after refusing bad framing)."""
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def test_broken_framing_is_refused(
    clinic: SandboxClinic, http: httpx.Client, urls: Endpoints
) -> None:
    for length in (b"abc", b"-5"):
        with socket.create_connection(("127.0.0.1", clinic.port), timeout=5) as sock:
            sock.sendall(
                b"POST /partners/x HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n"
            )
            answer = read_to_close(sock)
        assert answer.startswith(b"HTTP/1.1 400")
        assert b"Content-Length" in answer
    with socket.create_connection(("127.0.0.1", clinic.port), timeout=5) as sock:
        sock.sendall(
            b"POST /partners/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        assert read_to_close(sock).startswith(b"HTTP/1.1 400")
    still_serving(http, urls)
    with socket.create_connection(("127.0.0.1", clinic.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        answer = read_to_close(sock)
    # No HTTP version on that line means an HTTP/0.9 answer: the body alone, no status line.
    assert json.loads(answer)["message"].startswith("Bad request syntax")
    with socket.create_connection(("127.0.0.1", clinic.port), timeout=5) as sock:
        sock.sendall(b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_to_close(sock)
    assert answer.startswith(b"HTTP/1.1 501") and b"application/json" in answer
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["message"].startswith("Unsupported method")
    still_serving(http, urls)
