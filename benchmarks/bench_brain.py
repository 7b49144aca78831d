"""Benchmark of the booking brain over the scenario suite (text only, no audio).

Prints: success rate, turns per booking, grounding rejections, per-turn LLM time p50/p95,
tokens in/out, and the grammar's cost per generated token, measured two ways on the same
prompts: our check-the-greedy-token-first sampler, and llama-cpp-python's stock grammar
sampling (the whole vocabulary filtered at every step).

    .venv/bin/python benchmarks/bench_brain.py [tests/scenarios] [--llm NAME] [--limit N]
        [--db PATH] [--shadow NAME]

--shadow NAME puts every call of the conversation's model to a second model too, on the same
prompt, and prints per step how often the dialog would take the same from both calls (the
conversation goes on with the first model's): how a smaller model compares, step by step,
with the default on the same callers.

The simulated calls go into a temporary history database, deleted afterwards, unless --db
names one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petvisor_desktop.engine import load_llm  # noqa: E402
from petvisor_desktop.history.scratch import run_history  # noqa: E402
from petvisor_desktop.settings import load_settings  # noqa: E402
from petvisor_desktop.simulate import Scenario, run_scenario, scenario_files  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def stock_grammar_cost(model, prompts: list[tuple[list, str]]) -> tuple[float, float]:
    """ms per generated token with llama-cpp-python's own grammar sampling, and without any."""
    from llama_cpp import LlamaGrammar

    llama = model._llama
    with_grammar: list[float] = []
    without: list[float] = []
    for messages, grammar in prompts:
        prompt = model.render(messages)
        for use_grammar, sink in ((True, with_grammar), (False, without)):
            llama.create_completion(prompt, max_tokens=1, temperature=0.0)  # cache the prompt
            kwargs = (
                {"grammar": LlamaGrammar.from_string(grammar, verbose=False)} if use_grammar else {}
            )
            t0 = time.perf_counter()
            out = llama.create_completion(prompt, max_tokens=40, temperature=0.0, **kwargs)
            elapsed = (time.perf_counter() - t0) * 1000
            n = out["usage"]["completion_tokens"]
            if n:
                sink.append(elapsed / n)
    llama.reset()
    return statistics.mean(with_grammar), statistics.mean(without)


class Shadow:
    """Each call of the conversation's model also put to a second model on the same prompt,
    both calls grounded in the caller's words as the dialog grounds them: `calls` keeps
    (step, the same booking details, the same with the notes too). The conversation goes on
    with the first model's call."""

    def __init__(self, shadow) -> None:
        self.shadow = shadow
        self.calls: list[tuple[str, bool, bool]] = []

    def install(self) -> None:
        from petvisor_desktop.dialog import understand as u

        propose, shadow, calls = u.Understander.propose, self.shadow, self.calls

        def both(understander, state, text):
            ours = propose(understander, state, text)
            model, understander.model = understander.model, shadow
            try:
                theirs = propose(understander, state, text)
            finally:
                understander.model = model
            a = _meaning(understander, state, text, ours)
            b = _meaning(understander, state, text, theirs)
            step = "opening" if state.expecting == "none" else str(state.expecting)
            calls.append((step, a[:3] == b[:3], a == b))
            return ours

        u.Understander.propose = both  # type: ignore[method-assign]

    def report(self, name: str) -> None:
        by_step: dict[str, list[tuple[bool, bool]]] = {}
        for step, details, everything in self.calls:
            by_step.setdefault(step, []).append((details, everything))
        print(f"\nsame understanding from {name}, per step: booking details, and with the")
        print("reason in the caller's words (notes) too; model calls")
        rows = [*sorted(by_step.items()), ("all", [s for v in by_step.values() for s in v])]
        for step, same in rows:
            share = 100 * sum(d for d, _ in same) / len(same)
            with_notes = 100 * sum(e for _, e in same) / len(same)
            print(f"  {step:16} {share:5.1f}%  {with_notes:5.1f}%  ({len(same)})")


def _meaning(understander, state, text, proposal) -> tuple:
    """What the dialog takes from a tool call: the grounded details, and the two uses of the
    call's name (an answer to a question at the read-back; a hand-off for another animal)."""
    from petvisor_desktop.dialog.understand import Grounding

    found, _ = Grounding(understander, state, text).run(proposal.args)
    species = proposal.tool == "handoff" and proposal.args.get("reason") == "species"
    details = sorted((k, str(v)) for k, v in found.items() if k != "notes")
    return proposal.tool == "answer", species, details, found.get("notes")


