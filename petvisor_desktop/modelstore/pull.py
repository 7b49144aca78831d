"""`ModelPuller`: installing models from their official downloads, a mirror, or a folder of the
files; downloads in progress live under `<models_dir>/.partial/`, where nothing looks.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from petvisor_desktop.modelstore.diskspace import _NO_ROOM, _ensure_room, _no_room
from petvisor_desktop.modelstore.download import Downloading, _Item
from petvisor_desktop.modelstore.errors import ModelError
from petvisor_desktop.modelstore.manifest import InstalledModel, ModelSpec
from petvisor_desktop.modelstore.records import (
    CHUNK,
    RECORD,
    Progress,
    _read_record,
    is_installed,
    sha256_file,
    swap_in,
    write_record,
)

log = logging.getLogger(__name__)

PARTIAL_DIR = ".partial"  # downloads in progress, one folder per model
# A folder or web address laid out as `<base>/<model name>/<file>`, tried instead of the
# official hosts (a clinic's own mirror, or a proxy-friendly copy).
MIRROR_ENV = "PETVISOR_MODELS_MIRROR"


def _url_name(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name)


def _safe_parts(rel: str) -> tuple[str, ...]:
    """The parts of an archive member's path; refuses anything that would escape the folder."""
    parts = PurePosixPath(rel.replace("\\", "/")).parts
    if (
        not parts
        or parts[0] in ("/", "")
        or any(p in ("..", ".") for p in parts)
        or ":" in parts[0]
    ):
        raise ModelError("archive", f"the archive holds an unsafe path {rel!r}; nothing installed")
    return parts


