"""Plain values exchanged with the Vetstoria client: catalogue items, slots and bookings.

Personal fields are left out of repr() so that a stray log line cannot carry them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class CatalogueItem:
    """One species, appointment type or schedule (a clinician's column)."""

    id: int
    name: str
    display_order: int | None = None
    is_digital_marketing: bool = False


@dataclass(frozen=True)
class Slot:
    """A free start time in one schedule; `start` is timezone-aware, in the clinic's zone."""

    start: datetime
    schedule_id: int
    partition_id: int

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("Slot.start must be timezone-aware")


@dataclass(frozen=True)
class ClientDetails:
    """The pet owner, as booked; all of it is personal data."""

    first_name: str = field(repr=False)
    last_name: str = field(repr=False)
    email: str = field(repr=False)
    phone: str = field(repr=False)


@dataclass(frozen=True)
class BookingRequest:
    """Everything needed to book one appointment in an offered slot."""

    slot: Slot
    client: ClientDetails
    appointment_type_id: int
    species_id: int
    pet_name: str = field(repr=False)
    notes: str = field(default="", repr=False)
    is_preferred_clinician: bool = False


@dataclass(frozen=True)
class BookingResult:
    """What happened to a booking. "confirmed" only ever follows a 201 from Vetstoria;
    "unconfirmed" means it may have landed and staff must check."""

    status: Literal["confirmed", "unconfirmed"]
    slot: Slot
    appointment_ids: tuple[str, ...] = ()
    detail: str = ""

    @property
    def confirmed(self) -> bool:
        return self.status == "confirmed"
