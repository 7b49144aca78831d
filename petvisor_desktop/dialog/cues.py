"""Matching the caller's words against cue words: the shared first step of grounding
(`grounding`, `animals`) and of reading intents (`intents`).

Words are lowercased with contractions and possessives cut ("she's" -> "she"); a cue matches
as whole words, plurals included; a cue right after a negation ("not a dog") does not count;
and of several candidates the one still named after the caller's last correction wins ("A
dog. Oh sorry, no, a cat.")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

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


def edit_distance(a: str, b: str) -> int:
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


def close_word(word: str, heard: str) -> bool:
    """Same word, or one edit apart when the word is long enough (5+ letters) to allow a slip."""
    if word == heard:
        return True
    return len(word) >= 5 and len(heard) >= 4 and edit_distance(word, heard) <= 1


def spelled_runs(words: Sequence[str]) -> list[str]:
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
def cue_words(phrase: str) -> tuple[str, ...]:
    return tuple(normalise_words(phrase))


def _same(heard: str, cue_word: str) -> bool:
    """A cue word as heard, plurals included: "ear"/"ears", "puppy"/"puppies"."""
    if heard == cue_word or heard in (cue_word + "s", cue_word + "es"):
        return True
    return cue_word.endswith("y") and heard == cue_word[:-1] + "ies"


def sound_key(word: str) -> str:
    """A word's consonants as heard: silent and soft letters dropped ("gh", "h", "w" after
    a vowel), alike sounds made one (z and s, c/ck/q and k, ph, v and f, th and t), doubles
    merged, vowels left out. "Hughes" and "use" are both "s"; "Hayes" and "haze" both "s";
    "Ross" is "rs". For a recogniser's mishearing of a name, not for spelling."""
    w = re.sub(r"[^a-z]", "", word.lower())
    for sound, same in (("gh", ""), ("ph", "f"), ("th", "t"), ("ck", "k"), ("qu", "k")):
        w = w.replace(sound, same)
    w = w.replace("h", "").translate(str.maketrans("zcqv", "skkf"))
    w = re.sub(r"(?<=[aeiouy])w", "", w)
    consonants = re.sub(r"[aeiouy]", "", w)
    return re.sub(r"(.)\1+", r"\1", consonants)


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
    cue = cue_words(phrase)
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


def correction_point(words: Sequence[str]) -> int:
    """Index just after the last correction word, 0 when there is none."""
    return max((i + 1 for i, w in enumerate(words) if w in _CORRECTIONS), default=0)


def final_choice(positions: Mapping[str, Sequence[int]], words: Sequence[str]) -> str | None:
    """The one candidate still named after the caller's last correction, if exactly one.

    `positions` maps each candidate to where it was mentioned.
    """
    mentioned = [key for key, at in positions.items() if at]
    if len(mentioned) == 1:
        return mentioned[0]
    point = correction_point(words)
    later = [key for key in mentioned if any(i >= point for i in positions[key])]
    return later[0] if point and len(later) == 1 else None
