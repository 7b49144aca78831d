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

A cue right after a negation ("not a dog", "it's not urgent") does not count. The hand-off
and off-task cues (and hours questions, questions reception answers, other times) are read in
intents.py, with `find_cue` and `has_cue` from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import lru_cache

__all__ = [
    "APPOINTMENT_TYPE_WORDS",
    "OTHER_SPECIES_WORDS",
    "SPECIES_WORDS",
    "appointment_type_grounded",
    "clinician_grounded",
    "detect_any_clinician",
    "detect_appointment_type",
    "detect_clinician",
    "detect_other_species",
    "detect_species",
    "name_grounded",
    "normalise_words",
    "species_grounded",
]

# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------

_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Endings dropped from contractions and possessives: "she's" -> "she", "Mittens's" -> "mittens".
# "n't" stays part of the word ("can't" -> "cant") because it changes the meaning.
_CLITICS = frozenset({"s", "re", "ve", "ll", "d", "m"})


def normalise_words(text: str) -> list[str]:
    """Lowercase words without punctuation: "She's Mittens' mum!" -> ["she", "mittens", "mum"].

    Contractions and possessives lose their ending ("she's" -> "she", "we'll" -> "we"), except
    "n't", which is kept without the apostrophe ("don't" -> "dont"). Other apostrophes are
    removed ("O'Brien" -> "obrien"); hyphens split words ("check-up" -> "check", "up").
    """
    lowered = text.lower().replace("’", "'").replace("‘", "'")
    words: list[str] = []
    for match in _WORD_RE.finditer(lowered):
        word = match.group()
        head, apostrophe, tail = word.rpartition("'")
        if apostrophe and tail in _CLITICS:
            word = head
        words.append(word.replace("'", ""))
    return words


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def _close(word: str, heard: str) -> bool:
    """Same word, or one edit apart when the word is long enough (5+ letters) to allow a slip."""
    if word == heard:
        return True
    return len(word) >= 5 and len(heard) >= 4 and _edit_distance(word, heard) <= 1


def _spelled_runs(words: Sequence[str]) -> list[str]:
    """Words spelled out letter by letter: "m i double t e n s" -> "mittens"."""
    runs: list[str] = []
    current = ""
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in ("double", "triple", "treble") and len(nxt) == 1 and nxt.isalpha():
            current += nxt * (2 if word == "double" else 3)
            i += 2
            continue
        if len(word) == 1 and word.isalpha():
            current += word
        else:
            if len(current) >= 2:
                runs.append(current)
            current = ""
        i += 1
    if len(current) >= 2:
        runs.append(current)
    return runs


@lru_cache(maxsize=1024)
def _cue(phrase: str) -> tuple[str, ...]:
    return tuple(normalise_words(phrase))


def _same(heard: str, cue_word: str) -> bool:
    """A cue word as heard, plurals included: "ear"/"ears", "puppy"/"puppies"."""
    if heard == cue_word or heard in (cue_word + "s", cue_word + "es"):
        return True
    return cue_word.endswith("y") and heard == cue_word[:-1] + "ies"


_NEGATORS = frozenset(
    {"not", "isnt", "arent", "wasnt", "never", "nothing", "dont", "doesnt", "without"}
)


def negated_at(words: Sequence[str], start: int) -> bool:
    """A negation in the three words before `start` ("not a dog", "no emergency")."""
    if start > 0 and words[start - 1] == "no":
        return True
    return bool(_NEGATORS & set(words[max(0, start - 3) : start]))


def find_cue(words: Sequence[str], phrase: str, negation: bool = True) -> list[int]:
    """Start indices of a cue phrase in the words, skipping negated ones."""
    cue = _cue(phrase)
    if not cue:
        return []
    return [
        i
        for i in range(len(words) - len(cue) + 1)
        if all(_same(words[i + k], cue[k]) for k in range(len(cue)))
        and not (negation and negated_at(words, i))
    ]


def has_cue(words: Sequence[str], phrases: Iterable[str], negation: bool = True) -> bool:
    return any(find_cue(words, phrase, negation) for phrase in phrases)


# Words with which callers take back what they just said: "A dog. Oh sorry, no, a cat."
_CORRECTIONS = frozenset({"sorry", "actually", "no", "wait", "mean", "oops", "correction", "hang"})


