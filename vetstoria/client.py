"""HTTP client for the Vetstoria partner API (layout B): the catalogue, slot search and booking.

Reads are retried with back-off; the booking POST never is. After a lost or failed booking
answer the client looks at the slot again and reports the truth: "unconfirmed" when the booking
may have landed, UnavailableError when the slot is still free and nothing was booked.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeGuard, TypeVar

import httpx

from vetstoria.config import VetstoriaConfig
from vetstoria.errors import (
    BadResponseError,
    RateLimitedError,
    UnavailableError,
    VetstoriaError,
    error_for_status,
)
from vetstoria.models import BookingRequest, BookingResult, CatalogueItem, Slot
from vetstoria.paths import build_endpoints

log = logging.getLogger(__name__)

T = TypeVar("T")

REFRESH_AHEAD_S = 30.0  # renew a token this long before its expiry (less for short lifetimes)
FIRST_BACKOFF_S = 0.25
MAX_WAIT_S = 4.0  # cap on any single back-off wait, including a server's Retry-After
RECHECK_WINDOW = timedelta(hours=1)  # slot search window used to re-check a booked slot
CATALOGUES = ("species", "appointmentTypes", "schedules")


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class VetstoriaClient:
    """One Vetstoria site: token handling, retries, the catalogue cache and booking safety.

    Safe to share between threads; each call is blocking and bounded by the config's timeout
    and retry budget."""

    def __init__(
        self,
        config: VetstoriaConfig,
        *,
        cache_dir: Path | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self._urls = build_endpoints(config)
        self._tz = config.tz
        self._timeout = httpx.Timeout(config.timeout_s)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=self._timeout)
        self._cache_dir = cache_dir
        self._token: str | None = None
        self._refresh_at: float | None = None  # time.monotonic() at which to renew the token
        self._token_lock = threading.Lock()
        self._closed = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Stop any back-off wait and close the HTTP connections this client opened."""
        self._closed.set()
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> VetstoriaClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- catalogue -----------------------------------------------------------------------

    def species(self) -> list[CatalogueItem]:
        """The species the clinic books for."""
        return self._catalogue("species", self._urls.species)

    def appointment_types(self) -> list[CatalogueItem]:
        """The appointment types offered online."""
        return self._catalogue("appointmentTypes", self._urls.appointment_types)

    def schedules(self) -> list[CatalogueItem]:
        """The schedules (one per clinician) that take online bookings."""
        return self._catalogue("schedules", self._urls.schedules)

    def _catalogue(self, name: str, url: str) -> list[CatalogueItem]:
        try:
            items = _parse_catalogue(self._read_json("GET", url, name), name)
        except (UnavailableError, RateLimitedError) as exc:
            # Still refused after the retries: the list changes rarely, so yesterday's is fine.
            cached = self._read_cache(name)
            if cached is None:
                raise
            log.warning("Vetstoria unreachable for %s (%s); using the cached list", name, exc.code)
            return cached
        self._write_cache(name, items)
        return items

    def _cache_file(self, name: str) -> Path | None:
        if self._cache_dir is None:
            return None
        site = re.sub(r"[^A-Za-z0-9_.-]", "_", self.config.site_hash)
        return self._cache_dir / f"{site}-{self.config.site_id}" / f"{name}.json"

    def _write_cache(self, name: str, items: list[CatalogueItem]) -> None:
        path = self._cache_file(name)
        if path is None:
            return
        data = {
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "items": [
                {
                    "id": i.id,
                    "name": i.name,
                    "displayOrder": i.display_order,
                    "isDigitalMarketing": i.is_digital_marketing,
                }
                for i in items
            ],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename so that a crash never leaves half a cache file behind.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("cannot write the %s cache in %s: %s", name, path.parent, exc.strerror)

    def _read_cache(self, name: str) -> list[CatalogueItem] | None:
        path = self._cache_file(name)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return _parse_catalogue(data["items"], name)
        except (OSError, ValueError, KeyError, TypeError, BadResponseError) as exc:
            log.warning("ignoring the unreadable %s cache %s: %s", name, path, exc)
            return None

    # -- slots ---------------------------------------------------------------------------

    def find_slots(
        self,
        *,
        appointment_type_id: int,
        species_id: int,
        schedule_ids: Sequence[int],
        start: datetime,
        end: datetime,
    ) -> list[Slot]:
        """Free slots in [start, end) for the given schedules, sorted by start time.

        Naive datetimes are clinic-local; every time goes out with the clinic's real offset."""
        ids = [int(i) for i in schedule_ids]
        if not ids:
            raise ValueError("find_slots needs at least one schedule id")
        start_local, end_local = self.to_clinic_time(start), self.to_clinic_time(end)
        if end_local <= start_local:
            raise ValueError("find_slots: end must be after start")
        body = {
            "scheduleIds": ids,
            "period": {"from": _iso(start_local), "to": _iso(end_local)},
            "appointments": [
                {"index": 1, "appointmentTypeId": appointment_type_id, "speciesId": species_id}
            ],
        }
        data = self._read_json("POST", self._urls.slots, "slots", body)
        return self._parse_slots(data, ids)

    def to_clinic_time(self, value: datetime) -> datetime:
        """`value` in the clinic's zone; a naive value is taken as clinic wall time."""
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=self._tz)
        # The round trip through UTC settles wall times that fall in a DST gap.
        return value.astimezone(UTC).astimezone(self._tz)

    def _parse_slots(self, data: Any, schedule_ids: list[int]) -> list[Slot]:
        if isinstance(data, dict):
            for key in ("slots", "data"):
                if isinstance(data.get(key), list):
                    data = data[key]
                    break
        if not isinstance(data, list):
            raise BadResponseError("slots: expected a JSON array of slots")
        slots: set[Slot] = set()
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("dateTime"), str):
                raise BadResponseError("slots: an item has no dateTime")
            try:
                when = datetime.fromisoformat(item["dateTime"])
            except ValueError:
                raise BadResponseError("slots: an item has an unreadable dateTime") from None
            schedule = item.get("scheduleId")
            if schedule is None and len(schedule_ids) == 1:
                schedule = schedule_ids[0]  # one schedule asked for: the answer can only be it
            partition = item.get("partitionId")
            if not _is_int(schedule) or not _is_int(partition):
                raise BadResponseError("slots: an item lacks a whole-number scheduleId/partitionId")
            slots.add(Slot(self.to_clinic_time(when), schedule, partition))
        return sorted(slots, key=lambda s: (s.start, s.schedule_id))

    # -- booking -------------------------------------------------------------------------

    def book(self, request: BookingRequest) -> BookingResult:
        """Book one appointment; never retried blindly and never "confirmed" without a 201."""
        slot = request.slot
        body = self._booking_body(request)
        self._retrying("auth", self._bearer)  # a token problem must surface before the POST
        try:
            response = self._authorized("POST", self._urls.bookings, "booking", body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never left: nothing can have been booked.
            raise UnavailableError("could not reach Vetstoria; nothing was booked") from exc
        except httpx.TransportError as exc:
            log.warning("booking answer lost (%s); checking the slot again", type(exc).__name__)
            return self._reconcile(request, f"no answer ({type(exc).__name__})", None)
        status = response.status_code
        if status == 201:
            ids = _appointment_ids(response)
            log.info(
                "booking confirmed: schedule %d, %d appointment id(s)", slot.schedule_id, len(ids)
            )
            detail = "" if ids else "Vetstoria confirmed the booking without appointment ids"
            return BookingResult("confirmed", slot, ids, detail)
        if response.is_success:
            log.warning("booking answered HTTP %d instead of 201; checking the slot again", status)
            return self._reconcile(request, f"HTTP {status} instead of 201", status)
        error = error_for_status(status, response.text, response.headers.get("retry-after"))
        if status >= 500:
            log.warning("booking answered HTTP %d; checking the slot again", status)
            return self._reconcile(request, f"a server error (HTTP {status})", status)
        log.info("booking refused: %s", error.code)
        raise error

    def _booking_body(self, request: BookingRequest) -> dict[str, Any]:
        slot, client = request.slot, request.client
        return {
            "locationId": self.config.site_id,
            "slot": {
                "scheduleId": slot.schedule_id,
                "partitionId": slot.partition_id,
                "dateTime": _iso(self.to_clinic_time(slot.start)),
            },
            "client": {
                "id": None,
                "isNewClient": True,
                "firstName": client.first_name,
                "lastName": client.last_name,
                "email": client.email,
                "phone": client.phone,
                "postCode": None,
            },
            "appointments": [
                {
                    "index": 1,
                    "appointmentTypeId": request.appointment_type_id,
                    "speciesId": request.species_id,
                    "patientId": None,
                    "patientName": request.pet_name,
                    "notes": request.notes,
                    "screeningOverrides": [],
                }
            ],
            "isPreferredClinician": request.is_preferred_clinician,
        }

    def _reconcile(self, request: BookingRequest, what: str, status: int | None) -> BookingResult:
        """After an unclear booking answer: is the slot still offered? Tell the truth either way."""
        slot = request.slot
        start = self.to_clinic_time(slot.start)
        try:
            free = self.find_slots(
                appointment_type_id=request.appointment_type_id,
                species_id=request.species_id,
                schedule_ids=[slot.schedule_id],
                start=start,
                end=start + RECHECK_WINDOW,
            )
        except VetstoriaError as exc:
            log.warning("could not re-check the slot after %s (%s): unconfirmed", what, exc.code)
            return BookingResult(
                "unconfirmed",
                slot,
                detail=f"Vetstoria gave {what} and the slot could not be checked afterwards; "
                "the booking may or may not have been made. Staff must check in Vetstoria.",
            )
        if any(s.start == slot.start and s.schedule_id == slot.schedule_id for s in free):
            log.info("slot still free after %s: nothing was booked", what)
            raise UnavailableError(
                f"Vetstoria gave {what}; the slot is still free, so nothing was booked. "
                "It is safe to try again later.",
                status=status,
            )
        log.warning("slot no longer offered after %s: booking unconfirmed", what)
        return BookingResult(
            "unconfirmed",
            slot,
            detail=f"Vetstoria gave {what}, and the slot is no longer offered: the booking may "
            "have been made. Staff must check in Vetstoria.",
        )

    # -- token ---------------------------------------------------------------------------

    def _bearer(self) -> str:
        """A valid token, authenticating when there is none or it is about to expire."""
        with self._token_lock:
            fresh = self._refresh_at is None or time.monotonic() < self._refresh_at
            if self._token is not None and fresh:
                return self._token
            if self._token is not None:
                log.debug("token close to expiry; authenticating again")
            self._token = None
            self._token, self._refresh_at = self._authenticate()
            return self._token

    def _drop_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:
                self._token = None

    def _authenticate(self) -> tuple[str, float | None]:
        response = self._send(
            "POST",
            self._urls.auth,
            "auth",
            {"secret": self.config.secret},
            {"Site-Hash": self.config.site_hash},
        )
        if not response.is_success:
            raise error_for_status(
                response.status_code, response.text, response.headers.get("retry-after")
            )
        data = _json_body(response, "auth")
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise BadResponseError("auth: the answer has no token", status=response.status_code)
        refresh_at = self._refresh_time(data.get("expiry"))
        log.info("authenticated with Vetstoria site %d", self.config.site_id)
        return token, refresh_at

    def _refresh_time(self, expiry: object) -> float | None:
        """When (monotonic) to renew, from an ISO instant or a number of seconds; None: never."""
        lifetime_s: float | None = None
        if isinstance(expiry, int | float) and not isinstance(expiry, bool):
            lifetime_s = float(expiry)
        elif isinstance(expiry, str):
            try:
                when = datetime.fromisoformat(expiry)
            except ValueError:
                log.warning("ignoring an unreadable token expiry")
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            lifetime_s = (when - datetime.now(UTC)).total_seconds()
        if lifetime_s is None:
            return None
        if lifetime_s <= 0:
            # Our clock and Vetstoria's disagree; a 401 will tell us when to renew.
            log.warning("token expiry is already past by this machine's clock; ignoring it")
            return None
        ahead = min(REFRESH_AHEAD_S, lifetime_s / 4)
        return time.monotonic() + lifetime_s - ahead

    # -- HTTP ----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        stage: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One HTTP exchange; httpx transport errors propagate to the caller."""
        all_headers = {"Accept": "application/json"}
        all_headers.update(headers or {})
        began = time.monotonic()
        response = self._http.request(
            method, url, json=body, headers=all_headers, timeout=self._timeout
        )
        log.debug(
            "%s %s -> %d in %.0f ms",
            method,
            stage,
            response.status_code,
            (time.monotonic() - began) * 1000,
        )
        return response

    def _authorized(self, method: str, url: str, stage: str, body: Any = None) -> httpx.Response:
        """Send with the bearer token; on a 401 authenticate again once and resend once."""
        token = self._bearer()
        response = self._send(method, url, stage, body, {"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            log.info("Vetstoria answered 401 to %s; authenticating again", stage)
            self._drop_token(token)
            token = self._bearer()
            response = self._send(method, url, stage, body, {"Authorization": f"Bearer {token}"})
        return response

    def _read_json(self, method: str, url: str, stage: str, body: Any = None) -> Any:
        """An idempotent call (catalogue or slot search), retried on 429, 5xx and network errors."""

        def attempt() -> Any:
            response = self._authorized(method, url, stage, body)
            if not response.is_success:
                raise error_for_status(
                    response.status_code, response.text, response.headers.get("retry-after")
                )
            return _json_body(response, stage)

        return self._retrying(stage, attempt)

    def _retrying(self, stage: str, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return call()
            except httpx.TransportError as exc:
                error: VetstoriaError = _transport_error(exc, stage, self.config.timeout_s)
                error.__cause__ = exc
            except VetstoriaError as exc:
                error = exc
            if not error.retryable or attempt >= self.config.max_read_retries:
                raise error
            wait_s = FIRST_BACKOFF_S * 2**attempt
            if isinstance(error, RateLimitedError) and error.retry_after_s is not None:
                wait_s = error.retry_after_s
            wait_s = min(wait_s, MAX_WAIT_S)
            attempt += 1
            log.warning(
                "%s failed (%s); retry %d of %d in %.2f s",
                stage,
                error.code,
                attempt,
                self.config.max_read_retries,
                wait_s,
            )
            if self._closed.wait(wait_s):
                raise UnavailableError("the Vetstoria client was closed") from error


def _transport_error(exc: httpx.TransportError, stage: str, timeout_s: float) -> UnavailableError:
    if isinstance(exc, httpx.TimeoutException):
        return UnavailableError(f"{stage}: Vetstoria did not answer within {timeout_s:g} s")
    return UnavailableError(f"{stage}: could not reach Vetstoria ({type(exc).__name__})")


def _json_body(response: httpx.Response, stage: str) -> Any:
    media = _media_type(response)
    if media != "application/json" and not media.endswith("+json"):
        raise BadResponseError(
            f"{stage}: expected JSON, got {media or 'no content type'}",
            status=response.status_code,
        )
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        raise BadResponseError(
            f"{stage}: the answer is not valid JSON", status=response.status_code
        ) from None


def _parse_catalogue(data: Any, name: str) -> list[CatalogueItem]:
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise BadResponseError(f"{name}: expected a JSON array")
    items = []
    for raw in data:
        if not isinstance(raw, dict) or not _is_int(raw.get("id")):
            raise BadResponseError(f"{name}: an item has no whole-number id")
        if not isinstance(raw.get("name"), str):
            raise BadResponseError(f"{name}: item {raw['id']} has no name")
        order = raw.get("displayOrder")
        items.append(
            CatalogueItem(
                id=raw["id"],
                name=raw["name"].strip(),
                display_order=order if _is_int(order) else None,
                is_digital_marketing=raw.get("isDigitalMarketing") is True,
            )
        )
    # Stable: items without a display order keep Vetstoria's order, after the ordered ones.
    return sorted(items, key=lambda i: (i.display_order is None, i.display_order or 0))


def _appointment_ids(response: httpx.Response) -> tuple[str, ...]:
    """pimsAppointmentId values from a 201, whether an object with appointments[] or a list."""
    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):
        log.warning("booking confirmation body is not JSON")
        return ()
    if isinstance(data, dict):
        items = data.get("appointments")
        items = items if isinstance(items, list) else [data]
    elif isinstance(data, list):
        items = data
    else:
        return ()
    ids = []
    for item in items:
        value = item.get("pimsAppointmentId") if isinstance(item, dict) else None
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            ids.append(str(value).strip())
    return tuple(ids)


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")
