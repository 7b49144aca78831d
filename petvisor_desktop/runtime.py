"""The running app without its face: loads every component in the background, reporting each
as an event, and runs conversations (typed, touched or spoken) on one worker thread.

The Qt window, the terminal voice loop and the self-test drive this; none of them blocks on
it. Every public method returns at once; results arrive as `EngineEvent`s on worker threads.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from petvisor_desktop import paths
from petvisor_desktop.dialog.assistant import CHANGEABLE, Assistant, AssistantTurn
from petvisor_desktop.events import EngineEvent, EventCallback, EventType, emit_to
from petvisor_desktop.settings import Settings
from petvisor_desktop.status import Status

log = logging.getLogger(__name__)

TEXT_COMPONENTS = ("history", "vetstoria", "llm")
VOICE_COMPONENTS = ("vad", "stt", "tts", "microphone", "speaker")


# What a touch on "Change" means, in the caller's words (captions and the history).
FIELD_WORDS = {
    "species": "the animal",
    "appointment_type": "the appointment type",
    "clinician": "the vet",
    "date": "the day",
    "time": "the time",
    "pet_name": "my pet's name",
    "client_name": "my name",
    "phone": "my phone number",
    "email": "my email",
}


@dataclass(frozen=True)
class Preloaded:
    """What an Engine takes ready-made instead of loading it from the settings: the
    simulator, the benchmarks and the tests load each model once for many conversations,
    and play scenarios against a sandbox clinic with faults. The conversation path itself
    is the app's."""

    model: Any = None  # the language model
    voice: dict[str, Any] = field(default_factory=dict)  # "vad" (and "turn"), "stt", "tts"
    history: Any = None  # an open History, closed by whoever opened it
    faults: tuple[str, ...] = ()
    blocked: tuple[Any, ...] = ()
    sandbox_only: bool = False  # never a real clinic, whatever the settings say
    listen_when_idle: bool = True  # kiosk: speech at the idle screen starts a conversation


@dataclass(frozen=True)
class VetstoriaCheck:
    """What a connection test found (`Engine.test_vetstoria`). `code` is "ok" or the
    failure's short code ("auth", "unavailable", "settings", ...); `message` is for staff."""

    ok: bool
    code: str
    message: str
    retryable: bool = False


class EngineNotReady(RuntimeError):
    """A conversation was asked for before the components it needs are ready."""


