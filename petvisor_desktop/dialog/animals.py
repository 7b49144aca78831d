"""The animals and appointment types a caller names: which species (by name, synonym or
breed), which animals the clinic cannot book online, and which kind of appointment a
description asks for ("he's limping" -> Consultation). `detect_*` reads the value from the
words; `*_grounded` says whether a value the model proposed was said. The cue tables are
summarised in `grounding`'s docstring."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from petvisor_desktop.dialog.cues import (
    correction_point,
    cue_words,
    final_choice,
    find_cue,
    normalise_words,
)

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
        length = len(cue_words(phrase))
        for i in find_cue(words, phrase):
            before = words[i - 1] if i > 0 else ""
            after = words[i + length] if i + length < len(words) else ""
            if before in _NOT_A_PATIENT_BEFORE or after in _NOT_A_PATIENT_AFTER:
                continue
            hits.append((i, length))
    return hits


def _species_positions(words: Sequence[str]) -> dict[str, list[int]]:
    return {key: [i for i, _ in _patient_hits(words, cues)] for key, cues in SPECIES_WORDS.items()}


def names_both_species(utterance: str) -> bool:
    """Both a cat and a dog are named, one of them maybe negated ("it's the cat, not the
    dog"): a correction."""
    return len(_species_named(utterance)) == len(SPECIES_WORDS)


def _species_named(utterance: str) -> set[str]:
    """The species whose words are in `utterance`, negated or not."""
    words = normalise_words(utterance)
    return {
        species
        for species, cues in SPECIES_WORDS.items()
        if any(find_cue(words, phrase, negation=False) for phrase in cues)
    }


# The animal named only to say whose name follows ("my cat's name is Maela", "the dog is
# called Rex"): a way of speaking of the pet, not a statement of which animal it is.
_ANIMAL_FOR_THE_NAME = re.compile(
    r"\b(?:my|the|our|her|his)\s+(?:dog|cat|puppy|kitten|pup)(?:'?s)?\s+name\b"
    r"|\b(?:dog|cat|puppy|kitten|pup)\s+is\s+(?:called|named)\b",
    re.I,
)


def animal_only_names_the_pet(utterance: str) -> bool:
    """The animal words in `utterance` only say whose name is given ("My cat's name is
    Maela", run 13: espeak's "my pet's name" heard as "my cat's" turned a dog into a cat).
    False when the animal is named outside such a phrase too ("it's a cat, and her name...")."""
    rest = _ANIMAL_FOR_THE_NAME.sub(" ", utterance)
    return rest != utterance and not _species_named(rest)


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
        final = final_choice(positions, words)
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
    return final_choice(_species_positions(words), words)


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
GENERIC_TYPE_CUES = frozenset(
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
            score += 1 if phrase in GENERIC_TYPE_CUES else 2
    return score


def detect_appointment_type(utterance: str, names: Sequence[str]) -> str | None:
    """The clinic type name (one of `names`) the caller's words point to most, else None.

    After a correction ("a consultation, sorry, no, his vaccinations") only the words after it
    count. A tie ("nails and a booster") is None, so the dialog asks.
    """
    words = normalise_words(utterance)
    point = correction_point(words)
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
