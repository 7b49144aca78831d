"""A private PulseAudio server for the audio tests: the real PortAudio path (ALSA's `pulse`
plugin) with no sound card. It models a kiosk with two null sinks:

- `room`, the air at the kiosk. The app's microphone is `room.monitor`; the test caller
  speaks by playing into `room`.
- `app_speaker`, where the app plays. The caller hears `app_speaker.monitor`.
- A loopback from `app_speaker.monitor` into `room` at reduced gain: the assistant's own
  voice leaks back into its microphone, as it does from a real kiosk's speaker.

The daemon runs from a temporary folder with its own runtime and state paths, answers on its
own socket (`PULSE_SERVER`), and is stopped by its PID; nothing else on the machine is
touched. Streams pick their source and sink through `PULSE_SOURCE` / `PULSE_SINK`, which
libpulse reads when the ALSA plugin connects a stream.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOM = "room"
APP_SPEAKER = "app_speaker"
RATE_HZ = 48_000


class PulseError(RuntimeError):
    """The test sound server could not be started or driven."""


def missing_tools() -> list[str]:
    return [t for t in ("pulseaudio", "pactl", "pacat") if shutil.which(t) is None]


@dataclass
class Recording:
    """Audio read from a monitor, each chunk stamped with time.monotonic() on arrival."""

    rate_hz: int
    chunks: list[tuple[float, np.ndarray]] = field(default_factory=list)

    @property
    def samples(self) -> np.ndarray:
        return self.snapshot()[0]

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """The samples so far and the arrival time of each (an upper bound on when it
        sounded at the monitor), consistent with each other while recording goes on."""
        chunks = list(self.chunks)
        if not chunks:
            return np.zeros(0, dtype=np.float32), np.zeros(0)
        samples = np.concatenate([c for _, c in chunks])
        times = np.concatenate(
            [t - (len(c) - 1 - np.arange(len(c))) / self.rate_hz for t, c in chunks]
        )
        return samples, times


class MonitorRecorder:
    """`pacat --record` on a source in a background thread, until stop()."""

    def __init__(self, server: PulseServer, source: str, rate_hz: int = 16_000) -> None:
        self.recording = Recording(rate_hz)
        self._proc = subprocess.Popen(
            [
                "pacat",
                "--record",
                "--raw",
                f"--device={source}",
                "--format=float32le",
                "--channels=1",
                f"--rate={rate_hz}",
                "--latency-msec=10",
                "--client-name=test-recorder",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=server.client_env(),
        )
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        block = 4 * 80  # 5 ms of float32 at 16 kHz
        pending = b""
        while True:
            data = (
                self._proc.stdout.read1(block)
                if hasattr(self._proc.stdout, "read1")
                else self._proc.stdout.read(block)
            )
            if not data:
                return
            now = time.monotonic()
            pending += data
            usable = len(pending) // 4 * 4
            if usable:
                chunk = np.frombuffer(pending[:usable], dtype="<f4").copy()
                pending = pending[usable:]
                self.recording.chunks.append((now, chunk))

    def stop(self) -> Recording:
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._thread.join(5)
        return self.recording


class PulseServer:
    """A user-space PulseAudio daemon with the kiosk topology; a context manager."""

    def __init__(
        self, workdir: Path | None = None, *, echo_gain: float = 0.35, loopback_latency_ms: int = 20
    ) -> None:
        self._own_dir = workdir is None
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="petvisor-pulse-"))
        self.room = ROOM
        self.app_speaker = APP_SPEAKER
        self.echo_gain = echo_gain
        self.loopback_latency_ms = loopback_latency_ms
        self.socket = self.dir / "run" / "native"
        self.cli_socket = self.dir / "run" / "cli"
        self.log_path = self.dir / "pulse.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._modules: dict[str, int] = {}

    # lifecycle -------------------------------------------------------------
    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    def client_env(self) -> dict[str, str]:
        """The environment a client process needs to talk to this server only."""
        env = dict(os.environ)
        env["PULSE_SERVER"] = self.server
        env.pop("PULSE_SOURCE", None)
        env.pop("PULSE_SINK", None)
        return env

    def start(self, timeout_s: float = 15.0) -> PulseServer:
        if missing := missing_tools():
            raise PulseError(f"not installed: {', '.join(missing)}")
        for sub in ("run", "state", "home", "config"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir / "run", 0o700)
        script = self.dir / "default.pa"
        script.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}\n"
            f"load-module module-cli-protocol-unix socket={self.cli_socket}\n"
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PULSE_", "DBUS_", "XDG_RUNTIME_DIR"))
        }
        env.update(
            HOME=str(self.dir / "home"),
            XDG_RUNTIME_DIR=str(self.dir / "run"),
            XDG_CONFIG_HOME=str(self.dir / "config"),
            PULSE_RUNTIME_PATH=str(self.dir / "run"),
            PULSE_STATE_PATH=str(self.dir / "state"),
        )
        args = [
            "pulseaudio",
            "-n",
            "-F",
            str(script),
            "--daemonize=no",
            "--system=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--use-pid-file=no",
            "--realtime=no",
            "--high-priority=no",
            "--disable-shm=no",
            f"--log-target=file:{self.log_path}",
        ]
        self._proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc.poll() is not None:
                raise PulseError(
                    f"pulseaudio exited with {self._proc.returncode}: {self._log_tail()}"
                )
            ok = (
                subprocess.run(
                    ["pactl", "info"], env=self.client_env(), capture_output=True, timeout=5
                ).returncode
                == 0
            )
            if ok:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise PulseError(
                    f"pulseaudio did not answer in {timeout_s:.0f} s: {self._log_tail()}"
                )
            time.sleep(0.1)  # polling a process we started: no event to wait on
        self.build_topology()
        return self

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-800:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PulseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # control ---------------------------------------------------------------
    def pactl(self, *args: str) -> str:
        done = subprocess.run(
            ["pactl", *args], env=self.client_env(), capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise PulseError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def pactl_json(self, *args: str) -> list[dict[str, Any]]:
        out = json.loads(self.pactl("-f", "json", *args) or "[]")
        return out if isinstance(out, list) else []

    def cli(self, command: str) -> str:
        """A command on the daemon's CLI socket (pacmd's language; pacmd itself needs a PID
        file we do not write). Used for kill-source-output, which pactl lacks."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2.0)
            s.connect(str(self.cli_socket))
            s.sendall(command.encode() + b"\n")
            s.shutdown(socket.SHUT_WR)  # the daemon answers, then closes at end of input
            out = b""
            while data := s.recv(4096):
                out += data
        text = out.decode(errors="replace")
        if "Unknown command" in text or "failed" in text.lower():
            raise PulseError(f"{command}: {text.strip()}")
        return text

    def _load(self, key: str, *args: str) -> int:
        index = int(self.pactl("load-module", *args).strip())
        self._modules[key] = index
        return index

    def _unload(self, key: str) -> None:
        index = self._modules.pop(key, None)
        if index is not None:
            # Already gone with its sink, maybe: a loopback dies with either end.
            with contextlib.suppress(PulseError):
                self.pactl("unload-module", str(index))

    def build_topology(self) -> None:
        """Create whatever part of room / app_speaker / echo loopback is missing."""
        sinks = {s["name"] for s in self.pactl_json("list", "sinks")}
        created = []
        for name, desc in ((ROOM, "Room"), (APP_SPEAKER, "App_speaker")):
            if name not in sinks:
                self._modules.pop(name, None)
                self._load(
                    name,
                    "module-null-sink",
                    f"sink_name={name}",
                    f"rate={RATE_HZ}",
                    "channels=1",
                    f"sink_properties=device.description={desc}",
                )
                created.append(name)
        self.pactl("set-default-sink", APP_SPEAKER)
        self.pactl("set-default-source", f"{ROOM}.monitor")
        if not self._loopback_alive():
            self._modules.pop("echo", None)
            self._load(
                "echo",
                "module-loopback",
                f"source={APP_SPEAKER}.monitor",
                f"sink={ROOM}",
                f"latency_msec={self.loopback_latency_ms}",
                "adjust_time=0",
                "source_dont_move=true",
                "sink_dont_move=true",
            )
            self.set_echo_gain(self.echo_gain)
        for name in created:
            self._wake(f"{name}.monitor")

    def _wake(self, source: str, timeout_s: float = 10.0) -> None:
        """Wait until `source` delivers audio. A new null sink first sleeps for its longest
        latency (2 s) and its monitor gives the first low-latency stream nothing until it
        wakes; after that (kept awake by the loopback) streams start at once."""
        rec = self.record(source)
        deadline = time.monotonic() + timeout_s
        try:
            while sum(len(c) for _, c in rec.recording.chunks) < 1600:
                if time.monotonic() > deadline:
                    raise PulseError(f"{source} gave no audio in {timeout_s:.0f} s")
                time.sleep(0.05)  # polling another process's output
        finally:
            rec.stop()

    def _loopback_alive(self) -> bool:
        index = self._modules.get("echo")
        if index is None:
            return False
        return any(
            str(i.get("owner_module")) == str(index) for i in self.pactl_json("list", "sink-inputs")
        )

    def set_echo_gain(self, gain: float) -> None:
        """How much of the app's voice reaches its microphone, as an amplitude ratio.
        PulseAudio's volume scale is cubic: amplitude = (volume / 65536) ** 3."""
        self.echo_gain = gain
        raw = round(65536 * gain ** (1 / 3))
        index = self._modules.get("echo")
        for item in self.pactl_json("list", "sink-inputs"):
            if str(item.get("owner_module")) == str(index):
                self.pactl("set-sink-input-volume", str(item["index"]), str(raw))

    def remove_room(self) -> None:
        """Unplug the microphone: the `room` sink (and its monitor) disappears."""
        self._unload("echo")
        self._unload(ROOM)

    def app_streams(self, kind: str = "source-output") -> list[int]:
        """Indices of this process's streams of `kind` ("source-output" or "sink-input")."""
        pid = str(os.getpid())
        return [
            int(item["index"])
            for item in self.pactl_json("list", f"{kind}s")
            if (item.get("properties") or {}).get("application.process.id") == pid
        ]

    def kill_app_streams(self, kind: str = "source-output") -> int:
        """Kill this process's streams of `kind`, as the sound system does when a device
        fails under a stream. Returns how many."""
        streams = self.app_streams(kind)
        for index in streams:
            self.cli(f"kill-{kind} {index}")
        return len(streams)

    # test audio ----------------------------------------------------------------
    def play_into_room(
        self, audio: Path | np.ndarray, rate_hz: int = 16_000, *, wait: bool = True
    ) -> subprocess.Popen[bytes]:
        """The caller speaks: play a WAV file or a mono float array into `room`."""
        if isinstance(audio, np.ndarray):
            path = self.dir / f"say-{time.monotonic_ns()}.wav"
            pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate_hz)
                w.writeframes(pcm.tobytes())
            audio = path
        proc = subprocess.Popen(
            ["paplay", f"--device={ROOM}", "--latency-msec=100", str(audio)],
            env=self.client_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if wait:
            _, err = proc.communicate(timeout=120)
            if proc.returncode != 0:
                raise PulseError(f"paplay failed: {err.decode(errors='replace')}")
        return proc

    def record(self, source: str) -> MonitorRecorder:
        """Start recording `source` (e.g. "app_speaker.monitor"); call .stop() for audio."""
        return MonitorRecorder(self, source)

    def record_speaker(self, seconds: float) -> np.ndarray:
        """What the caller hears from the app for the next `seconds` (16 kHz float32)."""
        rec = self.record(f"{APP_SPEAKER}.monitor")
        time.sleep(seconds)
        return rec.stop().samples
