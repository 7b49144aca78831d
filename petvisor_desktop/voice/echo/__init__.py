"""The assistant must not hear itself. At the kiosk the speaker's sound leaks back into the
microphone; two layers keep it out.

- Audio (`canceller`, `guard`): an acoustic echo canceller. The echo's delay is found by
  cross-correlating the microphone with what the speaker played (GCC-PHAT over -32..300 ms;
  re-checked every 2 s, and soon after each pause); a partitioned-block frequency-domain NLMS
  filter (512 taps, from 4 ms before the delay) learns the room and its echo estimate is
  subtracted. `EchoGuard.process` returns the cleaned frame and `echo_only` says whether the
  frame is only our own voice, so the VAD runs on cleaned audio and a barge-in triggers only
  on the caller's real voice.
- Text (`text`): `note_spoken` records what the assistant said; `is_echo` discards a
  transcript that is a fragment of it (a local alignment of words, tolerant of recogniser
  errors), unless the caller began speaking after the speaker had gone quiet.
"""

from petvisor_desktop.voice.echo.canceller import EchoCanceller, estimate_delay
from petvisor_desktop.voice.echo.guard import (
    PLAYBACK_TAIL_S,
    TRAINED_ERLE_DB,
    EchoGuard,
    EchoStats,
)
from petvisor_desktop.voice.echo.text import TranscriptEchoCheck, matched_words, words_of

__all__ = [
    "PLAYBACK_TAIL_S",
    "TRAINED_ERLE_DB",
    "EchoCanceller",
    "EchoGuard",
    "EchoStats",
    "TranscriptEchoCheck",
    "estimate_delay",
    "matched_words",
    "words_of",
]
