"""When has the caller finished? The voice loop's one answer, in two ways (`audio.turn_taking`):

- "model": after a short silence (`audio.turn_check_ms`, about 200 ms) the end-of-turn model
  (`turn_end`, Smart Turn) judges from the sound of the turn whether it is complete; the turn
  ends at once when it is, and the loop keeps listening when it is not, up to
  `audio.max_end_silence_ms` so that nobody waits forever. Asked again after each further
  `turn_check_ms` of the same silence. Where answers come in groups with pauses between them
  (phone numbers, e-mail addresses) the model is not asked: the step's fixed silence ends the
  turn, as before.
- "silence": the fixed silence of before (`audio.end_silence_ms`, scaled per step).

Where the loop decodes the words at each pause (Whisper: `loop._think_ahead`), the words
have a say in both ways (`heard`): words that cannot be the end of what the caller means
("um", "Hi there", "... and", "My dog is called...") hold the turn open up to
`audio.max_end_silence_ms`; the model may end a turn early only on words that could be its
end (not a name being spelled, whose next letter may follow); and a turn is not ended before
its words are known (the reply waits for them anyway). Without words (Vosk) the rules are the
sound's alone, as above.

The turn segmenter (vad.py) keeps cutting turns on its own silence rule: `begin` tells the
loop which silence to give it, `frame` says when the turn ends sooner. The same object drives
the benchmark of false cut-offs (benchmarks/bench_turn_taking.py), so its figures are the
loop's."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from petvisor_desktop.spoken import HESITATIONS
from petvisor_desktop.voice.base import FRAME_MS, VoiceError
from petvisor_desktop.voice.turn_end import TurnEndDetector

log = logging.getLogger(__name__)

MODES = ("model", "silence")
# Fixed silence per step, as a share of `audio.end_silence_ms`: shorter after "Anything
# else?", longer where answers come in groups (phone numbers, e-mail addresses; 990 ms keeps
# a 700 ms pause between groups inside the turn, and the loop ends the turn as soon as the
# words decoded during the pause make a whole answer). Not shorter at the read-back: a
# correction there often comes in two sentences ("No, that's still not right. Can I speak to
# someone?"), and 385 ms cut such answers in two in the spoken suite.
END_SILENCE_SCALE = {
    "anything_else": 0.7,
    "species": 0.8,
    "phone": 1.8,
    "email": 1.8,
}
GROUPED_STEPS = frozenset({"phone", "email"})  # the model is not asked there
COMPLETE_AT = 0.5  # the model's probability from which the turn is over

# What the words decoded at a pause say of the turn (`words_verdict`).
WHOLE = "whole"  # they could be all the caller means: the turn may end
OPEN = "open"  # letters being spelled: not ended before the fixed silence
UNFINISHED = "unfinished"  # the caller is still going: held up to the longest silence
# Words no sentence ends on ("my email is john at", "Thursday and", "with the"); object
# pronouns and "is" are left out ("that's her", "yes it is").
_GOING_ON = frozenset(
    {"and", "or", "but", "because", "the", "a", "an", "my", "his", "our", "your", "their"}
    | {"at", "with", "to", "of", "from", "it's", "its"}
)
_GREETINGS = frozenset(
    {"hi", "hello", "hey", "hiya", "there", "good", "morning", "afternoon", "evening", "oh"}
)
_CANNOT_END = HESITATIONS | _GOING_ON
_NOTHING_YET = HESITATIONS | _GREETINGS
_WORD = re.compile(r"[a-z0-9']+")


def words_verdict(text: str) -> str:
    """WHOLE, OPEN or UNFINISHED for the words heard so far in a turn."""
    words = _WORD.findall(text.lower())
    if not words:
        # Nothing made out: a filler Whisper leaves out ("um" is often written as nothing),
        # or a cough, whose turn is dropped anyway. Waiting costs nothing either way.
        return UNFINISHED
    last = words[-1]
    # A lone letter is being spelled; "a" and "I" only after another letter ("B-E-L-L-A").
    before_is_letter = len(words) == 1 or len(words[-2]) == 1
    spelling = len(last) == 1 and last.isalpha() and (last not in "ai" or before_is_letter)
    if text.rstrip().endswith(("...", "\u2026")):
        return UNFINISHED  # "My dog is called..."
    if spelling:
        return OPEN  # "B-E-L-L": another letter may follow
    if " ".join(words[-2:]) in ("mm hmm", "uh huh") or last == "mhm":
        return WHOLE  # a yes
    if last in _CANNOT_END:
        return UNFINISHED  # "Thursday, um" / "Thursday and"
    if all(w in _NOTHING_YET for w in words):
        return UNFINISHED  # "Hi there." before what they came for
    return WHOLE


@dataclass(frozen=True)
class TurnTakingSettings:
    mode: str = "silence"
    end_silence_ms: int = 550  # the fixed silence ("silence" mode, and the grouped steps)
    check_ms: int = 200  # silence before the model is asked
    max_silence_ms: int = 1500  # silence that ends a turn the model keeps calling unfinished
    complete_at: float = COMPLETE_AT  # the model's probability from which the turn is over


class TurnTaking:
    """One turn at a time: `begin` when the caller starts, `frame` for each frame after, and
    `heard` with the words decoded at each pause where the loop decodes them."""

    def __init__(
        self, settings: TurnTakingSettings, detector: TurnEndDetector | None = None
    ) -> None:
        if settings.mode not in MODES:
            raise ValueError(f"turn-taking mode must be one of {MODES}, got {settings.mode!r}")
        self.settings = settings
        self.detector = detector
        self._asking = False
        self._hearing = False
        self._frames: list[np.ndarray] = []
        self._silent = 0
        self._fixed = 1  # frames of the step's fixed silence
        self._next_check = 0
        self._said_complete = False  # by the model, at this pause
        self._words: str | None = None  # the verdict on this pause's words, once decoded
        self.checks: list[tuple[float, float]] = []  # this turn's (probability, ms) per check
        self.held_by_words = 0  # pauses of this turn held open by unfinished words

    @property
    def uses_model(self) -> bool:
        return self.settings.mode == "model" and self.detector is not None

    def begin(
        self,
        expecting: str,
        frames: Sequence[np.ndarray] = (),
        *,
        held: bool = False,
        words: bool = False,
    ) -> int:
        """A turn starts at the step `expecting` with `frames` (the pre-roll and the first
        speech); returns the silence the segmenter is to end it on. `held`: the talk key is
        down, and its release ends the turn (nothing to judge). `words`: the loop decodes
        the words at each pause and passes them to `heard`."""
        s = self.settings
        fixed = max(FRAME_MS, int(s.end_silence_ms * END_SILENCE_SCALE.get(expecting, 1.0)))
        self._fixed = max(1, round(fixed / FRAME_MS))
        self._asking = self.uses_model and not held and expecting not in GROUPED_STEPS
        self._hearing = words and not held
        self._frames, self._silent, self.checks = list(frames), 0, []
        self._said_complete, self._words, self.held_by_words = False, None, 0
        self._next_check = self._check_frames()
        return max(s.max_silence_ms, fixed) if self._asking or self._hearing else fixed

    def heard(self, text: str | None) -> None:
        """The words decoded during this pause (None: the decode failed, so they say
        nothing)."""
        if self._hearing:
            self._words = WHOLE if text is None else words_verdict(text)
            self.held_by_words += self._words == UNFINISHED

    def frame(self, frame: np.ndarray, speech: bool) -> bool:
        """One more frame of the turn (`speech`: the VAD heard the caller in it). True when
        the caller has finished, sooner than the segmenter's silence."""
        if not (self._asking or self._hearing):
            return False
        if self._asking:
            self._frames.append(frame)
        if speech:
            self._silent, self._next_check = 0, self._check_frames()
            self._said_complete, self._words = False, None
            return False
        self._silent += 1
        if self._asking and not self._said_complete and self._silent >= self._next_check:
            self._next_check += self._check_frames()
            self._said_complete = self._complete()
        if not self._hearing:
            return self._said_complete
        if self._words is None or self._words == UNFINISHED:
            return False  # the segmenter's longest silence ends it if nothing else does
        return self._silent >= self._fixed or (self._said_complete and self._words == WHOLE)

    def _check_frames(self) -> int:
        return max(1, round(self.settings.check_ms / FRAME_MS))

    def _complete(self) -> bool:
        assert self.detector is not None
        started = time.perf_counter()
        try:
            p = float(self.detector.probability(np.concatenate(self._frames)))
        except VoiceError as exc:
            log.warning("end-of-turn model failed (%s); the fixed silence ends the turn", exc)
            self._asking = False
            return False
        self.checks.append((p, (time.perf_counter() - started) * 1000))
        return p >= self.settings.complete_at
