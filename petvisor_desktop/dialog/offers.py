"""The free times put to the caller, as part of a policy turn (policy.Turn): the first offer
for the day asked (or the next free day, or weekdays instead of a weekend), a time the caller
named, later or earlier times, another day, and the sentence that offers them. Searches are
reads; the turn's state is only ever replaced."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from petvisor_desktop.dialog import intents, replies
from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog.availability import OFFER_COUNT, Wanted, one_per_start, spread
from petvisor_desktop.dialog.state import Step
from petvisor_desktop.dialog.tools import ANYONE
from vetstoria.errors import VetstoriaError
from vetstoria.models import Slot

if TYPE_CHECKING:
    from typing import Any

    from petvisor_desktop.dialog.policy import Reply, Turn

log = logging.getLogger(__name__)

LOOKAHEAD_DAYS = 14


def offer_times(t: Turn, note: str = "") -> Reply:
    """Free times on the day asked for; else the next free day; weekdays for a weekend."""
    st = t.st
    today = t.clinic.today
    assert st.day is not None
    day = st.day
    if day.weekday() >= 5:
        before = day - timedelta(days=day.weekday() - 4)
        after = day + timedelta(days=7 - day.weekday())
        options = [d for d in (before, after) if d >= today]
        t.set(day=None)
        spoken = join_or([n.spoken_date(d, today) for d in options])
        return t.reply(
            note + f"I'm sorry, we're closed at weekends. Would {spoken} suit you instead?",
            Step.DATE,
        )
    try:
        slots = [] if day < today else search(t, day, 1)
        preamble = note
        if not slots and not st.asap:
            part = f" {st.part_of_day}" if st.part_of_day else ""
            who = st.clinician if st.clinician not in (None, ANYONE) else "We"
            has = "has" if who != "We" else "have"
            preamble += f"{who} {has} nothing free {on(t, day)}{part}. "
            if st.clinician not in (None, ANYONE):
                others = search_others(t, day)
                if others:
                    t.set(offered=tuple(spread(others)))
                    return t.reply(
                        preamble
                        + offer_sentence(t, with_names=True)
                        + f" Or I can look at another day for {st.clinician}.",
                        Step.TIME,
                    )
        if not slots:
            later = search(t, max(day + timedelta(days=1), today), LOOKAHEAD_DAYS)
            if not later:
                t.set(day=None)
                return t.reply(
                    preamble + "I can't see any free times in the next two weeks. "
                    "Would you like to try a different day, or ask at reception?",
                    Step.DATE,
                )
            first_day = later[0].start.astimezone(t.clinic.tz).date()
            slots = [s for s in later if s.start.astimezone(t.clinic.tz).date() == first_day]
            label = "The first free day" if st.asap else "The next free day"
            preamble += f"{label} is {n.spoken_date(first_day, today)}. "
    except VetstoriaError as exc:
        return t.booking_system_down(exc)
    t.set(offered=tuple(spread(slots)))
    return t.reply(preamble + offer_sentence(t), Step.TIME)


def take_wanted_time(t: Turn) -> Reply:
    """The caller named a time: take it if it is free that day, else offer the nearest."""
    st = t.st
    tz = t.clinic.tz
    assert st.day is not None
    wanted = st.wanted_time
    t.set(wanted_time=None)
    assert wanted is not None
    if st.day.weekday() >= 5 or st.day < t.clinic.today:
        return offer_times(t)
    try:
        slots = search(t, st.day, 1, part_filter=False)
    except VetstoriaError as exc:
        return t.booking_system_down(exc)
    exact = [s for s in slots if s.start.astimezone(tz).time() == wanted]
    if exact:
        t.set(slot=exact[0], offered=tuple(exact[:1]))
        return t.advance(True)
    if not slots:
        return offer_times(t)
    target = datetime.combine(st.day, wanted, tz)
    nearest = sorted(slots, key=lambda s: abs((s.start - target).total_seconds()))
    offered = sorted(spread(nearest[: OFFER_COUNT * 2]), key=lambda s: s.start)[:OFFER_COUNT]
    t.set(offered=tuple(offered))
    return t.reply(f"Sorry, {n.spoken_time(wanted)} isn't free. " + offer_sentence(t), Step.TIME)


def change_offered_times(t: Turn, text: str, found: dict[str, Any]) -> Reply | None:
    """A caller who was offered times asks for others: another part of the day ("anything
    in the morning?"), "anything later/earlier?", "the next day". None when they did not
    (a new day or vet has already cleared the offer, and the next step offers again)."""
    st = t.st
    if (
        st.expecting != Step.TIME
        or not st.offered
        or st.slot is not None
        or "slot" in found
        or found.get("wanted_time") is not None
    ):
        return None
    if found.get("part_of_day") and not all(fits_part(t, s) for s in st.offered):
        t.set(offered=())  # offered for another part of the day: offer this one instead
        return None
    shift = intents.detect_time_shift(text)
    if shift is None:
        return None
    t.repair.reset()  # understood: no miss to count at this step
    day = st.offered[0].start.astimezone(t.clinic.tz).date()
    if shift in ("next_day", "previous_day"):
        return offer_other_day(t, day, shift == "next_day")
    return offer_later_or_earlier(t, day, shift == "later")


def offer_later_or_earlier(t: Turn, day: date, later: bool) -> Reply:
    """The free times of `day` next after (or before) the ones offered; when there are
    none, that truthfully, with the latest (earliest) time and another day to try."""
    st = t.st
    try:
        slots = one_per_start(search(t, day, 1, part_filter=False))
    except VetstoriaError as exc:
        return t.booking_system_down(exc)
    if later:
        edge = st.offered[-1].start
        more = [s for s in slots if s.start > edge][:OFFER_COUNT]
    else:
        edge = st.offered[0].start
        more = [s for s in slots if s.start < edge][-OFFER_COUNT:]
    if more:
        t.set(offered=tuple(more))
        if not all(fits_part(t, s) for s in more):
            t.set(part_of_day=None)  # the caller has moved past the part of day they gave
        return t.reply(offer_sentence(t), Step.TIME)
    if not slots:
        t.set(offered=())
        return offer_times(t)
    end = slots[-1] if later else slots[0]
    t.set(offered=(end,))
    when = n.spoken_time(end.start.astimezone(t.clinic.tz).time())
    word = "later" if later else "earlier"
    who = "" if st.clinician in (None, ANYONE) else f" for {st.clinician}"
    other = other_weekday(t, day, forward=later)
    another = (
        f"shall I look at {n.spoken_date(other, t.clinic.today)}"
        if other is not None
        else "would another day be better"
    )
    return t.reply(
        f"I'm afraid there's nothing {word}{who} {on(t, day)}: {when} is the "
        f"{'latest' if later else 'earliest'}. Would {when} suit you, or {another}?",
        Step.TIME,
    )


def offer_other_day(t: Turn, day: date, forward: bool) -> Reply:
    """Times on the weekday after (or before) the one offered."""
    other = other_weekday(t, day, forward)
    if other is None:
        return t.reply(
            f"I'm afraid I can only look from today onwards. {offer_sentence(t)}", Step.TIME
        )
    t.set(day=other, slot=None, offered=())
    return offer_times(t)


def other_weekday(t: Turn, day: date, forward: bool) -> date | None:
    """The weekday after (before) `day`, the clinic being closed at weekends; None before
    today."""
    step = timedelta(days=1 if forward else -1)
    other = day + step
    while other.weekday() >= 5:
        other += step
    return other if other >= t.clinic.today else None


def wanted(t: Turn) -> Wanted:
    st = t.st
    assert st.species and st.appointment_type
    return Wanted(st.species, st.appointment_type, st.clinician, st.part_of_day)


def search(t: Turn, day: date, days: int, part_filter: bool = True) -> list[Slot]:
    """Free times from `day` (a read; recorded among the turn's tool calls), less those
    Vetstoria refused as taken."""
    found = t.clinic.availability.search(wanted(t), day, days, t.calls, part_filter)
    return [s for s in found if (s.start, s.schedule_id) not in t.st.taken]


def search_others(t: Turn, day: date) -> list[Slot]:
    found = t.clinic.availability.others(wanted(t), day, t.calls)
    return [s for s in found if (s.start, s.schedule_id) not in t.st.taken]


def fits_part(t: Turn, slot: Slot) -> bool:
    return t.clinic.availability.fits_part(slot, t.st.part_of_day)


def on(t: Turn, day: date) -> str:
    return replies.on_day(day, t.clinic.today)


def offer_sentence(t: Turn, with_names: bool = False) -> str:
    """The offered times, said ("Dr Norman has 2pm or 2:15pm on Thursday ...")."""
    st = t.st
    tz = t.clinic.tz
    day = st.offered[0].start.astimezone(tz).date()
    times = [n.spoken_time(s.start.astimezone(tz).time()) for s in st.offered]
    if with_names or st.clinician in (None, ANYONE):
        schedule_names = t.clinic.availability.schedule_names
        named = {schedule_names.get(s.schedule_id) for s in st.offered}
        if with_names and len(named) == 1:
            who = next(iter(named))
            return f"{who} has {join_or(times)} {on(t, day)}. Would one of those suit you?"
        return f"{upper_first(on(t, day))} I have {join_or(times)}. Which would suit you?"
    return f"{st.clinician} has {join_or(times)} {on(t, day)}. Which would suit you?"


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def join_or(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
