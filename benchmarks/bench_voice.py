"""Latency benchmark of the spoken conversation over the voice scenarios.

Each caller line is spoken by espeak-ng into a live (file-backed) microphone and goes through
the whole path in real time: Silero VAD, the recogniser, the booking brain, Piper, and a
real-time speaker. Prints p50/p95 of the response latency (end of caller speech -> first
assistant audio of the answer; no fillers or chimes exist to flatter it) and of each stage,
plus the STT and TTS real-time factors.

    .venv/bin/python benchmarks/bench_voice.py [tests/scenarios/voice] [--llm NAME] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petvisor_desktop.engine import load_llm  # noqa: E402
from petvisor_desktop.settings import load_settings  # noqa: E402
from petvisor_desktop.simulate import Scenario, run_scenario, scenario_files  # noqa: E402
from petvisor_desktop.voice.caller import load_voice_models  # noqa: E402

STAGES = ("end_of_turn_ms", "stt_ms", "llm_first_token_ms", "llm_total_ms", "tts_first_chunk_ms")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", type=Path, default=ROOT / "tests/scenarios/voice")
    parser.add_argument("--llm", help="model name from the manifest")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    settings = load_settings()
    started = time.perf_counter()
    model = load_llm(settings, args.llm)
    voice = load_voice_models(settings)
    print(
        f"models loaded in {time.perf_counter() - started:.1f} s "
        f"(stt: {voice['stt'].name} {voice['stt'].model_name}; voice: {voice['tts'].voice})"
    )
    rows: list[dict] = []
    passed = total = 0
    for _ in range(args.rounds):
        for path in scenario_files(args.target):
            scenario = Scenario.load(path)
            report = run_scenario(scenario, settings, model, voice=voice)
            total += 1
            passed += report["checks"]["passed"]
            replies = [t for t in report["transcript"] if t["role"] == "assistant"]
            print(
                f"{'PASS' if report['checks']['passed'] else 'FAIL'} {scenario.name}: "
                f"{report['outcome']}, {len(replies)} replies, latency "
                + " ".join(str(t["latency_ms"]) for t in replies)
            )
            for t in replies:
                rows.append(
                    {
                        "response_ms": t["latency_ms"],
                        **t.get("stages_ms", {}),
                        "stt_rtf": t.get("stt_rtf"),
                        "tts_rtf": t.get("tts_rtf"),
                    }
                )
    print(f"\n{passed} of {total} spoken scenarios met their expectations; {len(rows)} replies")
    print(f"{'figure':<22}{'p50':>8}{'p95':>8}{'mean':>8}")
    for key in ("response_ms", *STAGES, "stt_rtf", "tts_rtf"):
        values = [float(r[key]) for r in rows if r.get(key) is not None]
        if values:
            print(
                f"{key:<22}{pct(values, 0.5):>8.2f}{pct(values, 0.95):>8.2f}"
                f"{statistics.mean(values):>8.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
