"""How a worklist item reads for staff: why it is there, what to do next, exactly what to look
for in Vetstoria when a booking's answer was lost, and the item as JSON. The terminal
(`petvisor-desktop worklist`) and the staff window both word items through this module; the
items themselves come from `History.worklist` (`history/worklist.py`).

This is staff-only output: it holds the callers' names and numbers. Never log it."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from petvisor_desktop.card import filled, format_value
from petvisor_desktop.history.records import StaffAction, WorklistItem

REASON_WORDS = {
    "emergency": "Emergency: the caller was told to go to reception (or call) at once",
    "cancel": "Wants to cancel a booking",
    "reschedule": "Wants to move a booking",
    "person": "Asked to talk to a person",
    "species": "An animal the kiosk cannot book (it books cats and dogs)",
    "not_understood": "The assistant could not understand the caller",
    "unconfirmed": "Booking not confirmed: Vetstoria's answer was lost",
    "booking_failed": "The booking system failed: nothing was booked",
    "abandoned": "Left part-way through a booking",
    "interrupted": "Cut off: the app stopped during the conversation",
    "handoff": "Handed to reception",
}
# Short forms for lists and notifications.
REASON_SHORT = {
    "emergency": "Emergency",
    "cancel": "Cancellation",
    "reschedule": "Move a booking",
    "person": "Asked for a person",
    "species": "Other animal",
    "not_understood": "Not understood",
    "unconfirmed": "Unconfirmed booking",
    "booking_failed": "Booking failed",
    "abandoned": "Left mid-booking",
    "interrupted": "Cut off",
    "handoff": "Handed to reception",
}
ACTION_WORDS = {
    "note": "Note",
    "done": "Marked done",
    "reopened": "Reopened",
    "found_in_vetstoria": "Found in Vetstoria",
    "not_booked": "Not booked (not in Vetstoria)",
}
MODE_WORDS = {
    "kiosk": "at the kiosk",
    "ptt": "in the reception window",
    "chat": "in a typed conversation",
    "voice": "in a spoken conversation (terminal)",
    "simulate": "in the simulator",
}


def local(moment: datetime | None, tz: tzinfo | None = None) -> str:
    """A moment as staff read it, in the clinic's time: "Mon 23 Nov 09:14"."""
    if moment is None:
        return ""
    shown = moment.astimezone(tz)
    return f"{shown:%a} {shown.day} {shown:%b %H:%M}"


def why(item: WorklistItem) -> str:
    """Every reason the item is there, in words, the most pressing first."""
    words = []
    for reason in item.reasons:
        text = REASON_WORDS[reason]
        if reason == "handoff" and item.detail:
            text += f": {item.detail}"
        words.append(text)
    return "; ".join(words)


def headline(item: WorklistItem) -> str:
    """One line for a list or a notification, without personal data: "Cancellation"."""
    return REASON_SHORT[item.reason]


def caller(item: WorklistItem) -> str:
    """Who the caller is, as far as they said: "James Okafor (Mittens)"."""
    name = item.card.get("client_name") or ""
    pet = item.card.get("pet_name")
    if name and pet:
        return f"{name} ({pet})"
    return name or (f"owner of {pet}" if pet else "name not given")


def contact(item: WorklistItem) -> str:
    ways = [w for w in (item.phone, item.email) if w]
    return " · ".join(ways) if ways else "not given"


def vetstoria_check(item: WorklistItem) -> str | None:
    """Exactly what to look for in Vetstoria for a booking whose answer was lost: vet, time,
    pet and owner. None when the item has no such booking."""
    booking = item.booking
    if "unconfirmed" not in item.reasons or booking is None:
        return None
    card = item.card
    kind = booking.appointment_type or "an appointment"
    vet = format_value("clinician", card) or "any vet"
    day = format_value("date", card) or "the day the caller chose"
    at = format_value("time", card)
    when = f"{day} at {at}" if at else day
    pet = booking.pet_name or "the pet"
    species = f" ({booking.species.lower()})" if booking.species else ""
    owner = format_value("client_name", card) or "name not given"
    phone = f", phone {booking.phone}" if booking.phone else ""
    return f"{kind} with {vet} on {when}, for {pet}{species}, owner {owner}{phone}"


def next_step(item: WorklistItem) -> str:
    """What a member of staff should do about an open item."""
    reach = "call them on " + item.phone if item.phone else "they left no phone number"
    if not item.is_open:
        return f"Done by {item.done_by}."
    if "unconfirmed" in item.reasons:
        if item.verdict == "found_in_vetstoria":
            return (
                f"The booking is in Vetstoria: tell the owner it stands ({reach}), then mark done."
            )
        if item.verdict == "not_booked":
            return f"Nothing was booked: offer the owner another time ({reach}), then mark done."
        return (
            "Look for the booking in Vetstoria, mark it 'found' or 'not booked', then tell "
            f"the owner ({reach})."
        )
    steps = {
        "emergency": "Make sure the caller was seen; if they left, " + reach + ".",
        "cancel": "Cancel the booking in Vetstoria for them; " + reach + ".",
        "reschedule": "Move the booking in Vetstoria for them; " + reach + ".",
        "booking_failed": "Book them by hand when Vetstoria answers again; " + reach + ".",
    }
    return steps.get(item.reason, "Help them by hand; " + reach + ".")


def state(item: WorklistItem, tz: tzinfo | None = None) -> str:
    if item.is_open:
        return "Open"
    return f"Done by {item.done_by}, {local(item.done_at, tz)}"


# Said of what staff did while the history's disk is full (`StaffAction.kept`).
KEPT_WORDS = "not yet saved: the disk is full; kept and saved when space is freed"


def action_line(action: StaffAction, tz: tzinfo | None = None) -> str:
    """ "Mon 23 Nov 09:20, Jo Morgan: Note: left a voicemail"."""
    text = ACTION_WORDS.get(action.action, action.action)
    if action.note:
        text += f": {action.note}"
    if action.kept:
        text += f" ({KEPT_WORDS})"
    return f"{local(action.created_at, tz)}, {action.staff}: {text}"


def understood(item: WorklistItem, *, contact: bool = True) -> list[tuple[str, str]]:
    """What was understood, as the card's (label, value) pairs for staff (without the phone
    and e-mail when `contact` is False: shown apart)."""
    card = item.card if contact else {**item.card, "phone": None, "email": None}
    return filled(card)


def to_dict(item: WorklistItem) -> dict[str, Any]:
    """The item for `worklist --json`: plain values, times in ISO-8601."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    booking = item.booking
    return {
        "id": item.id,
        "state": "open" if item.is_open else "done",
        "reasons": list(item.reasons),
        "why": why(item),
        "detail": item.detail,
        "raised_at": iso(item.raised_at),
        "where": item.mode,
        "understood": {k: v for k, v in item.card.items() if v},
        "phone": item.phone,
        "email": item.email,
        "caller_said": item.caller_said,
        "vetstoria_check": vetstoria_check(item),
        "booking": None
        if booking is None
        else {"id": booking.id, "status": booking.status, "slot_start": booking.slot_start},
        "verdict": item.verdict,
        "next_step": next_step(item),
        "done_at": iso(item.done_at),
        "done_by": item.done_by,
        "actions": [
            {"action": a.action, "by": a.staff, "note": a.note, "at": iso(a.created_at)}
            for a in item.actions
        ],
        "personal_data_removed": item.redacted,
    }
