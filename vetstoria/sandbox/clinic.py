"""The sandbox clinic: a real HTTP server on 127.0.0.1 that serves the Vetstoria partner API
(layout B) for one demo clinic, validates every request, records bookings and injects faults.

The production client runs against it unchanged; tests, the simulator and the app's demo mode
all talk to it over HTTP.
"""

from __future__ import annotations

import copy
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from vetstoria.config import VetstoriaConfig
from vetstoria.paths import LAYOUT_B, template_pattern
from vetstoria.sandbox import demo
from vetstoria.sandbox.faults import Fault, parse_fault
from vetstoria.sandbox.http import Handler, Reply, Request, Server, json_reply, message_reply
from vetstoria.sandbox.validation import (
    Invalid,
    appointment_field,
    check_optional,
    get_field,
    instant_field,
    int_field,
    json_object,
    known_id,
    list_field,
    object_field,
    str_field,
)

log = logging.getLogger(__name__)

MAX_PERIOD = timedelta(days=31)
SLOT_TAKEN_TEXT = "Timeslot unavailable. Please select a different slot."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_METHODS = {
    "auth": "POST",
    "species": "GET",
    "appointmentTypes": "GET",
    "schedules": "GET",
    "slots": "POST",
    "booking": "POST",
}
_ROUTES = [(stage, template_pattern(t)) for stage, t in LAYOUT_B.stages().items()]
_DEMO_PARTS = {
    "partner_key": ("partner key", demo.DEMO_PARTNER_KEY),
    "site_hash": ("clinic (site hash)", demo.DEMO_SITE_HASH),
    "site_id": ("location (site id)", str(demo.DEMO_SITE_ID)),
    "booking_hash": ("booking hash", demo.DEMO_BOOKING_HASH),
}


@dataclass(frozen=True)
class Blocked:
    """A period with no free slots in one schedule (None: every clinician).

    Naive times are clinic-local."""

    schedule_id: int | None
    start: datetime
    end: datetime


def _slot_taken() -> Reply:
    return Reply(409, SLOT_TAKEN_TEXT.encode(), content_type="text/plain; charset=utf-8")


# -- the clinic -----------------------------------------------------------------------------


