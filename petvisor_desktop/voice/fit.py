"""Recognition fitted to the question: at a closed step (yes/no, the animal, the type, the
vet, the offered times) the answer is one of a few phrases. Whisper decodes freely; when
what it wrote names none of the choices, each choice is scored against the audio itself
(forced decoding: the probability Whisper gives that phrase as the transcript) next to the
free text, and a choice that explains the audio about as well as the free text wins.
"She's a cap" becomes "She's a cat"; "Wait, I said Thursday" stays as it was. At an open
step the dialog may know what the caller is likely to say, given what was heard (the
caller's own names as an e-mail address): those phrases are fitted the same way
(`fit_to_likely`).

Vosk gets the same advantage from its grammar (`biasing.build_grammar`)."""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from petvisor_desktop.spoken import DATE_WORDS, SAID_DAYS, names_a_place, place_phrases
from petvisor_desktop.voice.accuracy import normalize_words
from petvisor_desktop.voice.biasing import phrase_variants

log = logging.getLogger(__name__)

# A choice is taken when its transcript is at most this much less likely (mean log
# probability per token) than the free one, and this much more likely than any other choice.
WITHIN_FREE = 1.0
OVER_OTHERS = 0.7
# Phrases the dialog expects (`fit_to_likely`) scoring this close to the best one count as
# tied, and the dialog's order decides between them.
LIKELY_TIE = 0.5
_FILLERS = {"am", "pm", "please", "the", "a", "an"}
_TIME = re.compile(r"\d{1,2}(?::\d{2})?\s?[ap]\.?m\.?", re.I)  # an offered time: "9:15am"


@dataclass(frozen=True)
class Fitted:
    text: str  # the transcript to use
    confidence: float | None
    choice: str | None  # the choice that replaced a misheard free text, if one did


def _words(text: str) -> list[str]:
    return normalize_words(text)


def _core(phrase: str) -> list[str]:
    """A choice's words that must be heard for it to count ("9:15am" -> nine fifteen)."""
    words = [w for w in _words(phrase) if w not in _FILLERS]
    return words or _words(phrase)


def names_a_choice(text: str, choices: Sequence[str]) -> bool:
    """Whether the free transcript already says one of the choices (in any of its usual
    forms: "Dr Amy Roberts" is also "Roberts", "doctor roberts", "Amy")."""
    heard = _words(text)
    for choice in choices:
        for variant in phrase_variants(choice) or [choice]:
            core = _core(variant)
            n = len(core)
            if n and any(heard[i : i + n] == core for i in range(len(heard) - n + 1)):
                return True
    return False


def open_step_choices(expecting: str, free: str) -> tuple[str, ...]:
    """What to fit an open answer to, when it looks misheard: at the date question most
    callers name a day, so an answer with no date word in it at all ("to stay afternoon") is
    scored against the day names ("Tuesday afternoon"). Anything else stays free."""
    if expecting != "date" or not free.strip():
        return ()
    if any(word in DATE_WORDS for word in _words(free)):
        return ()
    return SAID_DAYS


def _substituted(free: str, choice: str) -> str:
    """The free transcript with its span most like `choice` replaced by it: the caller's
    carrier words are kept ("she's a cap" -> "she's a cat")."""
    words = free.split()
    target = " ".join(_words(choice))
    n = max(1, len(target.split()))
    best, span = 0.0, None
    for size in {max(1, n - 1), n, n + 1}:
        if size > len(words):
            continue  # a span longer than what was heard ("Yes." against "9:15am please")
        for i in range(0, len(words) - size + 1):
            piece = " ".join(_words(" ".join(words[i : i + size])))
            ratio = difflib.SequenceMatcher(None, piece, target).ratio()
            if ratio > best:
                best, span = ratio, (i, i + size)
    if span is None or best < 0.5:
        return choice
    i, j = span
    trail = words[j - 1][-1] if words[j - 1][-1:] in ".,?!" else ""
    return " ".join([*words[:i], choice + trail, *words[j:]])


