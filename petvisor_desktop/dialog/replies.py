"""What the assistant says, worded in one place: the questions of each step, the read-back,
what it says after Vetstoria answered, hand-offs (reception open or closed) and the clinic's
hours. Pure functions of the facts they are given; the assistant decides which to say.
(Repair questions live with the repair, in repair.py.)"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog import repair as r
from petvisor_desktop.hours import DAY_NAMES, OpeningHours

QUESTIONS = {
    "species": "Is the appointment for a cat or a dog?",
    "appointment_type": "What kind of appointment do you need?",
    "clinician": "Would you like a particular vet, or whoever is free first?",
    "date": "What day would suit you?",
    "time": "Which time would suit you?",
    "pet_name": "What's your pet's name?",
    "client_name": "What's your name?",
    "phone": "What's the best phone number to reach you?",
    "email": "What's your email address?",
    "confirm": "Shall I book it?",
}
ANYTHING_ELSE = "Is there anything else I can help with?"
# The e-mail address when it cannot be made out: left off, never guessed.
EMAIL_LEFT_OFF = (
    "I'm sorry, I'm struggling to catch the email address, so I'll leave it off; "
    "reception can add it later."
)
EMAIL_SPELL = (
    "Sorry, I'm not catching the email address. Could you spell the part before the at for "
    "me, letter by letter?"
)
# The phone number named as wrong at the read-back, the right one not (or not yet) made out.
NEW_NUMBER_NOT_CAUGHT = "Sorry, I didn't catch the new number. Could you say it again?"
NEW_NUMBER = "Sorry about that. What's the right phone number?"
NO_EMAIL_THEN = "That's fine, no email. Shall I go ahead and book it?"
BOOK_THE_REST = "Shall I go ahead and book the rest?"  # after EMAIL_LEFT_OFF
# The address given again after it was left off: once, in other words, then a person.
EMAIL_AT_THE_DESK = (
    "I'm afraid I can't take the email address by voice; please give it to reception when "
    "you come in."
)
BOOK_WITHOUT_IT = "Shall I book the appointment without it?"


def have_it(value: str, what: str) -> str:
    """A "correction" to the value already read back: "Yes, I have Bella as your dog's name."
    and the read-back's question again."""
    return f"Yes, I have {value} as {what}. Shall I go ahead and book it?"


EMAIL_LAST = "Just yes or no, please: "  # before BOOK_WITHOUT_IT, the third time


def question(step: str) -> str:
    """The plain question for `step` (asked again after an aside)."""
    return QUESTIONS.get(step, "How can I help?")


def on_day(day: date, today: date) -> str:
    """'today', 'tomorrow', or 'on Thursday the 26th of November'."""
    spoken = n.spoken_date(day, today)
    return spoken if spoken in ("today", "tomorrow") else f"on {spoken}"


# -- the read-back and the booking ------------------------------------------------------------
def read_back(details: dict[str, str], when: datetime, today: date) -> str:
    """Everything that will be booked, read back for a yes (`Assistant.read_back_details`
    gives `details`; `when` is the appointment in the clinic's time)."""
    email = f", and email {n.format_email_for_speech(details['email'])}" if details["email"] else ""
    what = r.type_phrase(details["appointment_type"])
    return (
        f"So that's {r.lower_first(what)} for {details['pet_name']}, your "
        f"{details['species'].lower()}, with {details['clinician'] or 'the vet'} "
        f"{on_day(when.date(), today)} at {n.spoken_time(when.time())}. Your name is "
        f"{details['client_name']}, phone {n.format_phone_for_speech(details['phone'])}{email}. "
        "Shall I go ahead and book it?"
    )


BOOKED = "You're booked."


def booked(pet_name: str | None, vet: str, when: str) -> str:
    """Said only once Vetstoria confirmed the booking (`when`: 'on Thursday ... at 2pm').
    It opens with the same short sentence for every booking: its audio is made once and then
    plays at once (the booking is never prepared ahead, so a long first sentence was made
    while the caller waited: 0.4 s in run 10)."""
    return (
        f"{BOOKED} {pet_name} will see {vet} {when}. "
        f"Please arrive five minutes early. {ANYTHING_ELSE}"
    )


def booking_unconfirmed(when: str, phone: str) -> str:
    return (
        "I'm sorry, the booking system didn't confirm in time, so I can't be sure the "
        f"booking for {when} went through. I've passed it to the reception team, who "
        f"will check and call you on {n.format_phone_for_speech(phone)}. "
        "Is there anything else?"
    )


BOOKING_REFUSED_TRY_AGAIN = (
    "I'm sorry, the booking system didn't accept the booking just now, "
    "so nothing has been booked. Shall I try again?"
)