class Engine:
    """Loads the components in the background and hands out conversations."""

    def __init__(
        self,
        settings: Settings,
        on_event: EventCallback | None,
        *,
        now: str | None = None,
        voice: bool = True,
        mode: str = "window",
        llm_name: str | None = None,
        source: Any = None,
        sink: Any = None,
        preloaded: Preloaded | None = None,
    ) -> None:
        """`source`/`sink` replace the configured audio devices and `preloaded` the heavy
        parts (tests, the simulator and the benchmarks load each model once for many
        conversations); everything else runs exactly as in the app."""
        if mode not in ("window", "kiosk"):
            raise ValueError(f"mode must be 'window' or 'kiosk'; got {mode!r}")
        self.settings = settings
        self.mode = mode
        self.voice_enabled = voice
        self._now = now
        self._llm_name = llm_name
        self._emit = emit_to(on_event)
        self._on_event = on_event
        self.status = Status(emit_to(self._relay))  # what the screens show at a glance
        self.components: dict[str, dict[str, Any]] = {}
        self.history: Any = None
        self.backend: Any = None
        self.model: Any = None
        self.voice: Any = None  # the VoiceLoop when every voice component is ready
        self._source, self._sink = source, sink  # injected for tests and the simulator
        self._preloaded = preloaded or Preloaded()
        self._stack = contextlib.ExitStack()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="petvisor-engine")
        self._loader: threading.Thread | None = None
        self._closing = threading.Event()
        self.ready = threading.Event()  # set when loading finished, whatever its result
        self.conversation: Conversation | None = None
        # Kiosk: between conversations the microphone stays open and speech starts one.
        self.listens_when_idle = mode == "kiosk" and voice and self._preloaded.listen_when_idle

    # -- loading ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start loading; returns at once. Each component reports as it goes."""
        names = TEXT_COMPONENTS + (VOICE_COMPONENTS if self.voice_enabled else ())
        for name in names:
            self._component(name, "loading", "waiting to load")
        if not self.voice_enabled:
            for name in VOICE_COMPONENTS:
                self._component(name, "disabled", "voice is off: type instead")
        self._loader = threading.Thread(target=self._load, name="petvisor-loader", daemon=True)
        self._loader.start()

    def wait_ready(self, timeout_s: float | None = None) -> bool:
        return self.ready.wait(timeout_s)

    def _component(self, name: str, state: str, detail: str, **extra: Any) -> None:
        data = {"component": name, "state": state, "detail": detail, **extra}
        self.components[name] = data
        self._emit(EventType.COMPONENT, **data)

    def _step(self, name: str, load: Callable[[], str]) -> bool:
        if self._closing.is_set():
            return False
        self._component(name, "loading", "loading…")
        started = time.perf_counter()
        try:
            detail = load()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a state on screen
            state, message = _failure(name, exc)
            log.warning("%s failed to load: %s", name, message)
            self._component(name, state, message)
            return False
        self._component(name, "ready", detail, load_s=round(time.perf_counter() - started, 2))
        return True

    def _load(self) -> None:
        """History and the clinic first (small), then the language model and the voice
        parts side by side: the model's load is mostly reading its file and its prompt
        cache, the voice's mostly building onnxruntime and CTranslate2 sessions, so on two
        cores together they take little more than the longer of the two (see
        benchmarks/bench_start.py). The kiosk listens only once both are ready."""
        try:
            self._step("history", self._load_history)
            self._step("vetstoria", self._load_vetstoria)
            voice = None
            if self.voice_enabled:
                voice = threading.Thread(
                    target=self._load_voice, name="petvisor-voice-loader", daemon=True
                )
                voice.start()
            if self._step("llm", self._load_llm) and self.backend is not None:
                self._warm()
            if voice is not None:
                voice.join()
            if self.voice is not None and self.listens_when_idle and not self._closing.is_set():
                self.voice.listen_when_idle(self._started_by_voice)
        finally:
            self.ready.set()

    def _load_history(self) -> str:
        from petvisor_desktop.history import History

        if self._preloaded.history is not None:
            self.history = self._preloaded.history  # its owner closes it
            return "database ready (shared)"
        history, report = History.open_with_recovery(self.settings)
        self.history = history
        self._stack.callback(history.close)
        history.watch_storage(self._on_storage_status)
        if history.disk_full:  # opened on a full disk: conversations go on all the same
            return history.storage_status.message
        if report.needs_attention:
            return report.message
        return f"database ready ({self.settings.storage.db_path.name})"

    def _on_storage_status(self, status: Any) -> None:
        """The history's disk found full, or with room again: the staff screens show it on
        the history's line (conversations go on either way: see history/spool.py)."""
        detail = (
            status.message
            if status.disk_full
            else f"database ready ({self.settings.storage.db_path.name})"
        )
        self._component("history", "ready", detail, disk_full=status.disk_full, kept=status.kept)

    def _load_vetstoria(self) -> str:
        from petvisor_desktop.engine import booking_backend

        pre = self._preloaded
        self.backend = self._stack.enter_context(
            booking_backend(
                self.settings,
                now=self._now,
                faults=pre.faults,
                blocked=pre.blocked,
                sandbox_only=pre.sandbox_only,
            )
        )
        if self.backend.sandbox is not None:
            return f"demo clinic (sandbox at {self.backend.sandbox.url})"
        return f"connected to {self.settings.vetstoria.base_url}"

    def _load_llm(self) -> str:
        from petvisor_desktop.engine import load_llm

        self.model = self._preloaded.model or load_llm(self.settings, self._llm_name)
        return f"{self.model.path.name}" if hasattr(self.model, "path") else "loaded"

    def _warm(self) -> None:
        """Put the fixed prompt in the model's cache so the first caller waits no longer
        than the next one."""
        try:
            cache = paths.user_cache_dir() / "prompt-cache"
            self._worker.submit(self._new_assistant(None).warm, cache).result()
        except Exception as exc:  # noqa: BLE001 - warming is an optimisation only
            log.warning("could not warm the language model: %s", exc)

    def _load_voice(self) -> None:
        from petvisor_desktop.voice import loop as voice_loop
        from petvisor_desktop.voice import parts as voice_parts

        parts: dict[str, Any] = {}
        ok = True
        for name in ("vad", "stt", "tts"):
            model = self._preloaded.voice.get(name)
            if model is not None:
                parts[name] = model
                if name == "vad":
                    model.reset()  # a new conversation's audio: no state from the last one
                    parts["turn"] = self._preloaded.voice.get("turn")  # loaded with it
                self._component(name, "ready", "loaded (shared)")
                continue
            ok &= self._step(
                name, functools.partial(voice_parts.load_part, name, self.settings, parts)
            )
        ok &= self._step(
            "microphone",
            lambda: voice_parts.load_part("microphone", self.settings, parts, self._source),
        )
        ok &= self._step(
            "speaker", lambda: voice_parts.load_part("speaker", self.settings, parts, self._sink)
        )
        if ok and not self._closing.is_set():
            self.voice = voice_loop.VoiceLoop(
                voice_parts.VoiceParts(**parts),
                self.settings,
                self._relay,
                mode=self.mode,
                executor=self._worker,
                status=self.status,
            )
            self._stack.callback(self.voice.close)

    def _started_by_voice(self, text: str, utterance: Any, stt_ms: float) -> None:
        """Someone spoke at the idle kiosk: their words open the conversation (no greeting
        first: they have already said what they want)."""
        if not self.can_converse() or (self.conversation and not self.conversation.ended):
            return
        talk = self.conversation = Conversation(self)
        self.submit(lambda: talk._open(greet=False)).result()
        reply = self.submit(lambda: talk.respond(text, spoken=True)).result()
        if reply is not None and self.voice is not None:
            self.voice.speak(talk, reply, utterance, stt_ms)

    def _relay(self, event: EngineEvent) -> None:
        if self._on_event is not None and not self._closing.is_set():
            self._on_event(event)

    # -- state ------------------------------------------------------------------------------
    def _ready(self, names: tuple[str, ...]) -> bool:
        return all(self.components.get(n, {}).get("state") == "ready" for n in names)

    def can_converse(self) -> bool:
        return self._ready(TEXT_COMPONENTS)

    def can_listen(self) -> bool:
        return self.can_converse() and self.voice is not None

    # -- conversations ----------------------------------------------------------------------
    def clinic_now(self) -> datetime:
        """The clinic's local time, aware: the sandbox's pinned "now" where it pins one
        (the demo, tests), else the real clock in the clinic's time zone. Safe to call
        before the components are loaded."""
        zone = ZoneInfo(self.settings.clinic.timezone)
        pinned = self._pinned_now() if self.backend is not None else None
        if pinned is not None:
            value = pinned()
        elif self._now:
            value = datetime.fromisoformat(self._now)
        else:
            return datetime.now(zone)
        return value if value.tzinfo else value.replace(tzinfo=zone)

    def _pinned_now(self) -> Callable[[], datetime] | None:
        sandbox = self.backend.sandbox if self.backend else None
        pinned = sandbox.pinned_now if sandbox is not None else None
        return (lambda: pinned) if pinned else None

    def _new_assistant(self, conversation_id: int | None) -> Assistant:
        from petvisor_desktop.engine import new_assistant

        return new_assistant(
            self.settings,
            self.backend,
            self.model,
            now=self._pinned_now(),
            recorder=self.history if conversation_id is not None else None,
            conversation_id=conversation_id,
        )

    def new_conversation(self) -> Conversation:
        if not self.can_converse():
            missing = [
                n for n in TEXT_COMPONENTS if self.components.get(n, {}).get("state") != "ready"
            ]
            raise EngineNotReady(f"not ready yet: {', '.join(missing)}")
        self.conversation = Conversation(self)
        return self.conversation

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        """Run `job` on the engine's worker (one at a time, in order). A failure is logged
        and reported as an ERROR event, never lost in a future nobody reads."""

        def guarded() -> Any:
            try:
                return job()
            except Exception as exc:
                log.exception("engine job failed")
                self._emit(
                    EventType.ERROR,
                    stage="engine",
                    code=getattr(exc, "code", "internal"),
                    message=str(exc),
                    recoverable=True,
                )
                raise

        return self._worker.submit(guarded)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop listening and speaking, finish the running turn, release everything. Call it
        off the UI thread: it waits for the worker."""
        self._closing.set()
        if self.conversation is not None and not self.conversation.ended:
            self.conversation.end("abandoned")
        if self._loader is not None:
            self._loader.join(timeout_s)
        if self.voice is not None:
            self.voice.close()  # no new turn reaches the worker once it is going away
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._stack.close()

    # -- for the staff screens --------------------------------------------------------------
    # The settings screen changes the engine through these, never by writing its fields.

    # Settings that take effect while the app runs (the idle kiosk's line, the next
    # conversation's greeting and hand-offs); every other one is read once, at start-up.
    LIVE_SETTINGS = ("clinic.opening_hours", "clinic.out_of_hours_phone")

    def apply_settings(self, saved: Settings) -> list[str]:
        """Take the settings that apply at once (`LIVE_SETTINGS`) from newly saved ones;
        returns the dotted names of the other settings that differ, which wait for a
        restart. Safe from any thread: a conversation reads `settings` when it opens, and
        swapping the object is atomic."""
        import dataclasses

        changed = self._changed_settings(self.settings, saved)
        current = self.settings
        for name in changed:
            if name in self.LIVE_SETTINGS:
                section, key = name.split(".")
                part = dataclasses.replace(
                    getattr(current, section), **{key: getattr(getattr(saved, section), key)}
                )
                current = dataclasses.replace(current, **{section: part})
        self.settings = current
        later = [name for name in changed if name not in self.LIVE_SETTINGS]
        # Names only: values may be secrets or personal data.
        log.info(
            "settings applied now: %s; after a restart: %s",
            ", ".join(n for n in changed if n in self.LIVE_SETTINGS) or "none",
            ", ".join(later) or "none",
        )
        return later

    @staticmethod
    def _changed_settings(old: Settings, new: Settings) -> list[str]:
        """The dotted names of the settings that differ (the sections' fields; where the
        settings were read from is not a setting)."""
        import dataclasses

        names = []
        for section in dataclasses.fields(old):
            before, after = getattr(old, section.name), getattr(new, section.name)
            if not dataclasses.is_dataclass(before):
                continue
            names += [
                f"{section.name}.{f.name}"
                for f in dataclasses.fields(before)
                if getattr(before, f.name) != getattr(after, f.name)
            ]
        return names

    @staticmethod
    def test_vetstoria(settings: Settings) -> VetstoriaCheck:
        """Sign in to the real Vetstoria site that `settings` name and read its catalogue,
        as loading does, without touching a running engine: staff test what they typed
        before saving it, even when the engine could not start. Blocking: call it off the
        UI thread. Settings with no real site are a failure that says so (the demo clinic
        needs no test)."""
        import dataclasses

        from petvisor_desktop.settings import SettingsError
        from vetstoria.client import VetstoriaClient
        from vetstoria.errors import VetstoriaError

        check = VetstoriaCheck
        try:
            config = settings.vetstoria_config()
            if config is None:
                return check(False, "settings", "no Vetstoria site is set up")
            # One try per read: staff are waiting for an answer, not for retries.
            config = dataclasses.replace(config, max_read_retries=0)
            with VetstoriaClient(config) as client:
                species = client.species()
                types = client.appointment_types()
                schedules = client.schedules()
        except SettingsError as exc:
            return check(False, "settings", str(exc))
        except VetstoriaError as exc:
            log.info("Vetstoria connection test failed: %s", exc.code)
            return check(False, exc.code, str(exc), exc.retryable)
        return check(
            True,
            "ok",
            f"Connected: {len(species)} species, {len(types)} appointment types and "
            f"{len(schedules)} clinicians take online bookings.",
        )


class Conversation:
    """One caller, from greeting to goodbye. Every method returns at once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.id: int | None = None
        self.assistant: Assistant | None = None
        self.ended = False
        self._emit = emit_to(engine._relay)

    # -- intents ----------------------------------------------------------------------------
    def start(self) -> Future[Any]:
        return self.engine.submit(lambda: self._open(greet=True))

    def say(self, text: str) -> Future[AssistantTurn | None]:
        """Typed words, or a tapped choice (said as its words). The future holds the reply."""
        return self.engine.submit(lambda: self._respond(text))

    def confirm(self, yes: bool) -> Future[Any]:
        return self.say("Yes, that's right" if yes else "No, I need to change something")

    def correct(self, field: str) -> Future[Any]:
        """A touch on "Change" beside a detail of the card: that detail is asked again."""
        if field not in CHANGEABLE:
            raise ValueError(f"unknown booking field {field!r}")
        said = f"I need to change {FIELD_WORDS[field]}"
        return self.engine.submit(lambda: self._touch(lambda a: a.change(field, said), said))

    def request_handoff(self) -> Future[Any]:
        said = "I'd like to talk to reception"
        return self.engine.submit(lambda: self._touch(lambda a: a.hand_off("person"), said))

    def listening_for(self) -> Any:
        """What the open question waits for (the voice loop fits recognition to it)."""
        from petvisor_desktop.voice.loop import Listening

        assistant = self.assistant
        if assistant is None:
            return Listening()
        last = self.last_reply()
        return Listening(
            assistant.expecting,
            tuple(assistant.vocabulary()),
            tuple(getattr(last, "choices", ()) or ()),
            assistant.likely_answers(),
        )

    def last_reply(self) -> AssistantTurn | None:
        """The assistant's latest reply (the greeting, at first), or None."""
        assistant = self.assistant
        return assistant.turns[-1] if assistant is not None and assistant.turns else None

    def foresee(self, text: str, confidence: float | None = None) -> Any:
        """The reply to what the caller seems to have said, prepared during their pause
        (see `Assistant.foresee`); None when there is none. A failure here costs nothing:
        the turn is then answered the ordinary way."""
        assistant = self.assistant
        if assistant is None or self.ended:
            return None
        try:
            return assistant.foresee(text, confidence)
        except Exception:
            log.exception("preparing a reply ahead failed")
            return None

    def prime(self) -> None:
        """The model made ready for the caller's answer while the reply plays
        (`Assistant.prime`); a failure costs only that head start."""
        assistant = self.assistant
        if assistant is None or self.ended:
            return
        try:
            assistant.prime()
        except Exception:
            log.exception("readying the model for the answer failed")

    def note_spoken(self, turn: Any, latency: dict[str, float], heard: str | None) -> None:
        """The voice loop played `turn` (`heard`: what the caller heard of it, when cut)."""
        if self.assistant is not None:
            self.assistant.journal.spoken(turn.row_id, latency, heard)

    def talk_pressed(self) -> None:
        if self.engine.voice is not None:
            self.engine.voice.push_to_talk(True)

    def talk_released(self) -> None:
        if self.engine.voice is not None:
            self.engine.voice.push_to_talk(False)

    def rate(self, stars: int) -> Future[Any]:
        def job() -> None:
            if self.engine.history is not None and self.id is not None:
                self.engine.history.rate_conversation(self.id, stars)

        return self.engine.submit(job)

    def end(self, reason: str = "abandoned") -> Future[Any]:
        return self.engine.submit(lambda: self._end(reason))

    # -- on the worker ----------------------------------------------------------------------
    def _open(self, *, greet: bool) -> None:
        engine = self.engine
        history = engine.history
        self.id = history.start_conversation("kiosk" if engine.mode == "kiosk" else "ptt")
        self.assistant = engine._new_assistant(self.id)
        self._emit(
            EventType.CONVERSATION_STARTED,
            conversation_id=self.id,
            mode=engine.mode,
            by_voice=not greet,
        )
        if greet:
            self._reply(self.assistant.greet())
        if engine.voice is not None:
            engine.voice.begin(self, greet=greet)
        elif greet:
            self.engine.status.set("idle")

    def respond(
        self,
        text: str,
        *,
        spoken: bool = False,
        foreseen: Any = None,
        confidence: float | None = None,
    ) -> AssistantTurn | None:
        """The caller's words (typed, touched, or recognised by the voice loop, which calls
        this on the worker). Returns the reply, or None once the conversation is over."""
        if self.assistant is None or self.ended:
            return None
        self._emit(EventType.CALLER_FINAL, text=text, spoken=spoken)
        self.engine.status.set("thinking")
        try:
            turn = self.assistant.respond(text, foreseen, confidence=confidence)
        except Exception as exc:
            log.exception("the assistant failed on a turn")
            self._emit(
                EventType.ERROR,
                stage="dialog",
                code="turn-failed",
                message=str(exc),
                recoverable=True,
            )
            self.engine.status.set("idle")
            return None
        self._reply(turn)
        return turn

    def _respond(self, text: str) -> AssistantTurn | None:
        if self.engine.voice is not None:
            self.engine.voice.interrupt()  # typed or tapped: the caller has moved on
        turn = self.respond(text)
        if turn is not None and self.engine.voice is not None:
            self.engine.voice.speak(self, turn)
        elif turn is not None and not turn.done:
            self.engine.status.set("idle")
            self.prime()  # typed: while the caller reads the reply
        return turn

    def _touch(self, act: Callable[[Assistant], AssistantTurn], said: str) -> None:
        """A touch on the screen that the assistant answers (Change, Talk to reception);
        the captions show it as what the caller meant."""
        if self.assistant is None or self.ended:
            return
        self._emit(EventType.CALLER_FINAL, text=said, spoken=False, touched=True)
        if self.engine.voice is not None:
            self.engine.voice.interrupt()
        turn = act(self.assistant)
        self._reply(turn)
        if self.engine.voice is not None:
            self.engine.voice.speak(self, turn)

    def _reply(self, turn: AssistantTurn) -> None:
        assert self.assistant is not None
        self._emit(
            EventType.ASSISTANT_REPLY,
            text=turn.text,
            expecting=turn.expecting,
            choices=list(getattr(turn, "choices", ())),
            card=dict(turn.card),
            done=turn.done,
            outcome=turn.outcome,
            read_back=self.assistant.read_back_given,
        )
        self._emit(
            EventType.TURN_METRICS,
            llm_first_token_ms=turn.llm_first_token_ms,
            llm_total_ms=turn.llm_ms,
            response_ms=turn.total_ms,
            tokens_in=turn.tokens_in,
            tokens_out=turn.tokens_out,
            spoken=False,
        )
        if turn.done:
            self._finish(turn.outcome or "no_booking")

    def _finish(self, outcome: str) -> None:
        if self.ended:
            return
        self.ended = True
        self._emit(EventType.CONVERSATION_ENDED, outcome=outcome, conversation_id=self.id)

    def _end(self, reason: str) -> None:
        if self.engine.voice is not None:
            self.engine.voice.stop_conversation()
        if self.ended:
            return
        assistant = self.assistant
        if assistant is not None and not assistant.done and self.id is not None:
            assistant.abandon()
        self._finish((assistant.outcome if assistant and assistant.done else None) or "abandoned")
        self.engine.status.set("idle")


def _failure(component: str, exc: BaseException) -> tuple[str, str]:
    """A load failure as a state and a sentence that says what to do."""
    from petvisor_desktop.modelstore import ModelError

    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if isinstance(exc, ModelError):
        return "missing", message
    code = getattr(exc, "code", "")
    if code in ("model-missing", "voice-missing", "device-not-found"):
        return "missing", message
    if component == "vetstoria":
        return "error", f"The booking system cannot be reached: {message}"
    return "error", message
