"""Names in the caller's words: a bare answer that is only a name, the whole name split into
first and last, joined parts restored, and the words that cannot be a name (the animal, the
caller's own name given for the pet, a name said only to be taken back). Grounding's other
half: grounding.py says whether a proposed name was said; this reads names from the words."""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache
from pathlib import Path

from petvisor_desktop.dialog import animals
from petvisor_desktop.dialog.cues import edit_distance, normalise_words, sound_key
from petvisor_desktop.spoken import DATE_WORDS, HESITATIONS

# The caller speaks of themselves ("I'm ...", "put it under ...") or of the pet by name.
SELF_CUE = re.compile(
    r"\b(i'?m|i am|my name|name'?s|this is|call me|put it under|it'?s .{2,30} here)\b", re.I
)
PET_CUE = re.compile(
    r"(?i:\b(called|named|(?:her|his|its|the) name|name'?s)\b)"
    r"|(?i:\bmy (?:dog|cat|puppy|kitten|pup),? )[A-Z]"  # Whisper writes "my dog, Rex,"
)
SELF_NAMED = re.compile(
    r"\b(?:i'?m|i am|my name is|my name's|this is)\s+(?:(?:actually|really)\s+)?"
    r"((?:[A-Za-z'-]+\s*){1,3})",
    re.I,
)
_PARTICLES = {
    "van",
    "von",
    "de",
    "da",
    "del",
    "della",
    "di",
    "le",
    "la",
    "du",
    "der",
    "den",
    "ter",
    "st",
}
_ANIMAL_WORDS = frozenset(
    w for words in animals.SPECIES_WORDS.values() for phrase in words for w in phrase.split()
) | {"boy", "girl", "baby", "pet", "animal", "him", "her", "she", "he"}
_CORRECTION = re.compile(
    r"\b(?:actually|sorry|i mean|i meant|no,|instead|rather|wait|put it under|make that|"
    r"change (?:it|that) to)\b",
    re.I,
)
_FILLER = re.compile(
    r"^(?:(?:her|his|its|the|my|our)\s+(?:name|names)\s+(?:is|are|'s)|(?:she|he|it)'?s?\s+(?:called|named)|"
    r"(?:she|he|it)\s+is\s+(?:called|named)|(?:she|he|it)'s|it'?s|it\s+is|i'?m|i\s+am|my\s+name\s+is|"
    r"name'?s|this\s+is|call\s+me|yes|yeah|oh|um|uh|er|well|sure|okay|ok)\s*[,.]?\s*",
    re.I,
)
# "..., that's his full name": the words before it are the whole name ("Captain Jack").
_FULL_NAME = re.compile(
    r"([A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+){0,2}),?\s+(?:that's|that\s+is)\s+"
    r"(?:his|her|its|their|my)\s+(?:full\s+)?name\b"
)
_NOT_NAMES = {
    "the",
    "a",
    "an",
    "and",
    "my",
    "is",
    "yes",
    "no",
    "not",
    "sure",
    "dog",
    "cat",
    "sorry",
    "what",
    "please",
    "thanks",
    "thank",
    "you",
    "he",
    "she",
    "it",
    "i",
    "we",
    "dont",
    "know",
    "anyone",
    "hello",
    "hi",
    "morning",
    "afternoon",
    "today",
    "tomorrow",
    "calling",
    "ringing",
    "phoning",
    "looking",
    "wondering",
    "hoping",
    "trying",
    "just",
    "actually",
    "really",
    "here",
} | HESITATIONS


def title(value: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in value.strip().split())


def negated(value: str, text: str) -> bool:
    """'Bella, not Poppy': Poppy was named only to be taken back."""
    return bool(re.search(rf"\b(?:not|no)\s+{re.escape(value)}\b", text, re.I))


def is_animal_word(value: str) -> bool:
    """`kitten`, `puppy`, `my boy`: words for the animal, not its name."""
    return all(w in _ANIMAL_WORDS or w in _NOT_NAMES for w in normalise_words(value))


def is_stopword_name(value: str) -> bool:
    return all(w in _NOT_NAMES for w in normalise_words(value))


def expand_name(value: str, text: str) -> str:
    """Restore a name's joined parts from the caller's words: "Shah" -> "Shah-Patel"."""
    words = []
    for word in value.split():
        match = re.search(rf"\b{re.escape(word)}(?:[-'][A-Za-z]+)+", text, re.I)
        words.append(match.group(0) if match else word)
    return title(" ".join(words)) if words else value