def booking_system_down(clinic_phone: str) -> str:
    return (
        "I'm sorry, I can't reach the booking system right now, so I can't book anything. "
        f"Please ask at reception, or call {clinic_phone}. Is there anything else?"
    )


# -- hand-offs ----------------------------------------------------------------------------------
def handoff(reason: str, clinic_phone: str, animal: str | None = None) -> str:
    """Handing the caller to the reception team at the desk (reception open)."""
    texts = {
        "emergency": (
            "This sounds like an emergency. Please tell the reception team right now, "
            f"or call the clinic on {clinic_phone} straight away."
        ),
        "cancel": (
            "I can't cancel bookings here, but the reception team can do that for you. "
            f"Please speak to them at the desk, or call {clinic_phone}."
        ),
        "reschedule": (
            "I can't move existing bookings here, but the reception team can. Please "
            f"speak to them at the desk, or call {clinic_phone}."
        ),
        "person": (
            "Of course. Please speak to the reception team at the desk; they'll be glad to help."
        ),
        "not_understood": (
            "I'm sorry, I'm having trouble understanding you today. Please speak to the "
            f"reception team at the desk, or call {clinic_phone}, and they'll book you in."
        ),
        "species": (
            f"I'm sorry, I can only book cats and dogs here. The reception team can help "
            f"with your {animal or 'pet'}: please speak to them, or call {clinic_phone}."
        ),
    }
    return texts.get(reason, texts["person"])


def closed_handoff(
    reason: str, animal: str | None, clinic_phone: str, emergency_phone: str, again: str
) -> str:
    """A hand-off while reception is closed: nobody is at the desk, so the caller gets the
    phone and when it is answered (`again`: 'tomorrow at 8am', or ''); emergencies get the
    out-of-hours number."""
    if reason == "emergency":
        return (
            "This sounds like an emergency. The clinic is closed right now, so please "
            f"call {emergency_phone} straight away."
        )
    call = f"please call {clinic_phone}" + (f" when we open again {again}" if again else "")
    lead = {
        "cancel": "I can't cancel bookings here, and reception is closed now, so ",
        "reschedule": "I can't move existing bookings here, and reception is closed now, so ",
        "species": f"I'm sorry, I can only book cats and dogs here. For your {animal or 'pet'}, ",
        "not_understood": (
            "I'm sorry, I'm having trouble understanding you today. Reception is closed now, so "
        ),
    }.get(reason, "Reception is closed at the moment, so ")
    return f"{lead}{call}, and they'll be glad to help."


def cannot_answer(topic: str, reception_open: bool, clinic_phone: str, again: str) -> str:
    """A question there are no facts for here (`grounding.detect_unanswerable_question`)."""
    what = "questions about medicines" if topic == "medicines" else topic
    if reception_open:
        return f"I'm afraid I can't help with {what} here, but reception can. "
    when = f" when we open again {again}" if again else ""
    return (
        f"I'm afraid I can't help with {what} here, but reception can: please call "
        f"{clinic_phone}{when}. "
    )


# -- the clinic's hours -------------------------------------------------------------------------
def hours_answer(
    hours: OpeningHours, asked: date | None, now: datetime, today: date, clinic_phone: str
) -> str:
    """The clinic's hours for a caller who asked: the day they named (`asked`), or the week
    and whether it is open now."""
    if not hours.kept:
        return f"Reception can tell you our opening hours on {clinic_phone}. "
    if asked is not None:
        if asked == today:
            return open_now(hours, now, today=True)
        # The hours are weekly: a named weekday gets that weekday's hours.
        name = (
            "Tomorrow"
            if asked == today + timedelta(days=1)
            else "On " + (DAY_NAMES[asked.weekday()] + "s")
        )
        times = hours.spoken_day(asked.weekday())
        return f"{name} we're open {times}. " if times else f"{name} we're closed. "
    week = hours.spoken()
    return (f"We're open {week}. " if week else "") + open_now(hours, now)


def open_now(hours: OpeningHours, now: datetime, today: bool = False) -> str:
    """Whether the clinic is open now (or `today`), and until or from when."""
    if hours.is_open(now):
        return f"We're open {'today ' if today else 'now '}{hours.until(now)}. "
    opening = hours.next_opening(now)
    if opening is None:
        return "We're closed now. "
    again = hours.when_open_again(now)
    if opening.date() == now.date():
        return f"We're closed now, and open today {again}. "
    if today:
        return f"We're closed for the rest of today, and open again {again}. "
    return f"We're closed now, and open again {again}. "
