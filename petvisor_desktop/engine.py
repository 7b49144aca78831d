"""Wiring: the language model, the booking API (a real site or the embedded sandbox clinic)
and the history, assembled from settings for the chat, the simulator and the app."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from petvisor_desktop import modelstore, paths
from petvisor_desktop.dialog.assistant import Assistant
from petvisor_desktop.dialog.journal import Recorder
from petvisor_desktop.llm.chat_model import LlamaChatModel
from petvisor_desktop.settings import Settings
from vetstoria.client import VetstoriaClient
from vetstoria.models import CatalogueItem
from vetstoria.sandbox import Blocked, SandboxClinic

log = logging.getLogger(__name__)

_MODELS: dict[Path, LlamaChatModel] = {}


def load_llm(settings: Settings, name: str | None = None) -> LlamaChatModel:
    """The configured language model, loaded once per process and shared."""
    installed = modelstore.find_role(
        "llm", name or settings.models.llm, settings.models.search_path()
    )
    path = installed.file()
    if path not in _MODELS:
        _MODELS[path] = LlamaChatModel.load(
            path, n_ctx=settings.models.llm_context_tokens, n_threads=settings.models.llm_threads
        )
    return _MODELS[path]


@dataclass
class BookingBackend:
    """A Vetstoria client, and the sandbox clinic behind it when no real site is configured."""

    client: VetstoriaClient
    sandbox: SandboxClinic | None
    catalogue: dict[str, list[CatalogueItem]]
    timezone: str


@contextmanager
def booking_backend(
    settings: Settings,
    *,
    now: datetime | str | None = None,
    faults: tuple[str, ...] = (),
    blocked: tuple[Blocked, ...] = (),
    cache_dir: Path | None = None,
    sandbox_only: bool = False,
) -> Iterator[BookingBackend]:
    """Open the configured Vetstoria site, or start the embedded sandbox clinic (always for
    `sandbox_only`: the simulator never touches a real clinic)."""
    config = None if sandbox_only else settings.vetstoria_config()
    sandbox = None
    if config is None:
        # The sandbox answers in milliseconds; its "timeout" faults stall longer than this
        # client waits, so simulated timeouts cost seconds, not minutes.
        sandbox = SandboxClinic(now=now, blocked=blocked, slow_s=2.5).start()
        config = sandbox.config(timeout_s=1.5)
    cache = cache_dir or paths.user_cache_dir() / ("sandbox" if sandbox else "vetstoria")
    client = VetstoriaClient(config, cache_dir=cache)
    try:
        catalogue = {
            "species": client.species(),
            "appointment_types": client.appointment_types(),
            "schedules": client.schedules(),
        }
        # Faults model what happens during a call; the catalogue was loaded at start-up.
        for fault in faults:
            if sandbox is not None:
                sandbox.add_fault(fault)
        yield BookingBackend(client, sandbox, catalogue, config.timezone)
    finally:
        client.close()
        if sandbox is not None:
            sandbox.stop()


def new_assistant(
    settings: Settings,
    backend: BookingBackend,
    model: Any,
    *,
    now: Callable[[], datetime] | None = None,
    recorder: Recorder | None = None,
    conversation_id: int | None = None,
) -> Assistant:
    return Assistant(
        model,
        backend.client,
        backend.catalogue,
        clinic_name=settings.clinic.name,
        clinic_phone=settings.clinic.phone,
        timezone=backend.timezone,
        now=now,
        recorder=recorder,
        conversation_id=conversation_id,
        min_lead_minutes=settings.clinic.booking_lead_min,
        hours=settings.clinic.hours,
        emergency_phone=settings.clinic.emergency_phone,
        email_domains=settings.clinic.domains,
    )