def split_full_name(first: str, last: str) -> tuple[str, str]:
    """First and last name from the whole name: a surname particle ("Van Dyke", "de la Cruz")
    starts the last name; otherwise the last word is the last name."""
    words = f"{first} {last}".split()
    if len(words) < 2 or not last:
        return first, last
    for i, word in enumerate(words[1:], start=1):
        if word.lower() in _PARTICLES and i < len(words) - 1:
            return " ".join(words[:i]), " ".join(words[i:])
    return " ".join(words[:-1]), words[-1]


def after_correction(text: str) -> str:
    """The words after the last in-sentence correction ("Tom Baker. Actually, ... Jenny
    Baker." -> "... Jenny Baker."), or "" when the caller did not correct themselves."""
    matches = list(_CORRECTION.finditer(text))
    return text[matches[-1].end() :] if matches else ""


# "... and my email is then not human at example dot com": the words of an e-mail address
# are no one's name (nor a vet's), whatever the model makes of them. The clause runs to the
# end of the domain when one follows, across the full stops a recogniser writes into it
# ("my email is cleared. God Roberts and at example.com", run 13); else to the clause's end.
_EMAIL_CLAUSE = re.compile(
    r"\b(?:and\s+)?(?:(?:my|the|our|your)\s+)?e-?mail(?:\s+address)?\b"
    r"(?:[^@]*(?:@\S+|\b\w+(?:\.|\s+dot\s+)(?:com|org|net|uk)\b)"
    r"|.*?(?=[,;!?](?:\s|$)|\.(?:\s|$)|\band\s+(?:my|the|her|his)\b|$))",
    re.I,
)


def without_email(text: str) -> str:
    """`text` with the clause that gives an e-mail address taken out."""
    return _EMAIL_CLAUSE.sub(" ", text)


_OWN_NAME_CLAUSE = re.compile(r"\bmy name(?:['’]s|\s+is)\s+(?:[A-Za-z'-]+\s*){1,3}", re.I)


def without_own_name(text: str) -> str:
    """`text` without the words that give the caller's own name ("my name is Amy Clark")."""
    return _OWN_NAME_CLAUSE.sub(" ", text)


def last_sentence(text: str) -> str:
    parts = [p for p in re.split(r"[.!?]\s*", text) if p.strip()]
    return parts[-1] if parts else text


def bare_name(text: str, allow_two: bool = False) -> str | None:
    """A short answer that is just a name ("Mittens", "her name's Luna", "James Okafor")."""
    full = _FULL_NAME.search(text)
    rest = (full.group(1) if full else text).strip().strip(".!")
    for _ in range(3):
        rest = _FILLER.sub("", rest).strip()
    rest = re.sub(r"\s*(please|thanks?|thank you)\s*$", "", rest, flags=re.I).strip(" ,.")
    words = rest.split()
    if not words or len(words) > (3 if allow_two else 2):
        return None
    if any(
        w.lower().strip(",.") in _NOT_NAMES or not re.fullmatch(r"[A-Za-z'-]+[,.]?", w)
        for w in words
    ):
        return None
    return title(" ".join(w.strip(",.") for w in words))


_PET_NAMED = re.compile(
    r"\b(?:(?:my|his|her|its|the|our)\s+(?:pet|dog|cat|puppy|kitten)'?s\s+name\s+is|"
    r"(?:his|her|its)\s+name(?:\s+is|'s)|"
    r"(?:she|he|it)(?:\s+is|'s)\s+(?:called|named))\s+(?:(?:actually|really|just)\s+)?"
    r"([A-Za-z'-]+)",
    re.I,
)


def introduced(text: str, capitalised: bool = True) -> str | None:
    """The name in "I'm Sarah Lee, ..." or "my name is Sarah Lee and ...": the words after the
    introduction up to a pause or a word that is no name; with `capitalised`, only words
    written with a capital (recognisers and people typing write names so; "I'm just
    wondering" names no one). "This is ..." is left out: it may be the pet."""
    m = SELF_NAMED.search(text)
    if m is None or m.group(0).lower().startswith("this"):
        return None
    words: list[str] = []
    for word in m.group(1).split():
        bare = word.strip(",.;")
        if (capitalised and not word[:1].isupper()) or bare.lower() in _NOT_NAMES:
            break
        words.append(bare)
        if word[-1] in ",.;":
            break
    return bare_name(" ".join(words), allow_two=True) if words else None


