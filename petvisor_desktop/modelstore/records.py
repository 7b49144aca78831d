"""Install records: the `.petvisor-model.json` written last into a model folder (every file's
size and SHA-256), hashing, re-checking an installed model, and swapping a finished
staging folder into place. Shared by both installers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from petvisor_desktop.modelstore.manifest import InstalledModel, ModelSpec

RECORD = ".petvisor-model.json"
CHUNK = 1 << 20

# What both installers report as they go: (model or file, bytes done, bytes in all if known).
Progress = Callable[[str, int, int | None], None]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_record(folder: Path) -> dict[str, Any] | None:
    """The install record of a model folder: its files' sizes and SHA-256, and where they came
    from (`source`) and what vouched for them (`checked`: manifest, record or unverified)."""
    return _read_record(folder)


def is_installed(spec: ModelSpec, folder: Path) -> bool:
    """Quick check: the record is there and every recorded file has its recorded size."""
    record = _read_record(folder)
    if not record or record.get("name") != spec.name:
        return False
    files = record.get("files", {})
    if not files:
        return False
    for rel in spec.files:
        if rel not in files:
            return False
    for rel, info in files.items():
        try:
            if (folder / rel).stat().st_size != info["size"]:
                return False
        except OSError:
            return False
    return True


def verify(installed: InstalledModel) -> list[str]:
    """Re-hash every file; return the problems found (empty when the model is intact)."""
    problems: list[str] = []
    record = _read_record(installed.path) or {}
    for rel, info in record.get("files", {}).items():
        path = installed.path / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        actual = sha256_file(path)
        expected = installed.spec.expected_sha(rel) or info.get("sha256", "")
        if actual != expected:
            problems.append(f"{rel}: SHA-256 {actual[:12]}... does not match {expected[:12]}...")
    if not record:
        problems.append("no install record; reinstall the model")
    return problems


def write_record(spec: ModelSpec, folder: Path, hashes: dict[str, str], **about: str) -> None:
    """Write the install record last: from then on the folder counts as installed. `about`
    notes where the files came from (`source`) and what vouched for them (`checked`)."""
    files = {
        rel: {"sha256": sha, "size": (folder / rel).stat().st_size} for rel, sha in hashes.items()
    }
    tmp = folder / (RECORD + ".tmp")
    body = {"name": spec.name, "files": files, **about}
    tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
    os.replace(tmp, folder / RECORD)


def swap_in(staging: Path, folder: Path) -> None:
    """Move a complete staging folder to `folder` in one rename; an older copy is moved aside
    first (a folder cannot be renamed over a non-empty one) and removed afterwards."""
    old = None
    if folder.exists() or folder.is_symlink():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(staging, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
