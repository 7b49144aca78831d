"""Biasing the recognisers towards the answer the question expects: the stock phrases of the
closed steps, the ways a caller says a vocabulary entry, Vosk's grammar phrase list and
Whisper's prompt."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from petvisor_desktop.spoken import ANYONE_CHOICE, TITLES

# Steps whose answer is one of a few phrases. Elsewhere (names, dates, phone numbers, email)
# the answer space is open and a grammar would force wrong words onto the caller.
# fmt: off
STOCK_PHRASES: dict[str, tuple[str, ...]] = {
    "confirm": (
        "yes", "yeah", "yep", "yes please", "yes that's right", "yes that's correct",
        "that's right", "that's correct", "correct", "go ahead", "book it", "okay", "sure",
        "no", "nope", "no thanks", "no that's wrong", "that's wrong", "not quite", "wait",
    ),
    "anything_else": (
        "no", "no thanks", "no thank you", "no that's all", "that's all", "that's everything",
        "nothing else", "yes", "yes please", "bye", "goodbye", "thank you",
    ),
    "species": ("dog", "cat", "a dog", "a cat", "puppy", "kitten", "it's a dog", "it's a cat"),
    "clinician": (
        "anyone", "any vet", "anybody", "no preference", "whoever is free", "don't mind",
        "i don't mind", "whoever",
    ),
    "appointment_type": ("consultation", "vaccination", "vaccinations", "check up"),
}
# fmt: on
CLOSED_STEPS = frozenset(STOCK_PHRASES)


def spoken_phrase(text: str) -> str:
    """A phrase as a recogniser writes it: lowercase words, no punctuation, titles spelt out
    ("Dr Amy Roberts" -> "doctor amy roberts")."""
    words = re.findall(r"[\w']+", text.lower())
    return " ".join(TITLES.get(w, w) for w in words)


def phrase_variants(entry: str) -> list[str]:
    """The ways a caller says a vocabulary entry: "Dr Amy Roberts" -> "doctor amy roberts",
    "amy roberts", "doctor roberts", "roberts", "amy"; other entries as they are."""
    full = spoken_phrase(entry)
    words = full.split()
    if len(words) >= 2 and words[0] in TITLES.values():
        title, names = words[0], words[1:]
        out = [full, " ".join(names), f"{title} {names[-1]}", names[-1], names[0]]
    elif full == spoken_phrase(ANYONE_CHOICE):
        # "Whoever is free first" as callers say it: "anyone", "any vet", "no preference"...
        out = [full, *STOCK_PHRASES["clinician"]]
    else:
        out = [full]
    return list(dict.fromkeys(p for p in out if p))


def build_grammar(
    vocabulary: Sequence[str],
    expecting: str,
    known_word: Callable[[str], bool] = lambda w: True,
) -> list[str] | None:
    """The phrase list for a grammar recogniser at a closed step, or None at an open one.
    Phrases with a word the model does not know are left out: Vosk would silently drop the
    word and keep a distorted phrase."""
    if expecting not in CLOSED_STEPS:
        return None
    phrases: list[str] = []
    for entry in (*STOCK_PHRASES[expecting], *vocabulary):
        phrases += phrase_variants(entry)
    usable = [p for p in dict.fromkeys(phrases) if all(known_word(w) for w in p.split())]
    return usable or None


# Whisper reads its prompt as the text before the audio. At the phone step a sentence in the
# form the answer takes keeps the digits as words (tiny.en on
# espeak's "Oh seven seven double oh, nine double oh, four five six": "Rose, and" with the
# clinic's names as the prompt, every word right with this one). It must not end in words
# the answer starts with: a list ending "oh, zero, double" lost the caller's first "oh", and
# an e-mail example ("jane dot smith at example dot com") turned "james dot okafor at example
# dot com" into "jane dot com.", so the e-mail step keeps the clinic's names.
STEP_PROMPTS = {
    "phone": "Numbers are written out in words: zero seven seven double oh, nine hundred.",
}


def whisper_prompt(vocabulary: Sequence[str], expecting: str = "none", max_chars: int = 400) -> str:
    """The clinic's words as a Whisper prompt ("Dr Amy Roberts, Dr Michael Norman, Cat, ...").
    Whisper keeps at most 223 prompt tokens; 400 characters stay well inside that.

    At the e-mail step the vocabulary is the caller's name, given as a sentence ("Fatima
    Khan."): over ten name-based addresses, the local part came out exact 2 and 4 times
    (espeak, neural caller) against 0 and 2 with the clinic's names, and a spoken "dot"
    between the names is written as a full stop, which `parse_email` reads as the dot."""
    out: list[str] = []
    size = 0
    for entry in dict.fromkeys(v.strip() for v in vocabulary if v.strip()):
        if size + len(entry) + 2 > max_chars:
            break
        out.append(entry)
        size += len(entry) + 2
    prompt = ", ".join(out)
    return f"{prompt}." if expecting == "email" and prompt else prompt
