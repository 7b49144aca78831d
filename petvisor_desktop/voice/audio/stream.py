"""What the microphone and the speaker share: a PortAudio stream opened on the chosen
device at a rate and channel count it accepts, health checks that tell a lost device from a
quiet one, and reopening with backoff."""

from __future__ import annotations

import logging
import threading
import time
from types import ModuleType
from typing import Any

from petvisor_desktop.voice.audio.devices import (
    _FIX,
    _WHAT,
    Kind,
    _error_from_portaudio,
    _sd,
    _stream_closed,
    _stream_opened,
    rescan_devices,
    resolve_device,
)
from petvisor_desktop.voice.base import AudioError

log = logging.getLogger(__name__)

FALLBACK_RATES_HZ = (48_000, 44_100, 16_000)


class _PortAudioDevice:
    """What the microphone and the speaker share: opening a stream on the right device at a
    rate and channel count it accepts, telling a lost device from a quiet one, and reopening
    with backoff."""

    kind: Kind = "input"

    def __init__(
        self, device: str | int | None, *, stall_timeout_s: float, first_block_timeout_s: float
    ) -> None:
        self.device_spec = device
        self.device = resolve_device(device, self.kind)
        self.stall_timeout_s = stall_timeout_s
        self.first_block_timeout_s = first_block_timeout_s
        self.rate_hz = 0
        self.channels = 0
        self._stream: Any = None
        self._opened_at = 0.0
        self._last_block_at = 0.0
        self._first_block = threading.Event()
        self._finished = threading.Event()
        self._lost: AudioError | None = None
        self._stop_requested = threading.Event()

    # subclass hooks --------------------------------------------------------
    def _make_stream(self, sd: ModuleType, rate: int, channels: int) -> Any:
        raise NotImplementedError

    def _on_opened(self) -> None:
        """Reset per-stream state; called before the stream starts."""

    def _check_settings(self, sd: ModuleType, rate: int, channels: int) -> None:
        check = sd.check_input_settings if self.kind == "input" else sd.check_output_settings
        check(device=self.device.index, channels=channels, dtype="float32", samplerate=rate)

    # opening ---------------------------------------------------------------
    def _open(self) -> None:
        sd = _sd()
        self.device = resolve_device(self.device_spec, self.kind)
        dev = self.device
        rates = list(dict.fromkeys([dev.default_rate_hz, *FALLBACK_RATES_HZ]))
        channel_options = [1, 2] if dev.channels(self.kind) >= 2 else [1]
        last_error: BaseException | None = None
        chosen: tuple[int, int] | None = None
        for rate in rates:
            for channels in channel_options:
                try:
                    self._check_settings(sd, rate, channels)
                except (sd.PortAudioError, ValueError) as exc:
                    last_error = exc
                    continue
                chosen = (rate, channels)
                break
            if chosen:
                break
        if chosen is None:
            if isinstance(last_error, sd.PortAudioError):
                raise _error_from_portaudio(last_error, self.kind, dev) from last_error
            raise AudioError(
                "device-error",
                f"The {_WHAT[self.kind]} '{dev.name}' accepts none of the usual formats "
                f"({last_error}). {_FIX[self.kind]}",
            )
        self.rate_hz, self.channels = chosen
        # Fresh events per stream: a dying predecessor still closing in the background
        # must not mark this one finished.
        self._first_block = threading.Event()
        self._finished = threading.Event()
        self._on_opened()
        stream = None
        try:
            stream = self._make_stream(sd, self.rate_hz, self.channels)
            self._opened_at = self._last_block_at = time.monotonic()
            stream.start()
        except sd.PortAudioError as exc:
            if stream is not None:
                _close_stream(stream, registered=False)
            raise _error_from_portaudio(exc, self.kind, dev) from exc
        self._stream = stream
        self._lost = None
        _stream_opened()
        log.info(
            "Opened %s '%s' at %d Hz, %d channel(s), latency %.0f ms",
            _WHAT[self.kind],
            dev.name,
            self.rate_hz,
            self.channels,
            1000 * float(stream.latency),
        )

    # health ----------------------------------------------------------------
    def _check_alive(self) -> None:
        """Raise AudioError("device-lost") when the stream died or went silent."""
        if self._lost is not None:
            raise self._lost
        stream = self._stream
        if stream is None:
            raise AudioError(
                "not-started",
                f"The {_WHAT[self.kind]} is not open (call start()).",
                recoverable=False,
            )
        now = time.monotonic()
        reason = None
        try:
            if self._finished.is_set() or not stream.active:
                reason = "the sound system closed the stream"
        except _sd().PortAudioError as exc:
            reason = f"the stream failed ({exc})"
        if reason is None:
            if self._first_block.is_set():
                if now - self._last_block_at > self.stall_timeout_s:
                    reason = f"no audio for {now - self._last_block_at:.1f} s"
            elif now - self._opened_at > self.first_block_timeout_s:
                reason = f"no audio since it was opened {now - self._opened_at:.1f} s ago"
        if reason is not None:
            self._lose(reason)

    def _lose(self, reason: str) -> None:
        what = _WHAT[self.kind]
        self._lost = AudioError(
            "device-lost",
            f"The {what} '{self.device.name}' stopped working ({reason}). Check that it is "
            f"plugged in; Petvisor reconnects when it is back. {_FIX[self.kind]}",
            recoverable=True,
        )
        log.warning("%s lost: %s", what.capitalize(), reason)
        self._detach_stream(wait_s=0.0)
        raise self._lost

    def _detach_stream(self, wait_s: float) -> None:
        """Close the current stream on a helper thread: a stalled ALSA stream can take tens
        of seconds to close, and nobody should wait for that. `wait_s` bounds the wait."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        closer = threading.Thread(
            target=_close_stream, args=(stream,), name=f"{self.kind}-close", daemon=True
        )
        closer.start()
        if wait_s > 0:
            closer.join(wait_s)
            if closer.is_alive():
                log.warning("The %s stream is slow to close; leaving it", _WHAT[self.kind])

    # lifecycle -------------------------------------------------------------
    @property
    def lost(self) -> bool:
        return self._lost is not None

    @property
    def latency_s(self) -> float:
        """PortAudio's estimate of the device latency of the open stream."""
        stream = self._stream
        return float(stream.latency) if stream is not None else 0.0

    def reopen(self) -> None:
        """Close and open the device once (raises AudioError when it cannot)."""
        self._detach_stream(wait_s=2.0)
        self._open()

    def recover(self, max_wait_s: float = 30.0) -> bool:
        """Reopen a lost device, retrying with backoff (0.25 s doubling to 5 s) until sound
        flows again, `max_wait_s` passes, or `stop()` is called. True when it is back."""
        deadline = time.monotonic() + max_wait_s
        delay = 0.25
        attempts = 0
        self._stop_requested.clear()
        while True:
            attempts += 1
            try:
                self._detach_stream(wait_s=0.5)
                rescan_devices()  # a replugged USB device may come back under a new index
                self._open()
                wait = max(0.0, min(self.first_block_timeout_s, deadline - time.monotonic()))
                if self._first_block.wait(wait):
                    log.info("%s back after %d attempt(s)", _WHAT[self.kind].capitalize(), attempts)
                    return True
                log.debug("Reopened %s but no audio yet", _WHAT[self.kind])
            except AudioError as exc:
                log.log(
                    logging.WARNING if attempts == 1 else logging.DEBUG,
                    "Reopening the %s failed (%s); retrying",
                    _WHAT[self.kind],
                    exc.code,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._detach_stream(wait_s=0.0)
                self._lost = self._lost or AudioError(
                    "device-lost", f"The {_WHAT[self.kind]} did not come back. {_FIX[self.kind]}"
                )
                log.warning(
                    "Gave up reopening the %s after %d attempts", _WHAT[self.kind], attempts
                )
                return False
            if self._stop_requested.wait(min(delay, remaining)):
                return False
            delay = min(delay * 2, 5.0)

    def _close(self) -> None:
        self._stop_requested.set()
        self._detach_stream(wait_s=2.0)


def _close_stream(stream: Any, registered: bool = True) -> None:
    try:
        stream.abort()
    except Exception as exc:  # noqa: BLE001 - a dying device can fail in any way; we close it regardless
        log.debug("Aborting the stream failed: %s", exc)
    try:
        stream.close()
    except Exception as exc:  # noqa: BLE001 - as above
        log.debug("Closing the stream failed: %s", exc)
    if registered:
        _stream_closed()
