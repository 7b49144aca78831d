"""The simulated caller's voice: scenario lines spoken by espeak-ng (a voice unlike the
assistant's) into a live microphone, through the whole voice loop, in real time."""

from __future__ import annotations

import io
import logging
import queue
import shutil
import subprocess
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from petvisor_desktop.events import EngineEvent, EventType
from petvisor_desktop.settings import Settings
from petvisor_desktop.voice.base import AudioError

log = logging.getLogger(__name__)

CALLER_VOICE = "en-us+m7"  # espeak-ng; the assistant is Piper's joe. Whisper tiny.en
# understood this variant best of those tried (WER 0.41 on scenario lines, against 0.93 for
# en-us+f3 and 0.51 for en-gb-x-rp), though every espeak voice is hard for it.
CALLER_WPM = 140
PAUSE_BEFORE_S = 0.4  # a caller draws breath after the assistant stops
SETTLE_S = 1.0  # quiet this long after a reply: no second reply is coming


def speak_with_espeak(text: str, voice: str = CALLER_VOICE, wpm: int = CALLER_WPM) -> tuple[
    np.ndarray, int
]:
    """Audio of `text` from espeak-ng, as float32 mono and its rate."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise AudioError("espeak-missing", "espeak-ng is not installed (apt install espeak-ng)")
    result = subprocess.run(
        [exe, "-v", voice, "-s", str(wpm), "--stdout", text],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0 or not result.stdout:
        raise AudioError("espeak-failed", f"espeak-ng could not speak {text!r}: "
                         f"{result.stderr.decode(errors='replace').strip()}")
    with wave.open(io.BytesIO(result.stdout)) as wav:
        rate = wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return samples, rate


@dataclass
class Exchange:
    """One caller line and what came of it."""

    turn: Any  # the AssistantTurn, or None when the assistant did not answer
    heard: str  # what the recogniser made of the caller's line
    figures: dict[str, Any]  # the reply's latency figures from the loop
    spoken: str  # what the caller heard of the reply


class _SimTalker:
    def __init__(self, assistant: Any, replies: queue.Queue[tuple[str, Any]]) -> None:
        self.assistant = assistant
        self._replies = replies

    def respond(self, text: str, *, spoken: bool = False, foresight: Any = None) -> Any:
        turn = self.assistant.respond(text, foresight)
        self._replies.put((text, turn))
        return turn


class SpokenConversation:
    """A scenario's conversation over the voice loop, one caller line at a time."""

    def __init__(
        self,
        models: dict[str, Any],
        settings: Settings,
        assistant: Any,
        *,
        source: Any = None,
        sink: Any = None,
        say: Any = None,
    ) -> None:
        """`source`/`sink` default to a live file-backed microphone and a real-time recorder;
        give real devices (and `say`, which puts the caller's audio in the room) to run the
        same conversation through the sound server."""
        from petvisor_desktop.voice import audio
        from petvisor_desktop.voice.loop import VoiceLoop

        self.source = source if source is not None else audio.PushSource()
        self.sink = sink if sink is not None else audio.RecordingSink(realtime=True)
        self._say = say or self.source.feed
        self.source.start()
        self.sink.start()
        self._events: queue.Queue[EngineEvent] = queue.Queue()
        self._replies: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="petvisor-sim")
        models["vad"].reset()
        self.loop = VoiceLoop(
            {**models, "source": self.source, "sink": self.sink},
            settings,
            self._events.put,
            mode="kiosk",
            executor=self._executor,
        )
        self.talker = _SimTalker(assistant, self._replies)

    def greet(self) -> str:
        self.talker.assistant.greet()
        self.loop.begin(self.talker)
        return self._until_spoken(30.0) or ""

    def exchange(self, said: str) -> Exchange:
        self._settle()
        samples, rate = speak_with_espeak(said)
        time.sleep(PAUSE_BEFORE_S)
        self._say(samples, rate)
        timeout_s = len(samples) / rate + 30.0
        try:
            heard, turn = self._replies.get(timeout=timeout_s)
        except queue.Empty:
            return Exchange(None, "", {}, "")
        spoken = self._until_spoken(60.0, turn.text) or ""
        # A line the VAD cut in two gets two replies: the caller answers the last one.
        while True:
            try:
                more, turn = self._replies.get(timeout=SETTLE_S)
            except queue.Empty:
                break
            heard = f"{heard} | {more}"
            spoken = self._until_spoken(60.0, turn.text) or ""
        figures = self.loop.turn_figures[-1] if self.loop.turn_figures else {}
        return Exchange(turn, heard, figures, spoken)

    def _settle(self) -> None:
        """Before the caller speaks: the assistant has finished, and nothing said earlier is
        still waiting to be read."""
        deadline = time.monotonic() + 60.0
        while (self.loop._speaking or self.sink.busy) and time.monotonic() < deadline:
            time.sleep(0.05)
        for q in (self._events, self._replies):
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break

    def _until_spoken(self, timeout_s: float, text: str | None = None) -> str | None:
        """What the caller heard of the reply `text`; events of other replies are passed
        over."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                event = self._events.get(timeout=left)
            except queue.Empty:
                return None
            if event.type == EventType.ASSISTANT_SPOKEN and (
                text is None or event.data.get("reply") == text
            ):
                return str(event.data.get("text", ""))

    def close(self) -> None:
        self.loop.close()
        self._executor.shutdown(wait=True)


def load_voice_models(settings: Settings) -> dict[str, Any]:
    """VAD, recogniser and voice, loaded once for a whole simulator run."""
    from petvisor_desktop.voice.loop import load_part

    models: dict[str, Any] = {}
    for name in ("vad", "stt", "tts"):
        load_part(name, settings, models)
    return models
