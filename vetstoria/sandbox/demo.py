"""The demo clinic: fixed data and public demo credentials, so that scenario expectations and
the printed sandbox settings stay stable from run to run."""

from __future__ import annotations

from datetime import time, timedelta

from vetstoria.config import VetstoriaConfig

# Public demo credentials: they only open the local sandbox, so printing them is fine.
DEMO_PARTNER_KEY = "petvisor-demo"
DEMO_SECRET = "sandbox-demo-secret"
DEMO_SITE_HASH = "demo-clinic-4f7c2a"
DEMO_SITE_ID = 4242
DEMO_BOOKING_HASH = "demo-booking-9b1e"
DEMO_TIMEZONE = "Europe/London"

SPECIES: dict[int, str] = {1: "Dog", 2: "Cat"}
APPOINTMENT_TYPES: dict[int, str] = {
    6963: "Vaccinations",
    6964: "Consultation",
    6966: "Nurse appointment",
    6994: "Dental",
}
SCHEDULES: dict[int, str] = {85267: "Dr Amy Roberts", 85268: "Dr Michael Norman"}
# One fixed partition per schedule; a booking must echo the one its slot was offered with.
PARTITIONS: dict[int, int] = {85267: 1, 85268: 2}

OPENS = time(9, 0)
LAST_START = time(15, 45)
SLOT_LENGTH = timedelta(minutes=15)
WEEKDAYS = frozenset(range(5))  # Monday to Friday


def demo_config(url: str, *, timeout_s: float = 5.0, max_read_retries: int = 3) -> VetstoriaConfig:
    """Settings that reach a sandbox clinic serving at `url` (auth and API on the same host)."""
    return VetstoriaConfig(
        base_url=url,
        auth_url=url,
        partner_key=DEMO_PARTNER_KEY,
        site_hash=DEMO_SITE_HASH,
        site_id=DEMO_SITE_ID,
        booking_hash=DEMO_BOOKING_HASH,
        secret=DEMO_SECRET,
        timeout_s=timeout_s,
        timezone=DEMO_TIMEZONE,
        max_read_retries=max_read_retries,
    )


def catalogue(names: dict[int, str]) -> list[dict[str, object]]:
    """A catalogue list in the API's shape."""
    return [
        {"id": item_id, "name": name, "displayOrder": order, "isDigitalMarketing": False}
        for order, (item_id, name) in enumerate(names.items(), start=1)
    ]