class SandboxClinic:
    """The demo clinic behind a local Vetstoria-compatible HTTP server.

    Bookings, tokens, pending faults and the request log live in memory and are thread-safe.
    `slow_s` is how long "timeout" faults stall: make it longer than the client's timeout."""

    def __init__(
        self,
        *,
        now: datetime | str | None = None,
        faults: Sequence[str] = (),
        port: int = 0,
        blocked: Sequence[Blocked] = (),
        closed_dates: Sequence[date] = (),
        slow_s: float = 2.0,
        token_lifetime_s: float = 3600.0,
        retry_after_s: float = 1.0,
        slots_wrapper: str | None = None,
        booking_answer: str = "object",
    ) -> None:
        if slots_wrapper not in (None, "slots", "data"):
            raise ValueError("slots_wrapper must be None, 'slots' or 'data'")
        if booking_answer not in ("object", "list"):
            raise ValueError("booking_answer must be 'object' or 'list'")
        if slow_s <= 0 or token_lifetime_s <= 0 or retry_after_s < 0:
            raise ValueError("slow_s and token_lifetime_s must be positive, retry_after_s >= 0")
        self.tz = ZoneInfo(demo.DEMO_TIMEZONE)
        self._lock = threading.Lock()
        self._faults: list[Fault] = [parse_fault(spec) for spec in faults]
        self._now: datetime | None = self._clinic_time(now) if now is not None else None
        self._blocked: list[Blocked] = [self._check_blocked(b) for b in blocked]
        self._closed_dates = frozenset(closed_dates)
        self._port = port
        self.slow_s = slow_s
        self.token_lifetime_s = token_lifetime_s
        self.retry_after_s = retry_after_s
        self.slots_wrapper = slots_wrapper
        self.booking_answer = booking_answer
        self._tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self._bookings: list[dict[str, Any]] = []
        self._taken: set[tuple[datetime, int]] = set()  # (start in UTC, schedule id)
        self._requests: list[dict[str, Any]] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> SandboxClinic:
        """Serve on a daemon thread; returns self, so `SandboxClinic(...).start()` reads well."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = Server(("127.0.0.1", self._port), Handler)
        server.handle = self._handle
        server.stopping = self._stopping
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how quickly stop() is noticed
            name="sandbox-clinic",
            daemon=True,
        )
        self._thread.start()
        log.info("sandbox clinic serving at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections, so that no kept-alive client gets answers."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.info("sandbox clinic stopped")

    def __enter__(self) -> SandboxClinic:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox clinic is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, timeout_s: float = 5.0, max_read_retries: int = 3) -> VetstoriaConfig:
        """Client settings for this running clinic, with the demo credentials."""
        return demo.demo_config(self.url, timeout_s=timeout_s, max_read_retries=max_read_retries)

    # -- state for tests and the simulator ------------------------------------------------

    def now(self) -> datetime:
        """Clinic-local now: the pinned time, or the real time when not pinned."""
        return self._now if self._now is not None else datetime.now(self.tz)

    @property
    def pinned_now(self) -> datetime | None:
        """The pinned clinic-local time, or None when following the real clock."""
        return self._now

    def set_now(self, value: datetime | str | None) -> None:
        """Pin "now" (naive or text: clinic-local), or None to follow the real clock."""
        pinned = self._clinic_time(value) if value is not None else None
        with self._lock:
            self._now = pinned

    def add_fault(self, spec: str) -> None:
        """Queue one more fault; ValueError names the allowed ones."""
        fault = parse_fault(spec)
        with self._lock:
            self._faults.append(fault)

    def pending_faults(self) -> list[str]:
        with self._lock:
            return [f.spec for f in self._faults]

    def add_blocked(self, blocked: Blocked) -> None:
        checked = self._check_blocked(blocked)
        with self._lock:
            self._blocked.append(checked)

    def bookings(self) -> list[dict[str, Any]]:
        """Every booking recorded, oldest first: the request body plus resolved names."""
        with self._lock:
            return copy.deepcopy(self._bookings)

    def requests(self) -> list[dict[str, Any]]:
        """Every request answered: stage, method, status, fault and parsed JSON body."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def reset(self) -> None:
        """Forget bookings, issued tokens, pending faults and the request log."""
        with self._lock:
            self._bookings.clear()
            self._taken.clear()
            self._tokens.clear()
            self._faults.clear()
            self._requests.clear()

    def free_slots(
        self, schedule_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[tuple[datetime, int]]:
        """Free (clinic-local start, schedule id) pairs in [start, end), by time then schedule."""
        with self._lock:
            return self._free_slots(schedule_ids, start, end)

    # -- time helpers --------------------------------------------------------------------

    def _clinic_time(self, value: datetime | str) -> datetime:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(
                    f"not an ISO-8601 date-time: {value!r} (example: 2026-11-23T09:00)"
                ) from None
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=self.tz)
        return value.astimezone(self.tz)

    def _check_blocked(self, blocked: Blocked) -> Blocked:
        if blocked.schedule_id is not None and blocked.schedule_id not in demo.SCHEDULES:
            raise ValueError(f"Blocked: unknown schedule id {blocked.schedule_id}")
        start, end = self._clinic_time(blocked.start), self._clinic_time(blocked.end)
        if end <= start:
            raise ValueError("Blocked: end must be after start")
        return Blocked(blocked.schedule_id, start, end)

    def _open_at(self, start: datetime, schedule_id: int) -> bool:
        """Whether `start` (clinic-local) is on the bookable grid of an open day, in the
        clinician's hours (data/demo-clinic.toml)."""
        local = start.astimezone(self.tz)
        return local.date() not in self._closed_dates and demo.CLINIC.sees_patients(
            schedule_id, local
        )

    def _is_free(self, start: datetime, schedule_id: int) -> bool:
        """Caller holds the lock."""
        if not self._open_at(start, schedule_id) or start < self.now():
            return False
        if (start.astimezone(UTC), schedule_id) in self._taken:
            return False
        return not any(
            (b.schedule_id is None or b.schedule_id == schedule_id) and b.start <= start < b.end
            for b in self._blocked
        )

    def _free_slots(
        self, schedule_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[tuple[datetime, int]]:
        """Caller holds the lock."""
        start, end = self._clinic_time(start), self._clinic_time(end)
        found: list[tuple[datetime, int]] = []
        day = start.date()
        while day <= end.date():
            for wall in demo.CLINIC.starts(day):  # wall-clock times: no DST change inside hours
                moment = datetime.combine(day, wall, tzinfo=self.tz)
                if start <= moment < end:
                    found.extend((moment, s) for s in schedule_ids if self._is_free(moment, s))
            day += timedelta(days=1)
        return sorted(found, key=lambda item: (item[0], item[1]))

    # -- request handling ----------------------------------------------------------------

    def _handle(self, request: Request) -> Reply:
        """Route, authenticate, apply a pending fault and answer; never raises on bad input."""
        stage = "unknown"
        fault: Fault | None = None
        try:
            path = urlsplit(request.path).path
            route = next(((s, m) for s, p in _ROUTES if (m := p.match(path))), None)
            if route is None:
                raise Invalid(f"no such endpoint: {path[:100]}", 404)
            stage, match = route
            if request.method != _METHODS[stage]:
                return message_reply(
                    405, f"use {_METHODS[stage]} for this endpoint", Allow=_METHODS[stage]
                )
            for name, value in match.groupdict().items():
                label, expected = _DEMO_PARTS[name]
                if unquote(value) != expected:
                    raise Invalid(f"unknown {label}", 404)
            if stage != "auth":
                self._check_token(request)
            fault = self._take_fault(stage)
            reply = self._with_fault(stage, fault, request)
        except Invalid as exc:
            reply = message_reply(exc.status, exc.message)
        self._record(stage, request, reply, fault)
        return reply

    def _record(self, stage: str, request: Request, reply: Reply, fault: Fault | None) -> None:
        try:
            body = json.loads(request.body) if request.body else None
        except (ValueError, RecursionError):
            body = None
        if stage == "auth" and isinstance(body, dict) and "secret" in body:
            body["secret"] = "[redacted]"
        entry = {
            "stage": stage,
            "method": request.method,
            "status": None if reply.drop else reply.status,
            "fault": fault.spec if fault else None,
            "body": body,
            "at": time.time(),
        }
        with self._lock:
            self._requests.append(entry)
        log.debug("sandbox %s %s -> %s", request.method, stage, entry["status"])

    def _take_fault(self, stage: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.matches(stage):
                    del self._faults[i]
                    log.info("sandbox injects fault %s", fault.spec)
                    return fault
        return None

    def _check_token(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Invalid("missing bearer token", 401)
        with self._lock:
            expiry = self._tokens.get(token.strip())
        if expiry is None:
            raise Invalid("unknown token", 401)
        if time.time() >= expiry:
            raise Invalid("token expired", 401)

    def _revoke(self, request: Request) -> None:
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        with self._lock:
            self._tokens.pop(token, None)

    def _with_fault(self, stage: str, fault: Fault | None, request: Request) -> Reply:
        handler: Callable[[Request], Reply] = {
            "auth": self._auth,
            "species": lambda _r: json_reply(200, demo.catalogue(demo.SPECIES)),
            "appointmentTypes": lambda _r: json_reply(200, demo.catalogue(demo.APPOINTMENT_TYPES)),
            "schedules": lambda _r: json_reply(200, demo.catalogue(demo.SCHEDULES)),
            "slots": self._slots,
            "booking": self._book,
        }[stage]
        if fault is None:
            return handler(request)
        kind = fault.kind
        if kind in ("401", "expired"):
            if stage == "auth":
                return message_reply(401, "invalid credentials")
            self._revoke(request)
            return message_reply(401, "token expired")
        if kind == "409":
            return _slot_taken()
        if kind == "429":
            return message_reply(
                429, "too many requests", **{"Retry-After": f"{self.retry_after_s:g}"}
            )
        if kind in ("500", "503"):
            text = "internal server error" if kind == "500" else "service unavailable"
            return message_reply(int(kind), text)
        if kind == "content-type":
            page = b"<html><body><h1>Service maintenance</h1></body></html>"
            return Reply(200, page, content_type="text/html; charset=utf-8")
        if kind == "timeout":
            if stage == "booking":
                # The request is lost before it reaches the booking system: nothing is recorded.
                return Reply(504, b'{"message": "gateway timeout"}', delay_s=self.slow_s)
            reply = handler(request)
            reply.delay_s = self.slow_s
            return reply
        if kind == "timeout-after-commit":
            reply = handler(request)
            if reply.status == 201:
                reply.delay_s, reply.drop = self.slow_s, True
            return reply
        raise AssertionError(f"unhandled fault kind {kind}")  # parse_fault admits no others

    def _auth(self, request: Request) -> Reply:
        site_hash = request.headers.get("site-hash")
        if site_hash is None or not site_hash.strip():
            raise Invalid("the Site-Hash header is required")
        body = json_object(request)
        secret = str_field(body, "secret")
        good_site = hmac.compare_digest(site_hash.strip().encode(), demo.DEMO_SITE_HASH.encode())
        good_secret = hmac.compare_digest(secret.encode(), demo.DEMO_SECRET.encode())
        if not (good_site and good_secret):
            return message_reply(401, "invalid credentials")
        token = secrets.token_urlsafe(24)
        now = time.time()
        expiry = now + self.token_lifetime_s
        with self._lock:
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            self._tokens[token] = expiry
        # Token lifetimes run on the real clock, whatever the pinned clinic time is.
        expiry_text = datetime.fromtimestamp(expiry, UTC).isoformat(timespec="milliseconds")
        return json_reply(200, {"token": token, "expiry": expiry_text})

    def _slots(self, request: Request) -> Reply:
        body = json_object(request)
        schedule_ids = list_field(body, "scheduleIds")
        if not schedule_ids:
            raise Invalid("scheduleIds must list at least one schedule")
        for value in schedule_ids:
            if isinstance(value, bool) or not isinstance(value, int):
                raise Invalid("scheduleIds must be whole numbers")
            known_id(value, demo.SCHEDULES, "scheduleId")
        period = object_field(body, "period")
        start = instant_field(period, "from", "period.")
        end = instant_field(period, "to", "period.")
        if end <= start:
            raise Invalid("period.to must be after period.from")
        if end - start > MAX_PERIOD:
            raise Invalid(f"the period may not be longer than {MAX_PERIOD.days} days")
        appointments = list_field(body, "appointments")
        if not appointments:
            raise Invalid("appointments must list one appointment")
        for i, raw in enumerate(appointments):
            appointment_field(raw, f"appointments[{i}]")
        with self._lock:
            found = self._free_slots(list(dict.fromkeys(schedule_ids)), start, end)
        items = [
            {
                "dateTime": moment.isoformat(timespec="seconds"),
                "scheduleId": schedule,
                "partitionId": demo.PARTITIONS[schedule],
            }
            for moment, schedule in found
        ]
        return json_reply(200, {self.slots_wrapper: items} if self.slots_wrapper else items)

    def _book(self, request: Request) -> Reply:
        body = json_object(request)
        location = int_field(body, "locationId")
        if location != demo.DEMO_SITE_ID:
            raise Invalid(f"unknown locationId {location}")
        slot = object_field(body, "slot")
        schedule_id = known_id(int_field(slot, "scheduleId", "slot."), demo.SCHEDULES, "scheduleId")
        partition_id = int_field(slot, "partitionId", "slot.")
        start = instant_field(slot, "dateTime", "slot.").astimezone(self.tz)
        if partition_id != demo.PARTITIONS[schedule_id]:
            raise Invalid(f"partitionId {partition_id} does not belong to schedule {schedule_id}")
        client = object_field(body, "client")
        first = str_field(client, "firstName", "client.", required=True)
        last = str_field(client, "lastName", "client.", required=True)
        email = str_field(client, "email", "client.").strip()
        phone = str_field(client, "phone", "client.").strip()
        check_optional(client, "id", int, "client.")
        check_optional(client, "isNewClient", bool, "client.")
        check_optional(client, "postCode", str, "client.")
        if not email and not phone:
            raise Invalid("client needs an email or a phone number")
        if email and not _EMAIL.match(email):
            raise Invalid("client.email is not an email address")
        digits = re.sub(r"[\s()+.-]", "", phone)
        if phone and not (digits.isdigit() and 7 <= len(digits) <= 15):
            raise Invalid("client.phone must have 7 to 15 digits")
        appointments = list_field(body, "appointments")
        if len(appointments) != 1:
            raise Invalid("appointments must hold exactly one appointment")
        appointment = appointments[0]
        type_id, species_id = appointment_field(appointment, "appointments[0]")
        pet_name = str_field(appointment, "patientName", "appointments[0].", required=True)
        notes = (
            str_field(appointment, "notes", "appointments[0].") if "notes" in appointment else ""
        )
        check_optional(appointment, "patientId", int, "appointments[0].")
        if not isinstance(appointment.get("screeningOverrides", []), list):
            raise Invalid("appointments[0].screeningOverrides must be an array")
        preferred = get_field(body, "isPreferredClinician", "")
        if not isinstance(preferred, bool):
            raise Invalid("isPreferredClinician must be true or false")
        if start.second or start.microsecond or start.minute % 15:
            raise Invalid("slot.dateTime is not on the 15-minute slot grid")

        with self._lock:
            if not self._is_free(start, schedule_id):
                return _slot_taken()
            self._taken.add((start.astimezone(UTC), schedule_id))
            number = len(self._bookings) + 1
            pims_id = f"PIMS-{700000 + number}"
            self._bookings.append(
                {
                    "id": number,
                    "created_at": self.now().isoformat(timespec="seconds"),
                    "start": start.isoformat(timespec="seconds"),
                    "slot": {
                        "dateTime": start.isoformat(timespec="seconds"),
                        "scheduleId": schedule_id,
                        "partitionId": partition_id,
                    },
                    "schedule_id": schedule_id,
                    "clinician": demo.SCHEDULES[schedule_id],
                    "appointment_type_id": type_id,
                    "appointment_type": demo.APPOINTMENT_TYPES[type_id],
                    "species_id": species_id,
                    "species": demo.SPECIES[species_id],
                    "pet_name": pet_name,
                    "notes": notes,
                    "client": {
                        "first_name": first,
                        "last_name": last,
                        "email": email,
                        "phone": phone,
                    },
                    "is_preferred_clinician": preferred,
                    "appointment_ids": [pims_id],
                    "request": copy.deepcopy(body),
                }
            )
        log.info("sandbox booked schedule %d at %s (booking %d)", schedule_id, start, number)
        appointments_out = [{"index": 1, "pimsAppointmentId": pims_id}]
        if self.booking_answer == "list":
            return json_reply(201, appointments_out)
        return json_reply(201, {"id": number, "appointments": appointments_out})
