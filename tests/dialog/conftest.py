"""The dialog tests' clinic: a fresh sandbox clinic for each conversation, its clock pinned to
the scripted flows' NOW (a module may pin another, or share one clinic, with its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from petvisor_desktop.engine import BookingBackend, booking_backend
from petvisor_desktop.settings import Settings
from tests.dialog.test_flows_scripted import NOW
from vetstoria.sandbox import SandboxClinic


@pytest.fixture
def backend(settings: Settings) -> Iterator[BookingBackend]:
    with booking_backend(settings, now=NOW, sandbox_only=True) as b:
        yield b


@pytest.fixture
def clinic(backend: BookingBackend) -> SandboxClinic:
    assert backend.sandbox is not None
    return backend.sandbox
