"""Names spelled letter by letter in the caller's words ("M I T T E N S", "m for mother",
"S H A H hyphen P A T E L"), as a recogniser writes them: the repair's reading of a spelling
(repair.py)."""

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
