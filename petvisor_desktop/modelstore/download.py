"""Downloading one file over HTTP for `ModelPuller`: resumed with a Range request (guarded by
If-Range) after a drop, retried with back-off, hashed as it streams and checked against the
manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from petvisor_desktop import __version__
from petvisor_desktop.modelstore.diskspace import _NO_ROOM, _ensure_room, _mb, _no_room
from petvisor_desktop.modelstore.errors import ModelError
from petvisor_desktop.modelstore.manifest import ModelSpec
from petvisor_desktop.modelstore.records import CHUNK, Progress, sha256_file

log = logging.getLogger(__name__)


class _Retry(Exception):
    """A failure worth another attempt: a dropped connection, a busy or failing server."""


@dataclass(frozen=True)
class _Item:
    """One file to fetch: a file of the model, or the archive that holds the model folder."""

    rel: str  # its path in the model folder, or the archive's file name
    url: str  # the official address
    sha256: str  # expected; "" when the manifest does not know it
    size: int | None


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


class Downloading:
    """The download part of `ModelPuller` (which holds the settings and the HTTP client)."""

    progress: Progress | None
    retries: int
    backoff_s: float
    timeout_s: float
    cancel: threading.Event
    _client: Any

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
