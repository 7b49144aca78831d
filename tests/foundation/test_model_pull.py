"""`models pull` against a real HTTP server on localhost: fresh downloads, resume after a
dropped connection (Range + If-Range), wrong checksums, 404, a server that is down, zip
archives unpacked atomically, installs from a folder, a full disk, and the progress line.
No test touches a real model host."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from petvisor_desktop import modelstore
from petvisor_desktop.commands.models import ProgressPrinter
from petvisor_desktop.modelstore import Archive, ModelError, ModelPuller, ModelSpec

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    path: str
    range: str | None
    if_range: str | None
    status: int
    sent: int


@dataclass
class ModelServer:
    """A small file server that speaks enough HTTP/1.1 for resumable downloads, and can be
    told to misbehave: drop the connection once after N bytes, serve other bytes than
    asked, or ignore Range requests."""

    files: dict[str, bytes]
    log: list[Served] = field(default_factory=list)
    drop_once_after: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    ignore_range: bool = False
    url: str = ""

    def etag(self, path: str) -> str:
        return '"' + hashlib.sha256(self.files[path]).hexdigest()[:16] + '"'

    def sent(self, path: str | None = None) -> int:
        return sum(s.sent for s in self.log if path is None or s.path == path)

    def serve(self) -> Iterator[ModelServer]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest's output clean
                return

            def do_GET(self) -> None:
                path = self.path
                rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
                if path not in server.files:
                    self._reply(path, rng, if_range, 404, b"not found", {})
                    return
                data = server.files[path]
                if path in server.corrupt:
                    data = bytes(b ^ 0x5A for b in data)
                headers = {"ETag": server.etag(path), "Accept-Ranges": "bytes"}
                start = 0
                use_range = rng and not server.ignore_range
                if use_range and if_range and if_range != server.etag(path):
                    use_range = False  # the file changed: RFC 9110 says send it whole
                if use_range:
                    assert rng is not None
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        headers["Content-Range"] = f"bytes */{len(data)}"
                        self._reply(path, rng, if_range, 416, b"", headers)
                        return
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                body = data[start:]
                status = 206 if use_range else 200
                drop = server.drop_once_after.pop(path, None)
                self._reply(path, rng, if_range, status, body, headers, drop)

            def _reply(
                self,
                path: str,
                rng: str | None,
                if_range: str | None,
                status: int,
                body: bytes,
                headers: dict[str, str],
                drop_after: int | None = None,
            ) -> None:
                payload = body if drop_after is None else body[:drop_after]
                # Logged before the client can see the reply, so tests never race the log.
                server.log.append(Served(path, rng, if_range, status, len(payload)))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                if drop_after is not None:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            httpd.shutdown()
            httpd.server_close()


def _blob(n: int, seed: int = 1) -> bytes:
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


WEIGHTS = _blob(1_000_000, 1)
CONFIG = b'{"audio": {"sample_rate": 22050}}'


@pytest.fixture
def server() -> Iterator[ModelServer]:
    srv = ModelServer(
        files={
            "/official/tiny-voice.onnx": WEIGHTS,
            "/official/tiny-voice.onnx.json": CONFIG,
        }
    )
    yield from srv.serve()


def _voice(server: ModelServer, sha: tuple[str, str] | None = None) -> ModelSpec:
    return ModelSpec(
        name="tiny-voice",
        role="tts",
        kind="dir",
        files=("tiny-voice.onnx", "tiny-voice.onnx.json"),
        sha256=sha or (_sha(WEIGHTS), _sha(CONFIG)),
        licence="CC0-1.0",
        size_bytes=len(WEIGHTS) + len(CONFIG),
        urls=(
            f"{server.url}/official/tiny-voice.onnx",
            f"{server.url}/official/tiny-voice.onnx.json",
        ),
    )


def _puller(target: Path, **kw: object) -> ModelPuller:
    kw.setdefault("backoff_s", 0.01)
    kw.setdefault("timeout_s", 5.0)
    return ModelPuller(target, **kw)  # type: ignore[arg-type]


def test_fresh_download_installs_verified_files(server: ModelServer, tmp_path: Path) -> None:
    spec = _voice(server)
    seen: list[tuple[str, int, int | None]] = []
    installed = _puller(tmp_path / "models", progress=lambda *a: seen.append(a)).pull(spec)
    assert (installed.path / "tiny-voice.onnx").read_bytes() == WEIGHTS
    assert (installed.path / "tiny-voice.onnx.json").read_bytes() == CONFIG
    record = modelstore.read_record(installed.path)
    assert record is not None and record["checked"] == "manifest"
    assert modelstore.verify(installed) == []
    found = modelstore.find_model("tiny-voice", [tmp_path / "models"], {spec.name: spec})
    assert found.path == installed.path
    # Nothing is left of the download: no partial folder, no staging folder.
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["tiny-voice"]
    assert seen[-1][1:] == (len(CONFIG), len(CONFIG))
    assert any(
        label == "tiny-voice/tiny-voice.onnx" and done == len(WEIGHTS) for label, done, _ in seen
    )
    assert [s.status for s in server.log] == [200, 200]


def test_dropped_connection_resumes_with_a_range_request(
    server: ModelServer, tmp_path: Path
) -> None:
    server.drop_once_after["/official/tiny-voice.onnx"] = 300_000
    installed = _puller(tmp_path / "models").pull(_voice(server))
    assert (installed.path / "tiny-voice.onnx").read_bytes() == WEIGHTS
    first, second = [s for s in server.log if s.path == "/official/tiny-voice.onnx"]
    assert first.status == 200 and first.range is None and first.sent == 300_000
    assert second.status == 206
    assert second.range == "bytes=300000-"
    assert second.if_range == server.etag("/official/tiny-voice.onnx")
    assert server.sent("/official/tiny-voice.onnx") == len(WEIGHTS) < 2 * len(WEIGHTS)


def test_a_half_finished_download_never_looks_installed_and_resumes_next_run(
    server: ModelServer, tmp_path: Path
) -> None:
    spec = _voice(server)
    models = tmp_path / "models"
    server.drop_once_after["/official/tiny-voice.onnx"] = 400_000
    with pytest.raises(ModelError, match=r"(?i)run the same command again to resume") as info:
        _puller(models, retries=0).pull(spec)
    assert info.value.code == "network"
    with pytest.raises(ModelError, match="not installed"):
        modelstore.find_model(spec.name, [models], {spec.name: spec})
    part = models / modelstore.PARTIAL_DIR / "tiny-voice" / "tiny-voice.onnx.part"
    assert part.stat().st_size == 400_000
    # The next run (a new process, a new puller) picks up where the last one stopped.
    installed = _puller(models).pull(spec)
    assert (installed.path / "tiny-voice.onnx").read_bytes() == WEIGHTS
    assert server.log[-2].range == "bytes=400000-" and server.log[-2].status == 206
    assert server.sent("/official/tiny-voice.onnx") == len(WEIGHTS)
    assert not (models / modelstore.PARTIAL_DIR).exists()


def test_changed_file_on_the_server_restarts_the_download(
    server: ModelServer, tmp_path: Path
) -> None:
    spec = _voice(server)
    models = tmp_path / "models"
    part_dir = models / modelstore.PARTIAL_DIR / "tiny-voice"
    part_dir.mkdir(parents=True)
    # A partial from another version of the file: its ETag no longer matches.
    (part_dir / "tiny-voice.onnx.part").write_bytes(b"x" * 1000)
    (part_dir / "tiny-voice.onnx.part.json").write_text(
        json.dumps({"url": spec.urls[0], "etag": '"older"', "last_modified": "", "total": None})
    )
    installed = _puller(models).pull(spec)
    assert (installed.path / "tiny-voice.onnx").read_bytes() == WEIGHTS
    request = server.log[0]
    assert request.if_range == '"older"' and request.status == 200


def test_server_that_ignores_range_sends_the_whole_file_again(
    server: ModelServer, tmp_path: Path
) -> None:
    server.ignore_range = True
    server.drop_once_after["/official/tiny-voice.onnx"] = 100_000
    installed = _puller(tmp_path / "m").pull(_voice(server))
    assert (installed.path / "tiny-voice.onnx").read_bytes() == WEIGHTS
    assert [s.status for s in server.log if s.path.endswith(".onnx")] == [200, 200]


def test_complete_partial_is_finished_by_a_416(server: ModelServer, tmp_path: Path) -> None:
    spec = _voice(server)
    part_dir = tmp_path / "m" / modelstore.PARTIAL_DIR / "tiny-voice"
    part_dir.mkdir(parents=True)
    (part_dir / "tiny-voice.onnx.part").write_bytes(WEIGHTS)  # a crash just before the rename
    installed = _puller(tmp_path / "m").pull(spec)
    assert modelstore.verify(installed) == []
    assert server.log[0].status == 416 and server.log[0].sent == 0


def test_wrong_checksum_deletes_the_file_and_installs_nothing(
    server: ModelServer, tmp_path: Path
) -> None:
    server.corrupt.add("/official/tiny-voice.onnx")
    models = tmp_path / "models"
    with pytest.raises(ModelError) as info:
        _puller(models).pull(_voice(server))
    assert info.value.code == "checksum"
    wrong = _sha(bytes(b ^ 0x5A for b in WEIGHTS))
    assert wrong in str(info.value) and _sha(WEIGHTS) in str(info.value)
    assert "deleted" in str(info.value)
    part_dir = models / modelstore.PARTIAL_DIR / "tiny-voice"
    assert not list(part_dir.glob("tiny-voice.onnx*"))
    assert not (models / "tiny-voice").exists()


def test_missing_file_is_a_clear_404_without_retries(server: ModelServer, tmp_path: Path) -> None:
    spec = _voice(server)
    spec = ModelSpec(**{**spec.__dict__, "urls": (spec.urls[0] + "x", spec.urls[1])})
    with pytest.raises(ModelError, match=r"was not found \(HTTP 404\)") as info:
        _puller(tmp_path / "m").pull(spec)
    assert info.value.code == "not-found"
    assert len(server.log) == 1


def test_server_down_gives_up_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = ModelSpec(
        name="tiny",
        role="vad",
        kind="file",
        files=("tiny.onnx",),
        sha256=(_sha(b"x"),),
        licence="MIT",
        urls=(f"http://127.0.0.1:{port}/tiny.onnx",),
    )
    with pytest.raises(ModelError, match=rf"could not download tiny from 127.0.0.1:{port}") as info:
        _puller(tmp_path / "m", retries=2).pull(spec)
    assert "gave up after 3 attempts" in str(info.value)
    assert not (tmp_path / "m" / "tiny").exists()


def test_unknown_checksum_is_refused_unless_allowed(server: ModelServer, tmp_path: Path) -> None:
    spec = _voice(server, sha=(_sha(WEIGHTS), ""))
    with pytest.raises(ModelError, match="--allow-unverified") as info:
        _puller(tmp_path / "m").pull(spec)
    assert info.value.code == "unverified"
    assert server.log == []  # refused before downloading anything
    installed = _puller(tmp_path / "m", allow_unverified=True).pull(spec)
    record = modelstore.read_record(installed.path)
    assert record is not None and record["checked"] == "unverified"
    assert record["files"]["tiny-voice.onnx.json"]["sha256"] == _sha(CONFIG)


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


VOSK_FILES = {
    "am/final.mdl": _blob(200_000, 2),
    "conf/model.conf": b"--sample-frequency=16000\n",
    "graph/Gr.fst": _blob(50_000, 3),
}
VOSK_ZIP = _zip({f"vosk-model-tiny-0.1/{k}": v for k, v in VOSK_FILES.items()})


def _vosk(url: str, sha: str = _sha(VOSK_ZIP)) -> ModelSpec:
    return ModelSpec(
        name="vosk-model-tiny-0.1",
        role="stt-vosk",
        kind="dir",
        files=(),
        sha256=(),
        licence="Apache-2.0",
        size_bytes=len(VOSK_ZIP),
        archive=Archive(url=url, sha256=sha, root="vosk-model-tiny-0.1"),
    )


def test_zip_archive_is_unpacked_into_place(server: ModelServer, tmp_path: Path) -> None:
    server.files["/vosk/vosk-model-tiny-0.1.zip"] = VOSK_ZIP
    server.drop_once_after["/vosk/vosk-model-tiny-0.1.zip"] = 20_000
    spec = _vosk(f"{server.url}/vosk/vosk-model-tiny-0.1.zip")
    installed = _puller(tmp_path / "m").pull(spec)
    for rel, data in VOSK_FILES.items():
        assert (installed.path / rel).read_bytes() == data
    record = modelstore.read_record(installed.path)
    assert record is not None and set(record["files"]) == set(VOSK_FILES)
    assert modelstore.find_model(spec.name, [tmp_path / "m"], {spec.name: spec}).path == (
        installed.path
    )
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [spec.name]
    assert server.log[-1].range == "bytes=20000-"


def test_archive_with_an_escaping_path_is_refused(server: ModelServer, tmp_path: Path) -> None:
    evil = _zip({"vosk-model-tiny-0.1/../../evil.txt": b"x", "vosk-model-tiny-0.1/a": b"y"})
    server.files["/vosk/evil.zip"] = evil
    spec = _vosk(f"{server.url}/vosk/evil.zip", sha=_sha(evil))
    with pytest.raises(ModelError, match="unsafe path"):
        _puller(tmp_path / "m").pull(spec)
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "m" / spec.name).exists()
    assert not list((tmp_path / "m").glob(".*staging*"))


def test_mirror_layout_is_name_slash_file(server: ModelServer, tmp_path: Path) -> None:
    server.files["/mirror/tiny-voice/tiny-voice.onnx"] = WEIGHTS
    server.files["/mirror/tiny-voice/tiny-voice.onnx.json"] = CONFIG
    spec = _voice(server)
    installed = _puller(tmp_path / "m", source=f"{server.url}/mirror/").pull(spec)
    assert modelstore.verify(installed) == []
    assert {s.path for s in server.log} == {
        "/mirror/tiny-voice/tiny-voice.onnx",
        "/mirror/tiny-voice/tiny-voice.onnx.json",
    }


def test_install_from_a_folder_offline(tmp_path: Path) -> None:
    offline = ModelSpec(
        name="tiny-voice",
        role="tts",
        kind="dir",
        files=("tiny-voice.onnx", "tiny-voice.onnx.json"),
        sha256=(_sha(WEIGHTS), _sha(CONFIG)),
        licence="CC0-1.0",
        urls=("http://127.0.0.1:9/unused", "http://127.0.0.1:9/unused"),
    )
    stick = tmp_path / "usb"
    stick.mkdir()
    (stick / "tiny-voice.onnx").write_bytes(WEIGHTS)  # flat, as downloaded by hand
    (stick / "tiny-voice.onnx.json").write_bytes(CONFIG)
    installed = _puller(tmp_path / "m", source=str(stick)).pull(offline)
    assert modelstore.verify(installed) == []
    # A damaged copy is refused, and nothing is installed.
    (stick / "tiny-voice.onnx").write_bytes(WEIGHTS[:-1] + b"!")
    with pytest.raises(ModelError, match="SHA-256 is") as info:
        _puller(tmp_path / "m2", source=str(stick)).pull(offline)
    assert info.value.code == "checksum"
    assert not (tmp_path / "m2" / "tiny-voice").exists()


def test_folder_install_of_an_unpacked_archive_needs_a_record_or_consent(tmp_path: Path) -> None:
    spec = _vosk("http://127.0.0.1:9/unused.zip")
    stick = tmp_path / "usb"
    for rel, data in VOSK_FILES.items():
        (stick / spec.name / rel).parent.mkdir(parents=True, exist_ok=True)
        (stick / spec.name / rel).write_bytes(data)
    with pytest.raises(ModelError, match="could not be checked") as info:
        _puller(tmp_path / "m", source=str(stick)).pull(spec)
    assert info.value.code == "unverified"
    # Another install's folder carries its record: the files are checked against it.
    modelstore.write_record(
        spec, stick / spec.name, {rel: _sha(d) for rel, d in VOSK_FILES.items()}
    )
    installed = _puller(tmp_path / "m", source=str(stick)).pull(spec)
    assert (modelstore.read_record(installed.path) or {})["checked"] == "record"
    # The official zip in a folder works too.
    (tmp_path / "zips").mkdir()
    (tmp_path / "zips" / "unused.zip").write_bytes(VOSK_ZIP)
    again = _puller(tmp_path / "m3", source=str(tmp_path / "zips")).pull(spec)
    assert (again.path / "am" / "final.mdl").read_bytes() == VOSK_FILES["am/final.mdl"]


def test_leftover_staging_folder_is_not_a_model(tmp_path: Path) -> None:
    spec = _vosk("http://127.0.0.1:9/unused.zip")
    staging = tmp_path / f".{spec.name}.staging-123"
    staging.mkdir()
    (staging / "a").write_bytes(b"a")
    modelstore.write_record(spec, staging, {"a": _sha(b"a")})
    with pytest.raises(ModelError, match="not installed"):
        modelstore.find_model(spec.name, [tmp_path], {spec.name: spec})


def test_progress_printer_plain_lines_and_terminal_bar() -> None:
    plain = io.StringIO()
    printer = ProgressPrinter(plain, tty=False)
    for done in range(0, 1_000_001, 50_000):
        printer("qwen", done, 1_000_000)
    lines = plain.getvalue().splitlines()
    assert len(lines) == 11  # 0 %, 10 %, ... 100 %, once each
    assert lines[-1].startswith("qwen: 100.0%  1.0 / 1.0 MB")
    term = io.StringIO()
    clock = iter([100.0, 101.0, 102.0, 103.0])
    bar = ProgressPrinter(term, tty=True, interval_s=0, clock=lambda: next(clock))
    bar("qwen", 0, 1_000_000)
    bar("qwen", 250_000, 1_000_000)  # 0.25 MB in 1 s: 3 s to go
    bar("qwen", 1_000_000, 1_000_000)
    text = term.getvalue()
    assert "\rqwen  [######..................]  25.0%  0.2 / 1.0 MB  0.2 MB/s  ETA 0:03" in text
    assert text.endswith("100.0%  1.0 / 1.0 MB  0.5 MB/s\x1b[K\n")


def _manifest(tmp_path: Path, server: ModelServer) -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [[model]]
            name = "tiny-voice"
            role = "tts"
            kind = "dir"
            files = ["tiny-voice.onnx", "tiny-voice.onnx.json"]
            sha256 = ["{_sha(WEIGHTS)}", "{_sha(CONFIG)}"]
            size_bytes = {len(WEIGHTS) + len(CONFIG)}
            licence = "CC0-1.0"
            [model.official]
            urls = ["{server.url}/official/tiny-voice.onnx",
                    "{server.url}/official/tiny-voice.onnx.json"]

            [[model]]
            name = "broken-voice"
            role = "tts"
            kind = "file"
            files = ["broken.onnx"]
            sha256 = ["{"0" * 64}"]
            licence = "CC0-1.0"
            [model.official]
            urls = ["{server.url}/official/tiny-voice.onnx"]
            """
        )
    )
    return path