def play(path: Path, settings, model, history) -> dict:
    report = run_scenario(Scenario.load(path), settings, model, recorder_factory=lambda: history)
    mark = "PASS" if report["checks"]["passed"] else "FAIL"
    print(
        f"{mark} {report['scenario']}: {report['outcome']} in {report['turns']} turns "
        + ("" if report["checks"]["passed"] else str(report["checks"]["failures"])),
        flush=True,
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("target", nargs="?", type=Path, default=ROOT / "tests" / "scenarios")
    parser.add_argument("--llm", default=None)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the reports here")
    parser.add_argument("--db", type=Path, help="record into this history (default: temporary)")
    parser.add_argument("--shadow", help="a second model to put every call to (see above)")
    args = parser.parse_args()

    settings = load_settings()
    t0 = time.perf_counter()
    model = load_llm(settings, args.llm)
    load_s = time.perf_counter() - t0
    shadow = Shadow(load_llm(settings, args.shadow)) if args.shadow else None
    if shadow:
        shadow.install()
    files = scenario_files(args.target)
    if args.limit:
        files = files[: args.limit]
    with run_history(args.db, prefix="petvisor-bench-") as history:
        reports = [play(path, settings, model, history) for path in files]
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))
    if shadow:
        shadow.report(args.shadow)

    turns = [e for r in reports for e in r["transcript"] if e["role"] == "assistant"]
    llm_turns = [e for e in turns if e["tokens_out"]]
    llm_ms = [e["llm_ms"] for e in llm_turns]
    turn_ms = [e["latency_ms"] for e in turns]
    booked = [r for r in reports if r["outcome"] == "booked"]
    rejections = sum(len(e["grounding_rejections"]) for e in turns)
    tokens_out = sum(e["tokens_out"] for e in llm_turns)
    grammar_ms = sum(e["grammar_ms"] for e in llm_turns)
    passed = sum(r["checks"]["passed"] for r in reports)

    print()
    print(f"model: {model.path.name} (loaded in {load_s:.1f} s)")
    print(f"scenarios: {passed}/{len(reports)} passed ({100 * passed / len(reports):.1f}%)")
    if booked:
        print(
            f"turns per booking: mean {statistics.mean(r['turns'] for r in booked):.1f}, "
            f"max {max(r['turns'] for r in booked)}"
        )
    print(f"grounding rejections: {rejections} values dropped over {len(turns)} turns")
    print(
        f"per-turn LLM time: p50 {pct(llm_ms, 0.5):.0f} ms, p95 {pct(llm_ms, 0.95):.0f} ms "
        f"({len(llm_turns)} model turns)"
    )
    print(
        f"per-turn total (LLM + dialog + Vetstoria): p50 {pct(turn_ms, 0.5):.0f} ms, "
        f"p95 {pct(turn_ms, 0.95):.0f} ms"
    )
    print(
        "tokens per model turn: in (after cache) mean "
        f"{statistics.mean(e['tokens_in'] for e in llm_turns):.0f}, "
        f"out mean {statistics.mean(e['tokens_out'] for e in llm_turns):.1f}"
    )
    print(f"grammar cost, ours: {grammar_ms / max(1, tokens_out):.2f} ms per generated token")

    from datetime import date

    from petvisor_desktop.dialog.tools import (
        Catalogue,
        fixed_prompt,
        step_tools,
        user_message,
    )
    from petvisor_desktop.llm.chat_model import ChatMessage
    from petvisor_desktop.llm.grammar import tool_call_grammar

    cat = Catalogue(
        ("Dog", "Cat"),
        ("Vaccinations", "Consultation", "Nurse appointment", "Dental"),
        ("Dr Amy Roberts", "Dr Michael Norman"),
    )
    today = date(2026, 11, 23)
    prefix = fixed_prompt(cat, today)
    grammar = tool_call_grammar(step_tools(cat, today, [], False))
    lines = [
        "Hi, my dog Rex needs his jabs on Thursday",
        "It's Sarah Lee",
        "Dr Norman please",
        "She's a cat called Mittens",
    ]
    prompts = [
        ([*prefix, ChatMessage("user", user_message("how can I help", line))], grammar)
        for line in lines
    ]
    ours = []
    for messages, g in prompts:
        c = model.complete(messages, g)
        ours.append((c.total_ms - c.first_token_ms) / max(1, c.tokens_out - 1))
    stock, free = stock_grammar_cost(model, prompts)
    print(
        f"generation per token on the same prompts: ours {statistics.mean(ours):.1f} ms, "
        f"llama-cpp-python grammar sampling {stock:.1f} ms, no grammar {free:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
