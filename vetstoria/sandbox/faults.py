"""Fault strings for the sandbox clinic ("booking:409", "slots:500", "expired", ...): parsing
and matching. Each fault is consumed once, by the first request of its stage."""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("auth", "species", "appointmentTypes", "schedules", "catalogue", "slots", "booking")
CATALOGUE_STAGES = frozenset({"species", "appointmentTypes", "schedules"})
KINDS = (
    "401",
    "409",
    "429",
    "500",
    "503",
    "timeout",
    "content-type",
    "timeout-after-commit",
    "expired",
)
_STAGE_NAMES = {s.lower(): s for s in (*STAGES, "token")} | {
    "appointment_types": "appointmentTypes",
    "appointmenttypes": "appointmentTypes",
    "bookings": "booking",
    "book": "booking",
}


def allowed_faults() -> str:
    """A one-line description of the fault strings accepted, for error messages and --help."""
    return (
        f"STAGE:KIND with STAGE in {', '.join(STAGES)} and KIND in {', '.join(KINDS[:-1])} "
        "(timeout-after-commit for booking only); or 'expired' / 'token:expired' "
        "(the next authenticated call answers 401)"
    )


@dataclass(frozen=True)
class Fault:
    """One injected fault: what stage it hits and what goes wrong."""

    stage: str  # one of STAGES, or "token" (any authenticated call)
    kind: str

    @property
    def spec(self) -> str:
        return f"{self.stage}:{self.kind}"

    def matches(self, stage: str) -> bool:
        if self.stage == "token":
            return stage != "auth"
        if self.stage == "catalogue":
            return stage in CATALOGUE_STAGES
        return self.stage == stage


def parse_fault(spec: str) -> Fault:
    """The Fault for a string such as "booking:timeout-after-commit"; ValueError if unknown."""
    text = str(spec).strip()
    if text.lower() == "expired":
        return Fault("token", "expired")
    stage_text, sep, kind = text.partition(":")
    stage = _STAGE_NAMES.get(stage_text.strip().lower())
    kind = kind.strip().lower()
    ok = bool(sep) and stage is not None and kind in KINDS
    if ok and stage == "token" and kind != "expired":
        ok = False
    if ok and kind == "timeout-after-commit" and stage != "booking":
        ok = False
    if ok and kind == "expired" and stage == "auth":
        ok = False
    if not ok or stage is None:
        raise ValueError(f"unknown sandbox fault {spec!r}; allowed: {allowed_faults()}")
    return Fault(stage, kind)
