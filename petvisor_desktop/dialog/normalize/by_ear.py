"""The caller's own names as their e-mail address, found by ear.

Most clients' addresses are their names at a common provider, and a receptionist who cannot
make out an address tries that: "Is it dan dot hughes at example dot com?". When an address
was said but could not be read, or was read at a domain nobody uses ("then not human at
mental dot com", espeak's "dan dot hughes at example dot com" through Whisper tiny.en), the
ways of writing the caller's names as an address are said in words and compared with what
the recogniser wrote, by their letters and by their consonants; the closest, if it is close
enough, is put to the caller as a yes or no. Never taken without their yes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence

from petvisor_desktop.dialog.cues import sound_key
from petvisor_desktop.dialog.names import spelled_key, spelling_variant
from petvisor_desktop.dialog.normalize.email import (
    EMAIL_RE,
    domain_trusted,
    heard_domain,
    letters,
)
from petvisor_desktop.spoken import format_email_for_speech

# How alike (`_alike`, 0 to 1) the local part heard and the caller's names said as one must
# be. Measured on the 45 addresses runs 15 and 16 heard: the caller's own scored 0.63-0.98
# against what the recogniser made of it ("Victoria.hameademple.com" 0.70, "there under
# Corley and M. M. will not go not okay" for sarah_lee 0.74), another caller's at most 0.64
# ("then dot use" against nathan.brooks); espeak's "then not human" for dan.hughes scored
# 0.51, no nearer than other callers' names, and is not found.
CLOSE_ENOUGH = 0.62
_HEARD_AT_LEAST = 0.6  # of the letters of the address said in words, heard in some form
_SEPARATORS = (".", "_", "")  # between the names: "sarah.lee", "sarah_lee", "sarahlee"
# The address is what follows the last of these ("No, my email is ...").
_LEAD_IN = re.compile(r"^.*\b(?:e-?mail|address)\b(?:\s+is\b)?", re.I)
_AT_HEARD = frozenset({"at", "and"})  # "Amy Clark and example.com"
_UNVOICED = str.maketrans("dbgzv", "tpksf")
_UK_HEARD = re.compile(r"\b(?:uk|u k|okay|ok)\b")  # "dot co dot uk" as "go not okay"


def own_address_by_ear(
    heard: str,
    first: str | None,
    last: str | None,
    usual: Sequence[str],
    refused: Collection[str] = (),
) -> str | None:
    """The caller's names as an address (`first` and `last`, joined by a dot, an underscore
    or nothing; whichever sounds most like the words `heard`), at the domain heard when it
    is a provider's or one of the clinic's `usual` ones, else at the clinic's most used one.
    None when none is CLOSE_ENOUGH, when too little was heard, when the names are not
    known, and once the caller said no to one of them (`refused`: the addresses they said
    no to) and to one with the surname's other usual spelling ("Clarke" for "Clark")."""
    local_heard, domain_heard = _said_parts(heard)
    if not first or not last or not usual or len(local_heard) < 5:
        return None
    domain = heard_domain(heard)
    if domain is None or not domain_trusted(domain, usual):
        # Espeak's "example dot com" comes out anything ("M.M. will not come", "mental dot
        # com"): the clinic's most used domain, at the ending heard ("... go not okay").
        domain = _twin(usual[0]) if _UK_HEARD.search(domain_heard) else usual[0]
    # One guess for each way of spelling the names, not a guessing game: "no" to one of
    # the writings of "naomi clark" is no to all of them. Then the surname's other usual
    # spelling, which sounds the same (run 18: "naomiclark" refused, the address was
    # Naomi Clarke's "naomiclarke").
    refused_locals = {letters(address.partition("@")[0]) for address in refused}
    surnames = [last, *filter(None, [spelling_variant(last)])]
    last_key = next(
        (k for k in map(letters, surnames) if letters(first) + k not in refused_locals), None
    )
    if last_key is None:
        return None
    scored: list[tuple[float, int, str]] = []
    for separator in _SEPARATORS:
        address = f"{letters(first)}{separator}{last_key}@{domain}"
        if address in refused or not EMAIL_RE.match(address):
            continue
        local = letters(format_email_for_speech(address.partition("@")[0]))
        if len(local_heard) < _HEARD_AT_LEAST * len(local):
            continue  # a part of it heard ("menser.com" for michelle.menser) is no address
        scored.append((-_alike(local_heard, local), len(scored), address))  # ties: order
    if not scored:
        return None
    best = min(scored)
    return best[2] if -best[0] >= CLOSE_ENOUGH else None


def _alike(heard: str, said: str) -> float:
    """How alike two strings of letters are, 0 to 1: the mean of difflib's ratio over the
    letters and over their consonants as heard (`sound_key`, voiced and unvoiced made one),
    so that "victoriadothameademple" is near "victoriadothayes" and "thennothuman" is not
    near "nathandotbrooks"."""
    return (_ratio(heard, said) + _ratio(_consonants(heard), _consonants(said))) / 2


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _consonants(text: str) -> str:
    return sound_key(text).translate(_UNVOICED)


def _said_parts(heard: str) -> tuple[str, str]:
    """The letters of the local part as heard, its symbols in words, and the words after
    its "at" (or after the local part's end when the "at" was lost): "Victoria.hameademple
    .com" -> ("victoriadothameademple", "com"), "then not human at example.com" ->
    ("thennothuman", "example dot com")."""
    text = _LEAD_IN.sub("", heard.lower())
    text = text.replace("@", " at ").replace("_", " underscore ")
    text = re.sub(r"(?<=\w)\.(?=\w)", " dot ", text)
    words = re.findall(r"[a-z0-9]+", text)
    at = max((i for i, w in enumerate(words) if w in _AT_HEARD and i > 0), default=None)
    if at is None:  # run together: the last "dot" ends the local part
        at = max((i for i, w in enumerate(words) if w == "dot" and i > 0), default=len(words))
        return "".join(words[:at]), " ".join(words[at:])
    return "".join(words[:at]), " ".join(words[at + 1 :])


def _twin(domain: str) -> str:
    """The same domain at the other common ending: "example.com" <-> "example.co.uk"."""
    if domain.endswith(".com"):
        return domain.removesuffix(".com") + ".co.uk"
    if domain.endswith(".co.uk"):
        return domain.removesuffix(".co.uk") + ".com"
    return domain


def own_local_spelled(spelled: str, first: str | None, last: str | None) -> str | None:
    """The caller's names as the part of their address before the "at", when that is what
    was spelled but for letters that sound alike spelled aloud (B and D, M and N) and a
    "dot" heard as the letter D: "bamdhughes" for D-A-N, dot, H-U-G-H-E-S by Daniel Hughes
    (run 18, espeak) is "dan.hughes". The first name may be shortened ("dan" for Daniel);
    the separator heard is kept. None when no writing of the names was spelled."""
    if not first or not last:
        return None
    heard = spelled_key(spelled)
    first_key, last_key = letters(first), letters(last)
    shortened = [first_key[:size] for size in range(3, len(first_key))]  # "dan" for Daniel
    for name in (first_key, *shortened):
        for separator, said in (("", ("",)), (".", (".", "d")), ("_", ("_",))):
            if any(spelled_key(f"{name}{mark}{last_key}") == heard for mark in said):
                return f"{name}{separator}{last_key}"
    return None
