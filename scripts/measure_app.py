"""Figures for the built app (README, "Packaged app"): time to window, time to ready, resident
memory during a conversation. Run after `scripts/build_app.sh --with-models`; Linux only
(Xvfb for the window, a private PulseAudio server for the microphone and speaker).

    .venv/bin/python scripts/measure_app.py [--app dist/petvisor-desktop/petvisor-desktop]

- time to window: from starting the executable to its main window being mapped on an X
  server (Xvfb), polled with xwininfo every 20 ms.
- time to ready: from starting `petvisor-desktop voice` to it listening, every component
  loaded (history, sandbox clinic, LLM with its prompt cached, VAD, recogniser, voice,
  microphone, speaker).
- memory: the process's resident set (VmRSS, sampled every 100 ms, and the kernel's peak
  VmHWM) while a caller says a sentence into the microphone and the assistant answers, and
  during a typed booking (`petvisor-desktop chat`).

Each run gets its own temporary home folder: nothing of the user's is touched. Processes
started here are stopped by their PID.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "voice"))

PHRASE = ROOT / "petvisor_desktop" / "data" / "selftest-phrase.wav"
NOW = "2026-11-23T09:00"
CHAT_LINES = [
    "Hi, I'm Sarah Lee, I'd like to book my dog Rex in for his vaccinations with Dr Roberts "
    "on Wednesday morning, my number is 07700 900123",
    "The earliest you have",
    "sarah dot lee at example dot com",
    "Yes, that's all correct",
    "No, that's everything, thank you. Bye!",
]


def rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) / 1024 if match else None


class RssSampler:
    """VmRSS of a process every 100 ms in a thread; `peak` and `last` in MB."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            value = rss_mb(self.pid)
            if value is not None:
                self.samples.append(value)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> float:
        return max(self.samples, default=0.0)


