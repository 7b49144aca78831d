"""The spoken suite, by voice in real time, through the app's own engine conversation.

Each caller line is rendered (espeak-ng, or the neural caller; clinic noise at a given SNR),
put into the engine's microphone 150-400 ms after the assistant stops (seeded), and goes
through everything the kiosk runs: Silero VAD, the recogniser (fitted to closed questions),
the booking brain, Piper and a real-time speaker. Prints, per caller voice and noise:
scenarios met, bookings with a detail the caller did not give, word error rate by step,
first words kept, repairs, choices fitted, hand-offs, and the response latency (end of
caller speech -> first assistant audio) with its stages.

    .venv/bin/python benchmarks/bench_voice.py --from-reports DIR   # a kept run's figures again
    .venv/bin/python benchmarks/bench_voice.py [SUITE.txt|DIR|FILE] \\
        [--caller-voice espeak,neural] [--noise-snr-db none,15] [--llm NAME] [--seed N] \\
        [--turn-taking silence,model]

    (the issue's two conditions in one run: --caller-voice espeak,neural@15)

Every combination of the comma lists is one condition, run over the whole suite and printed
side by side: the caller voices, the noise levels, and how the end of a turn is found (the
fixed silence, or the end-of-turn model; the setting `audio.turn_taking`).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petvisor_desktop.commands.chat import spoken_caller  # noqa: E402
from petvisor_desktop.engine import load_llm  # noqa: E402
from petvisor_desktop.settings import load_settings  # noqa: E402
from petvisor_desktop.simulate import STAGES, Scenario, run_scenario, scenario_files  # noqa: E402
from petvisor_desktop.voice.accuracy import normalize_words, word_error_rate  # noqa: E402
from petvisor_desktop.voice.caller import load_voice_models  # noqa: E402

SUITE = ROOT / "tests/scenarios/spoken-suite.txt"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def suite_files(target: Path) -> list[Path]:
    """A suite list (one scenario path a line, relative to tests/scenarios/), a folder or a
    file."""
    if target.suffix == ".txt":
        base = target.parent
        lines = target.read_text(encoding="utf-8").splitlines()
        return [base / ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    return scenario_files(target)


def first_word_kept(said: str, heard: str) -> bool:
    words, got = normalize_words(said), normalize_words(heard.split(" | ")[0])
    return bool(words) and words[0] in got[:3]


def booking_misses(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The booking's details that the caller did not give (a wrong value), and those left
    out of it (an e-mail address left off), from the checks of `expect.booking`."""
    if not report["bookings"]:
        return [], []
    misses = [f for f in report["checks"]["failures"] if f.startswith("booking.")]
    left_out = [f for f in misses if f.endswith("got ''")]
    return [f for f in misses if f not in left_out], left_out


def tally(result: dict[str, Any], report: dict[str, Any]) -> bool:
    """Add one scenario's report to a condition's figures; whether it was met."""
    ok = report["checks"]["passed"]
    result["passed"].append(ok)
    if not ok:
        result["failed"].append((report["scenario"], report["checks"]["failures"][:3]))
    wrong, left_out = booking_misses(report)
    result["wrong_bookings"].extend(wrong)
    result["left_out"].extend(left_out)
    result["handoffs"].append(report["handoff_reason"] if report["handoff"] else None)
    result["corrections"].extend(c["field"] for c in report.get("corrections", []))
    step = "opening"
    for entry in report["transcript"]:
        if entry["role"] == "caller":
            heard = entry.get("heard", "")
            result["wer", step].append(word_error_rate(entry["text"], heard))
            result["first_word"].append(first_word_kept(entry["text"], heard))
            result["cut"].append(" | " in heard)  # the line was taken as two turns or more
            result["pauses"].append(entry.get("pause_ms") or 0)
            continue
        step = entry["expecting"]
        result["response_ms"].append(entry["latency_ms"])
        by_model = "model_reply_ms" if entry.get("tokens_out") else "rules_reply_ms"
        result[by_model].append(entry["latency_ms"])
        for key in STAGES:
            value = (entry.get("stages_ms") or {}).get(key)
            if value is not None:
                result[key].append(value)
        if entry.get("lead_in_ms") is not None:
            result["onset_kept"].append(entry["lead_in_ms"] > 0)
        if entry.get("prepared_ahead") is not None:
            result["prepared"].append(bool(entry["prepared_ahead"]))
        if entry.get("fitted_choice"):
            result["fitted"].append(entry["fitted_choice"])
        if entry.get("repair"):
            result["repairs"].append(entry["repair"])
        if entry.get("confidence") is not None:
            result["confidence"].append(entry["confidence"])
    if report["outcome"] == "booked":  # greeting -> the booking's confirmation
        result["time_to_book_s"].append(report["transcript"][-1].get("at_s"))
    return bool(ok)


