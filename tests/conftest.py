"""Shared test setup: every test run gets its own user folders, so nothing touches the
developer's real settings, logs, caches or database."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from petvisor_desktop import modelstore
from petvisor_desktop.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        os.environ[var] = str(home / sub)
    os.environ["PETVISOR_LOG_DIR"] = str(home / "logs")
    os.environ["PETVISOR_DB_PATH"] = str(home / "data" / "petvisor.sqlite3")
    os.environ["PETVISOR_BACKUP_DIR"] = str(home / "data" / "backups")
    os.environ.pop("PETVISOR_CONFIG", None)
    # Never the developer's real keychain: a backend that stores nothing (tests that need a
    # keychain install their own in memory).
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"


@pytest.fixture(scope="session")
def settings(_isolated_user_dirs: None) -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def require_model(settings: Settings) -> Callable[..., modelstore.InstalledModel]:
    """Find an installed model through the app's own search path; skip clearly when it is
    missing on a developer's machine (CI installs every model, so nothing is skipped there)."""

    def find(role: str, name: str = "auto") -> modelstore.InstalledModel:
        try:
            return modelstore.find_role(role, name, settings.models.search_path())
        except modelstore.ModelError as exc:
            if os.environ.get("CI"):
                raise
            pytest.skip(str(exc))

    return find
