"""The command line as a user runs it: the entry point, --version and bad settings."""

from __future__ import annotations

import os
import subprocess
import sys

from petvisor_desktop import __version__


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "petvisor_desktop", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"petvisor-desktop {__version__}"


def test_help_lists_the_command_groups() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for command in ("sandbox", "models", "chat", "simulate"):
        assert command in result.stdout


def test_bad_setting_stops_with_a_named_message() -> None:
    result = _run("models", "list", env={"PETVISOR_AUDIO_SAMPLE_RATE_HZ": "44100"})
    assert result.returncode == 2
    assert "audio.sample_rate_hz: must be 8000 or 16000" in result.stderr
