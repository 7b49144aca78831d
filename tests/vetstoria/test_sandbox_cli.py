"""`petvisor-desktop sandbox` as a real process: it prints working demo settings, serves them
over HTTP until terminated, and refuses bad options."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PETVISOR_", "VETSTORIA_"))}
    env["PETVISOR_LOG_DIR"] = str(tmp_path / "logs")
    env["PETVISOR_CONFIG"] = str(tmp_path / "settings.toml")
    (tmp_path / "settings.toml").write_text("")
    return env


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    port = free_port()
    stderr_path = tmp_path / "stderr.txt"
    stderr = stderr_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "petvisor_desktop",
            "sandbox",
            "--port",
            str(port),
            "--now",
            "2026-11-23T09:00",
        ],
        cwd=REPO,
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=stderr,  # a file, so that a chatty child can never block on a full pipe
        text=True,
    )
    watchdog = threading.Timer(30, proc.kill)  # never hang the suite on a stuck child
    watchdog.start()
    settings: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if m := re.match(r"\s+(VETSTORIA_\w+)=(\S+)", line):
                settings[m.group(1)] = m.group(2)
            if line.startswith("Press Ctrl-C"):
                break
        if not settings:
            proc.kill()
            proc.wait(timeout=10)
            pytest.fail(f"no settings printed; stderr: {stderr_path.read_text()}")
        assert settings["VETSTORIA_BASE_URL"] == f"http://127.0.0.1:{port}"
        yield proc, settings
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)
        watchdog.cancel()
        stderr.close()


def test_the_sandbox_command_serves_its_printed_settings(
    sandbox_process: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    proc, s = sandbox_process
    assert set(s) == {
        "VETSTORIA_BASE_URL",
        "VETSTORIA_AUTH_URL",
        "VETSTORIA_PARTNER_KEY",
        "VETSTORIA_SECRET",
        "VETSTORIA_SITE_HASH",
        "VETSTORIA_SITE_ID",
        "VETSTORIA_BOOKING_HASH",
    }
    auth_url = f"{s['VETSTORIA_AUTH_URL']}/partners/{s['VETSTORIA_PARTNER_KEY']}/authentications"
    site = {"Site-Hash": s["VETSTORIA_SITE_HASH"]}
    auth = httpx.post(auth_url, json={"secret": s["VETSTORIA_SECRET"]}, headers=site)
    assert auth.status_code == 200
    token = auth.json()["token"]
    slots_url = (
        f"{s['VETSTORIA_BASE_URL']}/partners/{s['VETSTORIA_PARTNER_KEY']}/clinics/"
        f"{s['VETSTORIA_SITE_HASH']}/locations/{s['VETSTORIA_SITE_ID']}/slots"
    )
    body = {
        "scheduleIds": [85267, 85268],
        "period": {"from": "2026-11-23T00:00:00+00:00", "to": "2026-11-24T00:00:00+00:00"},
        "appointments": [{"index": 1, "appointmentTypeId": 6964, "speciesId": 2}],
    }
    slots = httpx.post(slots_url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert slots.status_code == 200
    assert len(slots.json()) == 56  # the pinned now is 09:00, so the whole Monday is free
    assert slots.json()[0]["dateTime"] == "2026-11-23T09:00:00+00:00"

    refused = httpx.post(auth_url, json={"secret": "wrong"}, headers=site)
    assert refused.status_code == 401

    proc.terminate()
    assert proc.wait(timeout=10) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.post(auth_url, json={"secret": s["VETSTORIA_SECRET"]}, headers=site)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "booking:418"], "unknown sandbox fault"),
        (["--now", "next tuesday"], "ISO-8601"),
        (["--port", "70000"], "--port"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "petvisor_desktop", "sandbox", *args],
        cwd=REPO,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert message in done.stderr
