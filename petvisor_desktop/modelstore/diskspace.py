"""Room on the disk: checking there is enough before writing a model, and the error that says
what to do when there is not.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from petvisor_desktop.modelstore.errors import ModelError

# Errors that mean "no room to write": a full disk, a quota, or a file-size limit.
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def _ensure_room(folder: Path, need: int, label: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if need > free:
        raise ModelError(
            "disk-full",
            f"{label} needs {_mb(need)} more in {folder}, but only {_mb(free)} are free; free "
            "some space (or set models.models_dir to another disk) and run the same command "
            "again",
        )


def _no_room(folder: Path, label: str, done: int, total: int | None, exc: OSError) -> ModelError:
    of = f" of {_mb(total)}" if total else ""
    return ModelError(
        "disk-full",
        f"no room left to write {label} in {folder} ({exc.strerror}) after {_mb(done)}{of}; "
        "the partial download is kept: free some space and run the same command again to "
        "resume",
    )
