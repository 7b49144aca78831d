"""A log file on a full disk never stops the app: its lines are dropped with one clear line on
stderr (not logging's traceback for every line), and logging to the file resumes, saying so,
once there is space again. On a real 2 MB file system filled to the last byte."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from petvisor_desktop.logs import setup_logging
from tests.small_disk import fill, small_disk  # noqa: F401 - the fixture


@pytest.fixture
def our_handlers() -> Iterator[None]:
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_petvisor", False):
            root.removeHandler(handler)
            handler.close()


def test_a_full_disk_pauses_the_log_file_with_one_line_and_no_traceback(
    small_disk: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    our_handlers: None,
) -> None:
    path = setup_logging(small_disk / "logs")
    assert path is not None
    log = logging.getLogger("petvisor_desktop.test_logs_full_disk")
    log.warning("written before the disk filled up")
    filler = fill(small_disk)
    for n in range(40):
        log.warning("line %d while the disk is full %s", n, "x" * 300)
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err
    assert err.count("cannot be written (the disk is full); log lines are dropped") == 1

    filler.unlink()
    log.warning("written once there was space again")
    err = capsys.readouterr().err
    assert err.count(f"the log file {path} can be written again") == 1
    text = path.read_text(encoding="utf-8")
    assert "written before the disk filled up" in text
    assert "written once there was space again" in text
