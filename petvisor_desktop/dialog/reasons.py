"""Why the pet needs seeing, in the caller's own words: the note for the staff that goes with
the booking ("she's been sick twice this morning"), read from the opening by rules.

An opening in which the rules find the animal or the visit is answered without the language
model (understand.py), so the note that the model used to write is taken from the words
themselves: the clauses that say what is wrong with the pet or what it needs done, without
the request around them ("I'd like to book ..."), greetings, or the caller's own details."""

from __future__ import annotations

import re

from petvisor_desktop.dialog import animals
from petvisor_desktop.dialog.cues import has_cue, normalise_words
from petvisor_desktop.dialog.names import SELF_NAMED

# A line on the staff's card, cut at a word.
MAX_CHARS = 80

# Clauses: sentences, then the parts of a sentence at commas and before a request joined on
# ("... for a few days and I'd like a vet to look at her", "... so I'd like to book that").
_CLAUSE = re.compile(
    r"(?<=[.?!;])\s+|,\s*|\s+(?:and|so|but)\s+(?=(?:i|i'd|i'm|i'll|can|could|would)\b)", re.I
)
# The caller asking for the visit, not saying why.
_REQUEST = re.compile(
    r"\b(?:book|booked|booking|appointment|i'?d like|i would like|i want|i need to|"
    r"can (?:i|we|you|someone|a vet)|could (?:i|we|you|someone|a vet)|any chance|"
    r"bring (?:him|her|it|them|my)|get (?:him|her|it|them|my)\b.*\b(?:in|seen)|"
    r"(?:have|take) a look|look at (?:him|her|it|them)|seen|checked over|"
    r"is (?:this|that) the vets?|i think (?:that'?s|it'?s) a)\b",
    re.I,
)
# Where the reason starts inside a request: "bring my dog in [to have his nails clipped]".
_REASON_START = re.compile(
    r"\b(?:to have|to get|because|as (?:he|she|it)|since (?:he|she))\b", re.I
)
# The pet (or its body) doing or having something: "she's been sick", "he keeps shaking his
# head", "her breath is terrible", "my cat has fleas", "my dog's got a lump".
_PET_STATE = re.compile(
    r"\b(?:he|she|it|they|his \w+|her \w+|its \w+|"
    r"my (?:\w+ )?(?:cat|dog|puppy|kitten|pup|boy|girl))"
    r"(?:'s|\s+is|\s+has|\s+had|\s+keeps|\s+kept|\s+needs|\s+seems|\s+was|\s+won'?t|\s+isn'?t|"
    r"\s+can'?t|\s+hasn'?t|\s+ate|\s+got|\s+would need)\b",
    re.I,
)
_LEAD = re.compile(
    r"^(?:(?:hi|hello|hiya|hey|morning|good (?:morning|afternoon|evening)|there|well|so|oh|um|"
    r"erm|right|yes|yeah|ok|okay|dear|and|but)\b[\s,.!]*)+",
    re.I,
)
_TAIL = re.compile(r"[\s,.!?]*(?:please|thanks|thank you)?[\s,.!?]*$", re.I)
# What a visit's own name says is no reason ("a consultation", "the nurse"); vaccinations
# are their own reason ("his booster" says nothing the appointment type does not).
_TYPE_NAMES = frozenset({"consultation", "consult", "nurse", "dental", "dentist"})
_PROBLEM_CUES = tuple(
    cue
    for kind, cues in animals.APPOINTMENT_TYPE_WORDS.items()
    if kind != "Vaccinations"
    for cue in cues
    if cue not in _TYPE_NAMES and cue not in animals.GENERIC_TYPE_CUES
)
# Words that name the visit itself: "my cat needs her vaccinations" says no more than the
# appointment type does.
_VISIT_CUES = (*_TYPE_NAMES, *animals.APPOINTMENT_TYPE_WORDS["Vaccinations"], "check up")
_DETAILS = re.compile(r"\d{3}|@|\bat\b.*\bdot\b|\bnumber\b|\be-?mail\b", re.I)


def reason(text: str) -> str:
    """The caller's words that say why the pet needs seeing, or "" when they say nothing of
    it: "My cat's been off her food for a few days and I'd like a vet to have a look at her"
    -> "My cat's been off her food for a few days"."""
    kept: list[str] = []
    for clause in _CLAUSE.split(text):
        said = _why(clause)
        if said:
            kept.append(said)
    return _shortened(", ".join(kept))


def _why(clause: str) -> str:
    clause = _TAIL.sub("", _LEAD.sub("", clause.strip()))
    if not clause or _DETAILS.search(clause) or SELF_NAMED.search(clause) or "?" in clause:
        return ""
    words = normalise_words(clause)
    problem = has_cue(words, _PROBLEM_CUES)
    if _REQUEST.search(clause):
        start = _REASON_START.search(clause)
        if start is None or not problem:
            return ""
        # "to have his nails clipped" -> "have his nails clipped"
        return re.sub(r"^(?:to |because |as |since )", "", clause[start.start() :], flags=re.I)
    if problem:
        return clause
    return clause if _PET_STATE.search(clause) and not has_cue(words, _VISIT_CUES) else ""


def _shortened(note: str) -> str:
    if len(note) <= MAX_CHARS:
        return note
    cut = note[: MAX_CHARS + 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;")


_NOTE_ASKED = re.compile(r"\b(?:note|mention|tell (?:the|your) (?:vet|staff|nurse))\b", re.I)


def tells_more(text: str) -> bool:
    """The words say something of the pet or ask for a note beyond the answer to a closed
    question ("Whoever is free first, she has been sneezing", "The first one, and could you
    note that she has been limping"): worth the model's reading for the staff's note."""
    return bool(_PET_STATE.search(text) or _NOTE_ASKED.search(text) or reason(text))
