"""Engine settings: frozen dataclasses that validate themselves, merged from defaults, a TOML
file in the user's config folder, and `PETVISOR_*` environment variables (highest wins).

Every section is a TOML table of the same name, and every field can be set from the
environment as `PETVISOR_<SECTION>_<FIELD>` (for example `PETVISOR_AUDIO_END_SILENCE_MS=600`).
A few common ones have short names (`PETVISOR_DB_PATH`, `PETVISOR_MODELS_DIR`, ...). A wrong
value raises `SettingsError` naming the setting and what is allowed.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from petvisor_desktop import paths
from petvisor_desktop.hours import HoursError, OpeningHours
from vetstoria.config import ConfigError, VetstoriaConfig


class SettingsError(ValueError):
    """A setting is wrong. `setting` is its dotted name, e.g. `audio.end_silence_ms`."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


_DOMAIN = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")


def _require(ok: bool, setting: str, message: str) -> None:
    if not ok:
        raise SettingsError(setting, message)


@dataclass(frozen=True)
class StorageSettings:
    """The history database, its backups and how long personal data is kept."""

    db_path: Path = field(default_factory=lambda: paths.default_data_dir() / "petvisor.sqlite3")
    backup_dir: Path = field(default_factory=lambda: paths.default_data_dir() / "backups")
    retention_days: int = 90
    backups_keep_daily: int = 7
    backups_keep_weekly: int = 4

    def __post_init__(self) -> None:
        _require(
            1 <= self.retention_days <= 3650, "storage.retention_days", "must be 1 to 3650 days"
        )
        _require(
            0 <= self.backups_keep_daily <= 365, "storage.backups_keep_daily", "must be 0 to 365"
        )
        _require(
            0 <= self.backups_keep_weekly <= 520, "storage.backups_keep_weekly", "must be 0 to 520"
        )
        _require(
            self.backups_keep_daily + self.backups_keep_weekly > 0,
            "storage.backups_keep_daily",
            "keep at least one backup (daily or weekly)",
        )


STT_ENGINES = ("auto", "vosk", "whisper")


@dataclass(frozen=True)
class ModelSettings:
    """Which models to run and where to look for them (names are those of the model manifest).

    `turn_model` is the end-of-turn model (role `turn`; `PETVISOR_MODELS_TURN_MODEL`): it
    judges from the sound of the turn whether the caller has finished, so the kiosk need not
    wait out a fixed silence. `petvisor-desktop models list` shows the models of each role."""

    models_dir: Path = field(default_factory=paths.default_models_dir)
    llm: str = "auto"  # the best-ranked installed LLM of the manifest
    llm_threads: int = 0  # 0: one per physical core
    llm_context_tokens: int = 4096
    stt_engine: str = "auto"
    vosk_model: str = "vosk-model-small-en-us-0.15"
    whisper_model: str = "faster-whisper-tiny.en"
    tts_voice: str = "en_US-joe-medium"
    vad_model: str = "silero-vad-v6"
    turn_model: str = "smart-turn-v3.2-cpu"

    def __post_init__(self) -> None:
        _require(
            self.stt_engine in STT_ENGINES,
            "models.stt_engine",
            f"must be one of {', '.join(STT_ENGINES)}",
        )
        _require(0 <= self.llm_threads <= 64, "models.llm_threads", "must be 0 (automatic) to 64")
        _require(
            512 <= self.llm_context_tokens <= 32768,
            "models.llm_context_tokens",
            "must be 512 to 32768",
        )
        for name in ("llm", "vosk_model", "whisper_model", "tts_voice", "vad_model", "turn_model"):
            _require(bool(getattr(self, name).strip()), f"models.{name}", "must not be empty")

    def search_path(self) -> list[Path]:
        return paths.model_search_path(self.models_dir)


