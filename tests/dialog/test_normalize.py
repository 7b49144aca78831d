"""Pure-logic tests for the normalisers: phone, email, date, time, part of day, yes/no."""

from __future__ import annotations

from datetime import date, time

import pytest

from petvisor_desktop.dialog.normalize import (
    DEFAULT_PHONE_COUNTRY,
    DateAsk,
    check_phone,
    format_email_for_speech,
    format_phone_for_speech,
    guess_email,
    is_no,
    is_yes,
    likely_addresses,
    own_address_domain_unheard,
    own_address_misheard,
    parse_date,
    parse_email,
    parse_part_of_day,
    parse_phone,
    parse_time,
    spoken_date,
    spoken_time,
    words_to_digits,
)

MONDAY = date(2026, 11, 23)  # the scenarios' "now"; Thursday is the 26th
FRIDAY = date(2026, 11, 27)
SUMMER_MONDAY = date(2027, 6, 14)


# --- words_to_digits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oh seven seven zero zero nine double oh four five six", "07700900456"),
        ("Oh seven seven zero zero, nine double oh, four five six", "07700, 900, 456"),
        ("nought one six three two", "01632"),
        ("triple seven", "777"),
        ("double 7", "77"),
        ("forty five", "45"),
        ("forty-five", "45"),
        ("nineteen", "19"),
        ("oh seven seven hundred nine hundred four five six", "07700900456"),
        ("two thousand and twenty six", "2026"),
        ("oh 7700 900456", "07700900456"),
        # "for" between long runs of digits is a misheard "four"
        ("oh seven seven oh oh nine double oh for five six", "07700900456"),
        # Whisper writes "all" for an "oh" said before digits (neural caller, run 5)
        ("All seven seven double oh, nine double oh, three four five", "07700, 900, 345"),
        ("it's all seven seven oh oh, nine oh oh, all one three five", "it's 07700, 900, 0135"),
    ],
)
def test_words_to_digits_reads_spoken_numbers(text: str, expected: str) -> None:
    assert words_to_digits(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("020 7946 0018", "020 7946 0018"),  # typed digits are left exactly as typed
        ("Oh, my number is 020 7946 0018", "Oh, my number is 020 7946 0018"),  # "oh" the word
        ("it's j o h n", "it's j o h n"),  # a spelled "o" between letters is a letter
        ("I'd like two o'clock", "I'd like 2 o'clock"),
        ("my number is oh seven seven, thanks", "my number is 077, thanks"),
        ("from two to four", "from 2 to 4"),  # "to" stays a word outside a long number
        ("all three of them", "all 3 of them"),  # "all" before one number is the word
        ("that's all, nine o'clock", "that's all, 9 o'clock"),
    ],
)
def test_words_to_digits_keeps_words_and_typed_digits(text: str, expected: str) -> None:
    assert words_to_digits(text) == expected


