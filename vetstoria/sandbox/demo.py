"""The demo clinic: its data (read from `data/demo-clinic.toml`, see `clinic_data`) and public
demo credentials, fixed so that scenario expectations and the printed sandbox settings stay
stable from run to run."""

from __future__ import annotations

from vetstoria.config import VetstoriaConfig
from vetstoria.sandbox.clinic_data import load_clinic

# Public demo credentials: they only open the local sandbox, so printing them is fine.
DEMO_PARTNER_KEY = "petvisor-demo"
DEMO_SECRET = "sandbox-demo-secret"
DEMO_SITE_HASH = "demo-clinic-4f7c2a"
DEMO_SITE_ID = 4242
DEMO_BOOKING_HASH = "demo-booking-9b1e"

CLINIC = load_clinic()
DEMO_TIMEZONE = CLINIC.timezone
SPECIES: dict[int, str] = CLINIC.species
APPOINTMENT_TYPES: dict[int, str] = CLINIC.appointment_types
SCHEDULES: dict[int, str] = CLINIC.schedules
# One fixed partition per schedule; a booking must echo the one its slot was offered with.
PARTITIONS: dict[int, int] = CLINIC.partitions


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