@dataclass(frozen=True)
class AudioSettings:
    """Devices and turn-taking. Device None means the system default."""

    input_device: str | None = None
    output_device: str | None = None
    sample_rate_hz: int = 16000
    # How the end of a caller's turn is found (voice/turn_taking.py): "silence" waits for
    # `end_silence_ms`, scaled per step (shorter after a yes/no question, longer where answers
    # come in groups: phone numbers, e-mail addresses); "model" asks the end-of-turn model
    # after `turn_check_ms` of silence and ends the turn when it says the caller has
    # finished, at the latest after `max_end_silence_ms` (the grouped steps keep the fixed
    # silence). "silence" is the default: on this machine's synthetic callers the model
    # ended 10-25% of turns before the caller had finished (README, "Turn-taking").
    turn_taking: str = "silence"
    turn_check_ms: int = 200
    max_end_silence_ms: int = 1500
    end_silence_ms: int = 550
    pre_roll_ms: int = 300
    vad_threshold: float = 0.5
    noise_reduction: bool = False
    barge_in: bool = True
    # Speech over the assistant that stops it. A cough, bark or door is not speech to Silero.
    min_barge_in_ms: int = 150

    def __post_init__(self) -> None:
        _require(
            self.sample_rate_hz in (8000, 16000), "audio.sample_rate_hz", "must be 8000 or 16000"
        )
        _require(
            100 <= self.end_silence_ms <= 5000, "audio.end_silence_ms", "must be 100 to 5000 ms"
        )
        _require(
            self.turn_taking in ("model", "silence"),
            "audio.turn_taking",
            "must be model or silence",
        )
        _require(50 <= self.turn_check_ms <= 2000, "audio.turn_check_ms", "must be 50 to 2000 ms")
        _require(
            self.end_silence_ms <= self.max_end_silence_ms <= 10000,
            "audio.max_end_silence_ms",
            "must be at least audio.end_silence_ms and at most 10000 ms",
        )
        _require(0 <= self.pre_roll_ms <= 2000, "audio.pre_roll_ms", "must be 0 to 2000 ms")
        _require(0.05 <= self.vad_threshold <= 0.95, "audio.vad_threshold", "must be 0.05 to 0.95")
        _require(
            50 <= self.min_barge_in_ms <= 2000, "audio.min_barge_in_ms", "must be 50 to 2000 ms"
        )


@dataclass(frozen=True)
class ClinicSettings:
    """What the assistant says about the clinic it works for."""

    name: str = "Petvisor Demo Clinic"
    phone: str = "020 7946 0000"
    timezone: str = "Europe/London"
    idle_timeout_s: int = 60
    booking_lead_min: int = 30  # no appointment offered that starts sooner than this
    # When reception is staffed (petvisor_desktop/hours.py has the format); "" keeps none.
    opening_hours: str = "mon-fri 08:30-18:00; sat 09:00-12:00"
    # Given for emergencies while the clinic is closed; "" gives the clinic's own number.
    out_of_hours_phone: str = ""
    # The e-mail domains the clinic's clients mostly use, most used first (spaces or commas
    # between them). An address not heard clearly is tried against the caller's names at the
    # domain heard and the first two of these (`normalize.likely_addresses`). The demo
    # clinic's callers use example.com; a real clinic lists its clients' providers.
    email_domains: str = "example.com gmail.com hotmail.co.uk outlook.com"

    def __post_init__(self) -> None:
        _require(bool(self.name.strip()), "clinic.name", "must not be empty")
        try:
            self.hours  # noqa: B018 - parsed once here, kept for every later read
        except HoursError as exc:
            raise SettingsError("clinic.opening_hours", str(exc)) from None
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                "clinic.timezone",
                f"must be an IANA time zone such as Europe/London, got {self.timezone!r}",
            ) from None
        _require(10 <= self.idle_timeout_s <= 3600, "clinic.idle_timeout_s", "must be 10 to 3600 s")
        _require(
            all(_DOMAIN.fullmatch(d) for d in self.domains),
            "clinic.email_domains",
            "must be domains such as gmail.com, separated by spaces or commas",
        )
        _require(
            0 <= self.booking_lead_min <= 1440,
            "clinic.booking_lead_min",
            "must be 0 to 1440 minutes",
        )

    @functools.cached_property
    def hours(self) -> OpeningHours:
        return OpeningHours.parse(self.opening_hours)

    @property
    def domains(self) -> tuple[str, ...]:
        """`email_domains` as a tuple, lower case."""
        return tuple(d.lower() for d in re.split(r"[\s,]+", self.email_domains) if d)

    @property
    def emergency_phone(self) -> str:
        return self.out_of_hours_phone.strip() or self.phone