class Condition:
    """One way of running the suite: the caller voice and noise, and how a turn's end is found."""

    def __init__(
        self,
        settings: Any,
        voice: dict[str, Any],
        turn_taking: str,
        name: str,
        snr: float | None,
        seed: int,
    ) -> None:
        audio = dataclasses.replace(settings.audio, turn_taking=turn_taking)
        self.settings = dataclasses.replace(settings, audio=audio)
        self.caller = spoken_caller(self.settings, voice, name, snr, seed)
        self.file_label = f"{name}-{'clean' if snr is None else f'{snr:g}dB'}-{turn_taking}"
        self.label = f"{name} caller, " + ("no noise" if snr is None else f"noise at {snr:g} dB")
        self.label += f", turn end by {turn_taking}"
        self.result: dict[str, Any] = collections.defaultdict(list)


def run_conditions(
    files: list[Path],
    conds: list[Condition],
    model: Any,
    voice: dict[str, Any],
    reports: Path | None = None,
) -> None:
    """Each scenario under every condition before the next scenario: a run stopped early still
    compares the conditions over the same scenarios (`--from-reports`)."""
    if reports is not None:
        reports.mkdir(parents=True, exist_ok=True)
    for path in files:
        scenario = Scenario.load(path)
        for cond in conds:
            started = time.perf_counter()
            report = run_scenario(scenario, cond.settings, model, voice=voice, **cond.caller)
            took = time.perf_counter() - started
            if reports is not None:  # every line as said and as heard, to explain a failure
                out = reports / f"{cond.file_label}-{scenario.name}.json"
                out.write_text(json.dumps(report, indent=1))
            ok = tally(cond.result, report)
            print(
                f"  {'PASS' if ok else 'FAIL'} [{cond.file_label}] {scenario.name}: "
                f"{report['outcome']}, {report['turns']} lines, {took:.0f} s"
                + ("" if ok else f" -- {'; '.join(report['checks']['failures'][:2])}"),
                flush=True,
            )


def show(label: str, r: dict[str, Any]) -> None:
    n, met = len(r["passed"]), sum(r["passed"])
    print(f"\n== {label}: {met} of {n} scenarios met ({100 * met / max(n, 1):.0f}%)")
    for name, failures in r["failed"]:
        print(f"   failed {name}: {failures}")
    print(
        f"   bookings with a detail the caller did not give: {len(r['wrong_bookings'])}"
        + (f" {r['wrong_bookings']}" if r["wrong_bookings"] else "")
    )
    print(f"   bookings with a detail left out (an e-mail left off): {len(r['left_out'])}")
    kept = r["first_word"]
    print(
        f"   first word kept: {sum(kept)} of {len(kept)} caller lines "
        f"(pause after the assistant stops: {min(r['pauses'], default=0)}-"
        f"{max(r['pauses'], default=0)} ms)"
    )
    onset = r["onset_kept"]
    print(f"   caller lines cut into two turns or more: {sum(r['cut'])} of {len(r['cut'])}")
    print(
        f"   turns whose audio kept the caller's first sound: {sum(onset)} of {len(onset)}; "
        f"closed answers fitted to a choice: {len(r['fitted'])}"
    )
    prepared = r["prepared"]
    print(
        f"   replies prepared during the caller's pause and used: {sum(prepared)} of "
        f"{len(prepared)} ({100 * sum(prepared) / max(len(prepared), 1):.0f}%)"
    )
    hand = collections.Counter(h for h in r["handoffs"] if h)
    print(
        f"   hand-offs: {sum(hand.values())} {dict(hand)}; read-back corrections by the "
        f"caller: {dict(collections.Counter(r['corrections']))}"
    )
    print(f"   repairs used: {len(r['repairs'])} {dict(collections.Counter(r['repairs']))}")
    steps = sorted(k[1] for k in r if isinstance(k, tuple))
    print(
        "   word error rate by step: "
        + ", ".join(f"{s} {statistics.mean(r['wer', s]):.2f} (n={len(r['wer', s])})" for s in steps)
    )
    print(f"   {'figure':<22}{'p50':>8}{'p95':>8}{'mean':>8}")
    keys = ("response_ms", "rules_reply_ms", "model_reply_ms", *STAGES)
    for key in (*keys, "confidence", "time_to_book_s"):
        values = [float(v) for v in r.get(key, []) if v is not None]
        if values:
            print(
                f"   {key:<22}{pct(values, 0.5):>8.2f}{pct(values, 0.95):>8.2f}"
                f"{statistics.mean(values):>8.2f}"
            )


