"""A real, small file system that tests can fill up: a 2 MB tmpfs mounted for one test (Linux,
as root; the test is skipped, saying why, where mounting is not permitted) and unmounted after.

    def test_x(small_disk: Path) -> None:
        filler = fill(small_disk)    # no space left
        ...
        filler.unlink()              # space again
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SIZE = "2m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if not sys.platform.startswith("linux"):
        pytest.skip("the full-disk tests mount a small tmpfs, which needs Linux")
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except FileNotFoundError:
        pytest.skip("the full-disk tests mount a small tmpfs: there is no `mount` here")
    if mounted.returncode != 0:
        why = mounted.stderr.strip() or f"exit status {mounted.returncode}"
        pytest.skip(f"the full-disk tests mount a small tmpfs, which is not permitted here: {why}")
    try:
        yield folder
    finally:
        done = subprocess.run(["umount", str(folder)], capture_output=True, timeout=30)
        if done.returncode != 0:  # something still open: detach it, it goes when closed
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def fill(folder: Path) -> Path:
    """Fill the file system holding `folder` to the last byte; returns the filler file (delete
    it to free the space)."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return filler