@dataclass(frozen=True)
class VetstoriaSettings:
    """The seven seed settings of a real site. All empty means: use the embedded sandbox clinic."""

    base_url: str = ""
    auth_url: str = ""
    partner_key: str = ""
    secret: str = field(default="", repr=False)
    site_hash: str = ""
    site_id: int = 0
    booking_hash: str = ""
    timeout_s: float = 10.0

    SEEDS = (
        "base_url",
        "auth_url",
        "partner_key",
        "secret",
        "site_hash",
        "site_id",
        "booking_hash",
    )

    @property
    def use_sandbox(self) -> bool:
        return not any(getattr(self, name) for name in self.SEEDS)

    def __post_init__(self) -> None:
        if self.use_sandbox:
            return
        missing = [name.upper() for name in self.SEEDS if not getattr(self, name)]
        _require(
            not missing,
            "vetstoria",
            f"a real site needs all seven seed settings; missing {', '.join(missing)}"
            " (leave all empty to use the sandbox clinic)",
        )

    def to_config(self, timezone: str) -> VetstoriaConfig:
        try:
            return VetstoriaConfig(
                base_url=self.base_url,
                auth_url=self.auth_url,
                partner_key=self.partner_key,
                secret=self.secret,
                site_hash=self.site_hash,
                site_id=self.site_id,
                booking_hash=self.booking_hash,
                timeout_s=self.timeout_s,
                timezone=timezone,
            )
        except ConfigError as exc:
            raise SettingsError(exc.setting, str(exc).split(": ", 1)[-1]) from None


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings = field(default_factory=StorageSettings)
    models: ModelSettings = field(default_factory=ModelSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    clinic: ClinicSettings = field(default_factory=ClinicSettings)
    vetstoria: VetstoriaSettings = field(default_factory=VetstoriaSettings)
    log_dir: Path = field(default_factory=paths.user_log_dir)
    config_path: Path | None = None

    def vetstoria_config(self) -> VetstoriaConfig | None:
        """The real site's config, or None when the embedded sandbox clinic is to be used."""
        if self.vetstoria.use_sandbox:
            return None
        return self.vetstoria.to_config(self.clinic.timezone)


SECTIONS: dict[str, type] = {
    "storage": StorageSettings,
    "models": ModelSettings,
    "audio": AudioSettings,
    "clinic": ClinicSettings,
    "vetstoria": VetstoriaSettings,
}

# Short environment names for the settings people set most.
ENV_ALIASES: dict[str, tuple[str, str]] = {
    "PETVISOR_DB_PATH": ("storage", "db_path"),
    "PETVISOR_BACKUP_DIR": ("storage", "backup_dir"),
    "PETVISOR_RETENTION_DAYS": ("storage", "retention_days"),
    "PETVISOR_MODELS_DIR": ("models", "models_dir"),
    "PETVISOR_LLM": ("models", "llm"),
    "PETVISOR_STT_ENGINE": ("models", "stt_engine"),
    "PETVISOR_TIMEZONE": ("clinic", "timezone"),
}
# The Vetstoria seeds are accepted under their partner-programme names, prefixed.
for _seed in VetstoriaSettings.SEEDS:
    ENV_ALIASES[f"VETSTORIA_{_seed.upper()}"] = ("vetstoria", _seed)


def default_config_path() -> Path:
    return paths.user_config_dir() / "settings.toml"


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _coerce(setting: str, raw: Any, kind: Any) -> Any:
    """Turn a TOML or environment value into the field's type, or say what is allowed."""
    optional = False
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        optional = len(args) < len(typing.get_args(kind))
        kind = args[0]
    if optional and (
        raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "default", "none"))
    ):
        return None
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            return int(raw)
        if kind is float:
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if kind is Path:
            if not isinstance(raw, str | Path) or not str(raw).strip():
                raise ValueError
            return Path(os.path.expandvars(str(raw))).expanduser()
        if kind is str:
            if not isinstance(raw, str | int | float) or isinstance(raw, bool):
                raise ValueError
            return str(raw)
    except (TypeError, ValueError):
        pass
    else:
        raise SettingsError(setting, f"unsupported setting type {kind!r}")
    names = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        Path: "a path",
        str: "text",
    }
    raise SettingsError(setting, f"must be {names.get(kind, kind)}, got {raw!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(str(path), f"is not valid TOML: {exc}") from None
    except OSError as exc:
        raise SettingsError(str(path), f"cannot be read: {exc.strerror}") from None


KEYRING_SERVICE = "petvisor-desktop"
KEYRING_SECRET_USER = "vetstoria-secret"


def keychain_secret() -> str | None:
    """The Vetstoria secret from the OS keychain (keyring), or None where there is no
    keychain or no secret stored. Never raises: a locked or absent keychain is not fatal."""
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, KEYRING_SECRET_USER)
    except Exception as exc:  # noqa: BLE001 - keyring backends raise their own types
        logging.getLogger(__name__).warning("could not read the keychain: %s", exc)
        return None


