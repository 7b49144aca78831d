"""Settings: defaults, the TOML file, environment overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from petvisor_desktop.settings import SettingsError, load_settings


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_valid_and_use_the_sandbox(tmp_path: Path) -> None:
    settings = load_settings(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert settings.vetstoria.use_sandbox
    assert settings.vetstoria_config() is None
    assert settings.audio.sample_rate_hz == 16000
    assert settings.models.llm == "auto"


def test_file_then_environment_precedence(tmp_path: Path) -> None:
    path = _write(tmp_path, "[audio]\nend_silence_ms = 900\n[storage]\nretention_days = 30\n")
    env = {
        "PETVISOR_CONFIG": str(path),
        "PETVISOR_AUDIO_END_SILENCE_MS": "650",
        "PETVISOR_DB_PATH": str(tmp_path / "x.sqlite3"),
        "PETVISOR_MODELS_DIR": "~/m",
    }
    settings = load_settings(env=env)
    assert settings.audio.end_silence_ms == 650  # environment beats the file
    assert settings.storage.retention_days == 30  # the file beats the default
    assert settings.storage.db_path == tmp_path / "x.sqlite3"
    assert settings.models.models_dir == Path("~/m").expanduser()
    assert settings.config_path == path


@pytest.mark.parametrize(
    ("env", "setting", "fragment"),
    [
        (
            {"PETVISOR_AUDIO_END_SILENCE_MS": "fast"},
            "PETVISOR_AUDIO_END_SILENCE_MS",
            "whole number",
        ),
        ({"PETVISOR_AUDIO_END_SILENCE_MS": "50"}, "audio.end_silence_ms", "100 to 5000"),
        ({"PETVISOR_STT_ENGINE": "google"}, "models.stt_engine", "auto, vosk, whisper"),
        ({"PETVISOR_TIMEZONE": "Mars/Olympus"}, "clinic.timezone", "IANA"),
        (
            {"PETVISOR_AUDIO_NOISE_REDUCTION": "maybe"},
            "PETVISOR_AUDIO_NOISE_REDUCTION",
            "true or false",
        ),
        (
            {"PETVISOR_VETSTORIA_COLOUR": "x"},
            "PETVISOR_VETSTORIA_COLOUR",
            "not a Vetstoria setting",
        ),
        ({"PETVISOR_CONFIG": "/nonexistent/settings.toml"}, "PETVISOR_CONFIG", "does not exist"),
        (
            {"PETVISOR_CLINIC_EMAIL_DOMAINS": "gmail, hotmail"},
            "clinic.email_domains",
            "domains such as gmail.com",
        ),
    ],
)
def test_wrong_values_name_the_setting(env: dict[str, str], setting: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env=env)
    assert info.value.setting == setting
    assert fragment in str(info.value)


def test_unknown_key_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(
        SettingsError, match=r"audio\.volume: is not a setting; allowed: input_device"
    ):
        load_settings(env={"PETVISOR_CONFIG": str(_write(tmp_path, "[audio]\nvolume = 3\n"))})
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(env={"PETVISOR_CONFIG": str(_write(tmp_path, "[audio\n"))})


def test_vetstoria_seeds_from_file_and_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, '[vetstoria]\nBASE_URL = "https://api.example.com/v2"\nSITE_ID = 12\n')
    env = {
        "PETVISOR_CONFIG": str(path),
        "VETSTORIA_AUTH_URL": "https://auth.example.com",
        "VETSTORIA_PARTNER_KEY": "pk1",
        "VETSTORIA_SECRET": "s3cret-value",
        "VETSTORIA_SITE_HASH": "hash1",
        "VETSTORIA_BOOKING_HASH": "bh1",
    }
    settings = load_settings(env=env)
    config = settings.vetstoria_config()
    assert config is not None
    assert config.base_url == "https://api.example.com/v2"
    assert config.site_id == 12
    assert config.timezone == "Europe/London"
    assert "s3cret-value" not in repr(config) and "s3cret-value" not in repr(settings)


def test_partial_vetstoria_settings_name_what_is_missing() -> None:
    with pytest.raises(SettingsError, match="missing AUTH_URL, PARTNER_KEY, SECRET"):
        load_settings(
            env={
                "VETSTORIA_BASE_URL": "https://api.example.com",
                "VETSTORIA_SITE_ID": "3",
                "VETSTORIA_SITE_HASH": "h",
                "VETSTORIA_BOOKING_HASH": "b",
            }
        )


def test_bad_vetstoria_url_is_named() -> None:
    env = {
        name: "x"
        for name in (
            "VETSTORIA_PARTNER_KEY",
            "VETSTORIA_SECRET",
            "VETSTORIA_SITE_HASH",
            "VETSTORIA_BOOKING_HASH",
        )
    }
    env.update(
        VETSTORIA_BASE_URL="ftp://nowhere",
        VETSTORIA_AUTH_URL="https://a.example.com",
        VETSTORIA_SITE_ID="4",
    )
    settings = load_settings(env=env)
    with pytest.raises(SettingsError) as info:
        settings.vetstoria_config()
    assert info.value.setting == "vetstoria.base_url"


def test_the_secret_comes_from_the_keychain_when_the_file_has_none(tmp_path: Path) -> None:
    """The settings screen writes six seeds to the file and the secret to the keychain."""
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            self.store = {("petvisor-desktop", "vetstoria-secret"): "from-keychain"}

        def get_password(self, service: str, username: str) -> str | None:
            return self.store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.store.pop((service, username), None)

    path = _write(
        tmp_path,
        '[vetstoria]\nBASE_URL = "https://api.example.com/v2"\nAUTH_URL = "https://a.example.com"\n'
        'PARTNER_KEY = "pk"\nSITE_HASH = "h"\nSITE_ID = 4\nBOOKING_HASH = "b"\n',
    )
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        settings = load_settings(env={"PETVISOR_CONFIG": str(path)})
    finally:
        keyring.set_keyring(previous)
    assert settings.vetstoria.secret == "from-keychain"
    # With nothing in the keychain the missing secret is named, as before.
    with pytest.raises(SettingsError, match="missing SECRET"):
        load_settings(env={"PETVISOR_CONFIG": str(path)})


def test_the_clinics_usual_email_domains_are_read_in_order() -> None:
    settings = load_settings(env={"PETVISOR_CLINIC_EMAIL_DOMAINS": "Gmail.com, hotmail.co.uk"})
    assert settings.clinic.domains == ("gmail.com", "hotmail.co.uk")
