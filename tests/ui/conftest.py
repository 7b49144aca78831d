"""Fixtures for the window tests: Qt offscreen, an in-memory keychain (never the developer's
real one), settings pointed into tmp_path, and a real History."""

from __future__ import annotations

import os

# Before any QApplication exists: render without a display server.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from petvisor_desktop.events import EngineEvent, EventType
from petvisor_desktop.history import History
from petvisor_desktop.settings import Settings

QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"
NOW = "2026-11-23T09:00"
STAFF_EMAIL = "nurse@clinic.example"
STAFF_PIN = "4826"


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
