"""Text to speech with Piper: sentence splitting for streaming, the assistant's text turned into
words Piper says well (phone digits in groups, times, titles, e-mail addresses), and a
synthesizer that yields each sentence's audio as soon as it is made.

Piper 1.8 runs one ONNX call per sentence and yields one audio chunk per sentence; it cannot
stream inside a sentence. So first audio comes sooner only when the first sentence is short:
`split_sentences` also cuts very long sentences at a comma after a few words.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from petvisor_desktop.spoken import (
    TITLES,
    clock_words,
    date_text,
    digit_words,
    format_email_for_speech,
    format_phone_for_speech,
)
from petvisor_desktop.voice.base import SentenceCache, SynthChunk, TtsError

if TYPE_CHECKING:
    from piper import PiperVoice

    from petvisor_desktop.settings import Settings

log = logging.getLogger(__name__)

# Measured with benchmarks/bench_tts.py on a 2-core PC: with the machine quiet, 2 intra-op
# threads gave a real-time factor of 0.03 and 1 thread 0.05; with other work on the cores
# (as at the kiosk, where the recogniser and the VAD run while a reply plays) 1 thread gave
# 0.056 and 2 threads 0.078. One thread leaves a core free and is far below real time.
DEFAULT_THREADS = 1
# Piper normalises every sentence to full scale by default, so a quiet sentence ("Which would
# suit you?", raw peak 0.27) comes out much louder than its neighbour (raw peak 0.56). We keep
# the model's own level, which is steady across sentences, and apply one fixed gain instead.
OUTPUT_GAIN = 1.6
# A long sentence is cut at a clause mark once it has this many spoken words, so that its first
# part (and so the first audio of a reply) is ready sooner. Words are counted as they will be
# said ("8:45am" is three), since times and phone numbers take long to say.
MAX_WORDS = 14
MADE_SENTENCES = 256  # sentences kept made per loaded voice (a few seconds of audio each)
MIN_PIECE_WORDS = 4

_FIX = "run `petvisor-desktop models pull {name}` (or `petvisor-desktop models install-dev`)"


# --------------------------------------------------------------------------------------------
# Sentence splitting
# --------------------------------------------------------------------------------------------

# Words after which a full stop is not a sentence end (compared without the dot, lower case).
_ABBREVIATIONS = frozenset(
    {
        "dr",
        "mr",
        "mrs",
        "ms",
        "mx",
        "prof",
        "st",
        "sr",
        "jr",
        "mt",
        "no",
        "vs",
        "approx",
        "tel",
        "e.g",
        "i.e",
        "cf",
        "ref",
        "dept",
        "inc",
        "ltd",
        "co",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    }
)
# A terminator run, closing quotes or brackets, then white space: a candidate sentence end.
_END_RE = re.compile(r"(?:[.!?\u2026]+)[\"'\u201d\u2019)\]]*(?=\s)")
_WORD_BEFORE_RE = re.compile(r"(\S+)$")
_CLAUSE_RE = re.compile(r"[,;:\u2014](?=\s)|\s[\u2013-](?=\s)")


def _is_sentence_end(text: str, start: int, end: int) -> bool:
    """Whether the terminator at text[start:end] (followed by white space) ends a sentence."""
    mark = text[start:end]
    following = text[end:].lstrip()
    if not following:
        return True
    if "?" in mark or "!" in mark:
        return True
    if mark.startswith("\u2026") or mark.startswith(".."):
        return following[0].isupper() or following[0].isdigit()
    found = _WORD_BEFORE_RE.search(text[:start])
    word = found.group(1) if found else ""
    bare = word.strip("\"'(\u201c\u2018[").lower()
    if bare in _ABBREVIATIONS:
        return False
    if len(bare) == 1 and bare.isalpha() and word[-1].isupper():
        return False  # an initial: "James O. Okafor"
    if bare in ("a.m", "p.m", "etc"):
        # A sentence end only when the next word starts a sentence ("... at 9 a.m. Which ...").
        return following[0].isupper()
    if re.fullmatch(r"(?:[a-z]\.)+[a-z]", bare):
        return following[0].isupper() and bare not in ("e.g", "i.e")  # "U.K." then a capital
    # Only a capital, a digit or an opening quote starts a new sentence; "the 26th. of" is not
    # one, and neither is a lower-case continuation after an abbreviation we do not know.
    first = following[0]
    return first.isupper() or first.isdigit() or first in "\"'\u201c\u2018("


def _clause_cuts(sentence: str) -> list[int]:
    """Offsets just after the clause marks where a long sentence may be cut. Commas inside a
    number read digit by digit ("0 7 7 0 0, 9 0 0, 4 5 6") or a list of figures are not cuts."""
    cuts = []
    for match in _CLAUSE_RE.finditer(sentence):
        before = sentence[: match.start()].rstrip()
        after = sentence[match.end() :].lstrip()
        if before[-1:].isdigit() and after[:1].isdigit():
            continue
        cuts.append(match.end())
    return cuts


def _spoken_words(text: str) -> int:
    return len(speakable(text).split())


def _cut_long(sentence: str, max_words: int, min_words: int) -> list[str]:
    pieces: list[str] = []
    rest = sentence
    while _spoken_words(rest) > max_words:
        chosen = None
        for cut in _clause_cuts(rest):
            head, tail = rest[:cut], rest[cut:]
            if _spoken_words(head) >= min_words and _spoken_words(tail) >= min_words:
                chosen = cut
                break
        if chosen is None:
            break
        pieces.append(rest[:chosen].strip())
        rest = rest[chosen:].strip()
    pieces.append(rest.strip())
    return pieces


def split_sentences(
    text: str, *, max_words: int = MAX_WORDS, min_words: int = MIN_PIECE_WORDS
) -> list[str]:
    """The sentences of `text` in order, for streaming synthesis. Does not split at "Dr.",
    "e.g.", initials, decimals, times ("9.30") or e-mail addresses. A sentence longer than
    `max_words` spoken words is cut at the first comma or semicolon that leaves at least
    `min_words` on each side, and again while the rest is still too long, so the first piece
    is short."""
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*[-*\u2022])", text):
        start = 0
        for match in _END_RE.finditer(block):
            if _is_sentence_end(block, match.start(), match.end()):
                piece = block[start : match.end()].strip()
                if piece:
                    sentences.append(piece)
                start = match.end()
        tail = block[start:].strip()
        if tail:
            sentences.append(tail)
    pieces: list[str] = []
    for sentence in sentences:
        sentence = " ".join(sentence.split())
        pieces.extend(_cut_long(sentence, max_words, min_words))
    return [p for p in pieces if re.search(r"\w", p)]


# --------------------------------------------------------------------------------------------
# Speakable text
# --------------------------------------------------------------------------------------------

# The shared titles, capitalised for the voice, and "Prof". "Ms" stays "Mizz", the text Piper
# has always been given (espeak-ng says "Miz" and "Mizz" alike).
_TITLES = {
    **{short: full.capitalize() for short, full in TITLES.items()},
    "ms": "Mizz",
    "prof": "Professor",
}
_TITLE_RE = re.compile(r"\b(Dr|Mr|Mrs|Ms|Prof)\b\.?(?=\s+[A-Z])")
_EMAIL_RE = re.compile(
    r"\b[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)
# A run that may be a phone number: digits with spaces, dashes, brackets or ", " between them.
_PHONE_RE = re.compile(r"(?<![\w.:/£$€])\+?\(?\d(?:[\d()\-]|[ \t]|,[ \t](?=\d))*\d(?![\w:/]|\.\d)")
_ISO_DATE_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# "13:00", "9:30am", "09:00"; with a dot ("9.30") only when am/pm follows or "at" comes before,
# so that "2.75" stays a number.
_TIME_RE = re.compile(
    r"(?<![\w:.])(\d{1,2})(?::|\.(?=\d{2}\s*[ap]\.?\s?m\b)|(?<=\bat \d)\.|(?<=\bat \d\d)\.)"
    r"(\d{2})(?:\s*([ap])\.?\s?m\b\.?)?(?![\w:]|\.\d)",
    re.IGNORECASE,
)
_HOUR_AMPM_RE = re.compile(r"(?<![\w:.])(\d{1,2})\s*([ap])\.?\s?m\b\.?", re.IGNORECASE)
_MONEY_RE = re.compile(r"£(\d+)(?:\.(\d{2}))?\b")


def _speak_email(match: re.Match[str]) -> str:
    return format_email_for_speech(match.group(), digit_names=True)


def _subgroups(token: str) -> list[str]:
    """A written group too long to hear in one go ("900456") in threes and fours."""
    if len(token) <= 5:
        return [token]
    half = len(token) // 2 if len(token) % 2 == 0 and len(token) <= 8 else 3
    return [token[:half], *_subgroups(token[half:])]


def _phone_groups(run: str) -> list[str] | None:
    """The digit groups of a phone number, spoken, or None when the run is no phone."""
    digits = re.sub(r"\D", "", run)
    if not 9 <= len(digits) <= 15:
        return None
    plus = run.startswith("+")
    groups: list[str] = []
    if re.fullmatch(r"\+?\d+", run):
        # One unbroken run of digits: the read-back groups the dialog uses for phone numbers.
        spoken = format_phone_for_speech(run)
        plus = spoken.startswith("plus ")
        groups = [g.replace(" ", "") for g in spoken.removeprefix("plus ").split(", ")]
    else:
        for part in re.split(r",\s*", run.lstrip("+")):
            tokens = [t for t in re.split(r"[\s()\-]+", part) if t]
            if all(len(t) == 1 for t in tokens):
                groups.append("".join(tokens))  # already spelt out digit by digit
            else:
                groups.extend(g for t in tokens for g in _subgroups(t))
    spoken_groups = [digit_words(g, zero="oh") for g in groups if g]
    if plus:
        spoken_groups[0] = "plus " + spoken_groups[0]
    return spoken_groups


def _speak_phone(match: re.Match[str]) -> str:
    run = match.group()
    groups = _phone_groups(run)
    if not groups:
        return run
    # A short pause before the digits: without it "phone oh seven" runs together and is heard
    # as "Bono seven" (measured with Whisper on Piper's audio).
    before = match.string[: match.start()].rstrip()
    pause = "," if before[-1:].isalpha() and not groups[0].startswith("plus") else ""
    if before.lower().endswith("plus"):
        pause = ""
    return pause + " " + ", ".join(groups)


def _clock(hour: str, minute: int, half: str | None) -> str:
    """A written time as the voice says it (`spoken.clock_words`). Without am/pm, "13:00"
    and "09:00" are 24-hour times and get one; "3:00" is ambiguous and is read "3 o'clock"."""
    value = int(hour)
    if half is None:
        if 1 <= value <= 12 and not hour.startswith("0"):
            return clock_words(value, minute, None)
        half = "a" if value < 12 else "p"
        value = value % 12 or 12
    elif half.lower() == "p" and value > 12:
        value -= 12  # "14:00pm": tolerate the redundant suffix
    return clock_words(value, minute, "am" if half.lower() == "a" else "pm")


def _keep_full_stop(match: re.Match[str], spoken: str) -> str:
    """The dot of "a.m." is swallowed with it; give it back when it also ended the sentence."""
    if not match.group().endswith("."):
        return spoken
    following = match.string[match.end() :].lstrip()
    return spoken + "." if not following or following[0].isupper() else spoken


def _speak_time(match: re.Match[str]) -> str:
    hour, minute, half = match.group(1), int(match.group(2)), match.group(3)
    if minute > 59 or int(hour) > 23:
        return match.group()
    return _keep_full_stop(match, _clock(hour, minute, half))


def _speak_hour(match: re.Match[str]) -> str:
    if not 1 <= int(match.group(1)) <= 12:
        return match.group()
    return _keep_full_stop(match, _clock(match.group(1), 0, match.group(2)))


def _speak_iso_date(match: re.Match[str]) -> str:
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return match.group()
    return date_text(day, year=True)


def _speak_money(match: re.Match[str]) -> str:
    pounds, pence = int(match.group(1)), match.group(2)
    spoken = f"{pounds} pound{'s' if pounds != 1 else ''}"
    return f"{spoken} {int(pence)}" if pence and int(pence) else spoken


def speakable(text: str) -> str:
    """What Piper should say for the assistant's `text`: titles in full ("Dr" -> "Doctor"),
    e-mail addresses with "at" and "dot", phone numbers digit by digit in their groups
    ("07700 900456" -> "oh seven seven oh oh, nine oh oh, four five six"), 24-hour times in
    the twelve-hour form ("13:00" -> "1pm"), ISO dates in words. Espeak reads the rest
    (ordinals such as "26th", "9am", "2:30pm") well, so it is left alone."""
    text = _TITLE_RE.sub(lambda m: _TITLES[m.group(1).lower()], text)
    text = _EMAIL_RE.sub(_speak_email, text)
    text = _ISO_DATE_RE.sub(_speak_iso_date, text)
    text = _MONEY_RE.sub(_speak_money, text)
    text = _PHONE_RE.sub(_speak_phone, text)
    text = _HOUR_AMPM_RE.sub(_speak_hour, text)  # before _TIME_RE, which makes "2 oh 5 pm"
    text = _TIME_RE.sub(_speak_time, text)
    text = text.replace("&", " and ")
    return re.sub(r"\s+,", ",", " ".join(text.split()))


# --------------------------------------------------------------------------------------------
# The synthesizer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthStats:
    """Figures for the last `synthesize_text` call (for logs and the benchmark)."""

    first_chunk_ms: float
    compute_ms: float
    audio_s: float


def _session_options(threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle intra-op threads spin for a while by default, which takes the second core from the
    # recogniser and the VAD between sentences: with 2 threads on busy cores, spinning used
    # 40 % more CPU per second of speech and was slower (RTF 0.128 against 0.088).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class PiperSynthesizer:
    """A loaded Piper voice. Thread-safe: one instance is shared by all replies."""

    def __init__(
        self,
        voice: PiperVoice,
        *,
        name: str,
        length_scale: float | None = None,
        gain: float = OUTPUT_GAIN,
        steady: bool = False,
    ) -> None:
        from piper.config import SynthesisConfig

        self._voice = voice
        self.voice = name
        self.sample_rate_hz = int(voice.config.sample_rate)
        self._gain = gain
        # Piper adds random noise to each synthesis, so the same text never sounds quite the
        # same twice; `steady` turns it off for measurements that must repeat exactly.
        noise = 0.0 if steady else None
        self._config = SynthesisConfig(
            length_scale=length_scale,
            noise_scale=noise,
            noise_w_scale=noise,
            normalize_audio=False,
        )
        self._stats_lock = threading.Lock()
        self.last_stats: SynthStats | None = None
        self.made = SentenceCache(MADE_SENTENCES)

    @classmethod
    def load(
        cls,
        model_path: str | Path,
        config_path: str | Path | None = None,
        *,
        length_scale: float | None = None,
        threads: int = DEFAULT_THREADS,
        warm: bool = True,
        steady: bool = False,
    ) -> PiperSynthesizer:
        """Load a Piper voice (`.onnx` and its `.onnx.json`) on the CPU. Slow (seconds):
        call it off the UI thread. Raises TtsError "voice-missing" or "voice-corrupt"."""
        model_path = Path(model_path)
        config_path = Path(config_path) if config_path else Path(f"{model_path}.json")
        name = model_path.stem
        fix = _FIX.format(name=name)
        for path in (model_path, config_path):
            if not path.is_file():
                raise TtsError(
                    "voice-missing", f"the voice file {path} is missing; {fix}", recoverable=False
                )
        if not 1 <= threads <= 16:
            raise ValueError(f"threads must be 1 to 16, not {threads}")
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise TtsError(
                "engine-missing",
                f"the Piper engine is not installed ({exc}); install petvisor-desktop[voice]",
                recoverable=False,
            ) from exc
        started = time.perf_counter()
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TtsError(
                "voice-corrupt",
                f"the voice settings {config_path.name} cannot be read ({exc}); {fix}",
                recoverable=False,
            ) from exc
        try:
            session = onnxruntime.InferenceSession(
                str(model_path),
                sess_options=_session_options(threads),
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise TtsError(
                "voice-corrupt",
                f"the voice {model_path.name} cannot be loaded, the file is damaged; {fix}",
                recoverable=False,
            ) from exc
        synth = cls(
            PiperVoice(session=session, config=config),
            name=name,
            length_scale=length_scale,
            steady=steady,
        )
        log.info(
            "Piper voice %s loaded in %.1f s (%d thread(s), %d Hz)",
            name,
            time.perf_counter() - started,
            threads,
            synth.sample_rate_hz,
        )
        if warm:
            synth.warm()
        return synth

    def warm(self) -> float:
        """Run one short synthesis so the first reply does not pay for the first-run setup
        (espeak-ng start-up, onnxruntime allocations). Returns the milliseconds it took."""
        started = time.perf_counter()
        for _ in self._piece_audio("Hello."):
            pass
        took = (time.perf_counter() - started) * 1000
        log.debug("Piper warm-up took %.0f ms", took)
        return took

    def _piece_audio(self, text: str) -> Iterator[np.ndarray]:
        """Piper's audio for one piece of text, one array per sentence espeak finds in it."""
        try:
            chunks = self._voice.synthesize(speakable(text), syn_config=self._config)
            for chunk in chunks:
                audio = chunk.audio_float_array
                peak = float(np.max(np.abs(audio))) if audio.size else 0.0
                # The fixed gain, but never past 0.95 of full scale: no clipping.
                gain = min(self._gain, 0.95 / peak) if peak > 0 else self._gain
                audio = np.clip(audio * gain, -1.0, 1.0)
                yield (audio * 32767.0).astype(np.int16)
        except Exception as exc:  # espeak-ng and onnxruntime raise anything
            raise TtsError("synth-failed", f"speech synthesis failed: {exc}") from exc

    def synthesize(
        self, sentence: str, cancel: threading.Event | None = None, *, max_words: int = MAX_WORDS
    ) -> Iterator[SynthChunk]:
        """Audio for one sentence, in chunks as they are made (a long sentence in pieces)."""
        pieces = split_sentences(sentence, max_words=max_words)
        for index, piece in enumerate(pieces):
            if cancel is not None and cancel.is_set():
                return
            pending: np.ndarray | None = None
            for audio in self._piece_audio(piece):
                if pending is not None:
                    yield SynthChunk(pending, self.sample_rate_hz, piece, False)
                    if cancel is not None and cancel.is_set():
                        return
                pending = audio
            if pending is not None:
                last = index == len(pieces) - 1
                yield SynthChunk(pending, self.sample_rate_hz, piece, last)

    def synthesize_text(
        self, text: str, cancel: threading.Event | None = None, *, max_words: int = MAX_WORDS
    ) -> Iterator[SynthChunk]:
        """Audio for a whole reply, sentence by sentence. A generator: each sentence is made
        only when the consumer asks for more, so the first one can play while the next is
        made, and `cancel` (a barge-in) stops it between chunks. `max_words`: see
        `split_sentences`."""
        started = time.perf_counter()
        first_ms: float | None = None
        compute_s = 0.0
        audio_samples = 0
        for sentence in split_sentences(text, max_words=max_words):
            made = time.perf_counter()
            for chunk in self.synthesize(sentence, cancel, max_words=max_words):
                compute_s += time.perf_counter() - made
                if first_ms is None:
                    first_ms = (time.perf_counter() - started) * 1000
                audio_samples += len(chunk.samples)
                yield chunk
                if cancel is not None and cancel.is_set():
                    return
                made = time.perf_counter()
            if cancel is not None and cancel.is_set():
                return
        with self._stats_lock:
            self.last_stats = SynthStats(
                first_chunk_ms=first_ms or 0.0,
                compute_ms=compute_s * 1000,
                audio_s=audio_samples / self.sample_rate_hz,
            )


def load_synthesizer(
    settings: Settings, *, threads: int = DEFAULT_THREADS, warm: bool = True
) -> PiperSynthesizer:
    """The configured voice (`models.tts_voice`) from the model search path, loaded and warm."""
    from petvisor_desktop import modelstore

    name = settings.models.tts_voice
    try:
        installed = modelstore.find_role("tts", name, settings.models.search_path())
    except modelstore.ModelError as exc:
        raise TtsError(
            "voice-missing",
            f"the voice {name} is not installed ({exc}); {_FIX.format(name=name)}",
            recoverable=False,
        ) from exc
    onnx = next((f for f in installed.spec.files if f.endswith(".onnx")), None)
    if onnx is None:
        raise TtsError("voice-corrupt", f"the model {name} has no .onnx file", recoverable=False)
    return PiperSynthesizer.load(installed.path / onnx, threads=threads, warm=warm)
