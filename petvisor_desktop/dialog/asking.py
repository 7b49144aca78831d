"""Asking, as part of a policy turn (policy.Turn): the next missing detail, the step's repair
after an answer that was not understood, the read-back and its corrections, and the choices a
caller can say or tap. Reads the state and replaces it; writes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from petvisor_desktop.dialog import names as nm
from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog import offers, replies
from petvisor_desktop.dialog import repair as r
from petvisor_desktop.dialog.state import FORGETS, BookingState, Step

if TYPE_CHECKING:
    from petvisor_desktop.dialog.policy import Reply, Turn


# -- the next question ---------------------------------------------------------------------
def advance(t: Turn, changed: bool) -> Reply:
    """Ask for the next missing detail, check availability, or read back. An answer that
    was not understood is not met with the same question again: the step's repair
    (repair.py) asks a different one, and a person takes over only when that fails too."""
    st = t.st
    if t.repair.state.pending:
        question = t.repair.confirm_question(st.species.lower() if st.species else "pet")
        pending = Step(t.repair.pending_step)
        checking = {k: str(v) for k, v in t.repair.asked().items() if v}
        return t.reply(question, pending, repair=f"{pending}:confirm-heard", checking=checking)
    prefix = ""
    step = st.next_step()
    if changed or st.expecting != step or (step == Step.TIME and not st.offered):
        t.repair.reset()
    else:
        miss = t.repair.miss(
            step,
            options(t),
            first_name_known=st.first_name is not None,
            read_back_given=st.read_back_given,
        )
        if miss.handoff:
            return t.hand_off("not_understood")
        if miss.question:
            # Nothing changed since the full read-back, so a yes to "Shall I book it?" books.
            return t.reply(
                miss.question,
                step,
                repair=miss.kind,
                keep_read_back=st.read_back_given,
                checking=dict([miss.proposal]) if miss.proposal else None,
            )
        if miss.leave_off:
            t.leave_email_off()
        prefix = miss.prefix
    return ask(t, prefix)


def ask(t: Turn, prefix: str) -> Reply:
    """The question for the first missing detail (after `prefix`), or the read-back."""
    st = t.st
    catalogue = t.clinic.catalogue
    if st.species is None:
        return t.reply(prefix + "Is the appointment for a cat or a dog?", Step.SPECIES)
    if st.appointment_type is None:
        if st.proposed_type:
            return t.reply(prefix + r.type_question(st.proposed_type), Step.APPOINTMENT_TYPE)
        options = offers.join_or([t.lower() for t in catalogue.appointment_types])
        return t.reply(
            prefix + f"What kind of appointment do you need: {options}?",
            Step.APPOINTMENT_TYPE,
        )
    if st.clinician is None:
        names = offers.join_or(list(catalogue.clinicians))
        return t.reply(
            prefix + f"Would you like to see {names}, or whoever is free first?",
            Step.CLINICIAN,
        )
    if st.day is None:
        return t.reply(
            prefix + "What day would suit you, and do you prefer morning or afternoon?",
            Step.DATE,
        )
    if st.slot is None:
        if st.wanted_time is not None:
            return offers.take_wanted_time(t)
        if not st.offered:
            return offers.offer_times(t)
        return t.reply(prefix + offers.offer_sentence(t), Step.TIME)
    if st.pet_name is None:
        return t.reply(prefix + f"Lovely. What's your {st.species.lower()}'s name?", Step.PET_NAME)
    if st.first_name is None:
        return t.reply(prefix + "And your first and last name, please?", Step.CLIENT_NAME)
    if st.last_name is None:
        return t.reply(prefix + f"Thanks, {st.first_name}. And your last name?", Step.CLIENT_NAME)
    if st.phone is None:
        return t.reply(prefix + "What's the best phone number to reach you?", Step.PHONE)
    if st.email is None and not st.email_declined and st.on_file_email is None:
        t.set(on_file_email=returning_caller_email(t))
        if t.st.on_file_email:
            return t.reply(
                f"Welcome back, {st.first_name}. Shall I use the email address we have on file "
                "for you?",
                Step.EMAIL,
            )
    if st.email is None and not st.email_declined:
        return t.reply(
            prefix + "And your email address? You can say skip if you'd rather not.",
            Step.EMAIL,
        )
    details = read_back_details(t.st, t.clinic.tz, t.clinic.availability.schedule_names)
    assert st.slot is not None
    text = replies.read_back(details, st.slot.start.astimezone(t.clinic.tz), t.clinic.today)
    return t.reply(text, Step.CONFIRM, read_back=details)


def spoken_times(t: Turn) -> list[str]:
    """The offered times as the caller hears them ("9:15am")."""
    return [n.spoken_time(s.start.astimezone(t.clinic.tz).time()) for s in t.st.offered]


def options(t: Turn) -> r.StepOptions:
    catalogue = t.clinic.catalogue
    return r.StepOptions(
        species=catalogue.species,
        appointment_types=catalogue.appointment_types,
        clinicians=catalogue.clinicians,
        times=tuple(spoken_times(t)),
        proposed_type=t.st.proposed_type,
    )


def choices(t: Turn, step: Step) -> tuple[str, ...]:
    """What the caller can say or tap to answer the question now asked (repair.choices)."""
    st = t.st
    on_file = step == Step.EMAIL and bool(st.on_file_email) and st.email is None
    yes_no = t.repair.asks_yes_no or on_file or st.pending_retry
    return r.choices(step, options(t), yes_no=yes_no)


def returning_caller_email(t: Turn) -> str:
    """The e-mail from this caller's last booking, but only when the name they gave matches
    the one stored with their phone number: nothing stored is offered to anyone else."""
    st = t.st
    record = t.clinic.client_by_phone(st.phone) if st.phone else None
    if record is None or not record.email:
        return ""
    same = (record.first_name or "").lower() == (st.first_name or "").lower() and (
        record.last_name or ""
    ).lower() == (st.last_name or "").lower()
    return str(record.email) if same else ""


def question(t: Turn) -> str:
    """The question for what we are waiting for, without side effects (the repair's own
    when one is under way)."""
    repairing = t.repair.last_question(t.st.expecting)
    if repairing:
        return repairing
    return replies.question(t.st.expecting)


def ask_again(t: Turn) -> str:
    """The current question once more, after something else was answered: the times
    themselves when times were offered."""
    if t.st.expecting == Step.TIME and t.st.offered:
        return offers.offer_sentence(t)
    if t.st.expecting == Step.ANYTHING_ELSE:
        return replies.ANYTHING_ELSE
    return question(t)


# -- the read-back put right -------------------------------------------------------------
_BY_EAR_COMMON = 4  # corrections by ear tried while they are common names (else 2)


def corrected_to_the_same(t: Turn, found: dict[str, Any]) -> str | None:
    """The step whose value the caller said is wrong ("No, her name is Bella") while
    naming, as heard, the value already held or one already refused (misheard the same
    way each time), or a step corrected twice already (misheard a new way each time:
    "Bell", "Bill", "Belle")."""
    st = t.st

    def same(key: str) -> bool:
        held, said = getattr(st, key), found.get(key)
        if not said:
            return False
        said = str(said).lower()
        return said in st.refused_values(key) or (bool(held) and str(held).lower() == said)

    def again(key: str) -> bool:  # corrected twice before: a third try by ear will not do
        said, tries = found.get(key), len(st.refused_values(key))
        # ... unless it is a common name, once more (run 17: "Bell", "Belle", then "Bella"
        # went to a spelling that came back "D-P-L-L-A", and on to reception).
        if said and nm.is_common_name(str(said), key) and tries < _BY_EAR_COMMON:
            return False
        return bool(said) and tries >= 2

    if same("pet_name") or again("pet_name"):
        return "pet_name"
    names = [k for k in ("first_name", "last_name") if found.get(k)]
    if names and (all(same(k) for k in names) or any(again(k) for k in names)):
        return "client_name"
    if same("phone") or again("phone"):
        return "phone"
    return None


def misheard_again(t: Turn, step: str, found: dict[str, Any] | None = None) -> Reply:
    """Hearing the same correction again will not help: the step's repair does (the
    name spelled letter by letter, the number in parts), then the read-back again."""
    keys, first_name_known = FORGETS[step], False
    surname_tries = len(t.st.refused_values("last_name"))
    if step == "client_name" and _agreed(t, "last_name"):
        # The surname is the one the caller said yes to, spelt out: the first name is what
        # is still heard wrong (run 16: "Michelle" for Aisha, once Mensah was agreed).
        keys = ("first_name",)
    elif step == "client_name" and t.st.first_name and _first_name_settled(t) and surname_tries < 2:
        # Heard the same, both names may be right by ear: the surname is spelled first,
        # since that is where spellings differ most (Clark and Clarke sound the same), also
        # after one surname was put right by ear ("Doell", then "Boyle" for Doyle), and
        # after a first name put right as a common one (run 18: "Family" for Naomi, then
        # Naomi spelled and heard "N-A-L-N-A" while Clarke was the name heard wrong).
        keys, first_name_known = ("last_name",), True
    variant = _other_spelling(t, keys, found or {})
    refused = set(t.st.refused)
    for key in keys:
        held = getattr(t.st, key)
        if held:
            refused.add((key, str(held).lower()))
    said_no_to = {(key, str(getattr(t.st, key)).lower()) for key in keys if getattr(t.st, key)}
    t.set(
        refused=frozenset(refused),
        replaced=t.st.replaced - said_no_to,
        **{key: None for key in keys},
    )
    if variant is not None:
        # As a receptionist asks "Clarke with an E?": the other spelling, spelt out, for
        # a yes or no (a no goes on to the spelling).
        t.repair.state.pending, t.repair.state.spelt = dict([variant]), {variant[0]}
        return advance(t, True)
    t.repair.refuse(step)
    miss = t.repair.miss(step, options(t), first_name_known=first_name_known)
    if miss.handoff or not miss.question:
        return advance(t, True)
    return t.reply(miss.question, Step(step), repair=miss.kind)


def _first_name_settled(t: Turn) -> bool:
    """The first name held is likely right by ear: never refused, or a common name put
    right from words that are nobody's name ("Family" for Naomi, run 18). A common name
    refused for another ("James" for "Jane") leaves the first name in doubt."""
    refused = t.st.refused_values("first_name")
    if not refused:
        return True
    common = nm.is_common_name(str(t.st.first_name), "first_name")
    return common and not any(nm.is_common_name(name, "first_name") for name in refused)


def _other_spelling(
    t: Turn, keys: tuple[str, ...], found: dict[str, Any]
) -> tuple[str, str] | None:
    """The one name about to be refused, spelt the other usual way ("Clark" -> "Clarke"),
    when the caller's correction was heard as that very name, and unless the caller has
    refused that spelling too."""
    if len(keys) != 1 or keys[0] not in ("pet_name", "last_name"):
        return None
    key = keys[0]
    held = getattr(t.st, key)
    if not held or str(found.get(key, "")).lower() != str(held).lower():
        return None
    variant = nm.spelling_variant(str(held))
    if variant is None or variant.lower() in t.st.refused_values(key):
        return None
    if nm.is_common_name(str(held), key) and not nm.is_common_name(variant, key):
        return None  # Bella is a name; "Bellah" would only be a guess (run 14)
    return key, variant


def keep_agreed_names(t: Turn, found: dict[str, Any]) -> None:
    """A name the caller said yes to when it was put to them spelt out ("Is your last name
    spelt M, E, N, S, A, H, Mensah?") and heard again as the recogniser writes it ("Menser")
    is that name said again, not a new one (run 16 replaced the Mensah just agreed)."""
    for key in ("first_name", "last_name"):
        said = found.get(key)
        if (
            said
            and _agreed(t, key)
            and nm.common_name_heard_as(str(said), key) == getattr(t.st, key)
        ):
            found[key] = getattr(t.st, key)


def _agreed(t: Turn, key: str) -> bool:
    """The name held for `key` is the common name put to the caller and said yes to."""
    held = getattr(t.st, key)
    return bool(held) and (key, held) in t.repair.state.names_put


def remember_refused(t: Turn, found: dict[str, Any]) -> None:
    """A value the caller put right at the read-back is never read back to them again."""
    refused, replaced = set(t.st.refused), set(t.st.replaced)
    for key in ("pet_name", "first_name", "last_name", "phone", "email"):
        held, said = getattr(t.st, key), found.get(key)
        if held and said and str(said).lower() != str(held).lower():
            value = (key, str(held).lower())
            if value not in refused:
                replaced.add(value)  # only another value heard in its place
            refused.add(value)
    t.set(refused=frozenset(refused), replaced=frozenset(replaced))


def read_back_details(
    state: BookingState, tz: ZoneInfo, schedule_names: dict[int, str]
) -> dict[str, str]:
    """What the read-back gives, by meaning: the record the simulator's caller checks and
    the booking placed must match ("date" ISO, "time" HH:MM, "email" "" if none)."""
    st = state
    assert st.slot and st.species and st.appointment_type and st.phone
    when = st.slot.start.astimezone(tz)
    return {
        "species": st.species,
        "appointment_type": st.appointment_type,
        "clinician": schedule_names.get(st.slot.schedule_id, ""),
        "date": when.date().isoformat(),
        "time": when.strftime("%H:%M"),
        "pet_name": st.pet_name or "",
        "client_name": f"{st.first_name} {st.last_name}",
        "phone": st.phone,
        "email": st.email or "",
    }
