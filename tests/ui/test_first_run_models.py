"""First start on a PC without models: the setup's check page downloads the default ones
(here from a local mirror over real HTTP, checked against the manifest's SHA-256)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petvisor_desktop import modelstore
from petvisor_desktop.settings import Settings
from tests.foundation.test_model_pull import ModelServer
from ui.admin.setup_wizard import SetupWizard
from ui.bridge import EngineBridge

FILES = {
    "tiny-llm": ("tiny-llm.gguf", b"GGUF" + b"\1" * 4000),
    "tiny-voice": ("tiny-voice.onnx", b"\2" * 3000),
    "tiny-vad": ("tiny-vad.onnx", b"\3" * 2000),
    "tiny-turn": ("tiny-turn.onnx", b"\5" * 1000),
    "tiny-whisper": ("model.bin", b"\4" * 5000),
}
ROLES = {
    "tiny-llm": "llm",
    "tiny-voice": "tts",
    "tiny-vad": "vad",
    "tiny-turn": "turn",
    "tiny-whisper": "stt-whisper",
}


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelServer]:
    server = ModelServer(files={f"/m/{n}/{f}": data for n, (f, data) in FILES.items()})
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(
        "".join(
            f'[[model]]\nname = "{n}"\nrole = "{ROLES[n]}"\nkind = "dir"\nfiles = ["{f}"]\n'
            f'sha256 = ["{hashlib.sha256(data).hexdigest()}"]\nlicence = "MIT"\nrank = 1\n'
            f'[model.official]\nurls = ["https://example.invalid/{n}/{f}"]\n\n'
            for n, (f, data) in FILES.items()
        )
    )
    monkeypatch.setenv(modelstore.MANIFEST_ENV, str(manifest))
    for served in server.serve():
        monkeypatch.setenv(modelstore.MIRROR_ENV, f"{served.url}/m")
        yield served


def test_the_setup_downloads_the_missing_models(
    settings: Settings, mirror: ModelServer, tmp_path: Path, qtbot: Any
) -> None:
    models_dir = tmp_path / "models"
    settings = dataclasses.replace(
        settings,
        models=dataclasses.replace(
            settings.models,
            models_dir=models_dir,
            llm="tiny-llm",
            tts_voice="tiny-voice",
            vad_model="tiny-vad",
            turn_model="tiny-turn",
            stt_engine="whisper",
            whisper_model="tiny-whisper",
        ),
    )
    assert sorted(modelstore.missing_defaults(settings)) == sorted(FILES)
    wizard = SetupWizard(settings, EngineBridge(), lambda: None)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.mouseClick(wizard.download, pytest.importorskip("PySide6.QtCore").Qt.LeftButton)
    qtbot.waitUntil(lambda: "Installed" in wizard.download_status.text(), timeout=30_000)
    assert modelstore.missing_defaults(settings) == []
    for name, (file, data) in FILES.items():
        assert (models_dir / name / file).read_bytes() == data
    assert wizard.download.isEnabled()
