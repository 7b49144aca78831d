"""The spoken conversation: microphone -> (noise reduction) -> VAD -> STT -> the booking brain
-> Piper -> speaker, with barge-in, an echo guard and per-turn latency figures.

Two threads and the engine's worker:
- capture: reads 32 ms frames, cleans the echo out while the assistant speaks, scores them
  with Silero, cuts turns, streams them into the recogniser, and stops playback when the
  caller speaks over the assistant. It alone owns the turn segmenter and the recogniser
  stream: a talk-key press or release and a conversation's end reach it as queued commands;
- turns: finishes each transcript, asks the brain (on the engine's worker, where typed input
  also goes, so the assistant is only ever used by one thread), and speaks the reply
  sentence by sentence, the first sentence playing while the next is synthesised.
Thinking ahead: once the caller pauses, the words so far are decoded, the reply to them is
prepared on the worker (nothing committed) and its first sentence synthesised. If the caller
stays silent until the end of the turn, that reply is committed and plays at once; if they go
on, all of it is dropped.
Both set the state shown at a glance through the engine's one `status.Status`.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from petvisor_desktop.events import EngineEvent, EventType, emit_to
from petvisor_desktop.settings import Settings
from petvisor_desktop.status import Status
from petvisor_desktop.voice.barge_in import BargeIn
from petvisor_desktop.voice.base import FRAME_MS, AudioError, Likely, VoiceError
from petvisor_desktop.voice.echo import PLAYBACK_TAIL_S
from petvisor_desktop.voice.parts import VoiceParts, new_denoiser, new_echo_guard
from petvisor_desktop.voice.turn_taking import GROUPED_STEPS, TurnTaking, TurnTakingSettings

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

LEVEL_EVERY_S = 0.1  # how often the microphone's level is reported
# Whisper decodes a turn whole, in ~0.4 s on two cores whatever its length. After this much
# silence the turn so far is decoded in the background; if the caller stays silent until the
# end of the turn, that text is used and the decode is off the critical path.
SPECULATE_AFTER_MS = 160


@dataclass(frozen=True)
class Listening:
    """What the conversation waits for, to fit recognition to it."""

    expecting: str = "none"  # the open question's step, as in the scenario format
    vocabulary: tuple[str, ...] = ()  # the clinic's names and the step's words
    choices: tuple[str, ...] = ()  # a closed question's answers (empty at an open one)
    likely: Likely | None = None  # at an open step, what the caller may have said (`fit`)


class Talker(Protocol):
    """What the loop converses with: the runtime's Conversation. The loop never reaches
    into the dialog behind it."""

    def last_reply(self) -> Any: ...

    def foresee(self, text: str, confidence: float | None = None) -> Any: ...

    def listening_for(self) -> Listening: ...

    def prime(self) -> None: ...

    def note_spoken(self, turn: Any, latency: dict[str, float], heard: str | None) -> None: ...

    def respond(
        self,
        text: str,
        *,
        spoken: bool = False,
        foreseen: Any = None,
        confidence: float | None = None,
    ) -> Any: ...


@dataclass
class Utterance:
    """A caller turn handed from the capture thread to the turn thread."""

    stream: Any
    speech_end_t: float  # when the caller stopped talking
    ended_t: float  # when the end of the turn was decided
    audio_s: float
    speculative: Any = None  # a Future of the transcript decoded during the end silence
    stt_rtf: float | None = None  # recogniser compute time / audio time
    speech_start_t: float | None = None  # when the caller began (the echo guard uses it)
    confidence: float | None = None  # the recogniser's, in [0, 1]
    fitted_choice: str | None = None  # a closed question's answer that replaced the free text
    lead_in_ms: float = 0.0  # quiet audio kept before the caller's first sound (0: cut off)
    think_ms: float | None = None  # from the transcript to the reply (the brain's wait)


@dataclass
class Spoken:
    """What one reply put on the speaker, to know what the caller heard of it."""

    sentences: list[tuple[str, float]] = field(default_factory=list)  # (sentence, seconds)

    def heard(self, played_s: float) -> str:
        words: list[str] = []
        left = played_s
        for sentence, seconds in self.sentences:
            if left >= seconds - 0.05:
                words.extend(sentence.split())
                left -= seconds
                continue
            part = sentence.split()
            words.extend(part[: int(len(part) * max(0.0, left) / max(seconds, 1e-6))])
            break
        return " ".join(words)


class VoiceLoop:
    """Turn-taking on real (or file-backed) audio for one conversation at a time."""

    def __init__(
        self,
        parts: VoiceParts,
        settings: Settings,
        on_event: Callable[[EngineEvent], None] | None,
        *,
        mode: str = "kiosk",
        executor: Executor,
        status: Status | None = None,
    ) -> None:
        from petvisor_desktop.voice.vad import TurnSegmenter

        self.settings = settings
        self.audio = settings.audio
        self.mode = mode
        self.vad = parts.vad
        self.stt = parts.stt
        self.tts = parts.tts
        self.source = parts.source
        self.sink = parts.sink
        self.echo = parts.echo or new_echo_guard()
        self.denoise = parts.denoise or new_denoiser(settings)
        self.turn_taking = TurnTaking(
            TurnTakingSettings(
                mode=self.audio.turn_taking,
                end_silence_ms=self.audio.end_silence_ms,
                check_ms=self.audio.turn_check_ms,
                max_silence_ms=self.audio.max_end_silence_ms,
            ),
            parts.turn,
        )
        self._executor = executor
        self._emit = emit_to(on_event)
        self.status = status or Status(self._emit)
        self.segmenter = TurnSegmenter(
            threshold=self.audio.vad_threshold,
            end_silence_ms=self.audio.end_silence_ms,
            pre_roll_ms=self.audio.pre_roll_ms,
            min_speech_ms=min(200, self.audio.min_barge_in_ms),
        )
        # The segmenter and the recogniser stream belong to the capture thread: the others
        # ask it to reset, drop or end the turn through this queue, served between frames.
        self._commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._talker: Talker | None = None
        self._on_idle_speech: Callable[[str, Utterance, float], None] | None = None
        self._listening = threading.Event()  # hands-free on, or the talk key held
        self._ptt_held = False
        self._closed = threading.Event()
        self._turn_q: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stream: Any = None
        self._hints = Listening()
        self._turn_frames: list[np.ndarray] = []
        self._silent_frames = 0
        self._speculation: Any = None
        # Bumped when the caller speaks again after a pause: a decode or a model call made
        # for the words before it is then useless, and is skipped when its turn comes.
        self._speculation_gen = 0
        self._speculate = getattr(self.stt, "name", "") == "whisper"
        self.think_ahead = True  # prepare the reply during the end silence too
        self._speculator = ThreadPoolExecutor(1, thread_name_prefix="petvisor-stt-ahead")
        # A prepared reply's first sentence, being synthesised ahead: sentence -> Future.
        self._audio_ahead: dict[str, Any] = {}
        self._cancel_speech = threading.Event()
        self._speaking = False
        self.barge_in = BargeIn(self.audio.min_barge_in_ms)
        self._last_level_t = 0.0
        self._played_t = -1e9
        self._synth_cache = self.tts.made  # the voice's: kept across conversations
        self.turn_figures: list[dict[str, Any]] = []  # every spoken reply's figures
        self._capture = threading.Thread(
            target=self._capture_loop, name="petvisor-capture", daemon=True
        )
        self._turns = threading.Thread(target=self._turn_loop, name="petvisor-turns", daemon=True)
        self._capture.start()
        self._turns.start()

    # -- called by the runtime --------------------------------------------------------------
    def begin(self, talker: Talker, *, greet: bool = True) -> None:
        """A new conversation: speak its greeting, then listen (hands-free in the kiosk)."""
        self._talker = talker
        if greet:
            self._commands.put(("reset", None))
        greeting = talker.last_reply()
        if greet and greeting is not None:
            self.speak(talker, greeting)
        if self.mode == "kiosk":
            self._listening.set()

    def listen_when_idle(self, on_speech: Callable[[str, Utterance, float], None]) -> None:
        """Kiosk: between conversations, someone speaking starts one; `on_speech` gets what
        they said (on the turn thread) and starts the conversation with it."""
        self._on_idle_speech = on_speech
        if self._talker is None:
            self._listening.set()

    def speak(
        self,
        talker: Talker,
        turn: Any,
        utterance: Utterance | None = None,
        stt_ms: float | None = None,
    ) -> None:
        self._turn_q.put(("speak", (talker, turn, utterance, stt_ms)))

    @property
    def speaking(self) -> bool:
        """A reply is being synthesised or played."""
        return self._speaking

    def push_to_talk(self, held: bool) -> None:
        self._ptt_held = held
        if held:
            self.interrupt()  # pressing talk while the assistant speaks means "let me speak"
            self._commands.put(("reset", None))
            self._listening.set()
            self.status.set("listening")
        else:
            self._commands.put(("release", time.monotonic()))

    def interrupt(self) -> None:
        if self._speaking:
            self._cancel_speech.set()
            self.sink.interrupt()

    def stop_conversation(self) -> None:
        self.interrupt()
        self._listening.clear()
        self._talker = None
        self._commands.put(("drop", None))
        if self._on_idle_speech is not None and self.mode == "kiosk":
            self._commands.put(("reset", None))
            self._listening.set()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self.stop_conversation()
        self._closed.set()
        self._turn_q.put(("close", None))
        self._capture.join(2.0)
        self._turns.join(5.0)
        self._speculator.shutdown(wait=False, cancel_futures=True)
        for part in (self.source, self.sink):
            try:
                part.stop()
            except Exception as exc:  # noqa: BLE001 - closing: report, never raise
                log.warning("could not stop %s: %s", type(part).__name__, exc)

    # -- capture thread ---------------------------------------------------------------------
    def _capture_loop(self) -> None:
        ended = False  # a file-backed microphone ran out: commands are still served
        while not self._closed.is_set():
            self._serve_commands(wait_s=0.1 if ended else 0.0)
            if ended:
                continue
            try:
                frame = self.source.read(0.1)
            except EOFError:
                ended = True
                continue
            except AudioError as exc:
                self._device_lost(exc)
                continue
            if frame is None:
                continue
            t = time.monotonic()
            try:
                self._on_frame(frame, t)
            except VoiceError as exc:
                self._emit(
                    EventType.ERROR,
                    stage=exc.stage,
                    code=exc.code,
                    message=exc.message,
                    recoverable=exc.recoverable,
                )
            except Exception:
                log.exception("voice capture failed on a frame")

    def _serve_commands(self, wait_s: float) -> None:
        """Run what the other threads asked of the segmenter and the stream, in order."""
        try:
            command, arg = (
                self._commands.get(timeout=wait_s) if wait_s else self._commands.get_nowait()
            )
        except queue.Empty:
            return
        while True:
            if command == "reset":
                self.segmenter.reset()
            elif command == "drop":
                self._drop_stream()
            elif command == "release":
                self._on_release(arg)
            elif command == "complete" and arg == (self._speculation_gen, self._stream):
                self._end_turn_now(time.monotonic())  # the answer is whole (see _foresee)
            elif command == "heard" and arg[0] == (self._speculation_gen, self._stream):
                self.turn_taking.heard(arg[1])  # this pause's words (see _think_ahead)
            try:
                command, arg = self._commands.get_nowait()
            except queue.Empty:
                return

    def _on_release(self, t: float) -> None:
        """The talk key was let go: the turn ends now, whatever the VAD thinks (on the capture
        thread, which owns the segmenter)."""
        for event in self.segmenter.force_end(t):
            if event.type.value == "speech-start":
                self._open_stream(event.frames)
            elif event.type.value == "speech-end":
                self._close_turn(event, t)
        if self.mode == "window":
            self._listening.clear()

    def _device_lost(self, exc: AudioError) -> None:
        self._emit(
            EventType.ERROR, stage="audio", code=exc.code, message=exc.message, recoverable=True
        )
        self.status.lost()
        recover = getattr(self.source, "recover", None)
        if recover is None:
            self._closed.wait(1.0)
            return
        while not self._closed.is_set():
            try:
                recover(5.0)
            except AudioError:
                continue
            self.status.recovered()
            return

    def _on_frame(self, frame: np.ndarray, t: float) -> None:
        if t - self._last_level_t >= LEVEL_EVERY_S:
            self._last_level_t = t
            rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)) + 1e-12))
            self._emit(EventType.LEVEL, rms_db=round(20 * math.log10(rms), 1))
        playing = self._speaking or self.sink.busy
        if playing:
            self._played_t = t
        # The room still rings, and the device still holds audio, just after playback ends.
        playing_or_tail = playing or t - self._played_t < PLAYBACK_TAIL_S
        clean = frame
        echo_only = False
        if self.echo is not None:
            clean, echo_only = self.echo.filter(frame, self.sink, playing_or_tail)
        if self.denoise is not None and not playing:
            if not self.segmenter.in_speech:
                self.denoise.observe_noise(clean)  # the room between turns is the noise
            clean = self.denoise.process(clean)
        if not self._listening.is_set():
            self.vad.probability(clean)  # keeps the model's state continuous
            return
        p = 0.0 if echo_only else self.vad.probability(clean)
        if playing and self.audio.barge_in:
            self._check_barge_in(p, clean, t)
        if playing and not self.barge_in.barged and not self.segmenter.in_speech:
            # While the assistant speaks, no turn opens on what the microphone hears (it is
            # mostly the assistant); the frames still fill the pre-roll, so a caller who
            # barges in keeps the words that made them a barge-in.
            self.segmenter.push(clean, t, 0.0)
            return
        for event in self.segmenter.push(clean, t, p):
            kind = event.type.value
            if kind == "speech-start":
                self._open_stream(event.frames)
            elif kind == "speech":
                self._feed(event.frames[0])
                self._maybe_speculate(p)
                if self.turn_taking.frame(event.frames[0], p >= self.segmenter.neg_threshold):
                    self._end_turn_now(t)  # the caller has finished: no more silence to wait
            else:
                self._close_turn(event, t)

    def _end_turn_now(self, t: float) -> None:
        for event in self.segmenter.force_end(t):
            if event.type.value == "speech-end":
                self._close_turn(event, t)

    def _maybe_speculate(self, p: float) -> None:
        """Decode the turn so far once the caller has paused; speech again voids it."""
        if not self._speculate or self._stream is None:
            return
        if p >= self.segmenter.neg_threshold:
            self._silent_frames = 0
            self._void_speculation()
            return
        self._silent_frames += 1
        if self._silent_frames == max(1, SPECULATE_AFTER_MS // FRAME_MS):
            frames = list(self._turn_frames)
            self._speculation = self._speculator.submit(
                self._think_ahead, frames, self._hints, self._speculation_gen, self._stream
            )

    def _void_speculation(self) -> None:
        """The caller went on after a pause: what was started for the words before it is
        cancelled if it has not begun, and skipped at its next step if it has. (Left to run,
        a long answer with five pauses queued five decodes and five model calls ahead of
        the real one: replies came minutes late.)"""
        if self._speculation is None:
            return
        self._speculation.cancel()
        self._speculation = None
        self._speculation_gen += 1

    def _check_barge_in(self, p: float, frame: np.ndarray, t: float) -> None:
        """The caller is speaking over the assistant (`barge_in.py`): stop the speaker."""
        learnt = self.echo is None or self.echo.converged()
        started = self.sink.started_at
        threshold = self.segmenter.threshold
        if self.barge_in.frame(
            p, frame, t, started_at=started, threshold=threshold, echo_learnt=learnt
        ):
            self._cancel_speech.set()
            heard_s = self.sink.interrupt()
            self._emit(EventType.BARGE_IN, heard_s=round(heard_s, 2))

    def _open_stream(self, frames: tuple[np.ndarray, ...]) -> None:
        talker = self._talker
        self._hints = hints = talker.listening_for() if talker is not None else Listening()
        expecting = hints.expecting
        self._stream = _open(self.stt, hints)
        self._turn_frames = []
        self._silent_frames = 0
        self._speculation = None
        self._audio_ahead.clear()  # made for the last turn's replies
        end_silence_ms = self.turn_taking.begin(
            expecting, frames, held=self._ptt_held, words=self._speculate
        )
        if not self._ptt_held:
            self.segmenter.set_end_silence_ms(end_silence_ms)
        self.status.set("hearing")
        for frame in frames:
            self._feed(frame)

    def _feed(self, frame: np.ndarray) -> None:
        if self._stream is None:
            return
        self._turn_frames.append(frame)
        partial = self._stream.accept(frame)
        if partial:
            self._emit(EventType.CALLER_PARTIAL, text=partial)

    def _close_turn(self, event: Any, t: float) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        if self.mode == "window" and not self._ptt_held:
            self._listening.clear()
        self._turn_q.put(
            (
                "utterance",
                Utterance(
                    stream,
                    speech_end_t=event.speech_end_t or t,
                    ended_t=t,
                    audio_s=len(event.audio) / 16000 if event.audio is not None else 0.0,
                    speculative=self._speculation,
                    speech_start_t=event.speech_start_t,
                    lead_in_ms=lead_in_ms(self._turn_frames),
                ),
            )
        )

    def _think_ahead(
        self, frames: list[np.ndarray], hints: Listening, gen: int, turn: Any
    ) -> tuple[Any, Any]:
        """During the end-of-turn silence: the transcript so far, and the reply to it, so
        both are ready (or nearly) when the turn is declared over. Nothing is done once the
        caller has gone on speaking (`gen` is no longer current)."""
        if gen != self._speculation_gen:
            return None, None
        heard: str | None = None  # for turn-taking: None if the decode fails
        try:
            stream = _open(self.stt, hints)
            for frame in frames:
                stream.accept(frame)
            transcript = stream.finish()
            heard = transcript.text
        finally:
            self._commands.put(("heard", ((gen, turn), heard)))
        talker = self._talker
        foreseen = None
        if (
            self.think_ahead
            and talker is not None
            and transcript.text.strip()
            and gen == self._speculation_gen
        ):
            foreseen = self._executor.submit(
                self._foresee, talker, transcript, (gen, turn), hints.expecting
            )
        return transcript, foreseen

    def _foresee(
        self, talker: Talker, transcript: Any, turn: tuple[int, Any], expecting: str
    ) -> Any:
        """The reply to the words so far, prepared on the engine's worker (where the real
        turn waits), and its first sentence synthesised on the speculator; skipped when the
        caller has gone on speaking since. Where answers come in groups (a phone number, an
        e-mail address) and the words so far already answer the question, the turn ends
        now instead of waiting out the step's long silence. (`turn`: the speculation's
        generation and the turn's stream, so that only this turn is ended.)"""
        gen = turn[0]
        if gen != self._speculation_gen:
            return None
        prepared = talker.foresee(transcript.text.strip(), transcript.confidence)
        if expecting in GROUPED_STEPS and getattr(prepared, "answers_the_question", False):
            self._commands.put(("complete", turn))
        text = getattr(prepared, "text", None)
        if text and gen == self._speculation_gen:
            from petvisor_desktop.voice.tts import split_sentences

            first = next(iter(split_sentences(text)), None)
            if first and first not in self._synth_cache and first not in self._audio_ahead:
                self._audio_ahead[first] = self._speculator.submit(self._synth_ahead, first, gen)
        return prepared

    def _synth_ahead(self, sentence: str, gen: int) -> list[tuple[np.ndarray, int]] | None:
        """A prepared reply's first sentence, made before the turn is over (None: the caller
        went on, so it is not made)."""
        if gen != self._speculation_gen:
            return None
        return [(c.samples, c.sample_rate_hz) for c in self.tts.synthesize(sentence)]

    def _drop_stream(self) -> None:
        self._stream = None
        self._void_speculation()

    # -- turn thread ------------------------------------------------------------------------
    def _turn_loop(self) -> None:
        while True:
            kind, item = self._turn_q.get()
            if kind == "close":
                return
            try:
                if kind == "utterance":
                    self._on_utterance(item)
                elif kind == "speak":
                    self._speak(*item)
            except VoiceError as exc:
                self._emit(
                    EventType.ERROR,
                    stage=exc.stage,
                    code=exc.code,
                    message=exc.message,
                    recoverable=exc.recoverable,
                )
            except Exception:
                # A bug, not the caller's fault: say so on the screens and listen again, so
                # the caller can repeat themselves (the kiosk must not hang on "thinking").
                log.exception("voice turn failed")
                self._emit(
                    EventType.ERROR,
                    stage="voice",
                    code="turn-failed",
                    message="Sorry, something went wrong with that answer. Please say it again.",
                    recoverable=True,
                )
                self.status.set("listening")

    def _on_utterance(self, utterance: Utterance) -> None:
        finished = time.monotonic()
        ahead = None
        transcript = None
        if utterance.speculative is not None:
            transcript, ahead = utterance.speculative.result()
        if transcript is None:  # none made, or skipped as the caller went on meanwhile
            transcript = utterance.stream.finish()
        stt_ms = (time.monotonic() - finished) * 1000  # what the recogniser added to the wait
        # The reply to those words, if it was prepared during the silence (its model time is
        # reported in the LLM figures).
        foreseen = None
        if ahead is not None:
            try:
                foreseen = ahead.result()
            except Exception:
                log.exception("the reply prepared ahead failed")
        utterance.stt_rtf = transcript.compute_ms / 1000 / max(transcript.audio_s, 1e-3)
        utterance.confidence = transcript.confidence
        utterance.fitted_choice = transcript.fitted_choice
        text = transcript.text.strip()
        talker = self._talker
        if talker is None:
            if text and self._on_idle_speech is not None:
                self._on_idle_speech(text, utterance, stt_ms)
            return
        if not text:
            self.status.set("listening")
            return
        if self.echo is not None and self.echo.is_echo(text, utterance.speech_start_t):
            log.info("discarded a transcript that matched the assistant's own speech")
            self.status.set("listening")
            return
        future = self._executor.submit(
            talker.respond,
            text,
            spoken=True,
            foreseen=foreseen,
            confidence=transcript.confidence,
        )
        turn = future.result()
        utterance.think_ms = (time.monotonic() - finished) * 1000 - stt_ms
        if turn is not None:
            self._speak(talker, turn, utterance, stt_ms)

    def _synth(self, text: str) -> Any:
        """Sentences, each as cached or freshly made audio: the same question is asked of
        every caller, so it is synthesised once."""
        from petvisor_desktop.voice.tts import split_sentences

        for sentence in split_sentences(text):
            cached = self._synth_cache.get(sentence)
            ahead = self._audio_ahead.pop(sentence, None)
            if cached is None and ahead is not None and not ahead.cancelled():
                cached = ahead.result()  # made during the pause (or nearly: waited for)
                if cached:
                    self._synth_cache.put(sentence, cached)
            if cached is not None:
                for samples, rate in cached:
                    yield sentence, samples, rate
                continue
            made: list[tuple[np.ndarray, int]] = []
            for chunk in self.tts.synthesize(sentence, self._cancel_speech):
                made.append((chunk.samples, chunk.sample_rate_hz))
                yield sentence, chunk.samples, chunk.sample_rate_hz
            if not self._cancel_speech.is_set():
                self._synth_cache.put(sentence, made)

    def _speak(
        self,
        talker: Talker,
        turn: Any,
        utterance: Utterance | None = None,
        stt_ms: float | None = None,
    ) -> None:
        self._cancel_speech.clear()
        self.barge_in.reset()
        self._speaking = True
        self.status.set("speaking")
        spoken = Spoken()
        self.sink.begin_utterance()
        started = time.monotonic()
        first_chunk_ms: float | None = None
        primed = False
        synth_s = 0.0
        try:
            current, seconds = "", 0.0
            pieces = self._synth(turn.text)
            while True:
                made = time.monotonic()
                piece = next(pieces, None)
                synth_s += time.monotonic() - made
                if piece is None:
                    break
                sentence, samples, rate = piece
                if self._cancel_speech.is_set():
                    break
                if first_chunk_ms is None:
                    first_chunk_ms = (time.monotonic() - started) * 1000
                if sentence != current:
                    if current:
                        spoken.sentences.append((current, seconds))
                    current, seconds = sentence, 0.0
                    if self.echo is not None:
                        self.echo.note_spoken(sentence)
                seconds += len(samples) / rate
                self.sink.play(samples, rate)
                if first_chunk_ms is not None and not primed and not getattr(turn, "done", False):
                    # Once the reply is heard (not before: the model would slow its first
                    # audio), the model readies itself for the answer on the engine worker.
                    primed = True
                    self._executor.submit(talker.prime)
                if self._cancel_speech.is_set():
                    # A barge-in between the check above and `play`: its interrupt came
                    # before this chunk, which must not play on after it.
                    self.sink.interrupt()
                    break
            if current:
                spoken.sentences.append((current, seconds))
            while self.sink.busy and not self._cancel_speech.is_set():
                self.sink.drain(0.05)
        finally:
            self._speaking = False
            if self.echo is not None:
                self.echo.note_playback_end(time.monotonic())
        interrupted = self._cancel_speech.is_set()
        played_s = self.sink.played_s
        heard = spoken.heard(played_s) if interrupted else turn.text
        audio_s = sum(seconds for _, seconds in spoken.sentences)
        tts_rtf = synth_s / audio_s if audio_s else None
        # Recorded before it is announced: whoever reacts to ASSISTANT_SPOKEN (the simulated
        # caller reading this turn's figures, a test reading the history) finds them there.
        self._record(talker, turn, utterance, stt_ms, first_chunk_ms, heard, interrupted, tts_rtf)
        self._emit(EventType.ASSISTANT_SPOKEN, text=heard, interrupted=interrupted, reply=turn.text)
        if getattr(turn, "done", False):
            self._listening.clear()
            self.status.set("idle")
        elif self.mode == "kiosk" or self._ptt_held:
            self.status.set("listening")
        else:
            self.status.set("idle")

    def _record(
        self,
        talker: Talker,
        turn: Any,
        utterance: Utterance | None,
        stt_ms: float | None,
        first_chunk_ms: float | None,
        heard: str,
        interrupted: bool,
        tts_rtf: float | None = None,
    ) -> None:
        started_at = self.sink.started_at
        figures: dict[str, float] = {}
        if utterance is not None:
            figures["end_of_turn_ms"] = (utterance.ended_t - utterance.speech_end_t) * 1000
            if stt_ms is not None:
                figures["stt_ms"] = stt_ms
            if utterance.think_ms is not None:
                figures["think_ms"] = utterance.think_ms
            if started_at is not None:
                figures["response_ms"] = (started_at - utterance.speech_end_t) * 1000
        if first_chunk_ms is not None:
            figures["tts_first_chunk_ms"] = first_chunk_ms
        figures = {k: round(max(0.0, v), 1) for k, v in figures.items()}
        self.turn_figures.append(
            {
                **figures,
                "llm_first_token_ms": turn.llm_first_token_ms,
                "llm_total_ms": turn.llm_ms,
                "interrupted": interrupted,
                "stt_rtf": utterance.stt_rtf if utterance else None,
                "tts_rtf": tts_rtf,
                "confidence": utterance.confidence if utterance else None,
                "fitted_choice": utterance.fitted_choice if utterance else None,
                "lead_in_ms": utterance.lead_in_ms if utterance else None,
                "prepared_ahead": bool(getattr(turn, "prepared_ahead", False)),
            }
        )
        self._emit(
            EventType.TURN_METRICS,
            **figures,
            llm_first_token_ms=turn.llm_first_token_ms,
            llm_total_ms=turn.llm_ms,
            prepared_ahead=bool(getattr(turn, "prepared_ahead", False)),
            spoken=True,
        )
        # To this reply's own row, not the latest: a tap may have been answered since.
        talker.note_spoken(turn, figures, heard if interrupted else None)


def lead_in_ms(frames: list[np.ndarray], below_peak_db: float = 35.0) -> float:
    """How much audio the turn keeps before the caller's first sound: the frames before the
    first one within `below_peak_db` of the turn's loudest. 0 means the turn begins in the
    middle of a sound, i.e. its start was cut off."""
    if not frames:
        return 0.0
    levels = [float(np.mean(np.square(f, dtype=np.float64))) + 1e-12 for f in frames]
    floor = max(levels) * 10 ** (-below_peak_db / 10)
    first = next(i for i, level in enumerate(levels) if level >= floor)
    return float(first * FRAME_MS)


def _open(stt: Any, hints: Listening) -> Any:
    return stt.stream(
        hints.vocabulary, expecting=hints.expecting, choices=hints.choices, likely=hints.likely
    )
