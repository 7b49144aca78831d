"""The text layer of the echo guard: a transcript that is a fragment of what the assistant
just said is its own voice heard back, and is thrown away.

Both sides go through `words_of`, which spells numbers, times and titles as the voice says
them (`petvisor_desktop.spoken`), and `matched_words` aligns them allowing for recogniser
errors. A caller who began speaking after the speaker had gone quiet is never an echo.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from petvisor_desktop.spoken import WORD_FORMS, number_token_words

# A digit said "oh" is the digit zero: the voice reads phone numbers so, and a recogniser may
# write either.
_WORD_FORMS = {**WORD_FORMS, "oh": "zero", "o": "zero"}


def words_of(text: str) -> list[str]:
    """Lower-case words with numbers spelt out, so that what the assistant wrote ("9:30am",
    "26th", "Dr", "2026") and what a recogniser hears ("nine thirty a m", "twenty sixth",
    "doctor", "two thousand twenty six") compare equal."""
    text = text.lower().replace("'", "").replace("\u2019", "")
    text = re.sub(r"([a-z])\.(?=[a-z]\.)", r"\1", text)  # "a.m." -> "am."
    words: list[str] = []
    for token in re.findall(r"[a-z]+|\d+(?:st|nd|rd|th)?", text):
        if token[0].isdigit():
            # "07" is the hour of "07:30", said "seven"; five digits or more one by one.
            words.extend(number_token_words(token, leading_zero_digits=False).split())
            continue
        words.extend(_WORD_FORMS.get(token, token).split())
    return words


def _similar(a: str, b: str) -> bool:
    """The same word, or one a recogniser could have made of it ("okafor"/"okafa")."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.7


def matched_words(heard: list[str], said: list[str]) -> int:
    """How many of `heard` a compact fragment of `said` accounts for, in order: a local
    alignment (Smith-Waterman; +1 per matching word, -0.6 per missing, extra or wrong word),
    so words scattered across the assistant's speech do not add up."""
    if not heard or not said:
        return 0
    gap = 0.6
    rows, cols = len(heard) + 1, len(said) + 1
    score = np.zeros((rows, cols))
    count = np.zeros((rows, cols), dtype=np.int32)
    best_score, best_count = 0.0, 0
    for i in range(1, rows):
        for j in range(1, cols):
            hit = _similar(heard[i - 1], said[j - 1])
            options = (
                (score[i - 1, j - 1] + (1.0 if hit else -gap), count[i - 1, j - 1] + int(hit)),
                (score[i - 1, j] - gap, count[i - 1, j]),
                (score[i, j - 1] - gap, count[i, j - 1]),
                (0.0, 0),
            )
            s, c = max(options, key=lambda o: (o[0], o[1]))
            score[i, j], count[i, j] = s, c
            if s > best_score or (s == best_score and c > best_count):
                best_score, best_count = s, int(c)
    return best_count


@dataclass
class _Said:
    words: list[str]
    started: float
    ended: float


class TranscriptEchoCheck:
    """What the assistant said lately, and whether a transcript is that heard back. Written
    from the speaking thread, read from the recognising one; thread-safe."""

    def __init__(
        self,
        *,
        text_window_s: float = 10.0,
        echo_tail_s: float = 0.12,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.text_window_s = text_window_s
        self.echo_tail_s = echo_tail_s
        self.clock = clock
        self._lock = threading.Lock()
        self._said: deque[_Said] = deque()
        self._quiet_at: float | None = None  # when the speaker last went quiet

    def note_spoken(
        self, text: str, started_at: float | None = None, duration_s: float | None = None
    ) -> None:
        """The assistant starts saying `text` (at `started_at`, monotonic; now by default)."""
        words = words_of(text)
        if not words:
            return
        start = self.clock() if started_at is None else started_at
        # Without a duration: about 2.5 words a second, Piper's pace.
        length = duration_s if duration_s is not None else len(words) / 2.5
        with self._lock:
            self._said.append(_Said(words, start, start + length))

    def note_playback_end(self, t: float | None = None) -> None:
        """The speaker went quiet at `t` (monotonic; now by default): a reply finished
        playing or was cut off. What was said ends there, whatever the words' estimate."""
        end = self.clock() if t is None else t
        with self._lock:
            for said in self._said:
                said.ended = max(said.started, min(said.ended, end))
            self._quiet_at = end

    def is_echo(
        self,
        transcript: str,
        started_at: float | None = None,
        heard_until: float | None = None,
    ) -> bool:
        """Whether `transcript` is the assistant's own recent speech heard back: one stretch
        of what it said in the last `text_window_s` accounts, in order, for every word of a
        short transcript (up to four words) or for 60 % of a longer one, with recogniser
        errors allowed for ("okafor"/"okafa", "nine thirty"/"9:30").

        `started_at` (monotonic, when the caller's speech began) decides most cases: speech
        that began after the speaker had gone quiet is never an echo, however much it repeats
        the assistant ("whoever is free first"); speech during playback may be as short as two
        words. Without it, a transcript needs three words: a short answer that repeats one of
        the offered options ("a vaccination") would otherwise be thrown away. A one-word
        answer ("yes", "Mittens") is never an echo.

        `heard_until`: the last moment the audio layer measured the reference live at the
        microphone (monotonic), which may be later than the speaker's own report."""
        heard = words_of(transcript)
        if len(heard) < 2:
            return False
        now = self.clock()
        with self._lock:
            while self._said and self._said[0].ended < now - self.text_window_s:
                self._said.popleft()
            said = list(self._said)
        if not said:
            return False
        if started_at is not None:
            latest = max(said, key=lambda s: s.started)
            quiet_from = max(s.ended for s in said)  # estimated from the words
            if self._quiet_at is not None and self._quiet_at >= latest.started:
                quiet_from = self._quiet_at  # the speaker's own report of going quiet
            if heard_until is not None and heard_until >= latest.started:
                # Measured at the microphone: the last frame the delayed reference was live.
                quiet_from = max(quiet_from, heard_until)
            # An echo begins while its reference plays; speech that began after the speaker
            # went quiet (plus the room's short ring) is the caller's, however much it
            # repeats the assistant. People answer within 200-300 ms, so this margin must
            # stay well below that.
            if started_at > quiet_from + self.echo_tail_s:
                return False
        elif len(heard) < 3:
            return False
        spoken = [w for s in said for w in s.words]
        matched = matched_words(heard, spoken)
        if len(heard) <= 4:
            return matched == len(heard)
        return matched >= math.ceil(0.6 * len(heard))
