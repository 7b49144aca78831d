"""When does a turn end? The end-of-turn model against the fixed silence, on the spoken suite's
caller lines and on lines with natural pauses inside them.

Each line is rendered (espeak-ng or the neural caller), followed by 2 s of quiet, and cut into
turns as the voice loop cuts them: Silero VAD scores each 32 ms frame, the loop's turn
segmenter (same settings) opens and ends turns, and `voice/turn_taking.TurnTaking` (the
loop's own object) decides when the caller has finished; the loop's two calls into it
(`begin` at the turn's start, `frame` on each frame after) are made here the same way. Frames
are fed as fast as they are scored, with their real timestamps on a 32 ms clock.

Where the loop decodes the words at each pause (Whisper), so does this: at the loop's
`SPECULATE_AFTER_MS` of silence the turn so far is decoded (the default recogniser, with the
line's step), and the words reach `TurnTaking.heard` as many 32 ms frames later as the decode
took. Each mode is run with those words (the loop with Whisper, "+words") and without them
(the sound alone, as with Vosk).

Printed per mode and voice:
- turns cut before the caller finished: a line heard as two turns or more (target <= 2%), over
  every line and over the lines with pauses inside (a phone number in groups with 400-700 ms
  gaps, "um... Thursday", a name spelled letter by letter);
- end-of-turn delay: from the end of the caller's speech to the turn's end, p50 and p95, and
  to the turn's end with its words decoded (what the reply waits for);
- the model's time per call and calls per turn.

    .venv/bin/python benchmarks/bench_turn_taking.py [--caller-voice espeak,neural] [--json F]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petvisor_desktop.settings import load_settings  # noqa: E402
from petvisor_desktop.simulate import Scenario  # noqa: E402
from petvisor_desktop.voice.audio.convert import resample  # noqa: E402
from petvisor_desktop.voice.base import FRAME_MS, FRAME_SAMPLES  # noqa: E402
from petvisor_desktop.voice.caller_voice import CallerVoice  # noqa: E402
from petvisor_desktop.voice.loop import SPECULATE_AFTER_MS  # noqa: E402
from petvisor_desktop.voice.parts import load_part  # noqa: E402
from petvisor_desktop.voice.turn_taking import TurnTaking, TurnTakingSettings  # noqa: E402
from petvisor_desktop.voice.vad import TurnSegmenter  # noqa: E402

SUITE = ROOT / "tests/scenarios/spoken-suite.txt"
RATE = 16_000
# Lines said with pauses inside them: (step, pieces, gap range in ms).
PAUSED = [
    ("phone", ["oh seven seven oh oh", "nine oh oh", "one two three"], (400, 700)),
    ("phone", ["zero seven seven zero zero", "nine zero zero", "four five six"], (400, 700)),
    ("phone", ["oh seven seven double oh", "nine double oh", "one oh one"], (400, 700)),
    ("date", ["um", "Thursday"], (500, 800)),
    ("date", ["er", "next Tuesday", "in the afternoon"], (400, 600)),
    ("time", ["hmm", "the second one please"], (500, 700)),
    ("pet_name", ["B", "E", "L", "L", "A"], (250, 400)),
    ("client_name", ["O", "K", "A", "F", "O", "R"], (250, 400)),
    ("client_name", ["it's Sarah", "Sarah Lee"], (400, 600)),
    ("none", ["Hi, I'd like to book my dog in", "for his vaccinations"], (400, 700)),
]


def suite_lines() -> list[tuple[str, str]]:
    """(step, line) for every scripted caller line of the spoken suite's scenarios."""
    out: list[tuple[str, str]] = []
    for rel in SUITE.read_text(encoding="utf-8").splitlines():
        if not rel.strip() or rel.startswith("#"):
            continue
        scenario = Scenario.load(SUITE.parent / rel.strip())
        out.append(("none", scenario.opening))
        for step, answer in scenario.answers.items():
            for line in answer if isinstance(answer, list) else [answer]:
                out.append((step, str(line)))
    return list(dict.fromkeys(out))