def load_settings(
    config_path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Merge defaults, the settings file and the environment into validated Settings."""
    env = os.environ if env is None else env
    explicit = config_path or env.get("PETVISOR_CONFIG")
    path = Path(explicit).expanduser() if explicit else default_config_path()
    if explicit and not path.is_file():
        raise SettingsError("PETVISOR_CONFIG", f"settings file {path} does not exist")
    data = _read_toml(path) if path.is_file() else {}

    values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    top: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise SettingsError(key, "must be a table, e.g. [" + key + "]")
            fields = _field_types(SECTIONS[key])
            for fkey, fvalue in value.items():
                name = fkey.lower()  # the Vetstoria seeds may be written BASE_URL = ...
                if name not in fields:
                    allowed = ", ".join(fields)
                    raise SettingsError(f"{key}.{fkey}", f"is not a setting; allowed: {allowed}")
                values[key][name] = _coerce(f"{key}.{name}", fvalue, fields[name])
        elif key == "log_dir":
            top["log_dir"] = _coerce("log_dir", value, Path)
        else:
            raise SettingsError(
                key, f"is not a settings section; allowed: {', '.join(SECTIONS)}, log_dir"
            )

    for var, raw in env.items():
        target: tuple[str, str] | None = ENV_ALIASES.get(var)
        if target is None and var.startswith("PETVISOR_"):
            rest = var[len("PETVISOR_") :].lower()
            section, _, name = rest.partition("_")
            if section in SECTIONS and name in _field_types(SECTIONS[section]):
                target = (section, name)
            elif section == "vetstoria":
                raise SettingsError(var, "is not a Vetstoria setting")
        if target is None:
            if var == "PETVISOR_LOG_DIR":
                top["log_dir"] = _coerce(var, raw, Path)
            continue
        section, name = target
        values[section][name] = _coerce(var, raw, _field_types(SECTIONS[section])[name])

    seeds = values["vetstoria"]
    if any(seeds.get(n) for n in VetstoriaSettings.SEEDS) and not seeds.get("secret"):
        # The settings screen keeps the secret in the OS keychain, never in the file.
        secret = keychain_secret()
        if secret:
            seeds["secret"] = secret

    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        try:
            sections[name] = cls(**values[name])
        except SettingsError:
            raise
        except (TypeError, ValueError) as exc:
            raise SettingsError(name, str(exc)) from None
    return Settings(**sections, **top, config_path=path if path.is_file() else None)
