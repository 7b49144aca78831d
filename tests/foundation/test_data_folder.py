"""`data/` in a source checkout: the default home of the history database and its backups (git
ignores them) beside the demo clinic's data file. The packaged app (frozen) keeps them in the
user's data folder instead, which is writable wherever the app was unpacked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from petvisor_desktop import paths
from petvisor_desktop.settings import StorageSettings

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_keeps_its_database_and_backups_in_data() -> None:
    storage = StorageSettings()
    assert storage.db_path == ROOT / "data" / "petvisor.sqlite3"
    assert storage.backup_dir == ROOT / "data" / "backups"
    assert (ROOT / "data" / "demo-clinic.toml").is_file()
    assert (ROOT / "data" / "README.md").is_file()


def test_the_packaged_app_keeps_them_in_the_users_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "petvisor-desktop" / "petvisor-desktop"))
    storage = StorageSettings()
    assert paths.checkout_root() is None
    assert storage.db_path == paths.user_data_dir() / "petvisor.sqlite3"
    assert storage.backup_dir == paths.user_data_dir() / "backups"


def test_git_ignores_the_local_database_and_backups_but_not_the_clinic() -> None:
    local = [
        "data/petvisor.sqlite3",
        "data/petvisor.sqlite3-wal",
        "data/petvisor.sqlite3-shm",
        "data/petvisor.sqlite3.lock",
        "data/petvisor.sqlite3.damaged-20261123T090000Z",
        "data/other.db",
        "data/backups/petvisor-20261123T090000Z.sqlite3",
    ]
    kept = ["data/demo-clinic.toml", "data/README.md"]
    checked = subprocess.run(
        ["git", "check-ignore", "--no-index", *local, *kept],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.stdout.split() == local
