"""The tools the language model may call, and the prompt that explains them.

The model never books anything itself: its tool call says what the caller said (details,
a yes or no, a request the kiosk hands to reception). The dialog checks every value against
the caller's words and runs the real Vetstoria calls. At each step the schemas are narrowed to
what is valid then: the clinic's own species, appointment types and clinicians, the dates in
the search window, and the times actually offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from petvisor_desktop.llm.chat_model import ChatMessage
from petvisor_desktop.llm.grammar import ToolSchema

ANYONE = "anyone"
HANDOFF_REASONS = ("cancel", "reschedule", "emergency", "person", "species")
SEARCH_WINDOW_DAYS = 28

UPDATE = ToolSchema(
    "update",
    "the caller gives or corrects booking details; include only what they said just now",
    {
        "species": {"type": "string", "enum": []},
        "type": {"type": "string", "enum": []},
        "vet": {"type": "string", "enum": []},
        "date": {"type": "string", "enum": []},
        "part": {"type": "string", "enum": ["morning", "afternoon"]},
        "time": {"type": "string", "enum": []},
        "pet": {"type": "string", "maxLength": 30, "description": "pet's name"},
        "first": {"type": "string", "maxLength": 30, "description": "caller's first name"},
        "last": {"type": "string", "maxLength": 30, "description": "caller's last name"},
        "reason": {"type": "string", "maxLength": 60, "description": "why the pet needs seeing"},
    },
)
ANSWER = ToolSchema(
    "answer",
    "the caller answers the yes/no question",
    {"value": {"type": "string", "enum": ["yes", "no"]}},
    ("value",),
)
HANDOFF = ToolSchema(
    "handoff",
    "cancel or move an existing booking, an emergency, asks for a person, "
    "or an animal that is not a cat or dog",
    {"reason": {"type": "string", "enum": list(HANDOFF_REASONS)}},
    ("reason",),
)
OTHER = ToolSchema("other", "anything else: small talk, unclear, or off-topic", {})


@dataclass(frozen=True)
class Catalogue:
    """The clinic's live options, by name."""

    species: tuple[str, ...]
    appointment_types: tuple[str, ...]
    clinicians: tuple[str, ...]


def window_dates(today: date) -> list[date]:
    return [today + timedelta(days=i) for i in range(SEARCH_WINDOW_DAYS)]


def step_tools(
    catalogue: Catalogue, today: date, offered_times: Sequence[str], yes_no_pending: bool
) -> list[ToolSchema]:
    """The tools and values valid at this step."""
    update = UPDATE.narrowed(
        species=catalogue.species,
        type=catalogue.appointment_types,
        vet=(*catalogue.clinicians, ANYONE),
        date=[d.isoformat() for d in window_dates(today)],
        time=list(offered_times),
    )
    tools = [update, HANDOFF, OTHER]
    if yes_no_pending:
        tools.insert(0, ANSWER)
    return tools


def _calendar(today: date) -> str:
    lines = []
    for d in window_dates(today)[:15]:
        label = (
            " (today)" if d == today else " (tomorrow)" if d == today + timedelta(days=1) else ""
        )
        lines.append(f"{d:%a %d %b}={d.isoformat()}{label}")
    return "; ".join(lines)


def _next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def system_prompt(catalogue: Catalogue, today: date) -> str:
    """The fixed part of every prompt: it changes only when the day or the catalogue does, so
    llama.cpp keeps it in the KV cache between turns."""
    tools = step_tools(catalogue, today, ["09:00"], True)
    signatures = "\n".join("- " + t.signature() for t in tools)
    return (
        "You are the listening step of a vet clinic's booking kiosk. Read the caller's latest "
        "words and output exactly one tool call as JSON.\n"
        "Rules: copy only values the caller said in their latest words. Leave out every field "
        "they did not say; never guess a name, date, time or vet. Dates come from the calendar. "
        "time is one of the offered times.\n"
        f"Species: {', '.join(catalogue.species)}. Appointment types: "
        f"{', '.join(catalogue.appointment_types)}. Vets: {', '.join(catalogue.clinicians)}.\n"
        f"Calendar: {_calendar(today)}.\n"
        f"Tools:\n{signatures}"
    )


def user_message(asked: str, caller: str, offered: Sequence[str] = ()) -> str:
    """The per-turn part of the prompt, after the cached prefix."""
    extra = f"\nOffered times: {', '.join(offered)}" if offered else ""
    return f"Asked: {asked}{extra}\nCaller: {caller}"


def fixed_prompt(catalogue: Catalogue, today: date) -> list[ChatMessage]:
    """The messages every call starts with (the instructions and the worked examples): the
    prefix the model keeps evaluated in its cache."""
    return [ChatMessage("system", system_prompt(catalogue, today)), *examples(catalogue, today)]


def examples(catalogue: Catalogue, today: date) -> list[ChatMessage]:
    """Worked examples, part of the cached prefix; dates follow today's calendar."""
    thursday = _next_weekday(today, 3).isoformat()
    tomorrow = (today + timedelta(days=1)).isoformat()
    vet = catalogue.clinicians[-1] if catalogue.clinicians else ANYONE
    species = catalogue.species
    dog = species[0] if species else "Dog"
    cat = species[1] if len(species) > 1 else dog
    consult = next(
        (t for t in catalogue.appointment_types if "consult" in t.lower()), "Consultation"
    )
    vacc = next((t for t in catalogue.appointment_types if "vacc" in t.lower()), consult)
    pairs = [
        (
            "how can I help",
            "Hi, my cat Bella has been sneezing a lot, can someone see her",
            f'{{"tool":"update","species":"{cat}","type":"{consult}","pet":"Bella",'
            '"reason":"sneezing a lot"}',
        ),
        ("which animal", "He's a dog", f'{{"tool":"update","species":"{dog}"}}'),
        (
            "which vet",
            f"{vet.split()[-1]} please, thursday afternoon",
            f'{{"tool":"update","vet":"{vet}","date":"{thursday}","part":"afternoon"}}',
        ),
        ("which vet", "I don't mind", '{"tool":"update","vet":"anyone"}'),
        (
            "appointment type",
            "he needs his booster jabs tomorrow morning",
            f'{{"tool":"update","type":"{vacc}","date":"{tomorrow}","part":"morning"}}',
        ),
        (
            "which time\nOffered times: 13:00, 13:15, 13:30",
            "the second one",
            '{"tool":"update","time":"13:15"}',
        ),
        ("your name", "it's Priya Shah", '{"tool":"update","first":"Priya","last":"Shah"}'),
        ("pet's name", "her name is Luna", '{"tool":"update","pet":"Luna"}'),
        ("shall I book it", "yes that's all correct", '{"tool":"answer","value":"yes"}'),
        ("shall I book it", f"no, I said {vet.split()[-1]}", f'{{"tool":"update","vet":"{vet}"}}'),
        (
            "how can I help",
            "I need to cancel my appointment next week",
            '{"tool":"handoff","reason":"cancel"}',
        ),
        ("which animal", "it's for my rabbit", '{"tool":"handoff","reason":"species"}'),
        ("pet's name", "what time do you close", '{"tool":"other"}'),
    ]
    messages: list[ChatMessage] = []
    for asked, caller, call in pairs:
        offered: tuple[str, ...] = ()
        if "\n" in asked:
            asked, offered_line = asked.split("\n", 1)
            offered = tuple(offered_line.split(": ", 1)[1].split(", "))
        messages.append(ChatMessage("user", user_message(asked, caller, offered)))
        messages.append(ChatMessage("assistant", call))
    return messages
