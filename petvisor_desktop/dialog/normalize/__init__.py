"""Turn what a caller said into phone numbers, emails, dates, times and yes/no.

Input is either speech-to-text (lowercase, no punctuation, numbers as words: "oh seven seven
zero zero") or typed text. Every parser accepts both and returns None when the thing it looks
for is not there, so the dialog asks again instead of guessing. Pure functions: no model, no
network, no clock ("today" is always passed in).
"""

from __future__ import annotations

from petvisor_desktop.dialog.normalize.by_ear import own_address_by_ear, own_local_spelled
from petvisor_desktop.dialog.normalize.dates import DateAsk, parse_date
from petvisor_desktop.dialog.normalize.email import (
    domain_for_spelled,
    domain_trusted,
    guess_email,
    likely_addresses,
    own_address_domain_unheard,
    own_address_misheard,
    own_addresses,
    parse_email,
)
from petvisor_desktop.dialog.normalize.numbers import words_to_digits
from petvisor_desktop.dialog.normalize.phone import (
    DEFAULT_PHONE_COUNTRY,
    NUMBER_SAID_DIGITS,
    PHONE_PLANS,
    PhoneCheck,
    PhonePlan,
    check_phone,
    digits_said,
    parse_phone,
    spoken_digits,
    spoken_number,
)
from petvisor_desktop.dialog.normalize.times import PartOfDay, parse_part_of_day, parse_time
from petvisor_desktop.dialog.normalize.yes_no import is_no, is_yes
from petvisor_desktop.spoken import (
    format_email_for_speech,
    format_phone_for_speech,
    spoken_date,
    spoken_time,
)

__all__ = [
    "DEFAULT_PHONE_COUNTRY",
    "NUMBER_SAID_DIGITS",
    "PHONE_PLANS",
    "DateAsk",
    "PartOfDay",
    "PhoneCheck",
    "PhonePlan",
    "check_phone",
    "digits_said",
    "domain_for_spelled",
    "domain_trusted",
    "format_email_for_speech",
    "format_phone_for_speech",
    "guess_email",
    "is_no",
    "is_yes",
    "likely_addresses",
    "own_address_by_ear",
    "own_address_domain_unheard",
    "own_address_misheard",
    "own_addresses",
    "own_local_spelled",
    "parse_date",
    "parse_email",
    "parse_part_of_day",
    "parse_phone",
    "parse_time",
    "spoken_date",
    "spoken_digits",
    "spoken_number",
    "spoken_time",
    "words_to_digits",
]