# "my dog Rex", "my cat, Luna,": the name written with a capital right after the animal (as
# people type and Whisper writes it; Vosk writes none, and "my dog in" names no one).
_PET_BESIDE = re.compile(r"(?i:\bmy\s+(?:dog|cat|puppy|kitten|pup)),?\s+([A-Z][a-z'-]+)\b")


def pet_named(text: str) -> str | None:
    """The name in "my pet's name is Bella", "her name is Bella", "she's called Bella", "my
    dog Rex"; the whole name before "that's his full name" ("his name is Captain Jack,
    that's his full name")."""
    full = _FULL_NAME.search(text)
    if full and len(full.group(1).split()) > 1:
        return title(full.group(1))
    m = _PET_NAMED.search(text)
    if m is None:
        m = _PET_BESIDE.search(text)
        if m and (m.group(1).lower() in _NOT_BESIDE or m.group(1).lower() in DATE_WORDS):
            return None  # "my dog In for", "my cat Dr Roberts saw", "my dog Thursday"
    return _one_name(m.group(1)) if m else None


_NOT_BESIDE = frozenset({"in", "dr", "doctor", "on", "for", "to", "with", "at", "who", "which",
                         "that", "this", "has", "had", "was", "needs", "please"})  # fmt: skip


def named_instead(text: str, held: str | None) -> str | None:
    """The name said in place of the one `held`: "Bella, not Poppy" while Poppy is held. When
    the pet's name is what the words are about ("the wrong dog's name ... this one is Bella,
    not Poppy"), the name taken back need not be the one held: it was misheard too (run 12:
    Poppy held as "Happy", "not Poppy" heard "not coffee")."""
    if not held:
        return None
    m = re.search(rf"\b([A-Za-z'-]+),?\s+not\s+{re.escape(held)}\b", text, re.I)
    if m is None and _PET_NAME_TALK.search(text):
        m = re.search(r"\b([A-Z][A-Za-z'-]+),?\s+(?i:not|no)\s+[A-Za-z'-]+", text)
        if m and m.group(1).lower() in DATE_WORDS:  # "this one is Thursday, not Friday"
            return None
    return _one_name(m.group(1)) if m else None


def keeps_held(text: str, held: str | None) -> bool:
    """The words name the value `held` as the right one against another: "this one is Bella,
    not Poppy" while Bella is held (the caller agrees with it)."""
    if not held:
        return False
    m = re.search(rf"\b{re.escape(held)},?\s+(?:not|no)\s+([A-Za-z'-]+)", text, re.I)
    return m is not None and m.group(1).lower() != held.lower()


def is_common_name(name: str, key: str) -> bool:
    """A name many people (or pets) have: data/common-names.txt for the detail `key`."""
    kind = _NAME_KINDS.get(key)
    return kind is not None and name.lower() in common_names(kind)


# Words that say the pet's name is what is being put right.
_PET_NAME_TALK = re.compile(
    r"\b(?:(?:dog|cat|pet|puppy|kitten)'?s\s+name|this\s+one\s+is|(?:she|he)'?s\s+called)\b",
    re.I,
)


def _one_name(word: str) -> str | None:
    if word.lower() in _NOT_NAMES or is_animal_word(word) or len(word) < 2:
        return None
    return title(word)


# Endings spelt two ways that sound the same (Clark and Clarke, Mensa and Mensah), the longer
# ending first: a name heard the same after the caller said it was wrong is put to them with
# the other spelling, spelt out.
_SPELT_TWO_WAYS = (
    ("eene", "een"),
    ("een", "eene"),
    ("wne", "wn"),
    ("wn", "wne"),
    ("rke", "rk"),
    ("rk", "rke"),
    ("nne", "nn"),
    ("nn", "nne"),
    ("ah", "a"),
    ("a", "ah"),
    ("ie", "y"),
    ("y", "ie"),
)


def spelling_variant(name: str) -> str | None:
    """The other usual spelling of `name` that sounds just like it ("Clark" -> "Clarke",
    "Mensa" -> "Mensah"), or None."""
    lowered = name.lower()
    for ending, other in _SPELT_TWO_WAYS:
        if lowered.endswith(ending) and len(lowered) > len(ending) + 1:
            return name[: len(name) - len(ending)] + other
    return None


