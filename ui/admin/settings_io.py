"""Reading and writing the settings file (TOML in the user's config folder) for the settings
screen: the file is validated with the engine's own loader before it replaces the old one,
and the Vetstoria secret never goes into it (it lives in the keychain)."""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from petvisor_desktop.settings import Settings, default_config_path, load_settings


def config_path(settings: Settings) -> Path:
    return settings.config_path or default_config_path()


def read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes).
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} to the settings file")


def dumps(data: Mapping[str, Any]) -> str:
    """Flat sections of scalars, as the settings file has them. None values are left out
    (the setting's default applies)."""
    lines = ["# Petvisor Desktop settings (written by the settings screen).", ""]
    for key, value in data.items():
        if not isinstance(value, Mapping) and value is not None:
            lines.append(f"{key} = {_value(value)}")
    for section, values in data.items():
        if not isinstance(values, Mapping):
            continue
        lines.append("")
        lines.append(f"[{section}]")
        for key, value in values.items():
            if value is not None:
                lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines) + "\n"


def merge(existing: Mapping[str, Any], changes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The file's content with `changes` applied per section; a None value removes the key."""
    merged: dict[str, Any] = {
        k: dict(v) if isinstance(v, Mapping) else v for k, v in existing.items()
    }
    for section, values in changes.items():
        table = merged.setdefault(section, {})
        for key, value in values.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
        if not table:
            merged.pop(section)
    return merged


def save(
    path: Path,
    changes: Mapping[str, Mapping[str, Any]],
    *,
    secret: str | None = None,
) -> Settings:
    """Apply `changes` to the settings file at `path` and return the settings it now gives
    (environment variables aside). Raises SettingsError, naming the setting, and leaves
    the file as it was when the result would not load. `secret` is only used to validate
    a real Vetstoria site; it is not written."""
    data = merge(read_file(path), changes)
    vetstoria = data.get("vetstoria")
    if isinstance(vetstoria, dict):
        vetstoria.pop("secret", None)
        vetstoria.pop("SECRET", None)
    text = dumps(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".settings-", suffix=".toml", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        env = {"VETSTORIA_SECRET": secret} if secret else {}
        settings = load_settings(config_path=tmp, env=env)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return settings
