"""Resident memory by kind (`petvisor_desktop.memory`), read from this very process."""

from __future__ import annotations

import mmap
import sys
from pathlib import Path

import pytest

from petvisor_desktop.memory import resident

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise AssertionError("no VmRSS")


def test_the_kinds_add_up_to_the_resident_set() -> None:
    mem = resident()
    assert mem is not None
    parts = mem.llm_file + mem.other_models + mem.libraries + mem.own
    assert parts == pytest.approx(mem.total)
    assert mem.total == pytest.approx(vm_rss_mb(), rel=0.05)
    assert mem.libraries > 1 and mem.own > 1


def test_a_mapped_model_file_is_counted_as_the_model_not_as_our_own(tmp_path: Path) -> None:
    size = 32 * 1024 * 1024
    model = tmp_path / "model.gguf"
    model.write_bytes(b"\x01" * size)
    before = resident()
    with model.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        total = sum(mapped[i] for i in range(0, size, mmap.PAGESIZE))  # touch every page
        assert total == size // mmap.PAGESIZE
        during = resident()
    assert before is not None and during is not None
    assert during.llm_file - before.llm_file == pytest.approx(size / 1e6, rel=0.05)
    assert during.own - before.own < 4  # MB: the file's pages are not the process's own


def test_another_process_or_none() -> None:
    assert resident(2**22 + 7) is None  # no such process: no figures, no error
