"""Yes and no, with the phrases that only look like one."""

from __future__ import annotations

from collections.abc import Sequence

from petvisor_desktop.dialog.normalize.times import _simple_words

# --------------------------------------------------------------------------------------------
# Yes and no
# --------------------------------------------------------------------------------------------

# Phrases are matched on whole words, without apostrophes ("that's" -> "thats").
_YES = (
    "yes",
    "yeah",
    "yea",
    "yeh",
    "yep",
    "yup",
    "ya",
    "aye",
    "correct",
    "right",
    "alright",
    "sounds good",
    "perfect",
    "go ahead",
    "book it",
    "please do",
    "sure",
    "absolutely",
    "definitely",
    "exactly",
    "ok",
    "okay",
    "fine",
    "great",
    "good",
    "lovely",
    "brilliant",
    "spot on",
    "confirm",
    "confirmed",
    "of course",
    "uh huh",
    "mm hmm",
    "thats it",
)
# Yes-phrases that contain a no-word; they are taken out before looking for a "no".
_YES_WITH_NO = ("no problem", "not a problem", "no worries", "no bother", "why not")
_NO = (
    "no",
    "nope",
    "nah",
    "not",
    "isnt",
    "wrong",
    "incorrect",
    "wait",
    "hold on",
    "hang on",
    "actually",
    "change",
    "changed",
    "mistake",
    "i said",
    "should be",
    "misheard",
    "dont",
    "didnt",
    "cancel",
)
# Doubt is not a "no", but it is not a plain "yes" either.
_UNSURE = ("not sure", "dont know", "unsure")
_VETO = ("but", "except", "though", "although", "however", "instead", "maybe", *_UNSURE)


def _flat(text: str) -> str:
    return " " + " ".join(_simple_words(text)) + " "


def _has_any(flat: str, phrases: Sequence[str]) -> bool:
    return any(f" {phrase} " in flat for phrase in phrases)


def _without(flat: str, phrases: Sequence[str]) -> str:
    for phrase in phrases:
        flat = flat.replace(f" {phrase} ", " ")
    return flat


def is_yes(text: str) -> bool:
    """A plain confirmation: "yes", "that's all correct", "go ahead", "no problem".

    False as soon as anything suggests a correction or doubt ("yes but the phone is wrong",
    "wait, I said Thursday", "I'm not sure"). Words are matched whole, so "know", "nothing",
    "November" and "Norman" never count as "no".
    """
    flat = _flat(text)
    if not (_has_any(flat, _YES) or _has_any(flat, _YES_WITH_NO)):
        return False
    rest = _without(flat, _YES_WITH_NO)
    return not (_has_any(rest, _NO) or _has_any(rest, _VETO))


def is_no(text: str) -> bool:
    """A refusal or correction: "no", "that's not right", "wait", "actually", "change it".

    "No problem" and "not sure" are not a no.
    """
    rest = _without(_without(_flat(text), _YES_WITH_NO), _UNSURE)
    return _has_any(rest, _NO)
