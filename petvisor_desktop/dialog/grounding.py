"""Is a value the language model proposed supported by what the caller actually said?

The small model sometimes invents a pet name, a species or a clinician. The dialog only uses
a proposed value when a function here finds it in the caller's words; it also uses the
`detect_*` functions to read a value straight from the words without the model.

Cue words, for maintainers (all matched as whole words, plurals included):

============================  ===============================================================
What                          Cues (see the tables below for the full lists)
============================  ===============================================================
Dog                           dog, puppy, pup, pooch, canine, doggy, breeds (labrador, spaniel,
                              terrier, collie, cockapoo, staffie, ...)
Cat                           cat, kitten, kitty, feline, moggy, breeds (siamese, maine coon,
                              ragdoll, british shorthair, tabby, ...)
Other animals (not bookable)  rabbit/bunny, guinea pig, hamster, parrot, budgie, snake, lizard,
                              tortoise, horse, ferret, rat, mouse, chicken, goat, ...
Vaccinations                  vaccination, vaccine, jab, booster, shots, injection
Consultation                  consultation, check up, see the vet, sick, unwell, vomiting,
                              limping, lump, itching, sneezing, ear, eye, skin, not herself ...
Nurse appointment             nurse, nail clip, claws, weigh, flea, worming, microchip, stitches
Dental                        dental, teeth, tooth, gums, bad breath, mouth, scale and polish
Any clinician                 anyone, any vet, don't mind, doesn't matter, no preference,
                              whoever, first available, either
Hand-off: emergency           bleeding, can't breathe, collapsed, hit by a car, seizure,
                              fitting, poisoned, ate chocolate, choking, unconscious, emergency
Hand-off: cancel              cancel, cancellation, can't make it
Hand-off: reschedule          reschedule, rebook, or change/move + my appointment/booking
Hand-off: person              speak to a person/human/someone, receptionist, reception, staff
Off task                      ignore your instructions, you are now, system prompt, pretend,
                              book every slot, developer mode, repeat your instructions
============================  ===============================================================

Where they are read: names, clinicians and dates here; animals and appointment types in
animals.py; the hand-off and off-task cues (and hours questions, questions reception answers,
other times) in intents.py. All match words with cues.py, where a cue right after a negation
("not a dog", "it's not urgent") does not count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from petvisor_desktop.dialog.cues import (
    close_word,
    correction_point,
    final_choice,
    has_cue,
    negated_at,
    normalise_words,
    spelled_runs,
)
from petvisor_desktop.dialog.normalize.numbers import DIGIT_WORDS

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "doctor", "prof", "professor", "nurse", "vet"}
)


def name_grounded(value: str, utterance: str) -> bool:
    """Every word of a proposed name was said: "James Okafor" in "it's james okafor".

    Case, punctuation and a possessive "'s" do not matter; a word of 5+ letters may be one
    edit off (a speech-to-text slip); letters spelled out ("m i t t e n s") count. Titles in
    the value ("Mr") are not required.
    """
    wanted = [w for w in normalise_words(value) if w not in _TITLES]
    if not wanted:
        return False
    heard = normalise_words(utterance)
    spelled = spelled_runs(heard)
    for word in wanted:
        if len(word) == 1:
            if not any(h.startswith(word) for h in heard):
                return False
            continue
        if any(close_word(word, h) for h in heard):
            continue
        if any(word == run or (len(word) >= 3 and word in run) for run in spelled):
            continue
        return False
    return True


# --------------------------------------------------------------------------------------------
# Clinicians
# --------------------------------------------------------------------------------------------

_POST_NOMINALS = frozenset(
    {"bvsc", "bvms", "bvetmed", "vetmb", "mrcvs", "rvn", "dvm", "bsc", "ma", "phd", "cert"}
)
_SPOKEN_TITLES = frozenset({"dr", "doctor", "nurse"})
# Names that are also everyday words: they only count after a title or next to the other name.
_WORD_NAMES = frozenset(
    {
        "will",
        "may",
        "mark",
        "bill",
        "pat",
        "sue",
        "rose",
        "grace",
        "hope",
        "joy",
        "faith",
        "ray",
        "jack",
        "june",
        "april",
        "dawn",
        "holly",
        "ruby",
        "amber",
        "penny",
        "sandy",
        "frank",
        "rich",
        "guy",
        "drew",
        "long",
        "young",
        "king",
        "white",
        "black",
        "green",
        "brown",
        "wood",
        "hill",
        "baker",
        "cook",
        "walker",
        "hunter",
        "bird",
        "fox",
        "parsons",
    }
)


def _clinician_parts(name: str) -> list[str]:
    return [w for w in normalise_words(name) if w not in _TITLES and w not in _POST_NOMINALS]


def _clinician_hits(name: str, words: Sequence[str]) -> list[tuple[int, bool, bool]]:
    """Where this clinician is named: (index, is the surname, said after "doctor"/"dr")."""
    parts = _clinician_parts(name)
    near = [{i for i, w in enumerate(words) if close_word(part, w)} for part in parts]
    hits: list[tuple[int, bool, bool]] = []
    for k, part in enumerate(parts):
        others = set().union(*(near[j] for j in range(len(parts)) if j != k))
        for i in sorted(near[k]):
            after_title = i > 0 and words[i - 1] in _SPOKEN_TITLES
            beside_other = (i - 1) in others or (i + 1) in others
            # "normal" is one edit from "Norman": a fuzzy or everyday-word match needs a title
            # or the clinician's other name next to it.
            plain = words[i] == part and part not in _WORD_NAMES
            if not (plain or after_title or beside_other):
                continue
            start = i - 1 if after_title else i
            if negated_at(words, start):
                continue  # "not Dr Norman"
            is_surname = k == len(parts) - 1
            hits.append((i, is_surname, after_title))
    return hits


def _clinician_score(hits: Sequence[tuple[int, bool, bool]]) -> int:
    """Surname 2, first name 1, after a title 1: "Dr Norman" beats a shared first name."""
    surname = any(is_surname for _, is_surname, _ in hits)
    first = any(not is_surname for _, is_surname, _ in hits)
    titled = any(titled for _, _, titled in hits)
    return 2 * surname + first + titled


def clinician_grounded(name: str, utterance: str) -> bool:
    """The caller named this clinician: "Dr Michael Norman" in "doctor norman" or "michael".

    Not when the caller then named another doctor after a correction ("Dr Roberts. Actually,
    no, can I have Dr Norman?" does not ground Dr Roberts).
    """
    words = normalise_words(utterance)
    hits = _clinician_hits(name, words)
    if not hits:
        return False
    point = correction_point(words)
    if not point or any(i >= point for i, _, _ in hits):
        return True
    parts = _clinician_parts(name)
    named_later = [
        words[j + 1]
        for j in range(point, len(words) - 1)
        if words[j] in _SPOKEN_TITLES and not negated_at(words, j)
    ]
    return not any(all(not close_word(p, w) for p in parts) for w in named_later)


def detect_clinician(utterance: str, names: Sequence[str]) -> str | None:
    """The clinician (one of `names`) the caller asked for, else None (also when unclear).

    A clinician named after a correction wins; otherwise the best match (surname over first
    name), and a tie is None.
    """
    words = normalise_words(utterance)
    hits = {name: _clinician_hits(name, words) for name in names}
    final = final_choice({name: [i for i, _, _ in h] for name, h in hits.items()}, words)
    if final is not None:
        return final
    scores = [(_clinician_score(h), name) for name, h in hits.items()]
    best = max((score for score, _ in scores), default=0)
    winners = [name for score, name in scores if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


_ANY_CLINICIAN = (
    "anyone",
    "anybody",
    "any one",
    "any vet",
    "any of the vets",
    "any of them",
    "any doctor",
    "any is fine",
    "dont mind",
    "do not mind",
    "doesnt matter",
    "does not matter",
    "dont care",
    "not bothered",
    "no preference",
    "dont have a preference",
    "whoever",
    "whichever",
    "first available",
    "whoevers available",
    "either",
    "no one in particular",
    "nobody in particular",
)


def detect_any_clinician(utterance: str) -> bool:
    """The caller has no preference for a clinician ("anyone", "I don't mind")."""
    return has_cue(normalise_words(utterance), _ANY_CLINICIAN, negation=False)


# --------------------------------------------------------------------------------------------
# When the caller asks for a time
# --------------------------------------------------------------------------------------------

_PAST = re.compile(
    r"\b(been|was|were|had|since|ago|yesterday|last (?:week|night|time|month)|earlier)\b", re.I
)
# Words that name the phone number or the e-mail address (at the read-back: which detail is
# being put right, even when its new value was not made out).
PHONE_CUE = re.compile(r"\b(phone|number|mobile|landline|call me|ring me|contact)\b", re.I)
EMAIL_CUE = re.compile(r"\be-?mail\b", re.I)
# A phone number after the words that give it ("my number is 07 7.0.0.901.1.23"): never a
# time (run 18: "1.23" was taken for 1:23pm wanted). Its "oh" may come out a letter glued
# to the digits ("L7700, 900, 1.23", run 20).
_NUMBER_GIVEN = re.compile(
    r"\b(?:phone|number|mobile|landline|(?:call|ring|reach)\s+me\s+on)\b"
    r"(?:\s+(?:number|is|it's))*[\s:,]*"
    rf"(?:[a-z]?[\d().+-]+[\s.,]*|(?:{'|'.join(sorted(DIGIT_WORDS))})\b[\s.,-]*)+",
    re.I,
)


def without_phone_number(text: str) -> str:
    """The words without a phone number given in them ("... my number is 07700 900123")."""
    return _NUMBER_GIVEN.sub(" ", text)


# Words that show a date or part of day is asked for ("can I come in on Friday"), not told.
BOOKING_CUE = re.compile(
    r"\b(book|booking|appointment|come in|bring|seen|see (?:him|her|them|someone|a vet|the vet)|"
    r"slot|available|free|visit|any chance|can (?:i|we|you)|could|would like|'d like|wants?|needs?|"
    r"on|for|next|this|how about|what about|instead|change|make it|move it)\b",
    re.I,
)
# The first free time, whatever the day.
ASAP = re.compile(
    r"\b(soonest|earliest|as soon as|first available|first free|any ?day|whenever|"
    r"next available|asap|don'?t mind (?:when|which day))\b",
    re.I,
)


def booking_clauses(text: str) -> str:
    """The parts of an utterance that are not about the past ("she's been sick this morning")."""
    clauses = re.split(r"(?<=[.?!;])\s+|,?\s+\bbut\b\s+", text)
    return " ".join(c for c in clauses if not _PAST.search(c))


def date_grounded(day: date, text: str) -> bool:
    """The day's name, month or day of the month was said."""
    words = set(normalise_words(text))
    names = {day.strftime("%A").lower(), day.strftime("%a").lower(), day.strftime("%B").lower()}
    return bool(words & names) or str(day.day) in words


def words_in(value: str, text: str) -> bool:
    """At least half of the longer words of `value` were said."""
    words = [w for w in normalise_words(value) if len(w) > 2]
    said = set(normalise_words(text))
    return bool(words) and sum(w in said for w in words) >= max(1, len(words) // 2)


def mentions_existing_booking(text: str) -> bool:
    return bool(re.search(r"\b(my|existing|current)\s+(appointment|booking)\b", text, re.I))