def unlikely_spelling(name: str) -> bool:
    """Letters heard wrong rather than a name anyone has: a part of the name with the same
    letter three times running, with no vowel (a leading Y is none: "Yld"), made of two
    letters over and over ("Axaxa" for A-I-S-H-A), or with two doubled vowels ("Aasaa").
    Such a spelling is put to the caller, letter by letter, before it is used."""
    for part in re.split(r"[\s'-]+", name.lower()):
        letters = re.sub(r"[^a-z]", "", part)
        if len(letters) < 2:
            continue
        if re.search(r"(.)\1\1", letters) or not re.search(r"[aeiouy]", letters):
            return True
        if re.fullmatch(r"y[^aeiouy]+", letters):
            return True  # no vowel but a leading Y ("Yld" for D-O-Y-L-E, run 16)
        if len(letters) >= 5 and letters[2:] == letters[:-2]:
            return True
        if len(re.findall(r"([aeiou])\1", letters)) >= 2:
            return True
    return False


COMMON_NAMES = Path(__file__).resolve().parent.parent / "data" / "common-names.txt"
# Which list a name's booking field is checked against.
_NAME_KINDS = {"pet_name": "pet", "first_name": "first", "last_name": "last"}
_NEAR_FROM = 4  # letters a spelling has at least before a near name is looked for


@cache
def common_names(kind: str) -> frozenset[str]:
    """The names of `kind` ("pet", "first", "last") in data/common-names.txt, lower case."""
    names: dict[str, set[str]] = {}
    section: set[str] | None = None
    for line in COMMON_NAMES.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = names.setdefault(line[1:-1], set())
        elif line and section is not None:
            section.update(word.lower() for word in line.split())
    return frozenset(names.get(kind, ()))


def common_name_near(spelled: str, key: str) -> str | None:
    """The one common name (data/common-names.txt) a letter away from a spelling that is no
    common name itself: "Bomnie" -> "Bonnie" (B-O-N-N-I-E heard as B-O-M-N-I-E by voice).
    None when the spelling is a common name, is short, or has no such name or several."""
    kind = _NAME_KINDS.get(key)
    word = spelled.lower()
    if kind is None or len(word) < _NEAR_FROM or " " in word:
        return None
    names = common_names(kind)
    if word in names:
        return None
    near = [name for name in names if abs(len(name) - len(word)) <= 1]
    near = [name for name in near if edit_distance(name, word) == 1]
    if len(near) > 1:
        # Of several, the one letter heard as another that sounds like it when spelled
        # aloud, if it is the only one of the same length (run 13: B-E-L-L-A heard
        # "D-E-L-L-A", a letter from Bella and from Ella).
        same = [name for name in near if len(name) == len(word)]
        near = same if len(same) == 1 and _letter_sounds_alike(same[0], word) else []
    return title(near[0]) if len(near) == 1 else None


_HEARD_NEAR_FROM = 5  # letters a heard name has at least before two letters may differ


def common_name_heard_as(heard: str, key: str, *, alike_only: bool = False) -> str | None:
    """The one common first or last name the recogniser may have written `heard` for, when
    `heard` is no common name itself: of about its length (a letter more or less) and with
    its first letter, the same consonants to the ear ("Mensa" for Mensah), or, from five
    letters, two letters apart with the same first three ("Menson" for Mensah, run 14). None
    when there is no such name or several, and for pets' names (too varied for a list). For
    a name heard with doubt, which is then put to the caller spelt out, as a receptionist
    asks "Mensah, M-E-N-S-A-H?"; never used without their yes. `alike_only`: only a name
    that sounds the same and starts with the same two letters ("Doell" for Doyle), for a
    name heard clearly."""
    word = re.sub(r"[^a-z]", "", heard.lower())
    if key not in ("first_name", "last_name") or len(word) < _NEAR_FROM or " " in heard.strip():
        return None
    names = common_names(_NAME_KINDS[key])
    if word in names:
        return None
    sound = sound_key(word)
    near = [
        name
        for name in names
        if name[: 2 if alike_only else 1] == word[: 2 if alike_only else 1]
        and abs(len(name) - len(word)) <= 1
        and (
            (len(sound) >= 2 and sound_key(name) == sound)
            or (
                not alike_only
                and len(word) >= _HEARD_NEAR_FROM
                and name[:3] == word[:3]
                and edit_distance(name, word) <= 2
            )
        )
    ]
    return title(near[0]) if len(near) == 1 else None


