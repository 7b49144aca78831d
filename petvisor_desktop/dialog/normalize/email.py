"""E-mail addresses, typed or spoken ("james dot okafor at example dot com")."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from petvisor_desktop.dialog.cues import edit_distance, sound_key
from petvisor_desktop.dialog.normalize.numbers import _OH, _REPEAT, _is_number_word, _read_pieces
from petvisor_desktop.spoken import HESITATIONS, format_email_for_speech

# --------------------------------------------------------------------------------------------
# Email addresses
# --------------------------------------------------------------------------------------------

EMAIL_RE = re.compile(
    r"^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$"
)
_EMAIL_SYMBOLS = {
    "dot": ".",
    "period": ".",
    "point": ".",
    "underscore": "_",
    "dash": "-",
    "hyphen": "-",
    "plus": "+",
}
_DOT_WORDS = frozenset(w for w, s in _EMAIL_SYMBOLS.items() if s == ".")
# The dot as said, and as a recogniser hears it between two names ("Owen, not Price").
_DOT_HEARD = _DOT_WORDS | {"not", "dat"}
# Where spoken or written text is cut into words for reading an address.
_SAID_WORDS = re.compile(r"[\s,;:!?()\"]+")
# Words before the address itself ("my email is", "you can email me at"): the local part
# starts after the last of these.
_EMAIL_LEAD_INS = frozenset(
    {"is", "be", "its", "email", "e-mail", "emails", "address", "at", "me", "thats"}
)
_EMAIL_FILLERS = (
    frozenset({"yes", "yeah", "sure", "ok", "okay", "so", "right", "well", "the"}) | HESITATIONS
)
_TRAILING_FILLERS = frozenset({"and"}) | HESITATIONS
_EMAIL_PHRASES = [
    (re.compile(r"\bat\s+(?:sign|symbol)\b"), " @ "),
    (re.compile(r"\bfull\s+stop\b"), " dot "),
    (re.compile(r"\bunder\s*score\b"), " underscore "),
    (re.compile(r"\bdouble[\s-]+(?:u|you)\b"), " w "),
    (re.compile(r"\ball\s+(?:one\s+word|lower\s*case|small\s+letters)\b"), " "),
    (re.compile(r"\b(?:capital|upper\s*case|lower\s*case|small)\s+(?=[a-z]\b)"), ""),
    (re.compile(r"@"), " @ "),
]


def _email_part(tokens: Sequence[str]) -> str:
    """Join the spoken words of one side of an address ("j a m e s dot o k" -> "james.ok")."""
    # "b e double l" spells letters; "double oh seven" is digits (left for the number reader).
    words: list[str] = []
    i = 0
    while i < len(tokens):
        word = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        after = tokens[i + 2] if i + 2 < len(tokens) else ""
        before = words[-1] if words else ""
        is_letter = (len(nxt) == 1 and nxt.isalpha()) or nxt == "oh"
        near_digits = _is_number_word(after) or _is_number_word(before)
        if word in _REPEAT and is_letter and not (nxt in _OH and near_digits):
            words.append(nxt[0] * _REPEAT[word])
            i += 2
            continue
        words.append(word)
        i += 1
    pieces = {p.first: p for p in _read_pieces(words)}
    out: list[str] = []
    i = 0
    while i < len(words):
        piece = pieces.get(i)
        if piece is not None:
            out.append(piece.digits)
            i = piece.last + 1
            continue
        out.append(_EMAIL_SYMBOLS.get(words[i], words[i]))
        i += 1
    return "".join(out)


def parse_email(text: str, names: Sequence[str | None] = ()) -> str | None:
    """An email address from spoken or typed text, lowercased; None unless it is valid.

    Handles "james dot okafor at example dot com", spelled letters ("j a m e s"), "underscore",
    "dash"/"hyphen", "plus", "double l", and typed addresses. Lead-ins such as "my email is"
    are dropped; words after the domain ("... dot com thanks") are ignored. `names` (the
    caller's own, when known) turn a "not" heard between two of them into the "dot" it was:
    "dan not hughes" -> "dan.hughes".
    """
    lowered = text.lower().replace("’", "'")
    for pattern, replacement in _EMAIL_PHRASES:
        lowered = pattern.sub(replacement, lowered)
    tokens: list[str] = []
    stops: list[bool] = []  # the word ended a sentence: "Fatima. Khan" is Whisper's "dot"
    for raw in _SAID_WORDS.split(lowered):
        token = raw.strip(".'\"").replace("'", "")
        if token:
            tokens.append(token)
            stops.append(raw.rstrip("'\"").endswith("."))

    at = next(
        (
            i
            for i in range(len(tokens) - 1, -1, -1)
            if tokens[i] in ("at", "@") and any(_has_dot_word(t) for t in tokens[i + 1 :])
        ),
        None,
    )
    if at is None:
        # "fatima dot khan of example dot com": an "at" heard as "of", right before a domain.
        at = next(
            (
                i
                for i in range(len(tokens) - 2, 0, -1)
                if tokens[i] == "of" and _domain_tokens(tokens[i + 1 : i + 4])
            ),
            None,
        )
    if at is None:
        glued = _glued_at(tokens)
        if glued is None:
            return None
        at, before_at, after_at = glued
        tokens = [*tokens[:at], before_at, "at", after_at, *tokens[at + 1 :]]
        stops = [*stops[:at], False, False, *stops[at:]]
        at += 1
    lead_in = max((i for i, t in enumerate(tokens[:at]) if t in _EMAIL_LEAD_INS), default=-1)
    start = lead_in + 1
    while start < at and tokens[start] in _EMAIL_FILLERS:
        start += 1
    local: list[str] = []
    for i in range(start, at):
        local.append(tokens[i])
        between_words = i + 1 < at and _DOT_WORDS.isdisjoint((tokens[i], tokens[i + 1]))
        if stops[i] and between_words:
            local.append("dot")  # "Fatima. Khan at example.com": the dot written as a stop
    known = {w.lower() for name in names if name for w in name.split()}
    for i in range(1, len(local) - 1):
        if local[i] == "not" and local[i - 1] in known and local[i + 1] in known:
            local[i] = "dot"
    local = _from_own_names(local, known)
    while len(local) > 1 and local[-1] in _TRAILING_FILLERS:
        local.pop()  # "olivia grant and at example dot com": a hesitation, not the address
    domain = _domain_tokens(tokens[at + 1 :])
    if not local or not domain:
        return None
    local_part = _surname_for_com(_joined_by(text, _email_part(local)), names)
    address = f"{local_part}@{_email_part(domain)}"
    return address if EMAIL_RE.match(address) else None


def _from_own_names(local: list[str], known: set[str]) -> list[str]:
    """The local part from the caller's names on, when both come in it after two or more
    plain words: a lead-in heard as words ("Mikey Miller's owen dot price at ..." for "my
    email is owen dot price at ...", run 13) is not part of the address."""
    start = next((i for i, word in enumerate(local) if word in known), 0)
    lead, rest = local[:start], local[start:]
    both = len({word for word in rest if word in known}) >= 2
    plain = all(word.isalpha() and word not in _EMAIL_SYMBOLS for word in lead)
    return rest if len(lead) >= 2 and both and plain else local


# A domain as Whisper writes it: two or three labels, the last a top-level domain.
_SHORT_FIRST = 3  # letters of a first name's short form at least ("dan", "sam", "liz")
_GLUED_DOMAIN = re.compile(r"[a-z0-9-]{2,}(?:\.[a-z0-9-]{2,}){1,2}")


def guess_email(text: str, first: str | None, last: str | None) -> str | None:
    """The caller's names as an address, when what was heard is that address run together
    beyond reading ("Victoria.hazeitexample.com" for "victoria dot hayes at example dot
    com": the "at" lost in the surname): "victoria.hayes@example.com", to be put to the
    caller for a yes or no, never just taken. None unless the first name is there and what
    comes before the domain sounds like the surname and an "at"."""
    if not first or not last:
        return None
    first_key, last_key = letters(first), letters(last)
    lowered = text.lower().replace("’", "'")
    words = _SAID_WORDS.split(lowered)
    # The address is what follows "my email is": a name said before it is not its start
    # ("No, my name is Michelle Menser and my email is menser.com" gave
    # "michelle.menser@dmyemailismenser.com", run 14).
    lead = max((i for i, w in enumerate(words) if w in ("email", "e-mail", "address")), default=-1)
    words = words[lead + 1 :]
    at = next((i for i, w in enumerate(words) if letters(w).startswith(first_key)), None)
    if at is None and len(first_key) > _SHORT_FIRST:
        # The short form the caller said for it ("Dan.useatexample.com" from Daniel):
        # the first name's beginning, then a dot.
        for i, w in enumerate(words):
            short = w.split(".")[0]
            if "." in w and _first_said(short, first_key):
                at, first_key = i, short
                break
    if at is None or not first_key:
        return None
    said: list[str] = []
    for word in words[at:]:
        said.append(word)
        if re.search(r"\.[a-z]{2,}$", word.strip(".")):
            break  # the domain ends the address: "... example.com No, not all one word"
    heard = "".join(said).strip(".")
    splits: list[tuple[int, str]] = []  # (how far the middle is from surname + "at", domain)
    for cut in range(len(first_key) + 1, len(heard) - 4):
        domain = heard[cut:]
        if _GLUED_DOMAIN.fullmatch(domain):
            middle = letters(heard[:cut])[len(first_key) :]
            splits.append((edit_distance(middle, last_key + "at"), domain))
    # Where the run-together text ends in a provider's domain, the domain starts there.
    known = [s for s in splits if s[1].split(".")[0] in PROVIDERS]
    best = min(known or splits, default=None)
    if best is None or best[0] > round(0.6 * len(last_key + "at")):
        return None
    address = f"{first_key}.{last_key}@{best[1]}"
    return address if EMAIL_RE.match(address) else None


def own_address_misheard(email: str | None, first: str | None, last: str | None) -> str | None:
    """The caller's names as the address, when the one read is theirs with one name
    misheard: "dan.use@example.com" from Daniel Hughes ("dan dot hughes ..." as Whisper wrote
    it) gives "dan.hughes@example.com"; "allofyougrant@example.com" from Olivia Grant
    ("olivia grant ..., all one word") gives "oliviagrant@example.com". To be put to the
    caller for a yes or no. One name must be as said (the first name may be its short form,
    said before the dot), the other a word that sounds like it (`sound_key`) but is not it.
    None otherwise."""
    if not email or not first or not last:
        return None
    local, _, domain = email.partition("@")
    first_key, last_key = letters(first), letters(last)
    said_first, dot, said_last = local.partition(".")
    if not dot:  # all one word: the names are told apart by the one heard right
        if local.endswith(last_key):
            said_first, said_last = local[: -len(last_key)], last_key
        elif local.startswith(first_key):
            said_first, said_last = first_key, local[len(first_key) :]
        else:
            return None
    if not said_first or not said_last:
        return None
    first_right = _first_said(said_first, first_key)
    last_right = letters(said_last) == last_key  # "shah-patel" is right for Shah-Patel
    if first_right and last_right:
        return None
    if first_right and _sounds_like(said_last, last_key):
        return f"{said_first}{dot}{last_key}@{domain}"
    if last_right and _sounds_like(said_first, first_key):
        return f"{first_key}{dot}{last_key}@{domain}"
    return None


def own_address_domain_unheard(
    text: str, first: str | None, last: str | None, usual: Sequence[str]
) -> str | None:
    """The caller's names as the address at the clinic's most usual domain, when they were
    heard said as one ("Owen, not Price at ...": the "not" a dot) with an "at" after them
    and no domain that can be read ("... at M.M. will not come", espeak's "example dot com"
    in runs 13 and 14). To be put to the caller for a yes or no, never just taken."""
    if not first or not last or not usual or heard_domain(text) is not None:
        return None
    words = [letters(w) for w in _SAID_WORDS.split(text.lower())]
    words = [w for w in words if w]
    first_key, last_key = letters(first), letters(last)
    for i, word in enumerate(words):
        if not _first_said(word, first_key):
            continue
        dotted = i + 2 < len(words) and words[i + 1] in _DOT_HEARD
        j = i + 2 if dotted else i + 1
        if words[j : j + 2] == [last_key, "at"]:
            local = f"{word}.{last_key}" if dotted else f"{word}{last_key}"
            address = f"{local}@{usual[0]}"
            return address if EMAIL_RE.match(address) else None
    return None


def _sounds_like(said: str, name_key: str) -> bool:
    """A word heard in place of the name: not it, but the same to the ear (`sound_key`)."""
    key = sound_key(name_key)
    return bool(key) and letters(said) != name_key and sound_key(said) == key


def _first_said(said: str, first_key: str) -> bool:
    """`said` is the first name or a short form of it ("dan" for Daniel)."""
    return said == first_key or (len(said) >= _SHORT_FIRST and first_key.startswith(said))


# The e-mail providers most addresses in the UK are at, by their domains (and example.com,
# the documented example domain the demo clinic's callers use).
PROVIDER_DOMAINS = (
    "gmail.com", "hotmail.co.uk", "hotmail.com", "outlook.com", "yahoo.co.uk", "yahoo.com",
    "icloud.com", "btinternet.com", "live.co.uk", "sky.com", "virginmedia.com", "aol.com",
    "googlemail.com", "protonmail.com", "example.com",
)  # fmt: skip
PROVIDERS = frozenset(domain.split(".")[0] for domain in PROVIDER_DOMAINS)
_USUAL_TRIED = 2  # the clinic's usual domains tried for a domain heard that is none of them
_ADDRESS_SAID = re.compile(r"@|\b(?:e-?mail|address)\b|\bdot\s+(?:com|co|org|net)\b|\.\w", re.I)


def likely_addresses(
    heard: str,
    first: str | None,
    last: str | None,
    usual: Sequence[str] = (),
    refused: Collection[str] = (),
) -> tuple[str, ...]:
    """What the caller may have said, as they would say it, when the words `heard` give an
    address: the caller's names as its local part ("sarah.lee" and "sarahlee"; "dan.hughes"
    too when "dan" was heard for Daniel) at the domain heard, or, when that is no provider's,
    at the first of the clinic's `usual` domains and then the one heard. The likeliest come
    first. For the recogniser to score against the audio (`voice.fit.fit_to_likely`): "sarah
    dot lee at example dot com" for espeak's "very lovely at mampl.com". Addresses the
    caller said were wrong (`refused`) are left out. Only the usual domains when an "at" was
    heard but no domain after it. Empty when the names are not both known or no address was
    heard."""
    if not first or not last or not _ADDRESS_SAID.search(heard):
        return ()
    domain = heard_domain(heard)
    if domain is None and not re.search(r"\bat\b", heard, re.I):
        return ()
    # The domain heard when it is a provider's or one of the clinic's; else the clinic's
    # usual ones first, then the one heard if any ("owen not price at M.M. will not come"
    # heard no domain): what the recogniser made of an unclear domain ("emple.com")
    # explains its audio best, but is seldom anyone's.
    trusted = domain is not None and domain_trusted(domain, usual)
    domains = [domain] if trusted else [*usual[:_USUAL_TRIED], *([domain] if domain else [])]
    first_key, last_key = letters(first), letters(last)
    said = re.findall(r"[a-z]+", heard.lower())
    short = next((w for w in said if w != first_key and _first_said(w, first_key)), None)
    locals_ = _own_locals(first_key, last_key)
    if short is not None:
        locals_.insert(0, f"{short}.{last_key}")  # "dan" said for Daniel
    addresses = dict.fromkeys(f"{local}@{d}" for d in domains for local in locals_)
    return tuple(
        format_email_for_speech(a) for a in addresses if a not in refused and EMAIL_RE.match(a)
    )


def domain_trusted(domain: str, usual: Sequence[str]) -> bool:
    """The domain is a provider's or one of the clinic's `usual` ones: heard as said, not
    made up by the recogniser ("mental.com")."""
    return domain.split(".")[0] in PROVIDERS or domain in usual


def domain_for_spelled(heard: str, held: Sequence[str], usual: Sequence[str]) -> str | None:
    """The domain for the part of an address the caller spelled: the one said with it
    ("... at gmail dot com"), else that of an address heard before (`held`: the one held,
    then those refused), when a provider's or one of the clinic's `usual` ones; else the
    clinic's most used domain. None when there is none."""
    said = heard_domain(heard) if re.search(r"@|\bat\b", heard, re.I) else None
    for address in (f"@{said}" if said else "", *held):
        domain = address.partition("@")[2]
        if domain and domain_trusted(domain, usual):
            return domain
    return usual[0] if usual else None


def own_addresses(first: str | None, last: str | None, domains: Sequence[str]) -> frozenset[str]:
    """The caller's names as an address at each of `domains` (the clinic's usual ones):
    what most callers' addresses are, so one heard exactly so needs no extra check."""
    if not first or not last:
        return frozenset()
    locals_ = _own_locals(letters(first), letters(last))
    return frozenset(f"{local}@{domain}" for domain in domains for local in locals_)


def _own_locals(first_key: str, last_key: str) -> list[str]:
    return [f"{first_key}.{last_key}", f"{first_key}{last_key}"]


def heard_domain(heard: str) -> str | None:
    """The domain in words heard as an address ("at mampl.com", "at enmal dot com"), lower
    case, or None."""
    lowered = heard.lower().replace(" dot ", ".")
    found = _GLUED_DOMAIN.findall(re.sub(r"^.*(?:@|\bat\b)\s*", "", lowered))
    if not found:
        found = _GLUED_DOMAIN.findall(lowered)
    if not found:
        return None
    domain = found[-1].strip(".")
    return domain.removeprefix("www.") if domain.count(".") > 1 else domain


def letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _glued_at(tokens: Sequence[str]) -> tuple[int, str, str] | None:
    """The last word with an "at" written into it ("dan.useatexample.com", as Whisper
    writes "dan dot use at example dot com" run together; "khanofexample.com", the "at"
    heard as "of"; "claire.robinson.example.com", heard as a dot before a provider's
    domain): its index, the local part before the "at" and the domain after it; None when
    no split leaves a domain after the "at"."""
    for index in range(len(tokens) - 1, -1, -1):
        word = tokens[index]
        for cut in range(len(word) - 2, 2, -1):  # a local part of three letters at least
            if word[cut : cut + 2] in ("at", "of") and _GLUED_DOMAIN.fullmatch(word[cut + 2 :]):
                return index, word[:cut], word[cut + 2 :]
        labels = word.split(".")
        # "claire.robinson.example.com": the "at" heard as one more dot, before a provider.
        if len(labels) >= 3 and labels[-2] in PROVIDERS and all(labels) and labels[0] != "www":
            return index, ".".join(labels[:-2]), ".".join(labels[-2:])
    return None


def _domain_tokens(tokens: Sequence[str]) -> list[str]:
    """The words of the domain, stopping where the address ends ("... dot com, no dot").

    The first label may take several words ("b t internet"); after each "dot" one word does.
    """
    first_dot = next((i for i, t in enumerate(tokens) if _has_dot_word(t)), None)
    if first_dot is None:
        return []
    domain = list(tokens[: first_dot + 1])
    i = first_dot + 1
    while domain[-1] in _DOT_WORDS and i < len(tokens):
        domain.append(tokens[i])  # the label after "dot"
        i += 1
        if i < len(tokens) and tokens[i] in _DOT_WORDS:
            domain.append(tokens[i])
            i += 1
    return domain if domain[-1] not in _DOT_WORDS else []


def _surname_for_com(local: str, names: Sequence[str | None]) -> str:
    """ "fatima.com" before the "at", for Fatima Khan: Whisper's "dot com" where she said
    "dot khan" (a domain ending is no part of a local part); the read-back checks it."""
    known = [n.lower() for n in names if n]
    labels = local.split(".")
    if len(known) < 2 or "com" not in labels[1:] or known[-1] in labels:
        return local
    surname = re.sub(r"[^a-z0-9-]", "", known[-1])
    return ".".join(surname if label == "com" else label for label in labels)


def _has_dot_word(token: str) -> bool:
    return token in _DOT_WORDS or "." in token


_JOINED_BY = re.compile(
    r"\b([a-z]+)\s+and\s+([a-z]+),?\s+(?:are\s+)?(?:joined|separated|linked)\s+(?:by|with)\s+"
    r"an?\s+(hyphen|dash|underscore|dot)\b"
)


def _joined_by(text: str, local: str) -> str:
    """Apply "shah and patel joined by a hyphen" to a local part that ran the words together."""
    for first, second, symbol in _JOINED_BY.findall(text.lower()):
        local = local.replace(first + second, first + _EMAIL_SYMBOLS[symbol] + second)
    return local
