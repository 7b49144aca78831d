"""Names spelled letter by letter in the caller's words ("M I T T E N S", "m for mother",
"S H A H hyphen P A T E L"), as a recogniser writes them: the repair's reading of a spelling
(repair.py); and the part of an e-mail address before the "at", spelled the same way."""

from __future__ import annotations

import re

_SPELL_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|[-']")
# Words said inside a spelled name that are not letters. Any other word ("then", "space")
# ends the name; commas do not, since a recogniser writes them between the letters too.
_SPELL_SKIP = frozenset({"capital", "big", "small", "upper", "lower", "case"})
_SPELL_MARKS = {"dash": "-", "hyphen": "-", "apostrophe": "'"}
# Words between spelled names that are part of spelling them ("J A M E S, then O K A F O R").
_SPELL_JOINS = frozenset(
    {"then", "and", "its", "is", "my", "name", "first", "last", "surname", "spelled", "that",
     "thats", "ok", "okay", "yes", "no", "sorry", "the", "a"}
)  # fmt: skip


def spelled_names(text: str) -> list[str]:
    """The names spelled out in the caller's words, each title-cased: "M I T T E N S" ->
    ["Mittens"]; "S H A H hyphen P A T E L" -> ["Shah-Patel"]; "m for mother, i, l o" ->
    ["Milo"]; "J A M E S, then O K A F O R" -> ["James", "Okafor"]. Letters written with dots
    or dashes between them (a recogniser's "M-I-L-O.") count too. Runs of fewer than two
    letters are not names."""
    tokens = [t.lower() for t in _SPELL_TOKEN.findall(text)]
    runs: list[str] = []
    current = ""
    stray = 0  # words among the letters that are no part of a spelling

    def close() -> None:
        nonlocal current
        name = current.strip(" -'")
        if sum(c.isalpha() for c in name) >= 2:
            runs.append(name)
        current = ""

    i = 0
    while i < len(tokens):
        word = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        after_letter = bool(current) and current[-1].isalpha()
        if len(word) == 1 and word.isalpha():
            current += word
        elif word == "oh" and (after_letter or (len(nxt) == 1 and nxt.isalpha())):
            current += "o"
        elif word in ("double", "triple") and nxt in ("u", "you") and word == "double":
            current += "w"
            i += 1
        elif word in ("double", "triple") and len(nxt) == 1 and nxt.isalpha():
            current += nxt * (2 if word == "double" else 3)
            i += 1
        elif word in ("for", "as") and after_letter and nxt and nxt not in _SPELL_MARKS:
            # "m for mother", "n as in November": the word says which letter it was, and
            # is heard more surely than the letter itself (M and N, B and D are confused).
            i += 2 if nxt == "in" and i + 2 < len(tokens) else 1
            if len(tokens[i]) >= 3 and tokens[i].isalpha():
                current = current[:-1] + tokens[i][0]
        elif word in _SPELL_MARKS and current:
            current += _SPELL_MARKS[word]
        elif word in ("-", "'"):
            pass  # written between spelled letters ("M-I-L-O"); a spoken "hyphen" is a word
        elif word in _SPELL_SKIP:
            pass
        else:
            if runs or current:
                stray += word not in _SPELL_JOINS
            close()
        i += 1
    close()
    if stray >= 2:
        # "B, R, hit, and help" for "B, R, U, N, O": letters heard as words; what is left
        # of a short name is not the name ("Br"), so it is asked again.
        runs = [run for run in runs if sum(c.isalpha() for c in run) >= 3]
    return [_title_name(run) for run in runs]


def _title_name(name: str) -> str:
    """ "shah-patel" -> "Shah-Patel", "o'brien" -> "O'Brien", "mary jane" -> "Mary Jane"."""
    return re.sub(r"(^|[\s'-])([a-z])", lambda m: m.group(1) + m.group(2).upper(), name)


# Said between the spelled parts of an address ("D, A, N, dot, H, U, G, H, E, S").
_ADDRESS_MARKS = {"dot": ".", "underscore": "_", "dash": "-", "hyphen": "-"}
_ADDRESS_MARK = re.compile(r"\b(dot|underscore|dash|hyphen)\b", re.I)


def spelled_local_part(text: str) -> str | None:
    """The part of an e-mail address before the "at" as the caller spelled it, lower case:
    "D, A, N, dot, H, U, G, H, E, S" -> "dan.hughes", as a recogniser may also write it
    ("D-A-N dot H-U-G-H-E-S", "DAN.HUGHES", "Dan dot Hughes"). A part said as a word
    rather than letters is taken as said. None when neither letters nor a mark ("dot",
    "underscore") between words were said."""
    before = re.split(r"\bat\b|@", text, maxsplit=1, flags=re.I)[0]
    # Heard as a whole address with the "at" lost ("FABIMA.com"): no spelling of its part.
    before = re.split(r"(?:\.|\bdot\s+)(?:com|co|org|net)\b", before, maxsplit=1, flags=re.I)[0]
    # A full stop written for the spoken "dot": between letters, or after a spelled letter
    # and before the next ("D-A-N. H-U-G-H-E-S").
    before = re.sub(
        r"(?<=[A-Za-z])\.(?=[A-Za-z])|(?<=\b[A-Za-z])\.\s+(?=[A-Za-z]\b)", " dot ", before
    )
    # espeak's "dot" heard "not" between spelled letters ("D, A, N, not, H, U, ...").
    before = re.sub(r"(?<=\b[A-Za-z]),?\s+not,?\s+(?=[A-Za-z]\b)", " dot ", before, flags=re.I)
    local, spelled = "", False
    for piece in _ADDRESS_MARK.split(before):
        mark = _ADDRESS_MARKS.get(piece.lower())
        if mark is not None:
            local += mark if local and local[-1] not in _ADDRESS_MARKS.values() else ""
            continue
        runs = spelled_names(piece)
        if runs:
            local += re.sub(r"[^a-z0-9]", "", runs[-1].lower())
            spelled = True
        elif words := re.findall(r"[A-Za-z]{2,}", piece):
            # A part said whole: the word next to the mark ("Dan dot H-U-G-H-E-S").
            local += (words[0] if local else words[-1]).lower()
    local = local.strip("._-")
    said = spelled or any(mark in local for mark in _ADDRESS_MARKS.values())
    return local if said and len(re.sub(r"[^a-z]", "", local)) >= 2 else None