class ChoiceScorer:
    """Scores transcripts of one utterance with a loaded faster-whisper model: the audio is
    encoded once (and not again when the free decode of the same audio was: `whisper_model`),
    then each text costs one decoder pass (~20 ms for tiny.en)."""

    def __init__(self, whisper_model: Any, language: str = "en") -> None:
        from faster_whisper.tokenizer import Tokenizer

        self.model = whisper_model
        self.tokenizer = Tokenizer(
            whisper_model.hf_tokenizer,
            whisper_model.model.is_multilingual,
            task="transcribe",
            language=language,
        )
        self._start = [*self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]

    def score(self, audio: np.ndarray, texts: Sequence[str]) -> list[float]:
        """Mean log probability per token of each text as the transcript of `audio`."""
        from faster_whisper.audio import pad_or_trim

        # The frames as the free decode cut them (the feature extractor's last frame is
        # not the audio's), so that a model which remembers encodings (`whisper_model`)
        # encodes this audio once for the decode and the fit.
        features = self.model.feature_extractor(audio)[..., :-1]
        frames = int(features.shape[-1])
        encoded = self.model.encode(pad_or_trim(features))
        scores = []
        for text in texts:
            tokens = self.tokenizer.encode(" " + text.strip())
            if not tokens:
                scores.append(-math.inf)
                continue
            result = self.model.model.align(encoded, self._start, [tokens], frames)
            probs = np.maximum(np.asarray(result[0].text_token_probs, dtype=np.float64), 1e-9)
            scores.append(float(np.mean(np.log(probs))))
        return scores


def fit_to_choices(
    scorer: ChoiceScorer,
    audio: np.ndarray,
    free: str,
    confidence: float | None,
    choices: Sequence[str],
) -> Fitted:
    """The transcript to act on: the free one, unless it names no choice and a choice
    explains the audio about as well (see the module's docstring)."""
    if not choices or not free.strip() or names_a_choice(free, choices):
        return Fitted(free, confidence, None)
    times = all(_TIME.fullmatch(c.strip()) for c in choices)
    if times and names_a_place(free):
        return Fitted(free, confidence, None)  # "the second one": the dialog reads it
    # Each choice in the forms people say it ("Dr Michael Norman": "doctor norman", ...),
    # and an offered time by its place ("the second one").
    forms = [(i, _substituted(free, v)) for i, c in enumerate(choices) for v in _said_forms(c)]
    if times:
        forms += [(i, _substituted(free, p)) for i, p in place_phrases(len(choices))]
    scores = scorer.score(audio, [free, *(text for _, text in forms)])
    free_score = scores[0]
    best_of: dict[int, tuple[float, str]] = {}
    for (i, text), score in zip(forms, scores[1:], strict=True):
        if i not in best_of or score > best_of[i][0]:
            best_of[i] = (score, text)
    order = sorted(best_of, key=lambda i: best_of[i][0], reverse=True)
    best = order[0]
    top, text = best_of[best]
    runner_up = best_of[order[1]][0] if len(order) > 1 else -math.inf
    log.debug(
        "choice fit: free %.2f, best %r %.2f, next %.2f", free_score, choices[best], top, runner_up
    )
    if top >= free_score - WITHIN_FREE and top - runner_up >= OVER_OTHERS:
        return Fitted(text, math.exp(top), choices[best])
    return Fitted(free, confidence, None)


def fit_to_likely(
    scorer: ChoiceScorer,
    audio: np.ndarray,
    free: str,
    confidence: float | None,
    likely: Sequence[str],
) -> Fitted:
    """The transcript to act on at an open step where the dialog knows what the caller is
    likely to have said (their own names as an e-mail address: `Listening.likely`, the
    likeliest first): a phrase that explains the audio about as well as the free text
    (within WITHIN_FREE), else the free text. Unlike a closed question's choices they need
    not beat each other by a margin: of the phrases within LIKELY_TIE of the best-scoring
    one, the first in the dialog's order is taken ("... at example dot com" scored close to
    "... at emple dot com", which is what Whisper wrote for espeak's "example"). The dialog
    puts what it reads from a fitted text to the caller anyway (its confidence is the
    phrase's own, low when the audio was unclear)."""
    if not likely or not free.strip() or names_a_choice(free, likely):
        return Fitted(free, confidence, None)
    texts = [_substituted(free, phrase) for phrase in likely]
    scores = scorer.score(audio, [free, *texts])
    top = max(scores[1:])
    log.debug("likely fit: free %.2f, best %.2f", scores[0], top)
    if top < scores[0] - WITHIN_FREE:
        return Fitted(free, confidence, None)
    chosen = next(i for i in range(len(texts)) if scores[i + 1] >= top - LIKELY_TIE)
    return Fitted(texts[chosen], math.exp(scores[chosen + 1]), likely[chosen])


def _said_forms(choice: str) -> list[str]:
    """A choice as callers say it: a vet by full name, "Doctor Norman" or "Norman"; other
    choices as written."""
    variants = phrase_variants(choice)
    if len(variants) <= 1:
        return [choice]
    return [choice, *variants[1:4]]
