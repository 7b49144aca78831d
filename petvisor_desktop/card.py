"""The booking card: its details in the order a receptionist fills them, and how each value
reads ("Wednesday 25 November, morning", "9:00 am", "Any vet"). The kiosk's card, the
staff worklist and the terminal all show a card through this module.

A card is the dict `BookingState.card` gives (species, appointment_type, clinician, date,
part_of_day, time as HH:MM in the clinic's time, pet_name, client_name, phone, email)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from petvisor_desktop.spoken import date_text, spoken_time

# The details with the words the caller sees on the kiosk's card.
FIELDS: tuple[tuple[str, str], ...] = (
    ("species", "Animal"),
    ("appointment_type", "Appointment"),
    ("clinician", "Vet"),
    ("date", "Day"),
    ("time", "Time"),
    ("pet_name", "Pet's name"),
    ("client_name", "Your name"),
    ("phone", "Phone"),
    ("email", "E-mail"),
)
FIELD_LABELS = dict(FIELDS)
# The same details as staff read them about someone else.
STAFF_LABELS = {**FIELD_LABELS, "pet_name": "Pet", "client_name": "Owner"}
CARD_KEYS = (*FIELD_LABELS, "part_of_day")


def format_value(field: str, card: Mapping[str, Any]) -> str:
    """A card value as a person reads it ("Wednesday 25 November, morning", "9:00 am")."""
    value = card.get(field)
    if field == "date":
        if not value:
            return ""
        try:
            text = date_text(date.fromisoformat(str(value)), ordinal=False)
        except ValueError:
            text = str(value)
        part = card.get("part_of_day")
        if part and not card.get("time"):
            text += f", {part}"
        return text
    if field == "time":
        if not value:
            return ""
        try:
            moment = time.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return spoken_time(moment, always_minutes=True, suffix_gap=" ")
    if field == "clinician" and isinstance(value, str) and value.lower() == "anyone":
        return "Any vet"
    return "" if value is None else str(value)


def filled(
    card: Mapping[str, Any], labels: Mapping[str, str] = STAFF_LABELS
) -> list[tuple[str, str]]:
    """The details that are known, as (label, value) pairs in the card's order."""
    rows = [(labels[field], format_value(field, card)) for field, _title in FIELDS]
    return [(title, value) for title, value in rows if value]
