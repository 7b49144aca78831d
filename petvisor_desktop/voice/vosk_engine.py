"""The Vosk engine: streaming recognition, with a grammar recogniser alongside the free one at
the closed steps (see `biasing`)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from petvisor_desktop.voice.base import SAMPLE_RATE_HZ, Likely, SttError, Transcript
from petvisor_desktop.voice.biasing import build_grammar
from petvisor_desktop.voice.stt_common import check_model_folder, model_corrupt, to_float, to_pcm16

log = logging.getLogger(__name__)


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
        check_model_folder(model_dir, name, ("am/final.mdl", "conf/model.conf"), engine="Vosk")
        graph = model_dir / "graph"
        if not ((graph / "HCLG.fst").is_file() or (graph / "HCLr.fst").is_file()):
            why = "it has no decoding graph (graph/HCLG.fst or HCLr.fst)"
            raise model_corrupt(name, model_dir, why)
        vosk.SetLogLevel(-1)
        started = time.perf_counter()
        try:
            model = vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise model_corrupt(name, model_dir, str(exc)) from exc
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
        self,
        vocabulary: Sequence[str] = (),
        expecting: str = "none",
        choices: Sequence[str] = (),
        likely: Likely | None = None,  # not used: a grammar cannot follow what was heard
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
        audio = to_float(frame)
        if self._owner.dither:
            # Kaldi's features go to -inf on digital silence (exact zeros); a microphone
            # never gives those, but test files and muted inputs do.
            noise = self._rng.standard_normal(len(audio), dtype=np.float32)
            audio = audio + noise * np.float32(self._owner.dither)
        data = to_pcm16(audio).tobytes()
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
