"""The language model's time per dialog call, by model file, with and without the forced text
taken in one batch (`grammar.forced_text`).

The calls are the dialog's own: the assistant's fixed prompt and each step's tools and user
message (`dialog.tools`), for caller lines from the spoken suite's steps. Each model answers
every line with and without forced text, in alternation, after a warm-up; the figures are
per call (prompt after the cached prefix, and the call's tokens).

    .venv/bin/python benchmarks/bench_llm.py [MODEL.gguf|NAME ...] [--repeat N] [--threads N]

Without arguments: the default model. A NAME is a model of the manifest; a path may be any
GGUF (a Q4_0 or IQ4_NL made with llama.cpp's quantize, to compare formats).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petvisor_desktop.dialog.tools import (  # noqa: E402
    Catalogue,
    fixed_prompt,
    step_tools,
    user_message,
)
from petvisor_desktop.dialog.understand import ASKED  # noqa: E402
from petvisor_desktop.llm.chat_model import ChatMessage, LlamaChatModel  # noqa: E402
from petvisor_desktop.llm.grammar import forced_text, tool_call_grammar  # noqa: E402

CATALOGUE = Catalogue(
    ("Cat", "Dog"),
    ("Vaccinations", "Consultation", "Nurse appointment", "Dental"),
    ("Dr Amy Roberts", "Dr Michael Norman"),
)
TODAY = date(2026, 11, 23)
# (the step asked, what the caller said, the times offered, a yes-or-no question)
LINES = [
    ("none", "Hi there. My cat needs her vaccinations.", [], False),
    (
        "none",
        "Hi, I'm Sarah Lee, I'd like to book my dog Rex in for his vaccinations with Dr "
        "Roberts on Wednesday",
        [],
        False,
    ),
    ("clinician", "Doctor Roberts please", [], False),
    ("date", "Thursday afternoon", [], False),
    ("time", "The second one please", ["09:15", "10:30", "11:45"], False),
    ("pet_name", "Her name is Bella", [], False),
    ("client_name", "Sarah Jones", [], False),
    ("confirm", "No, her name is Bella, and my name is Sarah Jones.", [], True),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def model_path(name: str) -> Path:
    path = Path(name)
    if path.suffix == ".gguf":
        return path
    from petvisor_desktop import modelstore
    from petvisor_desktop.settings import load_settings

    settings = load_settings()
    found = modelstore.find_role("llm", name, settings.models.search_path())
    return found.file()


def measure(path: Path, repeat: int, threads: int) -> dict[bool, list[tuple[float, int]]]:
    model = LlamaChatModel.load(path, n_threads=threads)
    prefix = fixed_prompt(CATALOGUE, TODAY)
    model.warm(prefix)
    calls: dict[bool, list[tuple[float, int]]] = {False: [], True: []}
    for round_ in range(repeat + 1):
        for step, said, offered, yes_no in LINES:
            tools = step_tools(CATALOGUE, TODAY, offered, yes_no)
            asked = ASKED[step]
            messages = [*prefix, ChatMessage("user", user_message(asked, said, offered))]
            grammar = tool_call_grammar(tools)
            for forced in (False, True):
                started = time.perf_counter()
                result = model.complete(
                    messages, grammar, forced=partial(forced_text, tools) if forced else None
                )
                if round_:  # the first round warms the caches
                    calls[forced].append(
                        ((time.perf_counter() - started) * 1000, result.tokens_out)
                    )
    model.close()
    return calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["qwen2.5-coder-1.5b-instruct-q4_k_m"])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"{len(LINES)} dialog calls x {args.repeat}, {args.threads} threads")
    print(f"{'model':<44}{'forced':>8}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'tokens':>8}")
    for name in args.models:
        path = model_path(name)
        calls = measure(path, args.repeat, args.threads)
        for forced in (False, True):
            ms = [c[0] for c in calls[forced]]
            tokens = statistics.mean(c[1] for c in calls[forced])
            print(
                f"{path.name[:43]:<44}{'yes' if forced else 'no':>8}{pct(ms, 0.5):>9.0f}"
                f"{pct(ms, 0.95):>9.0f}{statistics.mean(ms):>9.0f}{tokens:>8.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
