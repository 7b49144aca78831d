"""`petvisor-desktop voice`: the spoken conversation in a terminal, on the real microphone
and speaker, hands-free (the kiosk's turn-taking) with captions and per-turn figures."""

from __future__ import annotations

import argparse
import queue
import sys
from typing import Any

from petvisor_desktop.events import EngineEvent, EventType
from petvisor_desktop.settings import Settings


def register(sub: Any) -> None:
    voice = sub.add_parser(
        "voice", help="talk to the assistant through the microphone and speaker (hands-free)"
    )
    voice.add_argument(
        "--now",
        default=argparse.SUPPRESS,
        help="pin the clinic-local time (sandbox only), e.g. 2026-11-23T09:00",
    )
    voice.add_argument("--llm", help="model name from the manifest (default: models.llm)")
    voice.add_argument("--once", action="store_true", help="end after one conversation")
    voice.set_defaults(handler=run_voice)


def _print_event(event: EngineEvent) -> None:
    data = event.data
    if event.type == EventType.COMPONENT and data["state"] != "loading":
        print(f"  {data['component']:<10} {data['state']:<8} {data['detail']}", file=sys.stderr)
    elif event.type == EventType.CALLER_FINAL:
        print(f"you: {data['text']}")
    elif event.type == EventType.ASSISTANT_REPLY:
        print(f"assistant: {data['text']}")
    elif event.type == EventType.ASSISTANT_SPOKEN and data.get("interrupted"):
        print(f"  (interrupted; heard: {data['text']!r})", file=sys.stderr)
    elif event.type == EventType.TURN_METRICS and data.get("spoken") and "response_ms" in data:
        stages = ", ".join(
            f"{k.removesuffix('_ms')} {data[k]:.0f}"
            for k in ("end_of_turn_ms", "stt_ms", "llm_total_ms", "tts_first_chunk_ms")
            if data.get(k) is not None
        )
        print(f"  [{data['response_ms']:.0f} ms to first audio: {stages}]", file=sys.stderr)
    elif event.type == EventType.ERROR:
        print(f"petvisor-desktop: {data['message']}", file=sys.stderr)


def run_voice(args: argparse.Namespace, settings: Settings) -> int:
    from petvisor_desktop.commands.chat import open_history

    # The database first, as `chat` does: one in use by another process is one line naming
    # it, said at once (the engine would report it among the other components' lines, after
    # loading every model for nothing).
    history = open_history(settings)
    try:
        return _voice(args, settings, history)
    finally:
        history.close()


def _print_storage(status: Any) -> None:
    print(f"  history    {status.message}", file=sys.stderr)


def _voice(args: argparse.Namespace, settings: Settings, history: Any) -> int:
    from petvisor_desktop.runtime import Engine, Preloaded

    ended: queue.Queue[EngineEvent] = queue.Queue()
    history.watch_storage(_print_storage)  # a full disk, and room again, as they happen

    def on_event(event: EngineEvent) -> None:
        _print_event(event)
        if event.type == EventType.CONVERSATION_ENDED:
            ended.put(event)

    print("Loading (language model, recogniser, voice, audio devices)...", file=sys.stderr)
    engine = Engine(
        settings,
        on_event,
        now=getattr(args, "now", None),
        voice=True,
        mode="kiosk",
        llm_name=args.llm,
        preloaded=Preloaded(history=history),
    )
    engine.start()
    try:
        engine.wait_ready()
        if not engine.can_listen():
            broken = [
                f"{name}: {c['detail']}"
                for name, c in engine.components.items()
                if c["state"] != "ready"
            ]
            print(
                "petvisor-desktop: the voice loop cannot start:\n  " + "\n  ".join(broken),
                file=sys.stderr,
            )
            return 1
        while True:
            talk = engine.new_conversation()
            talk.start()
            print("(listening: speak now; Ctrl-C to stop)", file=sys.stderr)
            ended.get()
            if args.once:
                return 0
            input("(conversation over: press Enter for the next caller) ")
    except (KeyboardInterrupt, EOFError):
        return 0
    finally:
        engine.shutdown()
