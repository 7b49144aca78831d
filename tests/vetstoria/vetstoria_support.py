"""Constants and helpers shared by the Vetstoria tests (imported as a plain module)."""

from __future__ import annotations

from datetime import datetime

import httpx

from vetstoria.client import VetstoriaClient
from vetstoria.models import BookingRequest, ClientDetails, Slot
from vetstoria.paths import build_endpoints
from vetstoria.sandbox import DEMO_SECRET, DEMO_SITE_HASH, SandboxClinic

NOW = "2026-11-23T09:00"  # a Monday, clinic time
MONDAY = datetime(2026, 11, 23)
THURSDAY = datetime(2026, 11, 26)
CAT, DOG = 2, 1
CONSULTATION = 6964
ROBERTS, NORMAN = 85267, 85268


def booking_for(slot: Slot, *, pet_name: str = "Mittens", species_id: int = CAT) -> BookingRequest:
    return BookingRequest(
        slot=slot,
        client=ClientDetails("James", "Okafor", "james.okafor@example.com", "07700900456"),
        appointment_type_id=CONSULTATION,
        species_id=species_id,
        pet_name=pet_name,
        notes="sneezing a lot",
        is_preferred_clinician=True,
    )


def first_slot(
    client: VetstoriaClient, day: datetime = THURSDAY, schedule_id: int = NORMAN
) -> Slot:
    slots = client.find_slots(
        appointment_type_id=CONSULTATION,
        species_id=CAT,
        schedule_ids=[schedule_id],
        start=day.replace(hour=13),
        end=day.replace(hour=17),
    )
    assert slots, "the sandbox offered no slot"
    return slots[0]


def raw_token(clinic: SandboxClinic) -> str:
    """A token obtained with plain httpx, as any other partner client would."""
    urls = build_endpoints(clinic.config())
    response = httpx.post(
        urls.auth, json={"secret": DEMO_SECRET}, headers={"Site-Hash": DEMO_SITE_HASH}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def statuses(clinic: SandboxClinic, stage: str) -> list[int | None]:
    return [r["status"] for r in clinic.requests() if r["stage"] == stage]
