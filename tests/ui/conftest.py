"""Fixtures for the window tests: Qt offscreen, an in-memory keychain (never the developer's
real one), settings pointed into tmp_path, a real History, and a real engine with the small
language model for the end-to-end tests (one per test module)."""

from __future__ import annotations

import os

# Before any QApplication exists: render without a display server.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from PySide6.QtCore import Qt

from petvisor_desktop.events import EngineEvent, EventType
from petvisor_desktop.history import History
from petvisor_desktop.runtime import Engine
from petvisor_desktop.settings import Settings
from ui.bridge import EngineBridge

QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"
NOW = "2026-11-23T09:00"
STAFF_EMAIL = "nurse@clinic.example"
STAFF_PIN = "4826"
REPLY_MS = 180_000  # the small model on a busy two-core machine


class MemoryKeyring(KeyringBackend):
    """A keychain that lives in this process only."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.store:
            raise PasswordDeleteError("not stored")
        del self.store[(service, username)]


@pytest.fixture(autouse=True)
def settled_qt(qapp: Any) -> Iterator[None]:
    """After each window test: the background tasks finished and released, and Qt objects
    left in reference cycles freed now, on this (the GUI) thread, rather than later by a
    garbage-collector pass on some other test's worker thread."""
    yield
    from ui import workers

    workers.settle()
    gc.collect()


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def ui_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test session's settings with this test's own database, backups and config file."""
    storage = dataclasses.replace(
        settings.storage,
        db_path=tmp_path / "data" / "petvisor.sqlite3",
        backup_dir=tmp_path / "data" / "backups",
    )
    models = dataclasses.replace(settings.models, llm=QUICK_LLM)
    return dataclasses.replace(
        settings, storage=storage, models=models, config_path=tmp_path / "config" / "settings.toml"
    )


@pytest.fixture
def history(ui_settings: Settings) -> Iterator[History]:
    h = History.open(ui_settings.storage.db_path)
    yield h
    from ui import workers

    # A screen's background read may still be on its connection: closing it under the read
    # would crash SQLite (the worklist polls every few seconds).
    workers.settle()
    h.close()


@pytest.fixture
def staff_history(history: History) -> History:
    history.create_user(STAFF_EMAIL, STAFF_PIN, "Nurse Jo")
    return history


def feed(bridge: Any, qtbot: Any, kind: EventType, **data: Any) -> None:
    """Hand the bridge an engine event as the engine would (it is queued to the GUI
    thread) and wait until it has been delivered."""
    with qtbot.waitSignal(bridge.event_received, timeout=5000):
        bridge.on_engine_event(EngineEvent(kind, data))


def all_ready(bridge: Any, qtbot: Any, *, voice: bool = False) -> None:
    for name in ("history", "vetstoria", "llm"):
        feed(bridge, qtbot, EventType.COMPONENT, component=name, state="ready", detail="ok")
    for name in ("vad", "stt", "tts", "microphone", "speaker"):
        state = "ready" if voice else "disabled"
        feed(
            bridge,
            qtbot,
            EventType.COMPONENT,
            component=name,
            state=state,
            detail="ok" if voice else "voice is off: type instead",
        )


class Relay:
    """The engine's event callback, pointed at each test's own bridge."""

    def __init__(self) -> None:
        self.target: Callable[[EngineEvent], None] | None = None

    def __call__(self, event: EngineEvent) -> None:
        target = self.target
        if target is not None:
            target(event)


@dataclass
class Live:
    engine: Engine
    bridge: EngineBridge
    settings: Settings


@pytest.fixture(scope="module")
def running_engine(
    qapp: Any, settings: Settings, tmp_path_factory: pytest.TempPathFactory, require_model: Any
) -> Iterator[tuple[Engine, Relay, Settings]]:
    require_model("llm", QUICK_LLM)
    folder: Path = tmp_path_factory.mktemp("ui-engine")
    storage = dataclasses.replace(
        settings.storage, db_path=folder / "petvisor.sqlite3", backup_dir=folder / "backups"
    )
    models = dataclasses.replace(settings.models, llm=QUICK_LLM)
    test_settings = dataclasses.replace(settings, storage=storage, models=models)
    relay = Relay()
    engine = Engine(test_settings, relay, now=NOW, voice=False, mode="kiosk")
    engine.start()
    assert engine.wait_ready(600)
    assert engine.can_converse(), engine.components
    yield engine, relay, test_settings
    engine.shutdown()


@pytest.fixture
def live(running_engine: tuple[Engine, Relay, Settings], qtbot: Any) -> Iterator[Live]:
    engine, relay, settings = running_engine
    bridge = EngineBridge()
    relay.target = bridge.on_engine_event
    bridge.attach(engine)
    yield Live(engine, bridge, settings)
    relay.target = None
    conversation = engine.conversation
    if conversation is not None and not conversation.ended:
        conversation.end("abandoned").result(60)


def start_with_line(
    qtbot: Any, bridge: EngineBridge, edit: Any, text: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Type the line that starts a conversation; returns the greeting and the answer to the
    line. The answer may come straight after the greeting (a line the rules read whole
    needs no model call), so both are collected from the moment Enter is pressed."""
    replies: list[dict[str, Any]] = []

    def keep(data: dict[str, Any]) -> None:
        replies.append(data)

    bridge.assistant_reply.connect(keep)
    try:
        qtbot.keyClicks(edit, text)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: len(replies) >= 2, timeout=REPLY_MS)
    finally:
        bridge.assistant_reply.disconnect(keep)
    return replies[0], replies[1]


def type_line(qtbot: Any, bridge: EngineBridge, edit: Any, text: str) -> dict[str, Any]:
    """Type a line and press Enter, as a caller would; returns the assistant's reply."""
    qtbot.keyClicks(edit, text)
    with qtbot.waitSignal(bridge.assistant_reply, timeout=REPLY_MS) as reply:
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    data: dict[str, Any] = reply.args[0]
    return data
