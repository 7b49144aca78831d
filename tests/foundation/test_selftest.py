"""`petvisor-desktop selftest`: passes with the installed models; a missing or damaged model
is a FAIL line naming it, and the exit status is 1."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from petvisor_desktop import modelstore
from petvisor_desktop.selftest import (
    PHRASE_WAV,
    SelfTest,
    SelfTestReport,
    Status,
    StepResult,
    read_phrase,
)
from petvisor_desktop.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "petvisor_desktop", "selftest", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=600,
        check=False,
    )


def test_the_bundled_phrase_is_16_khz_speech_with_silence_around_it() -> None:
    audio = read_phrase(PHRASE_WAV)
    assert 2.5 < len(audio) / 16000 < 6
    assert abs(audio[:4000]).max() < 0.01  # the leading 0.25 s is silent
    assert abs(audio).max() > 0.2


def test_summary_counts_failures_and_warnings() -> None:
    report = SelfTestReport(
        [
            StepResult("llm", Status.PASS, "ok", 1.0),
            StepResult("audio", Status.WARN, "no microphone", 0.1),
        ],
        seconds=3.0,
    )
    assert report.passed
    assert report.summary() == ("PASS selftest: all 2 components work, in 3.0 s (1 warning: audio)")
    report.results.append(StepResult("stt", Status.FAIL, "model missing", 0.1))
    assert not report.passed
    assert report.summary().startswith("FAIL selftest: 1 of 3 components failed (stt)")
    assert report.results[-1].line() == "FAIL stt       model missing"


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.models
def test_selftest_passes_with_the_installed_models(
    settings: Settings, require_model: Callable[..., modelstore.InstalledModel]
) -> None:
    for role in ("llm", "vad", "tts"):
        require_model(role)
    require_model("stt-whisper")
    lines: list[str] = []
    report = SelfTest(settings, on_result=lambda r: lines.append(r.line())).run()
    assert report.passed, "\n".join(lines)
    assert [r.component for r in report.results] == list(SelfTest.COMPONENTS)
    by_name = {r.component: r for r in report.results}
    assert "booked in the sandbox clinic and recorded" in by_name["booking"].detail
    assert "WER 0%" in by_name["stt"].detail or "WER 10%" in by_name["stt"].detail
    # A headless test machine has no sound card: a warning, never a failure.
    assert by_name["audio"].status in (Status.PASS, Status.WARN)


def test_no_models_anywhere_fails_each_model_with_what_to_do(tmp_path: Path) -> None:
    # A manifest whose models are installed nowhere: what a fresh PC without models sees.
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(
        textwrap.dedent(
            """
            [[model]]
            name = "absent-llm"
            role = "llm"
            kind = "file"
            files = ["absent.gguf"]
            sha256 = [""]
            licence = "MIT"
            """
        )
    )
    result = _cli(
        "--only", "llm", "booking", "vad", "tts", "stt",
        env={"PETVISOR_MODELS_MANIFEST": str(manifest), "PETVISOR_MODELS_DIR": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [
        ["FAIL", "llm"],
        ["FAIL", "booking"],
        ["FAIL", "vad"],
        ["FAIL", "stt"],
        ["FAIL", "tts"],
    ]
    assert "no llm model is installed; run `petvisor-desktop models pull --defaults`" in lines[0]
    assert "needs the language model" in lines[1]
    assert lines[-1].startswith("FAIL selftest: 5 of 5 components failed")


@pytest.mark.models
def test_a_damaged_model_is_a_fail_line_and_exit_1(
    tmp_path: Path, require_model: Callable[..., modelstore.InstalledModel]
) -> None:
    real = require_model("vad")
    # Same size as the real file, so the quick install check passes: a damaged disk.
    damaged = tmp_path / real.spec.name
    damaged.mkdir()
    size = real.file().stat().st_size
    (damaged / real.spec.files[0]).write_bytes(b"\x00garbage" * (size // 8) + b"\x00" * (size % 8))
    modelstore.write_record(real.spec, damaged, {real.spec.files[0]: "0" * 64})
    result = _cli("--only", "vad", "database", env={"PETVISOR_MODELS_DIR": str(tmp_path)})
    assert result.returncode == 1, result.stdout
    vad_line = next(line for line in result.stdout.splitlines() if " vad " in line)
    assert vad_line.startswith("FAIL vad")
    assert "cannot be loaded" in vad_line and "models pull silero-vad-v6" in vad_line
    assert result.stdout.splitlines()[0].startswith("PASS database")
    assert result.stdout.splitlines()[-1].startswith("FAIL selftest: 1 of 2 components failed")


def test_damaged_history_database_fails_the_database_line(
    tmp_path: Path, settings: Settings
) -> None:
    db = tmp_path / "petvisor.sqlite3"
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    damaged = dataclasses.replace(
        settings, storage=dataclasses.replace(settings.storage, db_path=db)
    )
    report = SelfTest(damaged).run(only=["database"])
    assert not report.passed
    assert report.results[0].detail.startswith(str(db))
    assert "restore --latest" in report.results[0].detail