def _correction_point(words: Sequence[str]) -> int:
    """Index just after the last correction word, 0 when there is none."""
    return max((i + 1 for i, w in enumerate(words) if w in _CORRECTIONS), default=0)


def _final_choice(positions: Mapping[str, Sequence[int]], words: Sequence[str]) -> str | None:
    """The one candidate still named after the caller's last correction, if exactly one.

    `positions` maps each candidate to where it was mentioned.
    """
    mentioned = [key for key, at in positions.items() if at]
    if len(mentioned) == 1:
        return mentioned[0]
    point = _correction_point(words)
    later = [key for key in mentioned if any(i >= point for i in positions[key])]
    return later[0] if point and len(later) == 1 else None


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
    spelled = _spelled_runs(heard)
    for word in wanted:
        if len(word) == 1:
            if not any(h.startswith(word) for h in heard):
                return False
            continue
        if any(_close(word, h) for h in heard):
            continue
        if any(word == run or (len(word) >= 3 and word in run) for run in spelled):
            continue
        return False
    return True


# --------------------------------------------------------------------------------------------
# Species
# --------------------------------------------------------------------------------------------

SPECIES_WORDS: Mapping[str, tuple[str, ...]] = {
    "Dog": (
        "dog",
        "puppy",
        "pup",
        "pooch",
        "canine",
        "doggy",
        "doggie",
        "labrador",
        "lab",
        "spaniel",
        "terrier",
        "collie",
        "poodle",
        "retriever",
        "beagle",
        "dachshund",
        "sausage dog",
        "pug",
        "bulldog",
        "frenchie",
        "husky",
        "shepherd",
        "alsatian",
        "staffie",
        "staffy",
        "whippet",
        "greyhound",
        "lurcher",
        "cockapoo",
        "cavapoo",
        "labradoodle",
        "goldendoodle",
        "schnauzer",
        "boxer",
        "chihuahua",
        "jack russell",
        "cavalier",
        "shih tzu",
        "rottweiler",
        "doberman",
        "dalmatian",
        "corgi",
        "pomeranian",
        "westie",
        "yorkie",
        "bichon",
        "maltese",
        "springer",
        "cocker",
        "sprocker",
        "pointer",
        "setter",
        "vizsla",
        "weimaraner",
        "akita",
        "malamute",
        "samoyed",
        "mastiff",
        "great dane",
        "basset",
        "sheepdog",
    ),
    "Cat": (
        "cat",
        "kitten",
        "kitty",
        "feline",
        "moggy",
        "moggie",
        "tomcat",
        "siamese",
        "persian",
        "bengal",
        "ragdoll",
        "maine coon",
        "sphynx",
        "british shorthair",
        "shorthair",
        "longhair",
        "tabby",
        "burmese",
        "birman",
        "abyssinian",
        "russian blue",
        "scottish fold",
        "norwegian forest",
        "tortoiseshell",
        "tortie",
    ),
}

# Animals the clinic cannot book online, keyed by the name the dialog says back.
OTHER_SPECIES_WORDS: Mapping[str, tuple[str, ...]] = {
    "rabbit": ("rabbit", "bunny"),
    "guinea pig": ("guinea pig", "cavy"),
    "hamster": ("hamster",),
    "gerbil": ("gerbil",),
    "rat": ("rat",),
    "mouse": ("mouse", "mice"),
    "ferret": ("ferret",),
    "chinchilla": ("chinchilla",),
    "hedgehog": ("hedgehog",),
    "parrot": ("parrot", "macaw", "cockatoo", "cockatiel", "parakeet"),
    "budgie": ("budgie", "budgerigar"),
    "bird": ("bird", "canary", "finch", "pigeon"),
    "chicken": ("chicken", "hen", "rooster", "cockerel"),
    "duck": ("duck",),
    "snake": ("snake", "python"),
    "lizard": ("lizard", "gecko", "bearded dragon", "iguana"),
    "tortoise": ("tortoise",),
    "turtle": ("turtle", "terrapin"),
    "fish": ("fish", "goldfish"),
    "frog": ("frog",),
    "horse": ("horse", "pony", "donkey"),
    "goat": ("goat",),
    "sheep": ("sheep", "lamb"),
    "pig": ("pig", "piglet"),
    "cow": ("cow", "calf"),
    "alpaca": ("alpaca", "llama"),
}

