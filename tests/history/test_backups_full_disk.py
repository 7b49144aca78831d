"""A backup that finds no space (on the backup disk, or on the database's own disk where the
snapshot is made) fails with one clear line saying which disk is full, leaves no partial file,
and does not touch the history. On a real 2 MB file system filled to the last byte."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from petvisor_desktop.history import History, check_database
from tests.history.conftest import CliEnv, CliResult, fill
from tests.small_disk import fill as fill_disk
from tests.small_disk import small_disk  # noqa: F401 - the fixture


@pytest.mark.parametrize("full", ["backup folder", "database disk"])
def test_a_backup_on_a_full_disk_fails_clearly_and_leaves_nothing_behind(
    full: str,
    small_disk: Path,  # noqa: F811
    cli_env: CliEnv,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if full == "database disk":
        cli_env.db_path = small_disk / "petvisor.sqlite3"
        monkeypatch.setenv("PETVISOR_DB_PATH", str(cli_env.db_path))
        dest = cli_env.backup_dir
    else:
        dest = small_disk / "backups"
    with History.open(cli_env.db_path) as history:
        fill(history, conversations=3, turns=2)
    before = cli_env.db_path.read_bytes()
    filler = fill_disk(small_disk)
    try:
        result = cli("backup", "--dest", str(dest))
    finally:
        filler.unlink()
    assert result.status == 1
    assert "Traceback" not in result.err
    (line,) = result.err.strip().splitlines()
    disk = small_disk if full == "database disk" else dest
    assert line == (
        f"petvisor-desktop: backup to {dest} failed: the disk holding {disk} is full; free "
        "some space there (the history itself is not affected)"
    )
    assert not dest.exists() or not list(dest.iterdir())  # no partial backup
    assert not list(cli_env.db_path.parent.glob(".*snapshot*"))
    assert cli_env.db_path.read_bytes() == before and check_database(cli_env.db_path).ok