# Letters whose names rhyme or sound alike said one by one: "bee, dee, ee, gee, pee, tee,
# vee, zed"; "em, en"; "ef, es"; "ay, jay, kay"; "eye, why"; "queue, you".
_ALIKE_LETTERS = ("bcdegptvz", "mn", "fsx", "ajk", "iy", "quw")


def spelled_key(text: str) -> str:
    """Letters as they sound spelled aloud: each one of a group that sounds alike
    (`_ALIKE_LETTERS`: B, D, P...; M and N) as its group's first; digits, dots and
    underscores kept, anything else dropped."""
    return "".join(_SPELLED_AS.get(c, c) for c in text.lower() if c.isalnum() or c in "._")


_SPELLED_AS = {c: group[0] for group in _ALIKE_LETTERS for c in group}


def _letter_sounds_alike(a: str, b: str) -> bool:
    """Same length, one letter apart, the two letters sounding alike spelled aloud."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(pairs) == 1 and any(set(pairs[0]) <= set(group) for group in _ALIKE_LETTERS)


def address_with_name(email: str, held: str | None, name: str | None) -> str:
    """An address heard with a name as `held` (from the same mishearing), with the name put
    right instead: "fatamad.image@example.com" held for "That Image" is
    "fatamad.khan@example.com" once the surname is Khan, "aja.mensah@" is
    "aisha.mensah@" once "Aja" is put right as Aisha (run 18). The held name is replaced
    where it is a part of the address between dots, dashes or underscores, or its start or
    end when the names run together ("naomiclark"). Any other address, or one that has the
    name already ("naomiclarke@" for Clark put right as Clarke), is left."""
    old = re.sub(r"[^a-z]", "", (held or "").lower())
    new = re.sub(r"[^a-z]", "", (name or "").lower())
    local, at, domain = email.partition("@")
    if len(old) < 2 or not new or new in local or old not in local:
        return email
    parts = re.split(r"([._-])", local)
    if old in parts:
        local = "".join(new if part == old else part for part in parts)
    elif local.startswith(old):
        local = new + local.removeprefix(old)
    elif local.endswith(old):
        local = local.removesuffix(old) + new
    return f"{local}{at}{domain}"


def address_following(email: str, name: str, held: str | None, refused: Collection[str]) -> str:
    """The address once a name in it is put right as `name`: the name `held` until now
    replaced (`address_with_name`), or, when it was forgotten as misheard before being
    spelled (run 18: "michelle.mensah@" read back after "A-I-S-H-A"), one the caller
    refused that sounds unlike `name` (a mishearing; "okafor" refused for a spelled
    "Okafore" is another spelling, and the address may have it as said)."""
    misheard = sorted(r for r in refused if sound_key(r) != sound_key(name))
    for old in (held, *misheard):
        changed = address_with_name(email, old, name)
        if changed != email:
            return changed
    return email


def surname_spelt_as_given(email: str | None, surname: str | None) -> str | None:
    """An address with the caller's surname in it spelt as the caller gave it: heard
    "naomiclark@example.com" from Naomi Clarke is "naomiclarke@example.com" (the two sound
    the same; the read-back still checks it). First names are left as heard: an address
    with "sara" for a Sarah is common enough."""
    if not email or "@" not in email or not surname:
        return email
    given = re.sub(r"[^a-z]", "", surname.lower())
    return address_with_name(email, spelling_variant(given), surname)


def surname_as_in_address(email: str, surname: str | None) -> str | None:
    """The surname as the caller's own address spells it, when that is the other usual
    spelling of the one held: "naomiclarke@example.com" agreed while "Clark" was heard
    (the two sound the same) is Clarke. Else the surname held."""
    variant = spelling_variant(surname or "")
    if not surname or variant is None:
        return surname
    local = email.partition("@")[0].lower()
    parts = re.split(r"[._-]", local)

    def spells(name: str) -> bool:
        key = re.sub(r"[^a-z]", "", name.lower())
        return key in parts or local.endswith(key)

    return variant if spells(variant) and not spells(surname) else surname
