"""The faster-whisper engine: the turn is buffered and decoded whole, with the clinic's words
as the prompt, and at a closed step the transcript is fitted to the expected answers against
the audio (`fit`)."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from petvisor_desktop.voice.base import SAMPLE_RATE_HZ, Likely, SttError, Transcript
from petvisor_desktop.voice.biasing import STEP_PROMPTS, whisper_prompt
from petvisor_desktop.voice.stt_common import check_model_folder, model_corrupt, to_float

log = logging.getLogger(__name__)


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
            from petvisor_desktop.voice.whisper_model import EncodingOnceModel
        except ImportError as exc:
            raise SttError(
                "engine-missing",
                "faster-whisper is not installed; install the app's `whisper` extra",
                recoverable=False,
            ) from exc
        check_model_folder(model_dir, name, ("model.bin", "config.json"), engine="Whisper")
        if not any((model_dir / f).is_file() for f in ("tokenizer.json", "vocabulary.txt")):
            raise model_corrupt(name, model_dir, "it has no tokenizer.json or vocabulary.txt")
        threads = cpu_threads or min(4, os.cpu_count() or 1)
        started = time.perf_counter()
        try:
            model = EncodingOnceModel(
                str(model_dir),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=threads,
                num_workers=1,
                local_files_only=True,
            )
        except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError on bad files
            raise model_corrupt(name, model_dir, str(exc)) from exc
        log.info("loaded Whisper model %s in %.1f s", name, time.perf_counter() - started)
        language = options.pop("language", "en")
        if name.endswith(".en"):
            language = "en"  # English-only checkpoints have no other language token
        return cls(model, name, model_dir, language=language, **options)

    def stream(
        self,
        vocabulary: Sequence[str] = (),
        expecting: str = "none",
        choices: Sequence[str] = (),
        likely: Likely | None = None,
    ) -> WhisperStream:
        # The choices stay out of the prompt: a prompt that starts with "12pm, 12:15pm, Yes,
        # No" made tiny.en drop the words before them ("The second one, please" -> "please.").
        # They are fitted after the free decode instead (`fit`).
        prompt = STEP_PROMPTS.get(expecting) or whisper_prompt(vocabulary, expecting)
        return WhisperStream(
            self,
            prompt if self.bias != "none" else "",
            tuple(choices),
            expecting=expecting,
            likely=likely,
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
        likely: Likely | None = None,
    ) -> None:
        self._owner = owner
        self.prompt = prompt
        self.choices = choices  # the closed question's answers: see `fit`
        self.expecting = expecting
        self.likely = likely  # the dialog's guesses at an open step: see `fit`
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
        self._chunks.append(to_float(frame).copy())
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
            from petvisor_desktop.voice.fit import fit_to_choices, fit_to_likely, open_step_choices

            choices = self.choices or open_step_choices(self.expecting, text)
            likely = () if choices or self.likely is None else tuple(self.likely(text))
            if choices or likely:
                scorer = self._owner.choice_scorer()
                if choices:
                    fitted = fit_to_choices(scorer, audio, text, conf, choices)
                else:
                    fitted = fit_to_likely(scorer, audio, text, conf, likely)
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