def _cli(
    tmp_path: Path, server: ModelServer, *args: str, preexec: object = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PETVISOR_MODELS_MANIFEST": str(_manifest(tmp_path, server)),
        "PETVISOR_MODELS_DIR": str(tmp_path / "models"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    env.pop(modelstore.MIRROR_ENV, None)
    return subprocess.run(
        [sys.executable, "-m", "petvisor_desktop", "models", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
        preexec_fn=preexec,  # type: ignore[arg-type]
    )


def test_cli_pull_prints_progress_and_lists_the_model(server: ModelServer, tmp_path: Path) -> None:
    result = _cli(tmp_path, server, "pull", "tiny-voice")
    assert result.returncode == 0, result.stderr
    assert "ok   tiny-voice" in result.stdout
    assert "tiny-voice/tiny-voice.onnx: 100.0%  1.0 / 1.0 MB" in result.stderr
    listing = _cli(tmp_path, server, "list")
    assert "installed" in listing.stdout.split("tiny-voice", 1)[1].splitlines()[0]
    again = _cli(tmp_path, server, "pull", "tiny-voice")
    assert "already installed" in again.stdout
    assert _cli(tmp_path, server, "verify", "tiny-voice").returncode == 0


def test_cli_wrong_checksum_exits_1_naming_both(server: ModelServer, tmp_path: Path) -> None:
    result = _cli(tmp_path, server, "pull", "broken-voice")
    assert result.returncode == 1
    assert f"SHA-256 is {_sha(WEIGHTS)}" in result.stderr
    assert "expects " + "0" * 64 in result.stderr


def _limit_file_size() -> None:
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (250_000, 250_000))


@pytest.mark.skipif(sys.platform == "win32", reason="uses a POSIX file-size limit")
def test_full_disk_keeps_the_partial_file_for_resume(server: ModelServer, tmp_path: Path) -> None:
    # A file-size limit makes writes fail as a full disk does, without filling a real disk.
    result = _cli(tmp_path, server, "pull", "tiny-voice", preexec=_limit_file_size)
    assert result.returncode == 1
    assert "no room left to write tiny-voice/tiny-voice.onnx" in result.stderr
    assert "run the same command again to resume" in result.stderr
    part = tmp_path / "models" / modelstore.PARTIAL_DIR / "tiny-voice" / "tiny-voice.onnx.part"
    kept = part.stat().st_size
    assert 0 < kept <= 250_000
    assert not (tmp_path / "models" / "tiny-voice").exists()
    result = _cli(tmp_path, server, "pull", "tiny-voice")
    assert result.returncode == 0, result.stderr
    assert server.log[-2].range == f"bytes={kept}-"
    assert (tmp_path / "models" / "tiny-voice" / "tiny-voice.onnx").read_bytes() == WEIGHTS