def home_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a run in its own home folder `home` (config, data, cache, state
    below it; no PETVISOR_ settings of the caller's), plus `extra`."""
    env = dict(os.environ)
    for var, sub in (
        ("HOME", ""),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    for var in list(env):
        if var.startswith("PETVISOR_"):
            del env[var]
    env.update(extra)
    return env


def _spawn(cmd: list[str], env: dict[str, str], **kw: Any) -> tuple[subprocess.Popen[str], Any]:
    """Start `cmd` with its output on a pseudo-terminal, so it is line-buffered as on a
    console (through a pipe, Python would hold the lines back); returns (process, lines)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, stdout=slave, stderr=slave, text=True, **kw)
    os.close(slave)

    def lines() -> Iterator[str]:
        with open(master, encoding="utf-8", errors="replace", closefd=True) as out:
            try:
                yield from out
            except OSError:  # EIO: the process closed its terminal
                return

    return proc, lines()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    for number in range(140, 200):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            break
    display = f":{number}"
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("Xvfb did not start")
            time.sleep(0.05)
        yield display
    finally:
        proc.terminate()
        proc.wait(10)


def _viewable(display: str, window_id: str) -> bool:
    info = subprocess.run(
        ["xwininfo", "-id", window_id, "-display", display],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return "Map State: IsViewable" in info


def time_to_window(app: Path, home: Path) -> tuple[float, float]:
    """(seconds to the main window, RSS in MB 90 s later when everything has loaded)."""
    with xvfb() as display:
        env = home_env(home, DISPLAY=display)
        env.pop("QT_QPA_PLATFORM", None)
        log = (home / "app.log").open("w")
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(app), "--now", NOW], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            shown = None
            while time.monotonic() - started < 120 and proc.poll() is None:
                tree = subprocess.run(
                    ["xwininfo", "-root", "-tree", "-display", display],
                    capture_output=True, text=True, check=False,
                ).stdout  # fmt: skip
                ids = re.findall(r"^\s*(0x[0-9a-f]+) \"[^\"]*Petvisor", tree, re.M)
                if any(_viewable(display, wid) for wid in ids):
                    shown = time.monotonic() - started
                    break
                time.sleep(0.02)
            if shown is None:
                raise RuntimeError(f"no window appeared; see {home / 'app.log'}")
            time.sleep(90)
            return shown, rss_mb(proc.pid) or 0.0
        finally:
            _stop(proc)
            log.close()


def time_to_ready_and_voice_rss(app: Path, home: Path) -> dict[str, float]:
    """Start `voice`, wait until it listens, say the test phrase into its microphone, and
    sample memory until the assistant has answered."""
    from pulse import PulseServer  # tests/voice/pulse.py: a private PulseAudio server

    with PulseServer(echo_gain=0.0) as pulse:
        env = home_env(home, **{k: v for k, v in pulse.client_env().items() if k == "PULSE_SERVER"})
        started = time.monotonic()
        proc, lines = _spawn([str(app), "--now", NOW, "voice", "--once"], env)
        sampler = RssSampler(proc.pid)
        figures: dict[str, float] = {}
        replies = 0
        try:
            for line in lines:
                now = time.monotonic() - started
                print("   |", line.rstrip(), file=sys.stderr)
                if "(listening" in line and "ready_s" not in figures:
                    figures["ready_s"] = now
                    figures["rss_ready_mb"] = rss_mb(proc.pid) or 0.0
                if "assistant:" in line:
                    replies += 1
                    if replies == 1:
                        time.sleep(9)  # the greeting is spoken; then the caller talks
                        pulse.play_into_room(PHRASE, wait=False)
                    elif replies == 2:
                        time.sleep(3)  # the answer is being spoken
                        figures["rss_conversation_mb"] = rss_mb(proc.pid) or 0.0
                        figures["hwm_mb"] = rss_mb(proc.pid, "VmHWM") or 0.0
                        break
                if now > 600:
                    break
        finally:
            sampler.stop()
            _stop(proc)
        figures["rss_peak_sampled_mb"] = sampler.peak
        return figures


def chat_rss(app: Path, home: Path) -> dict[str, float]:
    env = home_env(home)
    started = time.monotonic()
    proc, lines = _spawn([str(app), "--now", NOW, "chat"], env, stdin=subprocess.PIPE)
    sampler = RssSampler(proc.pid)
    hwm = 0.0
    try:
        assert proc.stdin is not None
        caller = iter(CHAT_LINES)
        for line in lines:
            if "assistant:" in line:
                print("   |", line.rstrip(), file=sys.stderr)
                hwm = rss_mb(proc.pid, "VmHWM") or hwm
                said = next(caller, None)
                if said is None:
                    break
                proc.stdin.write(said + "\n")
                proc.stdin.flush()
    finally:
        sampler.stop()
        _stop(proc)
    return {"seconds": time.monotonic() - started, "rss_peak_mb": sampler.peak, "hwm_mb": hwm}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", type=Path, default=ROOT / "dist/petvisor-desktop/petvisor-desktop")
    parser.add_argument("--skip", nargs="*", default=[], choices=("window", "voice", "chat"))
    args = parser.parse_args(argv)
    if not args.app.is_file():
        print(f"{args.app} is not built; run scripts/build_app.sh --with-models", file=sys.stderr)
        return 2
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="petvisor-measure-") as tmp:
        if "window" not in args.skip and shutil.which("Xvfb") and shutil.which("xwininfo"):
            shown, rss = time_to_window(args.app, Path(tmp) / "window")
            print(f"time to window: {shown:.2f} s; RSS 90 s after start (all loaded): {rss:.0f} MB")
        if "voice" not in args.skip:
            v = time_to_ready_and_voice_rss(args.app, Path(tmp) / "voice")
            print(
                f"time to ready (voice, every component): {v.get('ready_s', float('nan')):.1f} s; "
                f"RSS when ready {v.get('rss_ready_mb', 0):.0f} MB, during a spoken turn "
                f"{v.get('rss_conversation_mb', 0):.0f} MB (peak {v.get('hwm_mb', 0):.0f} MB)"
            )
        if "chat" not in args.skip:
            c = chat_rss(args.app, Path(tmp) / "chat")
            print(
                f"typed booking (chat, LLM only): {c['seconds']:.0f} s; RSS peak "
                f"{max(c['rss_peak_mb'], c['hwm_mb']):.0f} MB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
