"""Where a process's resident memory is (Linux): the language model's file, mapped from disk
and shared with the page cache; other model files; libraries; and the process's own
(anonymous) memory, which is what the models' working buffers, Python and Qt take."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

_MODEL_SUFFIXES = (".onnx", ".bin", ".model", ".ort")


@dataclass(frozen=True)
class Resident:
    """Resident memory by kind, in MB (10^6 bytes)."""

    total: float
    llm_file: float  # the GGUF file, memory-mapped: dropped and re-read by the kernel at need
    other_models: float  # other model files read through a mapping
    libraries: float  # shared libraries (.so) and the Python interpreter
    own: float  # anonymous memory: heaps, the models' buffers, the KV cache

    def as_dict(self) -> dict[str, float]:
        return {key: round(value, 1) for key, value in asdict(self).items()}


def resident(pid: int | str = "self") -> Resident | None:
    """The resident memory of process `pid` by kind; None where /proc is not available."""
    try:
        text = Path(f"/proc/{pid}/smaps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    kinds = {"llm_file": 0, "other_models": 0, "libraries": 0, "own": 0}
    kind = "own"
    for line in text.splitlines():
        head = line.split(maxsplit=5)
        if len(head) >= 5 and "-" in head[0] and not head[0].endswith(":"):
            kind = _kind(head[5] if len(head) >= 6 else "")  # a mapping's first line
        elif line.startswith("Rss:"):
            kinds[kind] += int(line.split()[1])
    mb = {key: kb * 1024 / 1e6 for key, kb in kinds.items()}
    return Resident(total=sum(mb.values()), **mb)


def _kind(path: str) -> str:
    if path.endswith(".gguf"):
        return "llm_file"
    if path.endswith(_MODEL_SUFFIXES):
        return "other_models"
    if ".so" in path or "/python" in path:
        return "libraries"
    return "own"  # anonymous, heap, stack, or a deleted file