# --- phone numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oh seven seven zero zero, nine double oh, four five six", "07700900456"),
        ("oh seven seven zero zero nine double oh four five six", "07700900456"),
        ("oh seven seven double oh, nine double oh, three four five", "07700900345"),
        ("It's oh seven seven oh oh... nine oh oh... one three five", "07700900135"),
        ("my number is 07700 900123", "07700900123"),
        ("+44 7700 900456", "07700900456"),
        ("020 7946 0018", "02079460018"),
        ("it's 020-7946-0018 thanks", "02079460018"),
        ("(020) 7946 0018", "02079460018"),
        ("+44 (0)20 7946 0018", "02079460018"),
        ("plus four four seven seven double oh nine double oh four five six", "07700900456"),
        ("No, the phone number is wrong, it's 07700 900789", "07700900789"),
        ("call me after 2, 07700 900456", "07700900456"),
        ("oh seven seven hundred nine hundred four five six", "07700900456"),
        ("oh one six three two nine six oh one two three", "01632960123"),
    ],
)
def test_parse_phone(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "double", "treble", "triple"; "oh" and "nought" for zero
        ("oh seven seven oh oh, nine treble oh, four five", "07700900045"),
        ("oh seven seven oh oh nine triple oh four five", "07700900045"),
        ("nought seven seven double nought, nine double nought, four five six", "07700900456"),
        ("o seven seven o o nine o o four five six", "07700900456"),
        # numbers said in groups, as people read them off a card
        ("oh seven seven hundred, nine hundred, four five six", "07700900456"),
        ("oh double seven hundred, nine hundred, four five six", "07700900456"),
        ("oh two oh, seventy nine forty six, double oh eighteen", "02079460018"),
        ("oh one six three two, nine six oh, one two three", "01632960123"),
        # spoken digits mixed with numerals
        ("07700 nine hundred four five six", "07700900456"),
        ("0 7 7 0 0 9 0 0 three three three", "07700900333"),
        ("oh 7700 900 four five six", "07700900456"),
        ("O7700 900456", "07700900456"),  # a letter O typed for the zero
        # the country code, in every form, becomes the national number the clinic stores
        ("+44 7700 900456", "07700900456"),
        ("+447700900456", "07700900456"),
        ("0044 7700 900456", "07700900456"),
        ("00 44 7700 900456", "07700900456"),
        ("+44 (0)7700 900456", "07700900456"),
        ("+44 07700 900456", "07700900456"),
        ("plus four four, seven seven oh oh, nine oh oh, four five six", "07700900456"),
        ("plus forty four seven seven double oh nine double oh four five six", "07700900456"),
        ("double oh four four seven seven oh oh nine oh oh four five six", "07700900456"),
        ("44 7700 900456", "07700900456"),  # no UK number starts with 44: the code, unsaid plus
        # ten-digit numbers exist for some 01 areas and 0800
        ("01632 96012", "0163296012"),
        ("oh eight hundred, one two three, four five six", "0800123456"),
        # "oh oh" as Whisper hears it in clinic noise
        ("Oh seven seven oh well, nine oh well, one two three.", "07700900123"),
    ],
)
def test_parse_phone_british_idioms(text: str, expected: str) -> None:
    assert parse_phone(text) == expected
    assert parse_phone(text, country="GB") == expected
    check = check_phone(text)
    assert check is not None and check.number == expected and check.problem is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("07700 900456 12", "That sounded like 13 digits; UK numbers have 11."),
        (
            "oh seven seven oh oh, nine oh oh, four five six, one two",
            "That sounded like 13 digits; UK numbers have 11.",
        ),
        ("0770090045612", "That sounded like 13 digits; UK numbers have 11."),
        ("077009004567", "That sounded like 12 digits; UK numbers have 11."),
        ("0770 090045", "That sounded like 10 digits; UK mobile numbers have 11."),
        ("020 7946 001", "That sounded like 10 digits; UK numbers have 11."),
        (
            "oh seven seven oh oh nine oh oh four",
            "That sounded like 9 digits; UK mobile numbers have 11.",
        ),
        ("01632 9601", "That sounded like 9 digits; UK numbers have 10 or 11."),
        ("7700 900456", "That number didn't start with 0; UK numbers start with 0."),
        (
            "seven seven oh oh nine oh oh four five six",
            "That number didn't start with 0; UK numbers start with 0.",
        ),
        ("0400 123 4567", "UK numbers don't start with 04."),
        (
            "+44 7700 9004567",
            "That sounded like 11 digits after the 44; UK numbers have 10 after it.",
        ),
        (
            "+33 1 23 45 67 89",
            "That sounded like a number from outside the UK; I can only take a UK number here.",
        ),
        (
            "0033 1 23 45 67 89",
            "That sounded like a number from outside the UK; I can only take a UK number here.",
        ),
    ],
)
def test_implausible_phone_numbers_are_questioned_not_taken(text: str, problem: str) -> None:
    assert parse_phone(text) is None
    check = check_phone(text)
    assert check is not None
    assert check.number is None
    assert check.problem == problem


def test_a_number_without_its_first_0_carries_the_guess_with_it() -> None:
    check = check_phone("seven seven oh oh nine oh oh four five six")
    assert check is not None and check.number is None
    assert check.guess == "07700900456"
    assert check_phone("0400 123 4567").guess is None  # no number starts so
    assert check_phone("400 123 4567").guess is None


@pytest.mark.parametrize(
    "text",
    ["at 10:30 please", "I have 2 dogs", "on 2026-11-26", "the 26th of November", "about 3 times"],
)
def test_other_figures_are_not_phone_numbers(text: str) -> None:
    assert check_phone(text) is None


def test_phone_country_is_a_parameter() -> None:
    assert DEFAULT_PHONE_COUNTRY == "GB"
    assert parse_phone("07700 900456", country="gb") == "07700900456"
    with pytest.raises(ValueError, match="no phone numbering plan"):
        parse_phone("07700 900456", country="XX")