# "my dog ate some chicken", "rat poison", "his toy mouse": the animal is not the patient.
_NOT_A_PATIENT_BEFORE = frozenset({"ate", "eaten", "eat", "eating", "some", "toy", "cooked", "raw"})
_NOT_A_PATIENT_AFTER = frozenset(
    {"poison", "trap", "traps", "bone", "bones", "food", "meat", "treats", "toy", "flu"}
)


def _species_key(species_name: str) -> str | None:
    wanted = " ".join(normalise_words(species_name))
    for key, cues in SPECIES_WORDS.items():
        if wanted in (key.lower(), key.lower() + "s") or wanted in cues:
            return key
    return None


def _patient_hits(words: Sequence[str], cues: Iterable[str]) -> list[tuple[int, int]]:
    """(start, length) of each cue naming an animal that is the patient."""
    hits: list[tuple[int, int]] = []
    for phrase in cues:
        length = len(_cue(phrase))
        for i in find_cue(words, phrase):
            before = words[i - 1] if i > 0 else ""
            after = words[i + length] if i + length < len(words) else ""
            if before in _NOT_A_PATIENT_BEFORE or after in _NOT_A_PATIENT_AFTER:
                continue
            hits.append((i, length))
    return hits


def _species_positions(words: Sequence[str]) -> dict[str, list[int]]:
    return {key: [i for i, _ in _patient_hits(words, cues)] for key, cues in SPECIES_WORDS.items()}


def species_grounded(species_name: str, utterance: str) -> bool:
    """The caller named this species, by name, a synonym or a breed ("Dog" in "my spaniel").

    A species the caller took back ("a dog, oh sorry, no, a cat") is not grounded.
    """
    words = normalise_words(utterance)
    key = _species_key(species_name)
    if key is not None:
        positions = _species_positions(words)
        if not positions[key]:
            return False
        final = _final_choice(positions, words)
        return final is None or final == key
    wanted = " ".join(normalise_words(species_name))
    for name, cues in OTHER_SPECIES_WORDS.items():
        if wanted == name or wanted in cues:
            return bool(_patient_hits(words, cues))
    return bool(wanted) and bool(_patient_hits(words, [wanted]))


def detect_species(utterance: str) -> str | None:
    """ "Dog" or "Cat" when the caller names one of them, else None.

    With both named, the one still named after a correction wins ("A dog. Sorry, no, a
    cat."); otherwise ("my dog chases cats") it is None.
    """
    words = normalise_words(utterance)
    return _final_choice(_species_positions(words), words)


def detect_other_species(utterance: str) -> str | None:
    """An animal the clinic cannot book online ("rabbit", "guinea pig", "parrot"), else None.

    Returns the first one mentioned, by its key in OTHER_SPECIES_WORDS. Independent of
    detect_species: the dialog should check that first ("my dog chased a rabbit").
    """
    words = normalise_words(utterance)
    best: tuple[int, int, str] | None = None  # (start, -length, name): earliest, then longest
    for name, cues in OTHER_SPECIES_WORDS.items():
        for start, length in _patient_hits(words, cues):
            if best is None or (start, -length) < best[:2]:
                best = (start, -length, name)
    if best is None:
        return None
    # "guinea pig" also contains "pig": a longer cue covering the same words wins.
    return best[2]


# --------------------------------------------------------------------------------------------
# Appointment types
# --------------------------------------------------------------------------------------------

