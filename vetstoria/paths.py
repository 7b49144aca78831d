"""Every Vetstoria URL path template in one place, so that a layout change is a settings change.

The templates follow the partner-scoped layout ("layout B" in the contract). The client formats
them into URLs; the sandbox clinic matches incoming paths against the very same templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from vetstoria.config import VetstoriaConfig


@dataclass(frozen=True)
class PathTemplates:
    """Path templates; `auth` is relative to `auth_url`, the others to `base_url`.

    Placeholders: {partner_key}, {site_hash}, {site_id}, {booking_hash}."""

    auth: str = "/partners/{partner_key}/authentications"
    species: str = "/partners/{partner_key}/clinics/{site_hash}/locations/{site_id}/species"
    appointment_types: str = (
        "/partners/{partner_key}/clinics/{site_hash}/locations/{site_id}/appointmentTypes"
    )
    schedules: str = "/partners/{partner_key}/clinics/{site_hash}/locations/{site_id}/schedules"
    slots: str = "/partners/{partner_key}/clinics/{site_hash}/locations/{site_id}/slots"
    bookings: str = "/partners/{partner_key}/clinics/{site_hash}/bookings/{booking_hash}"

    def stages(self) -> dict[str, str]:
        """Template per stage name, as used by fault strings and logs."""
        return {
            "auth": self.auth,
            "species": self.species,
            "appointmentTypes": self.appointment_types,
            "schedules": self.schedules,
            "slots": self.slots,
            "booking": self.bookings,
        }


LAYOUT_B = PathTemplates()

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Endpoints:
    """Absolute URLs of one site, built from a config and the path templates."""

    auth: str
    species: str
    appointment_types: str
    schedules: str
    slots: str
    bookings: str


def _fill(template: str, values: dict[str, str]) -> str:
    # Each part is percent-encoded on its own so that no setting can add a path segment.
    return _PLACEHOLDER.sub(lambda m: quote(values[m.group(1)], safe=""), template)


def build_endpoints(config: VetstoriaConfig, templates: PathTemplates = LAYOUT_B) -> Endpoints:
    """The site's URLs, with every path part taken from the config."""
    values = {
        "partner_key": config.partner_key,
        "site_hash": config.site_hash,
        "site_id": str(config.site_id),
        "booking_hash": config.booking_hash,
    }
    base = config.base_url
    return Endpoints(
        auth=config.auth_url + _fill(templates.auth, values),
        species=base + _fill(templates.species, values),
        appointment_types=base + _fill(templates.appointment_types, values),
        schedules=base + _fill(templates.schedules, values),
        slots=base + _fill(templates.slots, values),
        bookings=base + _fill(templates.bookings, values),
    )


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching a path built from `template`, capturing each placeholder by name."""
    parts = _PLACEHOLDER.split(template)
    regex = ""
    for i, part in enumerate(parts):
        # split() alternates literal text and placeholder names.
        regex += f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part)
    return re.compile(f"^{regex}/?$")
