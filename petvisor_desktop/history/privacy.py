"""Phone-number matching and the blanking of personal data (retention and "forget me").

What counts as personal data here, and what is kept:
- blanked: turn texts (transcripts), conversation summaries, handoff reasons and contacts,
  the values in tool-call arguments (the argument names stay), the booking's pet name,
  owner names, phone, e-mail and notes, the same of the booking card the dialog understood
  (pet, owner, phone, e-mail), and staff notes on worklist items.
- kept: every row, timestamps, modes, outcomes, ratings, roles, "expecting", latency and token
  figures, tool names and statuses, the booking's slot, species, appointment type,
  clinician and status, the card's species, appointment type, vet, day and time, and what
  staff did about a worklist item (who, what, when), so that counts and performance figures
  survive.
"""

from __future__ import annotations

import json
import re
from typing import Any

_DIGITS = re.compile(r"\d")
_NUMBER_RUN = re.compile(r"\+?\d[\d\s().-]*\d")

# Numbers are compared on their last ten digits, which makes "020 7946 0000",
# "+44 20 7946 0000" and "0044 20 7946 0000" the same caller (and "+1 555 123 4567" the same
# as "555-123-4567"). Shorter numbers are compared whole.
_KEY_DIGITS = 10
_MIN_DIGITS = 6


def phone_key(phone: str | None) -> str | None:
    """A normalised key for matching phone numbers, or None when there are too few digits."""
    if not phone:
        return None
    digits = "".join(_DIGITS.findall(phone))
    if len(digits) < _MIN_DIGITS:
        return None
    return digits[-_KEY_DIGITS:]


def text_mentions_phone(text: str | None, key: str) -> bool:
    """Whether a free text (a transcript, a JSON blob) contains the phone number `key` written
    in digits. Numbers spoken as words ("oh two oh ...") are not recognised.

    A run of digits matches when it contains the key, so a number that runs into the next one
    ("020 7946 0000 12") still matches; for forgetting, an extra match is the safe mistake."""
    if not text:
        return False
    for match in _NUMBER_RUN.finditer(text):
        if key in "".join(_DIGITS.findall(match.group())):
            return True
    return False


def blank_argument_values(arguments_json: str) -> str:
    """Keep the argument names of a tool call, drop every value."""
    try:
        value = json.loads(arguments_json)
    except (TypeError, ValueError):
        return "{}"
    return json.dumps(_blank(value), sort_keys=True)


def _blank(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _blank(v) for k, v in value.items()}
    return None
