"""Word and character error rates, and the word normalisation both sides of a comparison go
through; used by the voice benchmark, the self-test and the choice fitting (`fit`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from petvisor_desktop.spoken import WORD_FORMS, number_token_words


def normalize_words(text: str) -> list[str]:
    """Words for scoring: lowercase, punctuation and apostrophes dropped, numbers written as
    spoken ("3:30pm" -> "three thirty pm", "07700" -> "zero seven seven zero zero"), "Dr" ->
    "doctor". Both the reference and the hypothesis go through the same steps."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = re.sub(r"\b([ap])\.m\.", r"\1m", text)
    text = re.sub(r"(\d+):(\d\d)", lambda m: f"{m.group(1)} {int(m.group(2)) or ''}", text)
    text = re.sub(r"(\d)(am|pm)\b", r"\1 \2", text)
    text = re.sub(r"(\d),(\d{3})\b", r"\1\2", text)
    text = text.replace("@", " at ")
    text = re.sub(r"(?<=[^\W\d])\.(?=[^\W\d])", " dot ", text)  # dan.hughes -> dan dot hughes
    text = text.replace("'", "")
    words: list[str] = []
    for token in re.findall(r"\w+", text):
        token = WORD_FORMS.get(token, token)
        words += number_token_words(token, leading_zero_digits=True).split()
    return words


def _edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after `normalize_words`.
    An empty reference gives 0.0 for an empty hypothesis, else 1.0."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return _edit_distance(ref, hyp) / len(ref)


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Edit distance over characters with spaces and punctuation removed, for languages
    whose word spacing varies (Korean)."""
    ref = "".join(normalize_words(reference))
    hyp = "".join(normalize_words(hypothesis))
    if not ref:
        return 0.0 if not hyp else 1.0
    return _edit_distance(list(ref), list(hyp)) / len(ref)
