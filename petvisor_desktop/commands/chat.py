"""`petvisor-desktop chat` (a typed conversation) and `petvisor-desktop simulate` (scenarios)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from petvisor_desktop.settings import Settings


def register(sub: Any) -> None:
    chat = sub.add_parser("chat", help="a typed conversation with the assistant in the terminal")
    chat.add_argument(
        "--now",
        default=argparse.SUPPRESS,  # keeps a --now given before the command name
        help="pin the clinic-local time (sandbox only), e.g. 2026-11-23T09:00",
    )
    chat.add_argument(
        "--llm", help="model name from the manifest (default: the models.llm setting)"
    )
    chat.set_defaults(handler=run_chat)
    sim = sub.add_parser("simulate", help="play caller scenarios against the assistant")
    sim.add_argument("target", type=Path, help="a scenario .json file or a folder of them")
    sim.add_argument("--json", action="store_true", help="print the JSON report(s)")
    sim.add_argument("--llm", help="model name from the manifest (default: the models.llm setting)")
    sim.add_argument("--verbose-turns", action="store_true", help="print each line as it is said")
    sim.add_argument(
        "--voice", action="store_true", help="speak the caller's lines through the audio path"
    )
    sim.add_argument(
        "--caller-voice",
        choices=("espeak", "neural"),
        default="espeak",
        help="with --voice: espeak-ng (robotic, hard for the recogniser) or a natural neural "
        "voice clearly unlike the assistant's",
    )
    sim.add_argument(
        "--noise-snr-db",
        type=float,
        help="with --voice: clinic noise (barking, chatter, a fan) mixed into the caller's "
        "audio at this signal-to-noise ratio",
    )
    sim.add_argument(
        "--seed", type=int, default=0, help="with --voice: the caller's pauses and noise"
    )
    sim.add_argument(
        "--db",
        type=Path,
        help="record the simulated calls into this history database (default: a temporary "
        "one; never the clinic's history)",
    )
    sim.set_defaults(handler=run_simulate)


def open_history(settings: Settings) -> Any:
    """The history database, opened as the app opens it: a damaged or missing file is
    restored from the newest good backup, and that is said, never done silently. A database
    in use by another process raises HistoryError `in_use`, which the command line says in
    one line naming that process. `chat` and `voice` open it first, before the models' long
    load, so that this is said at once."""
    from petvisor_desktop.history import History

    history, report = History.open_with_recovery(settings)
    if report.needs_attention:
        print(f"petvisor-desktop: {report.message}", file=sys.stderr)
    return history


def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    recorder = open_history(settings)
    try:
        return _chat(args, settings, recorder)
    finally:
        recorder.close()


def _chat(args: argparse.Namespace, settings: Settings, recorder: Any) -> int:
    from petvisor_desktop.engine import booking_backend, load_llm, new_assistant
    from petvisor_desktop.llm.chat_model import LlmError
    from petvisor_desktop.modelstore import ModelError

    print("Loading the language model...", file=sys.stderr)
    try:
        model = load_llm(settings, getattr(args, "llm", None))
    except (ModelError, LlmError) as exc:
        print(f"petvisor-desktop: {exc}", file=sys.stderr)
        return 1
    with booking_backend(settings, now=getattr(args, "now", None)) as backend:
        if backend.sandbox is not None:
            print(f"(demo clinic: the sandbox at {backend.sandbox.url})", file=sys.stderr)
        pinned = backend.sandbox.pinned_now if backend.sandbox else None
        conversation_id = recorder.start_conversation("chat") if recorder else None
        assistant = new_assistant(
            settings,
            backend,
            model,
            now=(lambda: pinned) if pinned else None,
            recorder=recorder,
            conversation_id=conversation_id,
        )
        assistant.warm()
        print(f"assistant: {assistant.greet().text}")
        while not assistant.done:
            try:
                line = input("you: ")
            except EOFError:
                break
            turn = assistant.respond(line)
            print(f"assistant: {turn.text}")
            print(
                f"  [{turn.expecting}; {turn.total_ms:.0f} ms; {turn.tokens_out} tokens]",
                file=sys.stderr,
            )
        if not assistant.done:
            assistant.abandon()
    return 0


def run_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from petvisor_desktop.engine import load_llm
    from petvisor_desktop.llm.chat_model import LlmError
    from petvisor_desktop.modelstore import ModelError
    from petvisor_desktop.simulate import Scenario, ScenarioError, scenario_files

    if not args.target.exists():
        print(f"petvisor-desktop: {args.target} does not exist", file=sys.stderr)
        return 2
    try:
        scenarios = [Scenario.load(p) for p in scenario_files(args.target)]
    except ScenarioError as exc:
        print(f"petvisor-desktop: {exc}", file=sys.stderr)
        return 2
    try:
        model = load_llm(settings, args.llm)
    except (ModelError, LlmError) as exc:
        print(f"petvisor-desktop: {exc}", file=sys.stderr)
        return 1
    voice = None
    if args.voice:
        from petvisor_desktop.voice.base import VoiceError
        from petvisor_desktop.voice.caller import load_voice_models

        print("Loading the voice models...", file=sys.stderr)
        try:
            voice = load_voice_models(settings)
        except (ModelError, VoiceError) as exc:
            print(f"petvisor-desktop: {getattr(exc, 'message', exc)}", file=sys.stderr)
            return 1
    caller: dict[str, Any] = {}
    if voice is not None:
        caller = spoken_caller(settings, voice, args.caller_voice, args.noise_snr_db, args.seed)
    elif args.noise_snr_db is not None or args.caller_voice != "espeak":
        print("petvisor-desktop: --caller-voice and --noise-snr-db need --voice", file=sys.stderr)
        return 2
    if args.db is None:  # each scenario records into a temporary history of its own
        return _play_all(args, settings, scenarios, model, voice, caller, None)
    from petvisor_desktop.history.scratch import run_history

    with run_history(args.db) as history:  # asked for: --db PATH
        return _play_all(args, settings, scenarios, model, voice, caller, history)


def _play_all(
    args: argparse.Namespace,
    settings: Settings,
    scenarios: list[Any],
    model: Any,
    voice: Any,
    caller: dict[str, Any],
    history: Any,
) -> int:
    from petvisor_desktop.simulate import run_scenario

    passed = failed = 0
    reports = []
    for scenario in scenarios:
        started = time.perf_counter()
        echo = (
            (lambda role, text: print(f"  {role}: {text}", file=sys.stderr))
            if args.verbose_turns
            else None
        )
        report = run_scenario(
            scenario,
            settings,
            model,
            recorder_factory=(lambda: history) if history is not None else None,
            on_turn=echo,
            voice=voice,
            **caller,
        )
        report["seconds"] = round(time.perf_counter() - started, 1)
        reports.append(report)
        ok = report["checks"]["passed"]
        passed += ok
        failed += not ok
        if args.json and len(scenarios) == 1:
            print(json.dumps(report, indent=2))
        elif args.json:
            print(json.dumps(report))
        else:
            status = "PASS" if ok else "FAIL"
            print(
                f"{status} {scenario.name} ({report['outcome']}, {report['turns']} turns, "
                f"{report['seconds']} s)"
            )
            for failure in report["checks"]["failures"]:
                print(f"     {failure}")
    if len(scenarios) > 1:
        print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def spoken_caller(
    settings: Settings,
    voice: dict[str, Any],
    name: str = "espeak",
    noise_snr_db: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """`run_scenario`'s caller options: how the lines sound and the pause before each (150
    to 400 ms after the assistant stops, seeded)."""
    import random

    from petvisor_desktop.voice.caller import caller_lines
    from petvisor_desktop.voice.caller_voice import CallerVoice, reply_pause_s

    rng = random.Random(seed)
    speaker = CallerVoice.load(name, settings, synthesizer=voice.get("tts"), seed=seed)
    return {
        "caller_voice": caller_lines(speaker, noise_snr_db, seed),
        "pause_s": lambda: reply_pause_s(rng),
    }
