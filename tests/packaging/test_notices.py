"""scripts/notices.py: the licences of what the app bundles, copied from installed metadata."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def notices() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notices", ROOT / "scripts" / "notices.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["notices"] = module
    spec.loader.exec_module(module)
    return module


def test_licence_files_come_from_the_installed_metadata(notices: Any, tmp_path: Path) -> None:
    rows = notices.write_licenses(tmp_path / "licenses", top_levels={"httpx", "numpy", "piper"})
    by_name = {row["name"].lower(): row for row in rows}
    assert by_name["python"]["licence"] == "PSF-2.0"
    assert by_name["httpx"]["licence"] == "BSD-3-Clause"
    assert by_name["piper-tts"]["licence"] == "GPL-3.0-or-later"
    # Vendored libraries keep their paths, so same-named files do not clash.
    numpy_files = by_name["numpy"]["files"]
    assert any(f.endswith("numpy/random/LICENSE.md") for f in numpy_files)
    for row in rows:
        for rel in row["files"]:
            assert (tmp_path / "licenses" / rel).is_file()
    index = (tmp_path / "licenses" / "README.md").read_text(encoding="utf-8")
    assert "| piper-tts | 1.8.0 | GPL-3.0-or-later |" in index


def test_a_package_without_licence_files_points_to_the_notices(
    notices: Any, tmp_path: Path
) -> None:
    rows = notices.write_licenses(tmp_path / "l", top_levels={"vosk"})
    vosk = next(row for row in rows if row["name"] == "vosk")
    assert vosk["files"] == [] and "Apache" in vosk["licence"]
    assert "none shipped: see THIRD_PARTY_NOTICES.md" in (tmp_path / "l" / "README.md").read_text()


def test_excluded_packages_are_not_listed(notices: Any, tmp_path: Path) -> None:
    rows = notices.write_licenses(tmp_path / "l", top_levels={"scipy", "noisereduce", "soxr"})
    assert [row["name"] for row in rows] == ["Python", "soxr"]


def test_third_party_notices_name_every_bundled_library() -> None:
    text = (ROOT / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
    for name in (
        "PySide6", "llama.cpp", "llama-cpp-python", "ONNX Runtime", "Vosk", "Kaldi",
        "piper-tts", "espeak-ng", "sounddevice", "PortAudio", "soxr", "NumPy", "httpx",
        "peewee", "keyring", "platformdirs", "faster-whisper", "CTranslate2",
        "Qwen2.5", "en_US-joe-medium", "Silero VAD", "Smart Turn", "vosk-model-small-en-us-0.15",
        "faster-whisper-tiny.en",
    ):  # fmt: skip
        assert name in text, name
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in text