@pytest.mark.parametrize(
    "text",
    [
        "I don't have a phone",
        "oh seven seven oh oh",  # too short
        "12345",
        "07700 900456 123456",  # too long
        "07700 900456 12",  # 13 digits: questioned, never taken
        "+44 7700 900456 7",
        "it's one two three four five six seven eight nine one two three four five",
        "",
    ],
)
def test_parse_phone_rejects_wrong_lengths(text: str) -> None:
    assert parse_phone(text) is None


@pytest.mark.parametrize(
    ("phone", "spoken"),
    [
        ("07700900456", "0 7 7 0 0, 9 0 0, 4 5 6"),
        ("02079460018", "0 2 0, 7 9 4 6, 0 0 1 8"),
        ("01632960123", "0 1 6 3 2, 9 6 0, 1 2 3"),
        ("+447700900456", "plus 4 4, 7 7 0 0, 9 0 0, 4 5 6"),
        ("+442079460018", "plus 4 4, 2 0, 7 9 4 6, 0 0 1 8"),
        ("7700900456", "7 7 0 0, 9 0 0, 4 5 6"),
    ],
)
def test_format_phone_for_speech(phone: str, spoken: str) -> None:
    assert format_phone_for_speech(phone) == spoken


@pytest.mark.parametrize(
    "spoken",
    [
        "oh seven seven zero zero nine double oh four five six",
        "plus four four two oh seven nine four six oh oh one eight",
        "0 1 6 3 2 9 6 0 1 2 3",
    ],
)
def test_phone_read_back_parses_to_the_same_number(spoken: str) -> None:
    phone = parse_phone(spoken)
    assert phone is not None
    assert parse_phone(format_phone_for_speech(phone)) == phone


# --- email addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("james dot okafor at example dot com", "james.okafor@example.com"),
        ("My email is James.Okafor@Example.com", "james.okafor@example.com"),
        ("it's j a m e s underscore o k at gmail dot com", "james_ok@gmail.com"),
        ("sarah underscore lee at example dot co dot uk", "sarah_lee@example.co.uk"),
        ("sarah hyphen jones at hotmail dot co dot uk thanks", "sarah-jones@hotmail.co.uk"),
        ("mo dash farah at example dot com", "mo-farah@example.com"),
        ("you can email me at tom plus vets at example dot com", "tom+vets@example.com"),
        ("b e double l a at example dot com", "bella@example.com"),
        ("bond double oh seven at example dot com", "bond007@example.com"),
        ("um my email address is jim one two three at btinternet dot com", "jim123@btinternet.com"),
        ("olivia grant at example dot com, all one word", "oliviagrant@example.com"),
        ("naomi clarke at example dot com, no dot, all one word", "naomiclarke@example.com"),
        (
            "j smith at example dot com. No, hang on, that's my old one. "
            "It's j smith seventy eight at example dot org.",
            "jsmith78@example.org",
        ),
        (
            "The email's wrong, sorry, it's mark dot evans at example dot co dot uk, not dot com.",
            "mark.evans@example.co.uk",
        ),
        (
            "priya dot shah patel at example dot com, shah and patel joined by a hyphen",
            "priya.shah-patel@example.com",
        ),
        ("jo at b t internet dot com", "jo@btinternet.com"),
        ("james at sign example full stop com", "james@example.com"),
        # Whisper writes a spoken "dot" between two names as a full stop.
        ("My email is Fatima. Khan at example.com.", "fatima.khan@example.com"),
        ("Yes. Fatima Khan at example.com", "fatimakhan@example.com"),  # a stop before it
        ("Olivia Grant and at example.com, all one word.", "oliviagrant@example.com"),
        # ... and sometimes runs the whole address together, "at" and all.
        ("No, my email is Dan.useatexample.com", "dan.use@example.com"),
        # Run 13: the "at" heard as one more dot, before a provider's domain.
        ("No, my email is claire.robinson.example.com", "claire.robinson@example.com"),
        ("sarah.lee.gmail.com", "sarah.lee@gmail.com"),
        ("Dan.huesy.example.com.", "dan.huesy@example.com"),
        ("matt.smithatgmail.co.uk, thanks", "matt.smith@gmail.co.uk"),
        # The "at" heard as "of" (neural caller at 15 dB), apart or run together.
        ("fatima dot khan of example dot com", "fatima.khan@example.com"),
        ("Fatima. Khanofexample.com", "fatima.khan@example.com"),
    ],
)
def test_parse_email(text: str, expected: str) -> None:
    assert parse_email(text) == expected