def side_by_side(results: dict[str, dict[str, Any]]) -> None:
    """The conditions' main figures as one Markdown table, a column each."""

    def p50_p95(r: dict[str, Any], key: str) -> str:
        values = [float(v) for v in r.get(key, []) if v is not None]
        if not values:
            return "-"
        return f"{pct(values, 0.5):,.0f} / {pct(values, 0.95):,.0f} ms"

    def share(flags: list[bool]) -> str:
        return f"{sum(flags)} of {len(flags)}"

    def time_to_book(r: dict[str, Any]) -> str:
        values = [float(v) for v in r.get("time_to_book_s", []) if v is not None]
        return f"{pct(values, 0.5):.0f} / {max(values):.0f} s" if values else "-"

    rows: list[tuple[str, Any]] = [
        (
            "met",
            lambda r: f"{share(r['passed'])} ({100 * sum(r['passed']) / len(r['passed']):.0f}%)",
        ),
        ("bookings with a detail not given", lambda r: str(len(r["wrong_bookings"]))),
        ("e-mail left off", lambda r: str(len(r["left_out"]))),
        ("caller lines cut into two turns", lambda r: share(r["cut"])),
        ("response p50 / p95", lambda r: p50_p95(r, "response_ms")),
        ("rules replies p50 / p95", lambda r: p50_p95(r, "rules_reply_ms")),
        ("model replies p50 / p95", lambda r: p50_p95(r, "model_reply_ms")),
        *((f"{key[:-3]} p50 / p95", lambda r, k=key: p50_p95(r, k)) for key in STAGES),
        ("replies prepared during the pause and used", lambda r: share(r["prepared"])),
        ("turns whose audio kept the first sound", lambda r: share(r["onset_kept"])),
        ("time to book p50 / max", time_to_book),
    ]

    labels = list(results)
    print("\n| figure | " + " | ".join(labels) + " |")
    print("|---" * (len(labels) + 1) + "|")
    for name, cell in rows:
        print(f"| {name} | " + " | ".join(cell(results[label]) for label in labels) + " |")


def conditions(voices: str, noises: str) -> list[tuple[str, float | None]]:
    """(caller voice, SNR) pairs: every voice with every noise level, except a voice written
    with its own level ("neural@15"), which runs at that level only."""
    pairs: list[tuple[str, float | None]] = []
    for entry in voices.split(","):
        name, _, own = entry.partition("@")
        for snr_text in [own] if own else noises.split(","):
            pairs.append((name, None if snr_text == "none" else float(snr_text)))
    return pairs


def from_reports(folder: Path) -> dict[str, dict[str, Any]]:
    """The figures again from the reports a run kept (`--reports`), by condition: for a run
    stopped before its end, or printed anew."""
    results: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(report, dict) or "transcript" not in report:
            continue  # the figures file
        label = " ".join(path.stem.split("-")[:3])
        tally(results.setdefault(label, collections.defaultdict(list)), report)
    return dict(sorted(results.items(), key=lambda kv: (kv[0].endswith(" model"), kv[0])))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", type=Path, default=SUITE)
    parser.add_argument("--llm", help="model name from the manifest")
    parser.add_argument(
        "--caller-voice",
        default="espeak",
        help="comma list: espeak,neural; a voice may carry its own noise level: neural@15",
    )
    parser.add_argument("--noise-snr-db", default="none", help="comma list, e.g. none,15")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--turn-taking", default=None, help="comma list: silence,model (default: the setting)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--reports", type=Path, help="write each scenario's report (transcript, heard) here"
    )
    parser.add_argument(
        "--from-reports", type=Path, help="print the figures from a run's kept reports only"
    )
    args = parser.parse_args()
    if args.from_reports:
        kept = from_reports(args.from_reports)
        for label, r in kept.items():
            show(label, r)
        side_by_side(kept)
        return 0
    settings = load_settings()
    started = time.perf_counter()
    model = load_llm(settings, args.llm)
    voice = load_voice_models(settings)
    print(
        f"models loaded in {time.perf_counter() - started:.1f} s "
        f"(stt: {voice['stt'].name} {voice['stt'].model_name}; voice: {voice['tts'].voice})"
    )
    files = suite_files(args.target)
    turn_takings = (args.turn_taking or settings.audio.turn_taking).split(",")
    if "model" in turn_takings and voice.get("turn") is None:
        from petvisor_desktop.voice.turn_end import load_turn_detector

        voice["turn"] = load_turn_detector(settings)  # the silence conditions ignore it
    conds = [
        Condition(settings, voice, turn_taking, name, snr, args.seed)
        for turn_taking in turn_takings
        for name, snr in conditions(args.caller_voice, args.noise_snr_db)
    ]
    print(f"{len(files)} scenarios, each under: " + "; ".join(c.label for c in conds), flush=True)
    run_conditions(files, conds, model, voice, args.reports)
    results = {c.label: c.result for c in conds}
    for label, r in results.items():
        show(label, r)
    side_by_side(results)
    if args.json:
        plain = {label: {str(k): v for k, v in r.items()} for label, r in results.items()}
        args.json.write_text(json.dumps(plain, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
