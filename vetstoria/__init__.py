"""Vetstoria partner-API client and the sandbox clinic that serves the same API locally.

Knows nothing of voice or Qt."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vetstoria.client import VetstoriaClient
    from vetstoria.config import ConfigError, VetstoriaConfig
    from vetstoria.errors import (
        AuthError,
        BadRequestError,
        BadResponseError,
        NotFoundError,
        RateLimitedError,
        SlotTakenError,
        UnavailableError,
        VetstoriaError,
    )
    from vetstoria.models import BookingRequest, BookingResult, CatalogueItem, ClientDetails, Slot

# Exports load on first use, so that importing the settings (vetstoria.config) stays light.
_EXPORTS = {
    "VetstoriaClient": "vetstoria.client",
    "ConfigError": "vetstoria.config",
    "VetstoriaConfig": "vetstoria.config",
    "AuthError": "vetstoria.errors",
    "BadRequestError": "vetstoria.errors",
    "BadResponseError": "vetstoria.errors",
    "NotFoundError": "vetstoria.errors",
    "RateLimitedError": "vetstoria.errors",
    "SlotTakenError": "vetstoria.errors",
    "UnavailableError": "vetstoria.errors",
    "VetstoriaError": "vetstoria.errors",
    "BookingRequest": "vetstoria.models",
    "BookingResult": "vetstoria.models",
    "CatalogueItem": "vetstoria.models",
    "ClientDetails": "vetstoria.models",
    "Slot": "vetstoria.models",
}

__all__ = [
    "AuthError",
    "BadRequestError",
    "BadResponseError",
    "BookingRequest",
    "BookingResult",
    "CatalogueItem",
    "ClientDetails",
    "ConfigError",
    "NotFoundError",
    "RateLimitedError",
    "Slot",
    "SlotTakenError",
    "UnavailableError",
    "VetstoriaClient",
    "VetstoriaConfig",
    "VetstoriaError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vetstoria' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
