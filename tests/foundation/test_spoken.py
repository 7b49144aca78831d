"""The shared spoken forms (pure logic): numbers as the voice says them, and the written and
spoken forms of times, dates, phone numbers and e-mail addresses with each caller's options."""

from __future__ import annotations

from datetime import date, time

import pytest

from petvisor_desktop.spoken import (
    clock_words,
    date_text,
    digit_words,
    format_email_for_speech,
    number_token_words,
    number_words,
    ordinal_suffix,
    ordinal_words,
    spoken_date,
    spoken_time,
)


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (42, "forty two"),
        (100, "one hundred"),
        (305, "three hundred five"),
        (1200, "one thousand two hundred"),
        (2000, "two thousand"),
        (2010, "two thousand ten"),
        (2026, "two thousand twenty six"),
    ],
)
def test_number_words_are_what_the_voice_says(number: int, words: str) -> None:
    assert number_words(number) == words


def test_ordinals() -> None:
    assert [ordinal_words(n) for n in (1, 2, 3, 12, 20, 26, 30)] == [
        "first",
        "second",
        "third",
        "twelfth",
        "twentieth",
        "twenty sixth",
        "thirtieth",
    ]
    assert [f"{n}{ordinal_suffix(n)}" for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
        "111th",
    ]


def test_digits_one_by_one_with_zero_or_oh() -> None:
    assert digit_words("0770") == "zero seven seven zero"
    assert digit_words("0770", zero="oh") == "oh seven seven oh"


def test_number_tokens_with_and_without_a_leading_zero_read_as_digits() -> None:
    assert number_token_words("26th") == "twenty sixth"
    assert number_token_words("2000") == "two thousand"
    assert number_token_words("07700") == "zero seven seven zero zero"
    assert number_token_words("07") == "zero seven"
    assert number_token_words("07", leading_zero_digits=False) == "seven"
    assert number_token_words("dog") == "dog"


def test_written_times_in_each_callers_style() -> None:
    assert spoken_time(time(9, 0)) == "9am"
    assert spoken_time(time(14, 30)) == "2:30pm"
    assert spoken_time(time(12, 0)) == "12pm"
    assert spoken_time(time(12, 0), noon="noon") == "noon"  # the opening hours
    assert spoken_time(time(9, 0), always_minutes=True, suffix_gap=" ") == "9:00 am"  # the card


def test_times_as_the_voice_says_them() -> None:
    assert clock_words(9, 0, "am") == "9am"
    assert clock_words(2, 5, "pm") == "2 oh 5 pm"
    assert clock_words(12, 0, "pm") == "12 noon"
    assert clock_words(12, 0, "am") == "12 midnight"
    assert clock_words(3, 0, None) == "3 o'clock"
    assert clock_words(3, 30, None) == "3 30"


def test_dates_said_and_shown() -> None:
    day = date(2026, 11, 26)
    assert date_text(day) == "Thursday the 26th of November"
    assert date_text(day, year=True) == "Thursday the 26th of November 2026"
    assert date_text(day, ordinal=False) == "Thursday 26 November"
    assert spoken_date(day, date(2026, 11, 25)) == "tomorrow"
    assert spoken_date(day, date(2025, 12, 1)) == "Thursday the 26th of November 2026"


def test_email_digits_stay_digits_unless_the_voice_says_them() -> None:
    assert format_email_for_speech("Sam_20@vets-r-us.co.uk") == (
        "sam underscore 2 0 at vets dash r dash us dot co dot uk"
    )
    assert format_email_for_speech("sam20@x.com", digit_names=True) == "sam two oh at x dot com"