def test_of_is_no_at_without_a_domain_after_it() -> None:
    assert parse_email("in a couple of days, about ten past two") is None
    assert parse_email("the best of example") is None


def test_dot_com_before_the_at_is_the_callers_surname() -> None:
    """Whisper writes "fatima dot khan" as "Fatima.com"; for Fatima Khan that is her
    surname, not a domain ending inside the local part."""
    heard = "No, my email is Fatima.com at example.com"
    assert parse_email(heard, names=("Fatima", "Khan")) == "fatima.khan@example.com"
    assert parse_email(heard) == "fatima.com@example.com"  # without the names: as heard
    assert parse_email("com.fatima at example.com", names=("Fatima", "Khan")) == (
        "com.fatima@example.com"
    )


def test_a_not_between_the_callers_names_is_the_dot_it_was() -> None:
    heard = "Ravi not Patel at example.com"
    assert parse_email(heard, names=("Ravi", "Patel")) == "ravi.patel@example.com"
    assert parse_email(heard) == "ravinotpatel@example.com"  # without the names: as heard
    assert parse_email("ravi knot patel at example.com", names=("Ravi", "Patel")) == (
        "raviknotpatel@example.com"
    )


def test_a_lead_in_heard_as_words_before_the_callers_names_is_no_part_of_the_address() -> None:
    # Run 13 (neural caller): "my email is" heard as "Mikey Miller's".
    heard = "Mikey Miller's owen dot price at example dot com"
    assert parse_email(heard, names=("Owen", "Price")) == "owen.price@example.com"
    assert parse_email(heard) == "mikeymillersowen.price@example.com"  # no names: as heard
    # One word before them, or only one of the names after: the address as heard.
    assert parse_email("team owen dot price at example dot com", names=("Owen", "Price")) == (
        "teamowen.price@example.com"
    )
    assert parse_email("big dog owen at example dot com", names=("Owen", "Price")) == (
        "bigdogowen@example.com"
    )


@pytest.mark.parametrize(
    "text",
    [
        "I don't have one",
        "No, I really don't have an email address. I don't use the computer.",
        "james at example",  # no dot in the domain
        "my email is at example dot com",  # no local part
        "james at example dot c",  # a one-letter top-level domain
        "james@@example.com",
        "Dan.huesy.exampled.com.",  # no "at" anywhere in it, and no provider's domain
        "whatever.com",  # an "at" with too little before it
        "",
    ],
)
def test_parse_email_rejects_invalid(text: str) -> None:
    assert parse_email(text) is None


@pytest.mark.parametrize(
    ("email", "spoken"),
    [
        ("james.okafor@example.com", "james dot okafor at example dot com"),
        ("sarah_lee@example.co.uk", "sarah underscore lee at example dot co dot uk"),
        ("priya.shah-patel@example.com", "priya dot shah dash patel at example dot com"),
        ("jsmith78@example.org", "jsmith 7 8 at example dot org"),
        ("tom+vets@example.com", "tom plus vets at example dot com"),
    ],
)
def test_format_email_for_speech(email: str, spoken: str) -> None:
    assert format_email_for_speech(email) == spoken
    assert parse_email(spoken) == email  # the read-back reads back to the same address


# --- part of day ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thursday afternoon", "afternoon"),
        ("after lunch please", "afternoon"),
        ("anytime after 12", "afternoon"),
        ("after twelve", "afternoon"),
        ("2pm", "afternoon"),
        ("something pm", "afternoon"),
        ("Wednesday afternoon, as late as possible", "afternoon"),
        ("in the evening if you can", "afternoon"),
        ("half past two", "afternoon"),
        ("Wednesday, but not before lunch, I work mornings", "afternoon"),
        ("I can't do mornings", "afternoon"),
        ("not the morning, the afternoon", "afternoon"),
        ("Thursday morning", "morning"),
        ("first thing", "morning"),
        ("as early as possible", "morning"),
        ("10 am", "morning"),
        ("ten a.m.", "morning"),
        ("before lunch", "morning"),
        ("Wednesday the 2nd of December, in the morning", "morning"),
        ("This Thursday, in the morning", "morning"),
        ("ten thirty", "morning"),
        ("I can't do afternoons", "morning"),
    ],
)
def test_parse_part_of_day(text: str, expected: str) -> None:
    assert parse_part_of_day(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Good morning, I'd like to book my cat in",  # a greeting, not a preference
        "good afternoon",
        "morning or afternoon, either is fine",
        "I am free any day",  # "am" here is a verb
        "early afternoon or late morning",
        "Thursday",
        "",
    ],
)
def test_parse_part_of_day_none(text: str) -> None:
    assert parse_part_of_day(text) is None


