"""Start to listening, and where the memory is: the app's own `Engine` started in a fresh
process, twice with the same home folder, the way a clinic PC starts the app:

- first start: nothing cached (the language model reads its fixed prompt and stores it);
- second start: the prompt cache warm (and the model files in the OS's page cache).

Then a caller says a sentence at the idle kiosk (a WAV file played into the room) and the
resident memory is sampled until the answer has been spoken.

For each: seconds from process start to each component being ready and to listening (every
component: history, sandbox clinic, language model with its prompt, VAD with the end-of-turn
model, recogniser, voice, microphone, speaker), and the resident memory by kind when ready
(`petvisor_desktop.memory`). The microphone and speaker are a private PulseAudio server's
(tests/voice/pulse.py); the home folder is a temporary one.

    .venv/bin/python benchmarks/bench_start.py [--json FILE]
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the imports: they are part of a start

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T09:00"
PHRASE = ROOT / "petvisor_desktop" / "data" / "selftest-phrase.wav"


def child() -> int:
    """One start of the engine in this process; prints one JSON line of figures."""
    from petvisor_desktop.events import EngineEvent, EventType
    from petvisor_desktop.memory import resident
    from petvisor_desktop.runtime import Engine
    from petvisor_desktop.settings import load_settings

    ready_at: dict[str, float] = {}
    load_s: dict[str, float] = {}
    own_mb: dict[str, float] = {}
    lock = threading.Lock()

    def on_event(event: EngineEvent) -> None:
        data = event.data
        if event.type == EventType.COMPONENT and data["state"] not in ("loading", "disabled"):
            mem = resident()
            with lock:
                ready_at[data["component"]] = round(time.perf_counter() - STARTED, 2)
                load_s[data["component"]] = data.get("load_s", 0.0)
                own_mb[data["component"]] = mem.own if mem else 0.0
                if data["state"] != "ready":
                    print(f"{data['component']}: {data['detail']}", file=sys.stderr)

    spoken = threading.Event()

    def on_reply(event: EngineEvent) -> None:
        on_event(event)
        if event.type == EventType.ASSISTANT_SPOKEN:
            spoken.set()

    imported = time.perf_counter() - STARTED
    engine = Engine(load_settings(), on_reply, now=NOW, voice=True, mode="kiosk")
    engine.start()
    engine.wait_ready()
    listening = time.perf_counter() - STARTED
    mem = resident()
    ok = engine.can_listen()
    # The caller speaks at the idle kiosk (the parent plays the phrase into the room): the
    # heaviest moment, recognition, the model and Piper together. Sampled every 100 ms.
    print("LISTENING", flush=True)
    peak = mem
    deadline = time.monotonic() + 90
    while ok and not spoken.is_set() and time.monotonic() < deadline:
        now = resident()
        if now is not None and (peak is None or now.total > peak.total):
            peak = now
        time.sleep(0.1)
    engine.shutdown()
    print(
        json.dumps(
            {
                "imports_s": round(imported, 2),
                "listening_s": round(listening, 2),
                "can_listen": ok,
                "ready_at_s": ready_at,
                "load_s": load_s,
                "own_mb_at": own_mb,
                "resident_mb": mem.as_dict() if mem else {},
                "answered": spoken.is_set(),
                "spoken_turn_peak_mb": peak.as_dict() if peak else {},
            }
        ),
        flush=True,
    )
    return 0 if ok else 1


def one_start(env: dict[str, str], pulse: Any) -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    figures = None
    try:
        for line in proc.stdout:
            if line.startswith("LISTENING"):
                time.sleep(1.0)  # as a person walking up would
                pulse.play_into_room(PHRASE, wait=False)
            elif line.startswith("{"):
                figures = json.loads(line)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    if figures is None:
        raise SystemExit("the engine did not start (run the child alone to see why)")
    return figures


def show(label: str, r: dict[str, Any]) -> None:
    print(f"\n{label}: listening after {r['listening_s']:.1f} s (imports {r['imports_s']:.1f} s)")
    order = sorted(r["ready_at_s"], key=r["ready_at_s"].get)
    for name in order:
        print(
            f"  {name:<11} ready at {r['ready_at_s'][name]:6.2f} s  "
            f"(load {r['load_s'].get(name) or 0:5.2f} s; own memory then "
            f"{r['own_mb_at'][name]:6.0f} MB)"
        )
    mem = r["resident_mb"]
    if mem:
        print(
            f"  resident when listening: {mem['total']:.0f} MB = language model file "
            f"(mapped) {mem['llm_file']:.0f} + other model files {mem['other_models']:.0f} + "
            f"libraries {mem['libraries']:.0f} + own {mem['own']:.0f}"
        )
    peak = r.get("spoken_turn_peak_mb") or {}
    if peak:
        print(
            f"  resident at its peak during a spoken turn"
            f"{'' if r.get('answered') else ' (NOT ANSWERED within 90 s)'}: "
            f"{peak['total']:.0f} MB (language model file mapped {peak['llm_file']:.0f}, "
            f"own {peak['own']:.0f})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.child:
        return child()
    sys.path[:0] = [str(ROOT / "tests" / "voice"), str(ROOT / "scripts")]
    from measure_app import home_env  # a home folder of its own: nothing of the user's
    from pulse import PulseServer  # a private PulseAudio server: a real microphone and speaker

    figures = {}
    with (
        tempfile.TemporaryDirectory(prefix="petvisor-start-") as tmp,
        PulseServer(echo_gain=0.0) as pulse,
    ):
        home = Path(tmp)
        env = home_env(
            home,
            PULSE_SERVER=pulse.server,
            PETVISOR_DB_PATH=str(home / "data" / "petvisor.sqlite3"),
            PETVISOR_BACKUP_DIR=str(home / "data" / "backups"),
        )
        for label in ("first start (nothing cached)", "second start (prompt cache warm)"):
            figures[label] = one_start(env, pulse)
            show(label, figures[label])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
