"""Sound devices for the settings screen: the device lists, a live input level and a test
sound, all off the GUI thread. No sound system or no device is a state on screen, never an
exception in a slot."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

TEST_TONE_HZ = 660.0
TEST_TONE_S = 0.8


@dataclass(frozen=True)
class Devices:
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    default_input: str | None
    default_output: str | None
    problem: str | None = None  # why there are none (no sound system, PortAudio missing)


def _sounddevice() -> Any:
    import sounddevice

    return sounddevice


def list_devices() -> Devices:
    """The sound devices (blocking: run it in the background)."""
    try:
        sd = _sounddevice()
        devices = sd.query_devices()
    except Exception as exc:  # noqa: BLE001 - no PortAudio, no sound server: a state
        return Devices((), (), None, None, f"the sound system cannot be used: {exc}")
    inputs, outputs = [], []
    for dev in devices:
        name = str(dev["name"])
        if dev.get("max_input_channels", 0) > 0:
            inputs.append(name)
        if dev.get("max_output_channels", 0) > 0:
            outputs.append(name)
    default_in = default_out = None
    try:
        din, dout = sd.default.device
        default_in = str(devices[din]["name"]) if din is not None and din >= 0 else None
        default_out = str(devices[dout]["name"]) if dout is not None and dout >= 0 else None
    except Exception:  # no default device configured
        log.debug("no default sound device", exc_info=True)
    return Devices(tuple(inputs), tuple(outputs), default_in, default_out)


def test_tone(sample_rate_hz: int = 24_000) -> np.ndarray:
    t = np.arange(int(TEST_TONE_S * sample_rate_hz)) / sample_rate_hz
    tone = 0.3 * np.sin(2 * np.pi * TEST_TONE_HZ * t)
    fade = int(0.05 * sample_rate_hz)
    envelope = np.ones_like(tone)
    envelope[:fade] = np.linspace(0, 1, fade)
    envelope[-fade:] = np.linspace(1, 0, fade)
    return (tone * envelope).astype(np.float32)


def play_test_sound(device: str | None) -> str:
    """Play the test tone on `device` (None: the default) and wait for it to finish."""
    sd = _sounddevice()
    rate = 24_000
    sd.play(test_tone(rate), rate, device=device, blocking=True)
    return "Played a test sound. Did you hear it?"


class LevelProbe(QObject):
    """Reads the microphone on a worker thread and reports its level in dBFS about 15
    times a second. The PortAudio callback only copies and queues (see STYLE.md)."""

    level = Signal(float)
    failed = Signal(str)
    stopped = Signal()
    _level_x = Signal(float)
    _failed_x = Signal(str)
    _stopped_x = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._level_x.connect(self.level, Qt.ConnectionType.QueuedConnection)
        self._failed_x.connect(self.failed, Qt.ConnectionType.QueuedConnection)
        self._stopped_x.connect(self.on_worker_stopped, Qt.ConnectionType.QueuedConnection)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, device: str | None) -> None:
        if self._thread is not None:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(device, self._stop), name="petvisor-level-probe", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ask the worker to stop; it reports `stopped` (no waiting here)."""
        self._stop.set()

    @Slot()
    def on_worker_stopped(self) -> None:
        self._thread = None
        self.stopped.emit()

    def _run(self, device: str | None, stop: threading.Event) -> None:
        blocks: queue.Queue[np.ndarray] = queue.Queue(maxsize=64)

        def callback(indata: Any, _frames: int, _time: Any, _status: Any) -> None:
            # The reader is behind when the queue is full; a meter can drop blocks.
            with contextlib.suppress(queue.Full):
                blocks.put_nowait(indata.copy())

        try:
            sd = _sounddevice()
            with sd.InputStream(
                device=device, channels=1, samplerate=16_000, blocksize=1024, callback=callback
            ):
                while not stop.is_set():
                    try:
                        block = blocks.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    rms = float(np.sqrt(np.mean(np.square(block, dtype=np.float64))) + 1e-9)
                    self._level_x.emit(20.0 * float(np.log10(rms)))
        except Exception as exc:  # noqa: BLE001 - no device, busy, no PortAudio: shown
            self._failed_x.emit(str(exc) or type(exc).__name__)
        finally:
            self._stopped_x.emit()