def test_early_modifies_afternoon() -> None:
    assert parse_part_of_day("early afternoon") == "afternoon"
    assert parse_part_of_day("early next week") is None


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day", "phrase"),
    [
        ("today", date(2026, 11, 23), "today"),
        ("This afternoon, today", date(2026, 11, 23), "today"),
        ("Tomorrow", date(2026, 11, 24), "tomorrow"),
        ("tomorrow morning please", date(2026, 11, 24), "tomorrow"),
        ("the day after tomorrow", date(2026, 11, 25), "the day after tomorrow"),
        ("Thursday afternoon", date(2026, 11, 26), "thursday"),
        ("this thursday", date(2026, 11, 26), "this thursday"),
        ("thursdays are best", date(2026, 11, 26), "thursdays"),
        ("Wait, I said Thursday", date(2026, 11, 26), "thursday"),
        ("monday", date(2026, 11, 30), "monday"),  # a bare weekday is never today
        ("today, monday", date(2026, 11, 23), "today, monday"),
        ("next thursday", date(2026, 12, 3), "next thursday"),
        ("thursday next week", date(2026, 12, 3), "thursday next week"),
        ("next week on thursday", date(2026, 12, 3), "next week on thursday"),
        ("next week, maybe thursday", date(2026, 12, 3), "thursday"),
        ("thursday week", date(2026, 12, 3), "thursday week"),
        ("a week on friday", date(2026, 12, 4), "a week on friday"),
        ("next week", date(2026, 11, 30), "next week"),
        ("Next week if possible.", date(2026, 11, 30), "next week"),
        ("the week after next", date(2026, 12, 7), "the week after next"),
        ("the 3rd of December", date(2026, 12, 3), "the 3rd of december"),
        ("December 3rd", date(2026, 12, 3), "december 3rd"),
        ("3 December", date(2026, 12, 3), "3 december"),
        ("3/12", date(2026, 12, 3), "3/12"),
        ("the third of december", date(2026, 12, 3), "the third of december"),
        ("december the third", date(2026, 12, 3), "december the third"),
        ("the 3rd", date(2026, 12, 3), "the 3rd"),  # the 3rd of November has passed
        ("on the twenty fifth", date(2026, 11, 25), "on the twenty fifth"),
        ("the twenty first", date(2026, 12, 21), "the twenty first"),
        ("the 31st", date(2026, 12, 31), "the 31st"),  # November has no 31st
        ("twenty third of november", date(2026, 11, 23), "twenty third of november"),
        ("the 22nd of november", date(2027, 11, 22), "the 22nd of november"),  # a year on
        ("the fifth of may", date(2027, 5, 5), "the fifth of may"),
        ("the 3rd of march 2027", date(2027, 3, 3), "the 3rd of march 2027"),
        ("3/12/2027", date(2027, 12, 3), "3/12/2027"),
        ("2026-12-03", date(2026, 12, 3), "2026-12-03"),
        (
            "Wednesday the 2nd of December, in the morning",
            date(2026, 12, 2),
            "wednesday the 2nd of december",
        ),
        ("Monday the 30th then, in the afternoon", date(2026, 11, 30), "monday the 30th"),
        ("in two weeks", date(2026, 12, 7), "in two weeks"),
        ("not thursday, friday", date(2026, 11, 27), "friday"),
        ("thursday, not friday", date(2026, 11, 26), "thursday"),
        ("thursday is no good, how about friday", date(2026, 11, 27), "friday"),
        (
            "Sorry, can we change that to Friday morning instead? Thursday won't work after all.",
            date(2026, 11, 27),
            "friday",
        ),
        ("I can't do thursday or friday, monday is fine", date(2026, 11, 30), "monday"),
    ],
)
def test_parse_date(text: str, day: date, phrase: str) -> None:
    assert parse_date(text, MONDAY) == DateAsk(day=day, weekend=False, phrase=phrase)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Saturday morning, if you're open", date(2026, 11, 28)),
        ("Sunday, please", date(2026, 11, 29)),
        ("the weekend", date(2026, 11, 28)),
        ("next weekend", date(2026, 12, 5)),
        ("the 29th", date(2026, 11, 29)),
        ("next saturday", date(2026, 12, 5)),
    ],
)
def test_parse_date_flags_weekends(text: str, day: date) -> None:
    ask = parse_date(text, MONDAY)
    assert ask is not None
    assert (ask.day, ask.weekend) == (day, True)


