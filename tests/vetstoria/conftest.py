"""Fixtures for the Vetstoria tests: a sandbox clinic on an ephemeral port and clients for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from vetstoria_support import NOW

from vetstoria.client import VetstoriaClient
from vetstoria.config import VetstoriaConfig
from vetstoria.sandbox import SandboxClinic


@pytest.fixture
def make_clinic() -> Iterator[Callable[..., SandboxClinic]]:
    """Start sandbox clinics (pinned to NOW unless told otherwise); all stop after the test."""
    started: list[SandboxClinic] = []

    def make(**kwargs: Any) -> SandboxClinic:
        kwargs.setdefault("now", NOW)
        clinic = SandboxClinic(**kwargs).start()
        started.append(clinic)
        return clinic

    yield make
    for clinic in started:
        clinic.stop()


@pytest.fixture
def clinic(make_clinic: Callable[..., SandboxClinic]) -> SandboxClinic:
    return make_clinic()


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., VetstoriaClient]]:
    """Clients for a clinic (or a saved config); keywords override config fields."""
    made: list[VetstoriaClient] = []

    def make(
        target: SandboxClinic | VetstoriaConfig,
        *,
        cache_dir: Path | None = None,
        **overrides: Any,
    ) -> VetstoriaClient:
        overrides.setdefault("timeout_s", 3.0)
        config = target if isinstance(target, VetstoriaConfig) else target.config()
        client = VetstoriaClient(
            replace(config, **overrides), cache_dir=cache_dir or tmp_path / "cache"
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(clinic: SandboxClinic, make_client: Callable[..., VetstoriaClient]) -> VetstoriaClient:
    return make_client(clinic)
