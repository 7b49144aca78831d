"""The real microphone: a PortAudio input stream whose callback only copies blocks, read as
16 kHz frames on the caller's thread."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from petvisor_desktop.voice.audio.convert import FrameResampler
from petvisor_desktop.voice.audio.devices import Kind
from petvisor_desktop.voice.audio.stream import _PortAudioDevice

if TYPE_CHECKING:
    from petvisor_desktop.settings import AudioSettings


class MicrophoneSource(_PortAudioDevice):
    """A microphone through PortAudio. The device runs at its own rate (mono, or stereo
    mixed down); the callback only stamps, copies and enqueues each block, and `read()`
    resamples to 16 kHz and cuts exact FRAME_SAMPLES frames on the caller's thread."""

    kind: Kind = "input"

    def __init__(
        self,
        device: str | int | None = None,
        *,
        block_ms: int = 32,
        max_queued_s: float = 10.0,
        stall_timeout_s: float = 2.0,
        first_block_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(
            device, stall_timeout_s=stall_timeout_s, first_block_timeout_s=first_block_timeout_s
        )
        self.block_ms = block_ms
        self.max_queued_s = max_queued_s
        self._queue: queue.SimpleQueue[tuple[float, float, np.ndarray]] = queue.SimpleQueue()
        self._max_blocks = 1
        self._framer: FrameResampler | None = None
        self._overflows = 0
        self._dropped = 0
        self.last_frame_time: float | None = None

    def _on_opened(self) -> None:
        self._queue = queue.SimpleQueue()
        self._max_blocks = max(4, int(self.max_queued_s * 1000 / self.block_ms))
        self._framer = FrameResampler(self.rate_hz)

    def _make_stream(self, sd: ModuleType, rate: int, channels: int) -> Any:
        return sd.InputStream(
            device=self.device.index,
            samplerate=rate,
            channels=channels,
            dtype="float32",
            blocksize=max(64, rate * self.block_ms // 1000),
            callback=self._callback_for(self._queue),
            finished_callback=self._finished.set,
        )

    def _callback_for(
        self, q: queue.SimpleQueue[tuple[float, float, np.ndarray]]
    ) -> Callable[..., None]:
        # Bound to this stream's own queue, so a dying stream still closing in the
        # background cannot slip stale blocks into its successor's.
        max_blocks = self._max_blocks
        first = self._first_block

        def on_audio(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            now = time.monotonic()
            self._last_block_at = now
            if status.input_overflow:
                self._overflows += 1
            if q.qsize() >= max_blocks:  # nobody is reading: drop rather than grow
                self._dropped += 1
                return
            q.put((now, time_info.currentTime - time_info.inputBufferAdcTime, indata.copy()))
            if not first.is_set():
                first.set()

        return on_audio

    @property
    def overflows(self) -> int:
        """Blocks lost: the device overran, or the queue was full because nobody read."""
        return self._overflows + self._dropped

    def start(self) -> None:
        self._stop_requested.clear()
        if self._stream is None:
            self._open()

    def stop(self) -> None:
        self._close()

    def read(self, timeout_s: float) -> np.ndarray | None:
        framer = self._framer
        if framer is not None and framer.ready:
            return self._emit(framer)
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_alive()
            framer = self._framer
            assert framer is not None
            remaining = deadline - time.monotonic()
            try:
                # Wake at least every 100 ms to notice a device that went away.
                captured, lag, block = self._queue.get(timeout=max(0.0, min(remaining, 0.1)))
            except queue.Empty:
                if remaining <= 0:
                    return None
                continue
            mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
            # PortAudio stamps the block's first sample (ADC time); fall back to the callback
            # time when the host API gives no usable stamp.
            end = captured - lag + len(mono) / self.rate_hz if 0.0 <= lag < 1.0 else captured
            if framer.push(mono, end):
                return self._emit(framer)

    def _emit(self, framer: FrameResampler) -> np.ndarray:
        item = framer.pop()
        assert item is not None
        frame, at = item
        self.last_frame_time = at
        return frame

    def __enter__(self) -> MicrophoneSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def open_source(audio: AudioSettings) -> MicrophoneSource:
    """The microphone the settings name (not started yet; `start()` opens it)."""
    return MicrophoneSource(audio.input_device)