def render(voice: CallerVoice, pieces: list[str], gaps: tuple[int, int], rng: random.Random):
    """The line's audio and where its speech ends (samples)."""
    parts: list[np.ndarray] = []
    for i, piece in enumerate(pieces):
        samples, rate = voice.speak(piece)
        samples = resample(samples.astype(np.float32), rate)
        loud = np.flatnonzero(np.abs(samples) > 0.01)
        parts.append(samples[loud[0] : loud[-1] + 1] if len(loud) else samples)
        if i < len(pieces) - 1:
            parts.append(np.zeros(RATE * rng.randint(*gaps) // 1000, np.float32))
    speech = np.concatenate(parts)
    lead = np.zeros(RATE // 2, np.float32)
    audio = np.concatenate([lead, speech, np.zeros(2 * RATE, np.float32)])
    return audio, len(lead) + len(speech)


class PauseDecoder:
    """The words of a turn so far, decoded as the loop decodes them at a pause; each decode
    made once (the same audio recurs across modes) and its time measured."""

    def __init__(self, stt: Any) -> None:
        self.stt = stt
        self._done: dict[tuple[str, str], tuple[str, float]] = {}

    def __call__(self, step: str, frames: list[np.ndarray]) -> tuple[str, float]:
        audio = np.concatenate(frames)
        key = (step, hashlib.blake2b(audio.tobytes(), digest_size=16).hexdigest())
        if key not in self._done:
            started = time.perf_counter()
            stream = self.stt.stream((), expecting=step)
            for frame in frames:
                stream.accept(frame)
            text = stream.finish().text
            self._done[key] = (text, (time.perf_counter() - started) * 1000)
        return self._done[key]

    def ms_p50(self) -> float:
        return statistics.median(ms for _, ms in self._done.values())


def cut(
    audio: np.ndarray,
    step: str,
    vad: Any,
    taking: TurnTaking,
    audio_cfg: Any,
    decode: PauseDecoder | None = None,
    with_words: bool = False,
) -> list[dict]:
    """The turns the loop would cut from `audio`: each with its end time, why it ended, and
    when its words were known (`ready_s`: the end, or the pause's decode if later; the reply
    waits for both). `decode`: the words at each pause, as the loop decodes them with
    Whisper; `with_words`: turn-taking hears them."""
    vad.reset()
    segmenter = TurnSegmenter(
        threshold=audio_cfg.vad_threshold,
        end_silence_ms=audio_cfg.end_silence_ms,
        pre_roll_ms=audio_cfg.pre_roll_ms,
        min_speech_ms=min(200, audio_cfg.min_barge_in_ms),
    )
    turns: list[dict] = []
    frames = audio[: len(audio) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    so_far: list[np.ndarray] = []  # the turn's frames, as the loop feeds them
    silent, words_at, words = 0, -1, ""  # the pause's decode: the frame its words arrive at

    def ended(t: float, by: str) -> None:
        ready = max(t, words_at * FRAME_MS / 1000) if words_at >= 0 else t
        turns.append(
            {
                "end_s": t,
                "ready_s": ready,
                "by": by,
                "checks": list(taking.checks),
                "held": taking.held_by_words,
            }
        )

    for i, frame in enumerate(frames):
        t = (i + 1) * FRAME_MS / 1000
        p = vad.probability(frame)
        if words_at == i and with_words:
            taking.heard(words)  # served between frames, as the loop's commands are
        events = segmenter.push(frame, t, p)
        for event in events:
            kind = event.type.value
            if kind == "speech-start":
                so_far, silent, words_at = list(event.frames), 0, -1
                ms = taking.begin(step, event.frames, words=with_words)
                segmenter.set_end_silence_ms(ms)
            elif kind == "speech":
                so_far.append(event.frames[0])
                speaking = p >= segmenter.neg_threshold
                silent, words_at = (0, -1) if speaking else (silent + 1, words_at)
                if decode is not None and silent == max(1, SPECULATE_AFTER_MS // FRAME_MS):
                    words, ms = decode(step, so_far)
                    words_at = i + 1 + math.ceil(ms / FRAME_MS)
                if taking.frame(event.frames[0], speaking):
                    for end in segmenter.force_end(t):
                        if end.type.value == "speech-end":
                            ended(t, "turn-taking")
            else:
                ended(t, "silence")
    return turns


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--caller-voice", default="espeak,neural")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--complete-at",
        default="",
        help="comma list of model thresholds to try besides the default",
    )
    ap.add_argument(
        "--max-silence-ms", default="", help="with --complete-at: comma list of longest waits"
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    settings = load_settings()
    parts: dict[str, Any] = {}
    # The end-of-turn model is loaded whatever the setting says: both ways are measured.
    with_model = dataclasses.replace(
        settings, audio=dataclasses.replace(settings.audio, turn_taking="model")
    )
    load_part("vad", with_model, parts)
    load_part("tts", settings, parts)
    load_part("stt", settings, parts)
    decoder = PauseDecoder(parts["stt"]) if parts["stt"].name == "whisper" else None
    if parts.get("turn") is None:
        sys.exit("the end-of-turn model is not installed: petvisor-desktop models install-dev")
    a = settings.audio
    modes = {
        "model": TurnTakingSettings(
            "model", a.end_silence_ms, a.turn_check_ms, a.max_end_silence_ms
        ),
        "silence": TurnTakingSettings("silence", a.end_silence_ms),
    }
    base = modes["model"]
    if decoder is not None:
        modes = {f"{m}{w}": c for m, c in modes.items() for w in ("+words", "")}
    for value in filter(None, args.complete_at.split(",")):
        for longest in filter(None, (args.max_silence_ms or str(a.max_end_silence_ms)).split(",")):
            modes[f"model@{value},max{longest}+words"] = dataclasses.replace(
                base, complete_at=float(value), max_silence_ms=int(longest)
            )
    lines = [(step, [line], (0, 0), False) for step, line in suite_lines()]
    lines += [(step, pieces, gaps, True) for step, pieces, gaps in PAUSED]
    results: dict[str, Any] = {}
    for voice_name in args.caller_voice.split(","):
        voice = CallerVoice.load(voice_name, settings, synthesizer=parts["tts"], seed=args.seed)
        rng = random.Random(args.seed)
        rendered = [
            (step, *render(voice, pieces, gaps, rng), paused)
            for step, pieces, gaps, paused in lines
        ]
        for mode, cfg in modes.items():
            taking = TurnTaking(cfg, parts["turn"])
            cut_lines, cut_paused, delays, calls, call_ms, by_model = 0, 0, [], [], [], 0
            held, ready = 0, []
            per_line = []
            for (step, pieces, _, _), (_, audio, speech_end, paused) in zip(
                lines, rendered, strict=True
            ):
                with_words = mode.endswith("+words")
                turns = cut(audio, step, parts["vad"], taking, a, decoder, with_words)
                early = [x for x in turns if x["end_s"] * RATE < speech_end - FRAME_SAMPLES]
                per_line.append(
                    {
                        "step": step,
                        "line": " | ".join(pieces),
                        "cut": bool(early),
                        "turns": turns,
                        "speech_end_s": speech_end / RATE,
                    }
                )
                if early:
                    cut_lines += 1
                    cut_paused += paused
                if turns:
                    delays.append(turns[-1]["end_s"] * 1000 - speech_end / RATE * 1000)
                    ready.append(turns[-1]["ready_s"] * 1000 - speech_end / RATE * 1000)
                    by_model += turns[-1]["by"] == "turn-taking"
                    held += any(x["held"] for x in turns)
                for x in turns:
                    calls.append(len(x["checks"]))
                    call_ms += [ms for _, ms in x["checks"]]
            n_paused = sum(1 for *_, paused in rendered if paused)
            key = f"{voice_name}/{mode}"
            results[key] = {
                "lines": len(rendered),
                "cut_before_finished": cut_lines,
                "cut_share": cut_lines / len(rendered),
                "paused_lines": n_paused,
                "paused_cut": cut_paused,
                "end_delay_p50_ms": statistics.median(delays) if delays else None,
                "end_delay_p95_ms": pct(delays, 0.95),
                "words_ready_p50_ms": statistics.median(ready) if ready else None,
                "words_ready_p95_ms": pct(ready, 0.95),
                "ended_before_the_silence": by_model,
                "held_by_words": held,
                "model_calls_per_turn": statistics.mean(calls) if calls else 0.0,
                "model_ms_p50": statistics.median(call_ms) if call_ms else None,
                "decode_at_pause_ms_p50": decoder.ms_p50() if decoder else None,
                "per_line": per_line,
            }
            r = results[key]
            print(
                f"{key:22} cut early {r['cut_before_finished']}/{r['lines']} "
                f"({100 * r['cut_share']:.1f}%; with pauses inside {cut_paused}/{n_paused}); "
                f"end delay p50 {r['end_delay_p50_ms']:.0f} ms, "
                f"p95 {r['end_delay_p95_ms']:.0f} ms; with its words "
                f"{r['words_ready_p50_ms'] or 0:.0f} / {r['words_ready_p95_ms']:.0f} ms; "
                f"ended sooner {by_model}; held by words {held}; "
                f"model {r['model_calls_per_turn']:.1f} calls/turn, "
                f"{r['model_ms_p50'] or 0:.0f} ms/call; "
                f"decode at a pause {r['decode_at_pause_ms_p50'] or 0:.0f} ms",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
