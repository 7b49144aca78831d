"""Fixtures for the voice tests: a private PulseAudio server with the kiosk's two-sink
topology (see pulse.py), and espeak-ng speech as WAV files.

Tests that use `pulse` are marked `audio` automatically. Where PulseAudio cannot start they
are skipped with the reason, except under CI (env `CI` set), where that is a failure."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pulse import APP_SPEAKER, ROOM, PulseError, PulseServer

_PULSE_VARS = ("PULSE_SERVER", "PULSE_SOURCE", "PULSE_SINK")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"pulse", "pulse_devices"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.audio)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PulseAudio is needed under CI: {reason}")
    pytest.skip(f"no PulseAudio test server: {reason}")


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A PulseAudio server for the whole session, reachable by this process (PULSE_SERVER)
    and by PortAudio: the ALSA devices `pulse` and `default` both lead to it, with
    `room.monitor` as the default source and `app_speaker` as the default sink."""
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    try:
        server.start()
    except (PulseError, OSError, subprocess.SubprocessError) as exc:
        _unavailable(str(exc))
    saved = {k: os.environ.get(k) for k in _PULSE_VARS}
    os.environ["PULSE_SERVER"] = server.server
    os.environ.pop("PULSE_SOURCE", None)
    os.environ.pop("PULSE_SINK", None)
    from petvisor_desktop.voice import audio

    # PortAudio lists ALSA devices once, when it starts; the `pulse` PCMs only appear
    # once a server answers, so list them again now.
    audio.rescan_devices()
    if not any(d.name in ("pulse", "default") for d in audio.list_devices()):
        server.stop()
        _unavailable("PortAudio sees no 'pulse' ALSA device (is libasound2-plugins installed?)")
    try:
        yield server
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        audio.rescan_devices()


@pytest.fixture
def pulse_devices(pulse: PulseServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    """Point this test's streams at the kiosk devices (PULSE_SOURCE=room.monitor,
    PULSE_SINK=app_speaker) and put the topology back afterwards if the test broke it."""
    monkeypatch.setenv("PULSE_SOURCE", f"{ROOM}.monitor")
    monkeypatch.setenv("PULSE_SINK", APP_SPEAKER)
    yield pulse
    pulse.build_topology()


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`speech_wav(text, voice="en-us")`: a WAV of espeak-ng saying `text` (22.05 kHz mono
    16-bit), made once per text and voice."""
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is needed under CI")
        pytest.skip("espeak-ng is not installed")
    cache = tmp_path_factory.mktemp("speech")

    def make(text: str, voice: str = "en-us", speed: int = 160) -> Path:
        key = hashlib.sha1(f"{voice}|{speed}|{text}".encode()).hexdigest()[:16]
        path = cache / f"{key}.wav"
        if not path.exists():
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
                check=True,
                capture_output=True,
                timeout=60,
            )
        return path

    return make
