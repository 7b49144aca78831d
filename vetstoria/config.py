"""Connection settings for one Vetstoria site (the seven seed settings plus timeout and zone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(ValueError):
    """A setting has a value that is not allowed; the message names the setting."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            name, f"must be an http(s) URL such as https://api.example.com, got {value!r}"
        )


@dataclass(frozen=True)
class VetstoriaConfig:
    """Everything the client needs to reach one clinic site.

    `secret` is a credential: it is left out of repr() and must never be logged or stored in
    the history database."""

    base_url: str
    auth_url: str
    partner_key: str
    site_hash: str
    site_id: int
    booking_hash: str
    secret: str = field(repr=False)
    timeout_s: float = 10.0
    timezone: str = "Europe/London"
    max_read_retries: int = 3

    def __post_init__(self) -> None:
        _check_url("vetstoria.base_url", self.base_url)
        _check_url("vetstoria.auth_url", self.auth_url)
        for name in ("partner_key", "site_hash", "booking_hash", "secret"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"vetstoria.{name}", "must be a non-empty string")
            if "/" in value and name != "secret":
                raise ConfigError(f"vetstoria.{name}", "must not contain '/'")
        if isinstance(self.site_id, bool) or not isinstance(self.site_id, int) or self.site_id <= 0:
            raise ConfigError(
                "vetstoria.site_id", f"must be a positive whole number, got {self.site_id!r}"
            )
        if not (0 < float(self.timeout_s) <= 120):
            raise ConfigError(
                "vetstoria.timeout_s", f"must be between 0 and 120 seconds, got {self.timeout_s!r}"
            )
        if not (0 <= self.max_read_retries <= 10):
            raise ConfigError("vetstoria.max_read_retries", "must be between 0 and 10")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                "vetstoria.timezone",
                f"must be an IANA time zone such as Europe/London, got {self.timezone!r}",
            ) from exc
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        object.__setattr__(self, "auth_url", self.auth_url.rstrip("/"))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
