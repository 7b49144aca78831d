"""The sandbox clinic: a local stand-in for Vetstoria that serves the partner API for one demo
clinic, for tests, the scenario simulator and the app's demo mode."""

from vetstoria.sandbox.clinic import SLOT_TAKEN_TEXT, Blocked, SandboxClinic
from vetstoria.sandbox.demo import (
    APPOINTMENT_TYPES,
    DEMO_BOOKING_HASH,
    DEMO_PARTNER_KEY,
    DEMO_SECRET,
    DEMO_SITE_HASH,
    DEMO_SITE_ID,
    DEMO_TIMEZONE,
    PARTITIONS,
    SCHEDULES,
    SPECIES,
    demo_config,
)
from vetstoria.sandbox.faults import KINDS, STAGES, allowed_faults, parse_fault

__all__ = [
    "APPOINTMENT_TYPES",
    "DEMO_BOOKING_HASH",
    "DEMO_PARTNER_KEY",
    "DEMO_SECRET",
    "DEMO_SITE_HASH",
    "DEMO_SITE_ID",
    "DEMO_TIMEZONE",
    "KINDS",
    "PARTITIONS",
    "SCHEDULES",
    "SLOT_TAKEN_TEXT",
    "SPECIES",
    "STAGES",
    "Blocked",
    "SandboxClinic",
    "allowed_faults",
    "demo_config",
    "parse_fault",
]