@pytest.mark.parametrize(
    ("text", "today", "day"),
    [
        ("friday", FRIDAY, date(2026, 12, 4)),  # today is Friday: the next one
        ("today, friday", FRIDAY, FRIDAY),
        ("next friday", FRIDAY, date(2026, 12, 4)),
        ("tomorrow", FRIDAY, date(2026, 11, 28)),
        ("next week", FRIDAY, date(2026, 11, 30)),
        ("This Thursday, in the morning", SUMMER_MONDAY, date(2027, 6, 17)),
        ("the 1st of january", date(2026, 12, 30), date(2027, 1, 1)),
        ("the 2nd", date(2026, 12, 30), date(2027, 1, 2)),
    ],
)
def test_parse_date_relative_to_today(text: str, today: date, day: date) -> None:
    ask = parse_date(text, today)
    assert ask is not None
    assert ask.day == day


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "my cat has been sneezing",
        "The first one you have",
        "The second one, please",
        "hold on a second",
        "may I book an appointment",
        "Whenever's soonest",
        "I can't do thursday",
        "not tomorrow",
        "the 32nd",
        "31/11",
        "",
    ],
)
def test_parse_date_none(text: str) -> None:
    assert parse_date(text, MONDAY) is None


# --- times ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2pm", time(14, 0)),
        ("2 p.m. please", time(14, 0)),
        ("Two o'clock if you have it", time(14, 0)),
        ("Ten o'clock if you have it", time(10, 0)),
        ("half past two", time(14, 30)),
        ("half two", time(14, 30)),
        ("quarter past eleven", time(11, 15)),
        ("quarter to three", time(14, 45)),
        ("ten to four", time(15, 50)),
        ("twenty past nine", time(9, 20)),
        ("14:30", time(14, 30)),
        ("1:15 please, or the nearest you have", time(13, 15)),
        ("2.30", time(14, 30)),
        ("ten thirty", time(10, 30)),
        ("two fifteen", time(14, 15)),
        ("two forty five", time(14, 45)),
        ("two oh five", time(14, 5)),
        ("fourteen thirty", time(14, 30)),
        ("noon", time(12, 0)),
        ("midday please", time(12, 0)),
        ("at two", time(14, 0)),
        ("two please", time(14, 0)),
        ("around 3", time(15, 0)),
        ("at ten", time(10, 0)),
        ("nine", time(9, 0)),
        ("ten in the morning", time(10, 0)),
        ("11am", time(11, 0)),
        ("12 pm", time(12, 0)),
        ("the 3rd at 2", time(14, 0)),
    ],
)
def test_parse_time(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The first one you have",
        "that one please",
        "I have two dogs",
        "about two weeks ago",
        "oh seven seven oh oh nine double oh four five six",
        "nine double oh four five six",
        "the 3rd",
        "morning",
        "",
    ],
)
def test_parse_time_none(text: str) -> None:
    assert parse_time(text) is None


@pytest.mark.parametrize(
    ("value", "spoken"),
    [
        (time(9, 0), "9am"),
        (time(14, 30), "2:30pm"),
        (time(12, 0), "12pm"),
        (time(12, 5), "12:05pm"),
        (time(11, 45), "11:45am"),
        (time(0, 0), "12am"),
    ],
)
def test_spoken_time(value: time, spoken: str) -> None:
    assert spoken_time(value) == spoken
    if 9 <= value.hour < 16:
        assert parse_time(spoken) == value  # the read-back parses back to the same time


@pytest.mark.parametrize(
    ("day", "spoken"),
    [
        (date(2026, 11, 23), "today"),
        (date(2026, 11, 24), "tomorrow"),
        (date(2026, 11, 26), "Thursday the 26th of November"),
        (date(2026, 12, 1), "Tuesday the 1st of December"),
        (date(2026, 12, 2), "Wednesday the 2nd of December"),
        (date(2026, 12, 3), "Thursday the 3rd of December"),
        (date(2026, 12, 11), "Friday the 11th of December"),
        (date(2026, 12, 22), "Tuesday the 22nd of December"),
        (date(2027, 1, 1), "Friday the 1st of January 2027"),
    ],
)
def test_spoken_date(day: date, spoken: str) -> None:
    assert spoken_date(day, MONDAY) == spoken


