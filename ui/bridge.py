"""The one object between the engine and the widgets: engine events (from any thread) become
Qt signals on the GUI thread, and the widgets' intents (start, say, confirm, hand off, rate)
go to the engine through it. Widgets never hold the engine or a conversation themselves."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from petvisor_desktop.events import EngineEvent, EventType
from ui.workers import run_in_background

log = logging.getLogger(__name__)

TEXT_COMPONENTS = ("history", "vetstoria", "llm")
VOICE_COMPONENTS = ("vad", "stt", "tts", "microphone", "speaker")
ALL_COMPONENTS = TEXT_COMPONENTS + VOICE_COMPONENTS

# Turns a keyword-arguments engine factory into an engine: `factory(on_event=...)`.
EngineFactory = Callable[..., Any]


class EngineBridge(QObject):
    """Owns the engine and the current conversation; re-emits every engine event as a
    typed signal on the GUI thread."""

    # What the engine reports (all emitted on the GUI thread).
    component_changed = Signal(str, object)  # component name, its data dict
    readiness_changed = Signal(bool, bool)  # can_converse, can_listen
    state_changed = Signal(str)  # one of events.STATES
    conversation_started = Signal(object)  # data: conversation_id, mode
    caller_partial = Signal(str)
    caller_final = Signal(str)
    # data: text, expecting, card, done, outcome, read_back, choices (answers to tap)
    assistant_reply = Signal(object)
    assistant_spoken = Signal(object)  # data: text, interrupted
    barge_in = Signal(object)
    level_changed = Signal(float)  # rms_db
    turn_metrics = Signal(object)
    conversation_ended = Signal(object)  # data: outcome, conversation_id
    error_occurred = Signal(object)  # data: stage, code, message, recoverable
    # The bridge's own news.
    engine_attached = Signal()
    engine_failed = Signal(str)  # the engine could not even be created
    intent_refused = Signal(str)  # a user's request could not be carried out, and why
    shutdown_finished = Signal()
    # Any event, after the typed signal (the activity timer of the kiosk listens to this).
    event_received = Signal(object)

    # Private: from any thread to the GUI thread.
    _incoming = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine: Any = None
        self.conversation: Any = None
        self.conversation_id: int | None = None
        self.in_conversation = False
        self.state = "loading"
        self.components: dict[str, dict[str, Any]] = {}
        self.last_reply: dict[str, Any] = {}
        self._saved_settings: Any = None  # saved before the engine was there: handed over
        self._shutting_down = False
        self._incoming.connect(self.on_engine_incoming, Qt.ConnectionType.QueuedConnection)

    # ---- from the engine (any thread) ---------------------------------------------------

    def on_engine_event(self, event: EngineEvent) -> None:
        """The callback handed to the engine. Safe from any thread: it only queues."""
        self._incoming.emit(event)

    @Slot(object)
    def on_engine_incoming(self, event: EngineEvent) -> None:
        data = dict(event.data)
        kind = event.type
        if kind is EventType.COMPONENT:
            name = str(data.get("component", "?"))
            self.components[name] = data
            self.component_changed.emit(name, data)
            self.readiness_changed.emit(self.can_converse(), self.can_listen())
            self._settle_state()
        elif kind is EventType.STATE:
            self.state = str(data.get("state", "idle"))
            self.state_changed.emit(self.state)
        elif kind is EventType.CONVERSATION_STARTED:
            self.in_conversation = True
            self.conversation_id = data.get("conversation_id")
            if self.conversation is None and self.engine is not None:
                # Started by the engine itself (a caller spoke to the idle kiosk).
                self.conversation = getattr(self.engine, "conversation", None)
            self.last_reply = {}
            self.conversation_started.emit(data)
        elif kind is EventType.CALLER_PARTIAL:
            self.caller_partial.emit(str(data.get("text", "")))
        elif kind is EventType.CALLER_FINAL:
            self.caller_final.emit(str(data.get("text", "")))
        elif kind is EventType.ASSISTANT_REPLY:
            self.last_reply = data
            self.assistant_reply.emit(data)
        elif kind is EventType.ASSISTANT_SPOKEN:
            self.assistant_spoken.emit(data)
        elif kind is EventType.BARGE_IN:
            self.barge_in.emit(data)
        elif kind is EventType.LEVEL:
            self.level_changed.emit(float(data.get("rms_db", -90.0)))
        elif kind is EventType.TURN_METRICS:
            self.turn_metrics.emit(data)
        elif kind is EventType.CONVERSATION_ENDED:
            self.in_conversation = False
            if data.get("conversation_id") is not None:
                self.conversation_id = data["conversation_id"]
            self.conversation_ended.emit(data)
        elif kind is EventType.ERROR:
            log.warning(
                "engine error (%s/%s): %s", data.get("stage"), data.get("code"), data.get("message")
            )
            self.error_occurred.emit(data)
        self.event_received.emit(event)

    def _settle_state(self) -> None:
        """Before any conversation the engine reports no STATE: derive it from the
        components (loading, ready, or unavailable when the assistant cannot talk)."""
        if self.in_conversation or self.state not in ("loading", "idle", "unavailable"):
            return
        broken = any(self.component_state(n) in ("missing", "error") for n in TEXT_COMPONENTS)
        state = "idle" if self.can_converse() else "unavailable" if broken else "loading"
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # ---- the engine's life --------------------------------------------------------------

    def start_engine(self, factory: EngineFactory) -> None:
        """Create and start the engine off the GUI thread (importing the engine pulls in
        the model libraries, which takes a while); `engine_attached` says when it is there.
        Components report their loading through `component_changed` meanwhile."""

        def create() -> Any:
            engine = factory(on_event=self.on_engine_event)
            engine.start()
            return engine

        run_in_background(
            create, on_done=self.on_create_done, on_error=self.on_create_failed, context=self
        )

    def attach(self, engine: Any) -> None:
        """Use an engine that already exists (tests, screenshots)."""
        self.on_create_done(engine)

    @Slot(object)
    def on_create_done(self, engine: Any) -> None:
        self.engine = engine
        if self._shutting_down:
            self.shutdown()
            return
        for name, data in dict(getattr(engine, "components", {}) or {}).items():
            if name not in self.components:
                self.components[name] = dict(data)
        if self._saved_settings is not None:
            engine.apply_settings(self._saved_settings)
        self.engine_attached.emit()
        self.readiness_changed.emit(self.can_converse(), self.can_listen())
        self._settle_state()

    @Slot(object)
    def on_create_failed(self, exc: BaseException) -> None:
        log.error("the engine could not be started: %s", exc)
        message = f"The assistant could not start: {exc}"
        for name in TEXT_COMPONENTS:
            data = {"component": name, "state": "error", "detail": message, "progress": None}
            self.components[name] = data
            self.component_changed.emit(name, data)
        self.engine_failed.emit(message)
        self.readiness_changed.emit(False, False)

    def shutdown(self) -> None:
        """Stop the engine in a worker; `shutdown_finished` follows (at once without one)."""
        self._shutting_down = True
        engine, self.engine = self.engine, None
        self.conversation = None
        if engine is None:
            self.shutdown_finished.emit()
            return

        def stop() -> None:
            engine.shutdown(5.0)

        run_in_background(
            stop,
            on_done=lambda _r: self.shutdown_finished.emit(),
            on_error=lambda _e: self.shutdown_finished.emit(),
            context=self,
        )

    def apply_settings(self, settings: Any) -> list[str]:
        """Hand newly saved settings to the engine, which takes those that apply at once;
        returns the names of the ones that wait for a restart. Saved before the engine
        exists, they are handed over when it attaches."""
        self._saved_settings = settings
        if self.engine is None:
            return []
        return list(self.engine.apply_settings(settings))

    # ---- readiness ----------------------------------------------------------------------

    def component_state(self, name: str) -> str:
        return str(self.components.get(name, {}).get("state", "loading"))

    def can_converse(self) -> bool:
        if self.engine is not None and hasattr(self.engine, "can_converse"):
            try:
                return bool(self.engine.can_converse())
            except Exception:  # a half-built engine: judge by what it reported
                log.debug("can_converse failed", exc_info=True)
        return all(self.component_state(n) == "ready" for n in TEXT_COMPONENTS)

    def can_listen(self) -> bool:
        # Judged from the reported states: the engine builds its voice loop just after the
        # last voice component reports ready, and the screen should not wait for that.
        return self.can_converse() and all(
            self.component_state(n) == "ready" for n in VOICE_COMPONENTS
        )

    def problems(self) -> list[dict[str, Any]]:
        """Components that are missing or failed, with what to do (their `detail`)."""
        return [
            data
            for name in ALL_COMPONENTS
            if (data := self.components.get(name)) and data.get("state") in ("missing", "error")
        ]

    # ---- intents from the widgets -------------------------------------------------------

    def start_conversation(self) -> bool:
        """Begin a conversation (the greeting follows as events). False, with
        `intent_refused`, when the assistant cannot talk yet."""
        if self.in_conversation and self.conversation is not None:
            return True
        if self.engine is None or not self.can_converse():
            self.intent_refused.emit("The assistant is not ready yet.")
            return False
        try:
            conversation = self.engine.new_conversation()
        except Exception as exc:  # noqa: BLE001 - EngineNotReady or any refusal: shown
            log.warning("could not start a conversation: %s", exc)
            self.intent_refused.emit(str(exc) or "The assistant is not ready yet.")
            return False
        self.conversation = conversation
        self.in_conversation = True
        self.conversation_id = None
        self._watch(conversation.start(), "start")
        return True

    def say(self, text: str) -> bool:
        text = text.strip()
        if not text:
            return False
        if not self.in_conversation and not self.start_conversation():
            return False
        return self._call("say", text)

    def confirm(self, yes: bool) -> bool:
        return self._call("confirm", yes)

    def correct(self, field: str) -> bool:
        return self._call("correct", field)

    def request_handoff(self) -> bool:
        if not self.in_conversation and not self.start_conversation():
            return False
        return self._call("request_handoff")

    def talk_pressed(self) -> bool:
        if not self.in_conversation and not self.start_conversation():
            return False
        return self._call("talk_pressed")

    def talk_released(self) -> bool:
        return self._call("talk_released")

    def rate(self, stars: int) -> bool:
        """Store the caller's rating with the conversation that just ended."""
        return self._call("rate", int(stars))

    def end_conversation(self, reason: str = "abandoned") -> None:
        """End (if still running) and forget the conversation: the screen is cleared."""
        conversation, self.conversation = self.conversation, None
        self.in_conversation = False
        self.last_reply = {}
        if conversation is not None and not getattr(conversation, "ended", False):
            self._watch(conversation.end(reason), "end")

    def _call(self, method: str, *args: Any) -> bool:
        conversation = self.conversation
        if conversation is None:
            self.intent_refused.emit("There is no conversation to send that to.")
            return False
        try:
            result = getattr(conversation, method)(*args)
        except Exception as exc:  # noqa: BLE001 - a bad field, a closed engine: shown
            log.warning("%s failed: %s", method, exc)
            self.intent_refused.emit(str(exc))
            return False
        self._watch(result, method)
        return True

    def _watch(self, result: Any, what: str) -> None:
        """A failure of work done later on the engine's worker becomes an ERROR event."""
        if not isinstance(result, Future):
            return

        def done(future: Future[Any]) -> None:
            if future.cancelled():
                return
            exc = future.exception()
            if exc is not None:
                log.warning("%s failed on the engine worker: %s", what, exc)
                self.on_engine_event(
                    EngineEvent(
                        EventType.ERROR,
                        {
                            "stage": what,
                            "code": type(exc).__name__,
                            "message": str(exc),
                            "recoverable": True,
                        },
                    )
                )

        result.add_done_callback(done)
