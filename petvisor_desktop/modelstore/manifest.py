"""The model manifest (`models/manifest.toml`): what each model is, its files, checksums,
official sources and development packages; and where an installed model lives.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petvisor_desktop import paths
from petvisor_desktop.modelstore.errors import ModelError

# Another manifest file instead of the one shipped with the app (tests, custom models).
MANIFEST_ENV = "PETVISOR_MODELS_MANIFEST"


@dataclass(frozen=True)
class DevSource:
    packages: tuple[str, ...]
    members: tuple[str, ...]
    split: bool  # parts concatenated into the model's single file


@dataclass(frozen=True)
class Archive:
    """A zip holding the model folder (Vosk's official downloads)."""

    url: str
    sha256: str
    root: str  # the folder inside the zip that becomes the model's folder ("" for the top)


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
    archive: Archive | None = None
    page: str = ""
    dev: DevSource | None = None

    @property
    def has_official_source(self) -> bool:
        return bool(self.urls or self.archive)

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
    override = os.environ.get(MANIFEST_ENV)
    if override:
        return Path(override).expanduser()
    for base in (
        paths.checkout_root(),
        paths.bundle_root(),
        Path(__file__).resolve().parent.parent / "data",  # petvisor_desktop/data
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
        official = entry.get("official", {})
        archive = None
        if official.get("archive"):
            archive = Archive(
                url=official["archive"],
                sha256=official.get("archive_sha256", ""),
                root=official.get("archive_root", "").strip("/"),
            )
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
            urls=_as_tuple(official.get("urls")),
            archive=archive,
            page=official.get("page", ""),
            dev=dev,
        )
        if len(spec.sha256) != len(spec.files):
            raise ModelError(
                "manifest", f"model {spec.name}: files and sha256 lists differ in length"
            )
        if spec.urls and len(spec.urls) != len(spec.files):
            raise ModelError(
                "manifest", f"model {spec.name}: official urls and files differ in length"
            )
        specs[spec.name] = spec
    return specs