# --- yes and no -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yes, that's all correct",
        "yeah",
        "yep that's right",
        "correct",
        "that's right",
        "sounds good",
        "perfect",
        "go ahead",
        "Yes, book it, please",
        "please do",
        "sure",
        "Yes, that's fine",
        "Yes that's right",
        "Yes, that's all correct now",
        "yes no problem",
        "that's right I know",
    ],
)
def test_is_yes(text: str) -> None:
    assert is_yes(text)
    assert not is_no(text)


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "nope",
        "No, the phone number is wrong, it's 07700 900789",
        "that's not right",
        "Wait, I said Thursday",
        "hold on",
        "actually make it friday",
        "can I change the time",
        "not quite",
        "No, don't book it, I've changed my mind.",
        "yes but the phone is wrong",
        "Oh, I gave you the wrong dog's name, sorry! This one is Bella, not Poppy.",
        "And I've just remembered, it should be Dr Roberts, not Dr Norman.",
        "No, that's everything, thank you. Bye!",
        "Sorry, can we change that to Friday morning instead?",
    ],
)
def test_is_no(text: str) -> None:
    assert is_no(text)
    assert not is_yes(text)


@pytest.mark.parametrize(
    "text",
    [
        "I know",
        "nothing",
        "November",
        "Doctor Norman",
        "I'm not sure",
        "hmm",
        "",
    ],
)
def test_neither_yes_nor_no(text: str) -> None:
    assert not is_yes(text)
    assert not is_no(text)


@pytest.mark.parametrize(
    "text",
    [
        "yes but can it be friday",
        "yeah, maybe",
        "sure, I'm not sure actually",
        "ok except the time",
    ],
)
def test_doubt_or_condition_is_not_a_plain_yes(text: str) -> None:
    assert not is_yes(text)


@pytest.mark.parametrize(
    "heard",
    [
        # "victoria dot hayes at example dot com" as the neural caller's lines at 15 dB came
        # out of Whisper: the "at" lost inside the surname, the whole run together.
        "Victoria.hazeitexample.com",
        "No, my email is Victoria.hazeedexample.com",
        "No, my email is Victoria. Heyzitexample.com",
        "Victoria.haysedexample.com",
    ],
)
def test_an_address_run_together_past_reading_is_guessed_from_the_callers_names(
    heard: str,
) -> None:
    assert parse_email(heard, names=("Victoria", "Hayes")) is None
    assert guess_email(heard, "Victoria", "Hayes") == "victoria.hayes@example.com"


def test_a_guessed_address_ends_with_its_domain() -> None:
    # Run 14 re-run: "amy dot clark at example dot comnonotalloneword" was put to the caller.
    heard = "my email is Amy Clark and example.com No, not all one word"
    assert guess_email(heard, "Amy", "Clark") == "amy.clark@example.com"


@pytest.mark.parametrize(
    ("heard", "first", "last"),
    [
        ("Victoria. Hayes.", "Victoria", "Hayes"),  # no domain heard
        ("victoria at example.com", "Victoria", "Hayes"),  # nothing like the surname
        ("victoria.brownatexample.com", "Victoria", "Hayes"),
        ("sarah.hazeitexample.com", "Victoria", "Hayes"),  # not the caller's first name
        ("Victoria.hazeitexample.com", "Victoria", None),
        # Run 14: the local part lost, the domain is no run-together address.
        ("No, my name is Michelle Menser and my email is menser.com", "Michelle", "Menser"),
    ],
)
def test_no_address_is_guessed_unlike_the_callers_names(
    heard: str, first: str | None, last: str | None
) -> None:
    assert guess_email(heard, first, last) is None


@pytest.mark.parametrize(
    ("heard", "guessed"),
    [
        # Run 10 (neural caller at 15 dB), "dan dot hughes at example dot com" for Daniel
        # Hughes: the short first name, the "at" glued on, the surname heard as "use".
        ("Dan.useatexample.com", "dan.hughes@example.com"),
        ("Dan.useitexample.com", "dan.hughes@example.com"),
        ("my email is dan dot use at example dot com", "dan.hughes@example.com"),
        ("daniel dot hughs at example dot com", "daniel.hughes@example.com"),
    ],
)
def test_the_callers_own_address_with_the_surname_misheard_is_guessed(
    heard: str, guessed: str
) -> None:
    email = parse_email(heard, names=("Daniel", "Hughes"))
    assert (
        own_address_misheard(email, "Daniel", "Hughes") or guess_email(heard, "Daniel", "Hughes")
    ) == guessed