# Cues that only say "see a vet": Consultation's words, and weaker than any specific cue.
_SEE_A_VET = (
    "check up",
    "checkup",
    "see the vet",
    "see a vet",
    "see someone",
    "someone to see",
    "look at",
    "have a look",
    "take a look",
    "appointment with the vet",
)
APPOINTMENT_TYPE_WORDS: Mapping[str, tuple[str, ...]] = {
    "Vaccinations": (
        "vaccination",
        "vaccine",
        "vaccinate",
        "vaccinated",
        "annual vaccination",
        "jab",
        "booster",
        "shots",
        "injection",
        "rabies",
    ),
    "Consultation": (
        "consultation",
        "consult",
        *_SEE_A_VET,
        "sick",
        "ill",
        "unwell",
        "poorly",
        "not eating",
        "off his food",
        "off her food",
        "vomiting",
        "vomit",
        "throwing up",
        "being sick",
        "diarrhoea",
        "diarrhea",
        "limping",
        "limp",
        "lame",
        "lump",
        "itching",
        "itchy",
        "scratching",
        "sneezing",
        "coughing",
        "cough",
        "ear",
        "eye",
        "skin",
        "rash",
        "not herself",
        "not himself",
        "lethargic",
        "losing weight",
    ),
    "Nurse appointment": (
        "nurse",
        "nail clip",
        "nail trim",
        "nail",
        "claw",
        "weigh",
        "weighed",
        "weigh in",
        "weight check",
        "flea",
        "worm",
        "worming",
        "wormer",
        "microchip",
        "microchipped",
        "stitches",
        "stitches out",
        "post op",
        "post op check",
        "dressing",
        "bandage",
    ),
    "Dental": (
        "dental",
        "teeth",
        "tooth",
        "gum",
        "bad breath",
        "mouth",
        "scale and polish",
        "dentist",
    ),
}
# Cues that only say "see a vet" and lose to anything more specific ("look at his teeth").
_GENERIC_TYPE_CUES = frozenset(
    {
        *_SEE_A_VET,
        "mouth",
    }
)


def _singular(words: Sequence[str]) -> tuple[str, ...]:
    return tuple(w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words)


def _type_key(name: str) -> str | None:
    """The table entry for a clinic's type name: "Vaccination" -> "Vaccinations"."""
    wanted = _singular(normalise_words(name))
    for key in APPOINTMENT_TYPE_WORDS:
        if _singular(normalise_words(key)) == wanted:
            return key
    for key in APPOINTMENT_TYPE_WORDS:
        if _singular(normalise_words(key))[0] in wanted:
            return key  # "Dental check" -> "Dental"
    return None


def _type_score(name: str, words: Sequence[str]) -> int:
    """How strongly the words point at this type: 3 its own name, 2 a cue, 1 a generic cue."""
    score = 3 if find_cue(words, " ".join(_singular(normalise_words(name)))) else 0
    key = _type_key(name)
    for phrase in APPOINTMENT_TYPE_WORDS.get(key or "", ()):
        # A cue that begins with "not" ("not eating") carries its own negation.
        if find_cue(words, phrase, negation=not phrase.startswith("not ")):
            score += 1 if phrase in _GENERIC_TYPE_CUES else 2
    return score


def detect_appointment_type(utterance: str, names: Sequence[str]) -> str | None:
    """The clinic type name (one of `names`) the caller's words point to most, else None.

    After a correction ("a consultation, sorry, no, his vaccinations") only the words after it
    count. A tie ("nails and a booster") is None, so the dialog asks.
    """
    words = normalise_words(utterance)
    point = _correction_point(words)
    for part in (words[point:], words) if point else (words,):
        scores = [(_type_score(name, part), name) for name in names]
        best = max((score for score, _ in scores), default=0)
        if best > 0:
            winners = [name for score, name in scores if score == best]
            return winners[0] if len(winners) == 1 else None
    return None


def appointment_type_grounded(name: str, utterance: str) -> bool:
    """The caller said something that fits this appointment type."""
    return _type_score(name, normalise_words(utterance)) > 0


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
    near = [{i for i, w in enumerate(words) if _close(part, w)} for part in parts]
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
    point = _correction_point(words)
    if not point or any(i >= point for i, _, _ in hits):
        return True
    parts = _clinician_parts(name)
    named_later = [
        words[j + 1]
        for j in range(point, len(words) - 1)
        if words[j] in _SPOKEN_TITLES and not negated_at(words, j)
    ]
    return not any(all(not _close(p, w) for p in parts) for w in named_later)


def detect_clinician(utterance: str, names: Sequence[str]) -> str | None:
    """The clinician (one of `names`) the caller asked for, else None (also when unclear).

    A clinician named after a correction wins; otherwise the best match (surname over first
    name), and a tie is None.
    """
    words = normalise_words(utterance)
    hits = {name: _clinician_hits(name, words) for name in names}
    final = _final_choice({name: [i for i, _, _ in h] for name, h in hits.items()}, words)
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
# Words that show a date or part of day is asked for ("can I come in on Friday"), not told.
BOOKING_CUE = re.compile(
    r"\b(book|booking|appointment|come in|bring|seen|see (?:him|her|them|someone|a vet|the vet)|"
    r"slot|available|free|visit|any chance|can (?:i|we|you)|could|would like|'d like|want|need|"
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