@dataclass
class ModelPuller(Downloading):
    """Installs models from their official downloads, a mirror, or a folder of the files.

    A download goes to `<target>/.partial/<name>/<file>.part` and resumes there with an HTTP
    Range request (guarded by If-Range with the server's ETag) after a dropped connection, a
    full disk or a cancelled run; each file's SHA-256 is computed as it streams and checked
    against the manifest. Only then is the model assembled in a staging folder beside its
    target (archives unpacked there) and renamed into place, its record written last.

    `source`: None for the official hosts; an http(s) address of a mirror laid out as
    `<base>/<model name>/<file>`; or a folder holding the files (flat, or one folder per
    model, or the model's folder as another install left it)."""

    target_dir: Path
    source: str | None = None
    progress: Progress | None = None
    allow_unverified: bool = False
    retries: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 30.0
    cancel: threading.Event = field(default_factory=threading.Event)
    _client: Any = field(default=None, init=False, repr=False)

    # -- public -------------------------------------------------------------------------------
    def pull(self, spec: ModelSpec, *, force: bool = False) -> InstalledModel:
        """Install `spec` into `target_dir` (replacing an older copy only once the new one is
        complete when `force`); raises ModelError saying what went wrong and what to do."""
        folder = self.target_dir / spec.name
        if not force and is_installed(spec, folder):
            return InstalledModel(spec, folder)
        local = self._local_source()
        if local is not None:
            return self._from_folder(spec, local)
        items = self._items(spec)
        unknown = [i.rel for i in items if not i.sha256]
        if unknown and not self.allow_unverified:
            raise ModelError(
                "unverified",
                f"the manifest has no SHA-256 for {spec.name} ({', '.join(unknown)}), so the "
                "download could not be checked; nothing was downloaded. Add the checksum to "
                "the manifest, or pass --allow-unverified to install it anyway (its SHA-256 "
                "is then printed and recorded, and `models verify` checks it from then on)",
            )
        partial = self.target_dir / PARTIAL_DIR / spec.name
        partial.mkdir(parents=True, exist_ok=True)
        fetched: dict[str, tuple[Path, str]] = {}
        try:
            for item in items:
                dest = partial / item.rel.replace("/", "__")
                url = self._url(spec, item)
                fetched[item.rel] = (dest, self._download(spec, item, url, dest))
        finally:
            self.close()
        where = self.source or urlsplit(items[0].url).netloc
        checked = "manifest" if not unknown else "unverified"
        if spec.archive is not None:
            (zip_path, _sha) = fetched[items[0].rel]
            installed = self._install_archive(spec, zip_path, where, checked)
        else:
            installed = self._install_files(spec, fetched, where, checked)
        shutil.rmtree(partial, ignore_errors=True)
        with contextlib.suppress(OSError):
            (self.target_dir / PARTIAL_DIR).rmdir()  # only when no other model is in progress
        return installed

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- planning -----------------------------------------------------------------------------
    def _local_source(self) -> Path | None:
        if self.source and not self.source.startswith(("http://", "https://")):
            folder = Path(self.source).expanduser()
            if not folder.is_dir():
                raise ModelError("source", f"{folder} is not a folder")
            return folder
        return None

    def _items(self, spec: ModelSpec) -> list[_Item]:
        if spec.archive is not None:
            a = spec.archive
            return [_Item(_url_name(a.url), a.url, a.sha256, spec.size_bytes)]
        if not spec.urls:
            hint = (
                "`petvisor-desktop models install-dev`"
                if spec.dev
                else "--from a folder that holds it"
            )
            raise ModelError(
                "no-source", f"{spec.name} has no official download; install it with {hint}"
            )
        single = spec.size_bytes if len(spec.files) == 1 else None
        return [
            _Item(rel, url, sha, single)
            for rel, url, sha in zip(spec.files, spec.urls, spec.sha256, strict=True)
        ]

    def _url(self, spec: ModelSpec, item: _Item) -> str:
        if self.source:
            return f"{self.source.rstrip('/')}/{spec.name}/{item.rel}"
        return item.url

    # -- assembling ---------------------------------------------------------------------------
    def _staging(self, spec: ModelSpec) -> Path:
        staging = self.target_dir / f".{spec.name}.staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        return staging

    def _install_files(
        self, spec: ModelSpec, fetched: dict[str, tuple[Path, str]], source: str, checked: str
    ) -> InstalledModel:
        staging = self._staging(spec)
        try:
            for rel, (path, _sha) in fetched.items():
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
            hashes = {rel: sha for rel, (_path, sha) in fetched.items()}
            write_record(spec, staging, hashes, source=source, checked=checked)
            swap_in(staging, self.target_dir / spec.name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("installed model %s from %s", spec.name, source)
        return InstalledModel(spec, self.target_dir / spec.name)

    def _install_archive(
        self, spec: ModelSpec, zip_path: Path, source: str, checked: str
    ) -> InstalledModel:
        assert spec.archive is not None
        staging = self._staging(spec)
        try:
            hashes = self._unpack(spec, zip_path, staging)
            write_record(spec, staging, hashes, source=source, checked=checked)
            swap_in(staging, self.target_dir / spec.name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("installed model %s from %s", spec.name, source)
        return InstalledModel(spec, self.target_dir / spec.name)

    def _unpack(self, spec: ModelSpec, zip_path: Path, staging: Path) -> dict[str, str]:
        assert spec.archive is not None
        root = spec.archive.root
        prefix = f"{root}/" if root else ""
        hashes: dict[str, str] = {}
        try:
            with zipfile.ZipFile(zip_path) as zf:
                members = [
                    i
                    for i in zf.infolist()
                    if not i.is_dir() and i.filename.replace("\\", "/").startswith(prefix)
                ]
                _ensure_room(staging, sum(i.file_size for i in members), spec.name)
                for info in members:
                    rel = info.filename.replace("\\", "/")[len(prefix) :]
                    parts = _safe_parts(rel)
                    dest = staging.joinpath(*parts)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    digest = hashlib.sha256()
                    with zf.open(info) as src, dest.open("wb") as out:
                        while block := src.read(CHUNK):
                            out.write(block)
                            digest.update(block)
                    hashes["/".join(parts)] = digest.hexdigest()
        except zipfile.BadZipFile as exc:
            zip_path.unlink(missing_ok=True)
            raise ModelError(
                "archive", f"{zip_path.name} is damaged ({exc}); it was deleted, pull again"
            ) from exc
        except OSError as exc:
            if exc.errno in _NO_ROOM:
                raise _no_room(staging, spec.name, 0, None, exc) from exc
            raise
        if not hashes:
            raise ModelError("archive", f"{zip_path.name} has no folder {root!r}")
        return hashes

    # -- from a folder ------------------------------------------------------------------------
    def _from_folder(self, spec: ModelSpec, base: Path) -> InstalledModel:
        """Install from files on a disk: a USB stick, a share, another install's models."""
        if spec.archive is not None:
            for zip_path in (
                base / spec.name / _url_name(spec.archive.url),
                base / _url_name(spec.archive.url),
            ):
                if zip_path.is_file():
                    return self._archive_from_folder(spec, zip_path)
        candidates = [base / spec.name]
        if spec.archive is not None and spec.archive.root:
            candidates.append(base / spec.archive.root)
        if spec.files:
            candidates.append(base)
        for folder in candidates:
            if spec.files and all((folder / rel).is_file() for rel in spec.files):
                return self._copy_folder(spec, folder, list(spec.files))
            if not spec.files and folder.is_dir() and any(folder.iterdir()):
                rels = sorted(
                    p.relative_to(folder).as_posix()
                    for p in folder.rglob("*")
                    if p.is_file() and p.name != RECORD
                )
                return self._copy_folder(spec, folder, rels)
        wanted = ", ".join(spec.files) or (
            _url_name(spec.archive.url) if spec.archive else f"the folder {spec.name}/"
        )
        raise ModelError("missing", f"{base} does not hold {spec.name} ({wanted})")

    def _archive_from_folder(self, spec: ModelSpec, zip_path: Path) -> InstalledModel:
        assert spec.archive is not None
        if not spec.archive.sha256 and not self.allow_unverified:
            raise ModelError("unverified", f"the manifest has no SHA-256 for {zip_path.name}")
        actual = sha256_file(zip_path)
        if spec.archive.sha256 and actual != spec.archive.sha256:
            raise ModelError(
                "checksum",
                f"{zip_path}: SHA-256 is {actual}, the manifest expects "
                f"{spec.archive.sha256}; nothing was installed",
            )
        checked = "manifest" if spec.archive.sha256 else "unverified"
        return self._install_archive(spec, zip_path, str(zip_path), checked)

    def _copy_folder(self, spec: ModelSpec, folder: Path, rels: list[str]) -> InstalledModel:
        record = _read_record(folder) if (folder / RECORD).is_file() else None
        recorded = (
            (record or {}).get("files", {}) if (record or {}).get("name") == spec.name else {}
        )
        expected = {
            rel: spec.expected_sha(rel) or recorded.get(rel, {}).get("sha256", "") for rel in rels
        }
        unknown = [rel for rel, sha in expected.items() if not sha]
        if unknown and not self.allow_unverified:
            raise ModelError(
                "unverified",
                f"{folder} holds {spec.name}, but neither the manifest nor an install record "
                f"there gives the SHA-256 of {len(unknown)} of its files, so they could not "
                "be checked; nothing was installed. Pass --allow-unverified to install it "
                "anyway",
            )
        total = sum((folder / rel).stat().st_size for rel in rels)
        staging = self._staging(spec)
        try:
            _ensure_room(staging, total, spec.name)
            hashes: dict[str, str] = {}
            done = 0
            for rel in rels:
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                try:
                    with (folder / rel).open("rb") as src, dest.open("wb") as out:
                        while block := src.read(CHUNK * 4):
                            self._check_cancel()
                            out.write(block)
                            digest.update(block)
                            done += len(block)
                            if self.progress:
                                self.progress(spec.name, done, total)
                except OSError as exc:
                    if exc.errno in _NO_ROOM:
                        raise _no_room(staging, spec.name, done, total, exc) from exc
                    raise
                actual = digest.hexdigest()
                if expected[rel] and actual != expected[rel]:
                    raise ModelError(
                        "checksum",
                        f"{folder / rel}: SHA-256 is {actual}, expected {expected[rel]}; "
                        "nothing was installed",
                    )
                hashes[rel] = actual
            if spec.files:
                hashes = {rel: hashes[rel] for rel in spec.files}
            checked = "unverified" if unknown else ("record" if recorded else "manifest")
            write_record(spec, staging, hashes, source=str(folder), checked=checked)
            swap_in(staging, self.target_dir / spec.name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("installed model %s from %s", spec.name, folder)
        return InstalledModel(spec, self.target_dir / spec.name)