@pytest.mark.parametrize(
    ("email", "guessed"),
    [
        # Run 12 (neural caller at 15 dB), "olivia grant at example dot com, all one word"
        # for Olivia Grant, heard "all of you grant at example.com".
        ("allofyougrant@example.com", "oliviagrant@example.com"),
        ("olivya.grant@example.com", "olivia.grant@example.com"),
        ("oliviagrent@example.com", "oliviagrant@example.com"),
        ("holidaygrant@example.com", None),  # not like Olivia to the ear
        ("oliviagrant@example.com", None),  # right already
        ("grant@example.com", None),  # one name only
    ],
)
def test_the_callers_own_address_with_the_first_name_misheard_is_guessed(
    email: str, guessed: str | None
) -> None:
    assert own_address_misheard(email, "Olivia", "Grant") == guessed


@pytest.mark.parametrize(
    "email",
    [
        "dan.ross@example.com",  # another surname: not a mishearing of Hughes
        "daniel.hughes@example.com",  # right already
        "daniel.hughes-smith@example.com",  # a hyphenated surname as said (Hughes-Smith)
        "sam.use@example.com",  # not the caller's first name
        "d.use@example.com",  # one letter is no short form
        "danhughes@example.com",  # no dot: nothing to tell the names apart
    ],
)
def test_an_address_unlike_the_callers_names_is_taken_as_read(email: str) -> None:
    last = "Hughes-Smith" if "smith" in email else "Hughes"
    assert own_address_misheard(email, "Daniel", last) is None


USUAL = ("example.com", "gmail.com", "hotmail.co.uk")


@pytest.mark.parametrize(
    ("heard", "likely"),
    [
        # Run 13, espeak's "sarah dot lee at example dot com": the domain heard is nobody's,
        # so the clinic's first two usual ones are tried before it.
        (
            "No, my email is very lovely at mampl.com",
            ("sarah dot lee at example dot com", "sarahlee at example dot com",
             "sarah dot lee at gmail dot com", "sarahlee at gmail dot com",
             "sarah dot lee at mampl dot com", "sarahlee at mampl dot com"),
        ),
        # A provider heard: only its domain.
        ("sarah lee at hotmail.co.uk", ("sarah dot lee at hotmail dot co dot uk",
                                        "sarahlee at hotmail dot co dot uk")),
        # One of the clinic's usual domains heard: only it.
        ("sarah not lee at example.com", ("sarah dot lee at example dot com",
                                          "sarahlee at example dot com")),
        # Run 13, "example dot com" heard "M.M. will not come": an "at", no domain after it.
        ("Sarah, not Lee at M.M. will not come.", ("sarah dot lee at example dot com",
                                                   "sarahlee at example dot com",
                                                   "sarah dot lee at gmail dot com",
                                                   "sarahlee at gmail dot com")),
        # No address in the words: nothing to guess.
        ("Yes, that's all correct", ()),
        ("Dr Norman at 3pm please", ()),
        ("my email is sarah", ()),
    ],
)  # fmt: skip
def test_the_callers_names_are_the_likely_address(heard: str, likely: tuple[str, ...]) -> None:
    assert likely_addresses(heard, "Sarah", "Lee", USUAL) == likely


def test_a_short_first_name_heard_is_tried_first_and_a_refused_address_never() -> None:
    heard = "dan dot use at gmail dot com"
    assert likely_addresses(heard, "Daniel", "Hughes", USUAL) == (
        "dan dot hughes at gmail dot com",
        "daniel dot hughes at gmail dot com",
        "danielhughes at gmail dot com",
    )
    refused = {"dan.hughes@gmail.com"}
    assert likely_addresses(heard, "Daniel", "Hughes", USUAL, refused)[0] == (
        "daniel dot hughes at gmail dot com"
    )
    assert likely_addresses(heard, "Daniel", None, USUAL) == ()


@pytest.mark.parametrize(
    ("heard", "address"),
    [
        ("Owen, not Price at M.M. will not come.", "owen.price@example.com"),  # run 13, 14
        ("owen price at m m will not come", "owenprice@example.com"),
        # A domain that can be read, no "at", or the names not said as one: nothing to guess.
        ("Owen, not Price at example.com", None),
        ("Owen not Price and M.M.", None),
        ("my email is going not price at been meant", None),
    ],
)
def test_the_callers_names_with_the_domain_unheard_are_at_the_usual_domain(
    heard: str, address: str | None
) -> None:
    assert own_address_domain_unheard(heard, "Owen", "Price", USUAL) == address
