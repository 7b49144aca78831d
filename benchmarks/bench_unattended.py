"""Benchmark of the unattended kiosk (issue 14): what a crash, a booking system that comes and
goes, and an hour of callers leave behind. Every conversation runs through the app's own
engine conversation (`runtime.Engine`, kiosk mode, typed callers from tests/scenarios).

kill  N conversations (`--conversations`, default 50), each a `petvisor-desktop simulate`
      process recording into one shared history file, killed with SIGKILL at a random moment
      of its conversation (seeded: `--seed`). After each kill: the read-only database check
      (`db check`), booking rows without a status, bookings the sandbox made that the history
      does not know, then the next start as the app does it (`open_with_recovery`): clean,
      and every interrupted conversation on the reception worklist.
flap  M conversations (`--flap-conversations`, default 20) in one engine while its sandbox
      Vetstoria server stops and starts every few seconds (the client meets real refused
      connections; the clinic's bookings survive, and each caller meets it as their scenario
      sets it up): bookings in the sandbox against the history, double bookings, "booked"
      said without a 201, and every failed booking or hand-off on the worklist.
soak  callers one after another for `--minutes` (default 60) in one long-lived engine
      process; its memory, threads and open files are sampled every `--sample-s` seconds and
      a least-squares slope after the warm-up is printed per hour, with ERROR lines of its log.

    .venv/bin/python benchmarks/bench_unattended.py [--parts kill,flap,soak] [--llm NAME]
        [--conversations 50] [--flap-conversations 20] [--minutes 60] [--json PATH]

Everything (histories, logs) goes into a temporary folder (`--keep DIR` keeps it there
instead), never the clinic's history. The exit status is 1 when a figure that must be zero
is not (a lost booking, a double booking, an interrupted conversation missing from the
worklist, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petvisor_desktop import modelstore  # noqa: E402
from petvisor_desktop.history import BOOKING_STATUSES, History  # noqa: E402
from petvisor_desktop.history.backups import check_database  # noqa: E402
from petvisor_desktop.history.recording import BOOKING_PENDING  # noqa: E402
from petvisor_desktop.history.records import RecoveryAction  # noqa: E402
from petvisor_desktop.history.store import open_with_recovery  # noqa: E402
from petvisor_desktop.settings import Settings, load_settings  # noqa: E402
from petvisor_desktop.simulate import BOOKED_CLAIMS, Scenario, safety_failures  # noqa: E402

log = logging.getLogger("bench_unattended")

SCENARIOS = ROOT / "tests" / "scenarios"
# Kill: bookings of several shapes, one whose answer stalls after Vetstoria committed it (a
# kill then lands between the booking and its record), and a hand-off.
KILL_SCENARIOS = (
    "dog-vaccinations-all-at-once",
    "cat-consultation-norman-thursday-afternoon",
    "fault-booking-timeout-after-commit",
    "emergency-mid-booking",
    "repair-phone-in-parts",
    "fault-booking-409-pick-again",
)
# Flap: plain bookings; the flapping server is the only fault.
FLAP_SCENARIOS = (
    "dog-vaccinations-all-at-once",
    "cat-consultation-norman-thursday-afternoon",
    "cat-dental-roberts-tuesday-afternoon",
    "dog-nurse-appointment-anyone",
    "dog-dental-tomorrow-earliest",
    "no-email-address",
    "hyphenated-surname",
    "multi-word-names",
)
STARTED = re.compile(r"history\.recording: conversation (\d+) started")
SANDBOX_BOOKED = re.compile(r"vetstoria\.sandbox\.clinic: sandbox booked ")
ERROR_LINE = re.compile(r"^\S+ \S+ ERROR ")
# The Vetstoria client meeting the server down: a retried read, a cached list, a booking
# that could not be sent or re-checked.
CLIENT_FAILED = re.compile(r"WARNING +vetstoria\.client: .*(unavailable|unreachable|could not)")


# -- helpers ------------------------------------------------------------------------------------


def scenario_pool(names: str | None, default: tuple[str, ...] | None) -> list[Path]:
    """Scenario files by name (comma-separated, from tests/scenarios) or path; without names,
    `default`, or every scenario that blocks no times (`blocked` times stay in a long-lived
    sandbox, and would change the scenarios after them)."""
    if names:
        paths = [
            Path(n) if n.endswith(".json") else SCENARIOS / f"{n}.json" for n in names.split(",")
        ]
    elif default is not None:
        paths = [SCENARIOS / f"{n}.json" for n in default]
    else:
        paths = [p for p in sorted(SCENARIOS.glob("*.json")) if not Scenario.load(p).blocked]
    for path in paths:
        Scenario.load(path)  # a missing or bad scenario is said now, not an hour in
    return paths


def read_only(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows from the history without changing it (as `db check` reads it)."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def settings_for(base: Settings, db: Path) -> Settings:
    """The settings the app would run with, its history moved to `db` (backups beside it)."""
    storage = dataclasses.replace(base.storage, db_path=db, backup_dir=db.parent / "backups")
    return dataclasses.replace(base, storage=storage)


def child_env(folder: Path, db: Path) -> dict[str, str]:
    """A child's environment: its own log folder and history, nothing of the clinic's."""
    env = dict(os.environ)
    env["PETVISOR_LOG_DIR"] = str(folder / "logs")
    env["PETVISOR_DB_PATH"] = str(db)
    env["PETVISOR_BACKUP_DIR"] = str(db.parent / "backups")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def log_lines(folder: Path) -> list[str]:
    """Every line of a child's log (the rotated files first)."""
    files = sorted(folder.glob("petvisor.log*"), key=lambda p: p.name, reverse=True)
    lines: list[str] = []
    for path in files:
        lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def error_lines(folder: Path) -> list[str]:
    return [line for line in log_lines(folder) if ERROR_LINE.match(line)]


# -- kill ---------------------------------------------------------------------------------------


def kill_part(args: argparse.Namespace, work: Path, base: Settings) -> dict[str, Any]:
    folder = work / "kill"
    db = folder / "history.sqlite3"
    History.open(db).close()  # created and migrated before the first child can be killed
    settings = settings_for(base, db)
    pool = scenario_pool(args.kill_scenarios, KILL_SCENARIOS)
    rng = random.Random(args.seed)
    durations: dict[str, float] = {}  # a scenario's conversation, start to exit, played whole
    f: Counter[str] = Counter()
    problems: list[str] = []
    interrupted_ids: list[int] = []
    attempt = 0
    while f["killed"] < args.conversations and attempt < 3 * args.conversations + len(pool):
        path = pool[attempt % len(pool)]
        attempt += 1
        run_dir = folder / f"run-{attempt:03d}"
        run_dir.mkdir(parents=True)
        command = [sys.executable, "-m", "petvisor_desktop", "simulate", str(path)]
        command += ["--db", str(db), "--verbose-turns"]
        if args.llm:
            command += ["--llm", args.llm]
        with (run_dir / "stdout.txt").open("w") as out, (run_dir / "stderr.txt").open("w") as err:
            proc = subprocess.Popen(
                command, cwd=ROOT, env=child_env(run_dir, db), stdout=out, stderr=err
            )
        conversation, started = _wait_started(proc, run_dir, args.start_timeout_s)
        if conversation is None:
            f["did_not_start"] += 1
            problems.append(f"kill run {attempt}: no conversation started (see {run_dir})")
            continue
        window = durations.get(path.stem, args.kill_window_s)
        killed = False
        if window is None:  # first run of this scenario: played whole, to time it
            proc.wait()
            durations[path.stem] = time.monotonic() - started
            f["calibration_runs"] += 1
        else:
            try:
                proc.wait(timeout=rng.uniform(0.0, window))
                durations[path.stem] = time.monotonic() - started
                f["ended_before_the_kill"] += 1
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                if _ended(db, conversation):
                    # The goodbye was written and the process was on its way out: nothing
                    # was cut off (typed callers the rules read whole end within a second).
                    f["ended_before_the_kill"] += 1
                else:
                    killed = True
                    f["killed"] += 1
        ids = _after_run(db, settings, run_dir, conversation, killed, f, problems)
        interrupted_ids += ids
        print(
            f"  kill run {attempt}: {path.stem}, conversation {conversation} "
            + ("killed" if killed else "played whole")
            + (f", {len(ids)} interrupted" if ids else ""),
            flush=True,
        )
    on_cli = _worklist_cli(db, folder, interrupted_ids)
    return {
        "conversations_killed": f["killed"],
        "calibration_runs": f["calibration_runs"],
        "ended_before_the_kill": f["ended_before_the_kill"],
        "did_not_start": f["did_not_start"],
        "checks_clean": f["checks_clean"],
        "bookings_without_status": f["bookings_without_status"],
        "vetstoria_bookings_not_in_history": f["lost_bookings"],
        "bookings_in_flight_at_the_kill": f["in_flight"],
        "of_which_unconfirmed_on_worklist": f["in_flight_unconfirmed"],
        "interrupted_conversations": f["interrupted"],
        "interrupted_on_worklist": f["on_worklist"],
        "interrupted_on_worklist_cli": on_cli,
        "clean_restarts": f["clean_restarts"],
        "restarts": f["restarts"],
        "seconds_per_conversation": {k: round(v, 1) for k, v in durations.items()},
        "problems": problems,
    }


def _ended(db: Path, conversation: int) -> bool:
    """The conversation was ended (its goodbye written) in the history."""
    rows = read_only(db, "SELECT ended_at FROM conversation WHERE id = ?", conversation)
    return bool(rows) and rows[0][0] is not None


def _wait_started(
    proc: subprocess.Popen[bytes], run_dir: Path, timeout_s: float
) -> tuple[int | None, float]:
    """The id of the conversation the child started (from its log) and when it was seen;
    None when the child ended or took too long (then it is killed)."""
    deadline = time.monotonic() + timeout_s
    log_file = run_dir / "logs" / "petvisor.log"
    while time.monotonic() < deadline:
        if log_file.exists():
            found = STARTED.search(log_file.read_text(encoding="utf-8", errors="replace"))
            if found:
                return int(found.group(1)), time.monotonic()
        if proc.poll() is not None:
            return None, 0.0
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    return None, 0.0


def _after_run(
    db: Path,
    settings: Settings,
    run_dir: Path,
    conversation: int,
    killed: bool,
    f: Counter[str],
    problems: list[str],
) -> list[int]:
    """What a crash (or a whole run) left, then the next start; returns the conversations
    that were found interrupted."""
    where = f"conversation {conversation} ({run_dir.name})"
    check = check_database(db)  # `db check`: full integrity and foreign keys, read-only
    if killed:
        f["checks_clean"] += check.problem is None
    if check.problem is not None:
        problems.append(f"{where}: db check: {check.problem.message}")
    f["bookings_without_status"] += _without_status(db, where, problems, BOOKING_PENDING)
    # A booking sent when the process died (written before it left, its answer never came).
    in_flight = [
        row[0]
        for row in read_only(
            db, "SELECT conversation_id FROM booking WHERE status = ?", BOOKING_PENDING
        )
    ]
    unended = [
        row[0] for row in read_only(db, "SELECT id FROM conversation WHERE ended_at IS NULL")
    ]
    # The next start, as the app does it.
    history, report = open_with_recovery(settings)
    try:
        f["restarts"] += 1
        clean = (
            report.action in (RecoveryAction.NONE, RecoveryAction.CREATED)
            and report.problem is None
            and report.damaged_path is None
            and report.interrupted_conversations == len(unended)
        )
        f["clean_restarts"] += clean
        if not clean:
            problems.append(
                f"{where}: start-up was not clean: {report.action.value}, {report.message}"
            )
        f["interrupted"] += len(unended)
        for cid in unended:
            item = history.worklist_item(cid)
            if item is not None and "interrupted" in item.reasons:
                f["on_worklist"] += 1
            else:
                problems.append(f"conversation {cid}: interrupted, but not on the worklist")
        f["in_flight"] += len(in_flight)
        for cid in in_flight:
            item = history.worklist_item(cid)
            if item is not None and "unconfirmed" in item.reasons and item.booking is not None:
                f["in_flight_unconfirmed"] += 1
            else:
                problems.append(
                    f"conversation {cid}: a booking was in flight when it was cut off, but it "
                    "is not on the worklist as unconfirmed"
                )
    finally:
        history.close()
    # After the start every booking has its final status (pending ones are unconfirmed).
    f["bookings_without_status"] += _without_status(db, where, problems)
    # The child's sandbox logs each booking it made; the history must hold each one, as
    # confirmed or as unconfirmed (staff to check), whenever the process died.
    made = sum(1 for line in log_lines(run_dir / "logs") if SANDBOX_BOOKED.search(line))
    (known,) = read_only(
        db,
        "SELECT COUNT(*) FROM booking WHERE conversation_id = ? "
        "AND status IN ('confirmed', 'unconfirmed')",
        conversation,
    )[0]
    if made > known:
        f["lost_bookings"] += made - known
        problems.append(
            f"{where}: the sandbox booked {made}, the history records {known} "
            "(a booking nobody will be told about)"
        )
    return unended


def _without_status(db: Path, where: str, problems: list[str], *also: str) -> int:
    """Booking rows whose status is missing or not one the history knows (`also`: allowed
    besides BOOKING_STATUSES)."""
    known = ",".join(f"'{s}'" for s in (*BOOKING_STATUSES, *also))
    (count,) = read_only(
        db, f"SELECT COUNT(*) FROM booking WHERE status IS NULL OR status NOT IN ({known})"
    )[0]
    if count:
        problems.append(f"{where}: {count} booking row(s) without a status")
    return int(count)


def _worklist_cli(db: Path, folder: Path, interrupted: list[int]) -> int:
    """How many of the interrupted conversations `petvisor-desktop worklist --json` lists as
    cut off (the staff's own view of the same file)."""
    out = subprocess.run(
        [sys.executable, "-m", "petvisor_desktop", "worklist", "--json", "--limit", "1000000"],
        cwd=ROOT,
        env=child_env(folder, db),
        capture_output=True,
        text=True,
        check=True,
    )
    listed = {i["id"] for i in json.loads(out.stdout) if "interrupted" in i["reasons"]}
    return sum(1 for cid in interrupted if cid in listed)


# -- the engine conversation (flap and soak children) -----------------------------------------


class Kiosk:
    """One engine, as the kiosk runs it, for many typed callers one after another. Its
    embedded sandbox clinic is set up for each scenario (reset, its clock, faults)."""

    def __init__(self, settings: Settings, llm: str | None, first: Scenario) -> None:
        from petvisor_desktop.engine import load_llm
        from petvisor_desktop.runtime import Engine, Preloaded

        self.events: Counter[str] = Counter()
        self.engine = Engine(
            settings,
            self._on_event,
            now=first.now,
            voice=False,
            mode="kiosk",
            preloaded=Preloaded(
                model=load_llm(settings, llm), sandbox_only=True, listen_when_idle=False
            ),
        )
        self.engine.start()
        self.engine.wait_ready()
        if not self.engine.can_converse():
            broken = {
                k: v["detail"] for k, v in self.engine.components.items() if v["state"] != "ready"
            }
            raise RuntimeError(f"the engine did not start: {broken}")
        self.clinic = self.engine.backend.sandbox

    def _on_event(self, event: Any) -> None:
        # Counted, not kept: a queue nobody reads would grow for as long as the kiosk runs.
        self.events[event.type.value] += 1
        if event.type.value == "error":
            log.warning("engine error event: %s", event.data.get("code"))

    def converse(self, scenario: Scenario, *, reset: bool) -> dict[str, Any]:
        """One caller from greeting to goodbye; the transcript and what the clinic recorded."""
        from petvisor_desktop.sim_caller import Caller

        clinic = self.clinic
        if reset:
            clinic.reset()
        clinic.set_now(scenario.now)
        for fault in scenario.faults:
            clinic.add_fault(fault)
        for blocked in scenario.blocked:
            clinic.add_blocked(blocked)
        before, asked_before = len(clinic.bookings()), len(clinic.requests())
        talk = self.engine.new_conversation()
        caller = Caller(scenario)
        transcript: list[dict[str, Any]] = []
        talk.start().result()
        said = scenario.opening
        for _ in range(scenario.max_turns):
            transcript.append({"role": "caller", "text": said})
            turn = talk.say(said).result()
            if turn is None:
                break
            transcript.append(_entry(turn))
            if turn.done:
                break
            said = caller.answer(turn.expecting, turn.read_back, turn.repair, turn.checking)
        if not talk.ended:  # out of turns: the kiosk ends it as a caller walking away
            talk.end("abandoned").result()
        assistant = talk.assistant
        assert assistant is not None
        bookings = clinic.bookings()[before:] if not reset else clinic.bookings()
        answers = clinic.requests()[asked_before:] if not reset else clinic.requests()
        return {
            "scenario": scenario.name,
            "conversation_id": talk.id,
            "outcome": assistant.outcome or "no_booking",
            "handoff_reason": assistant.handoff_reason,
            "transcript": transcript,
            "bookings": [{"start": b["start"], "schedule_id": b["schedule_id"]} for b in bookings],
            "booking_201s": sum(
                1 for r in answers if r["stage"] == "booking" and r["status"] == 201
            ),
            "safety_failures": safety_failures(transcript, assistant.tz, bookings),
        }

    def close(self) -> None:
        self.engine.shutdown()


def _entry(turn: Any) -> dict[str, Any]:
    """An assistant reply as `simulate.safety_failures` reads it."""
    return {
        "role": "assistant",
        "text": turn.text,
        "expecting": turn.expecting,
        "read_back": turn.read_back,
        "asks_to_book": turn.asks_to_book,
        "tool_calls": [
            {"name": c.name, "arguments": c.arguments, "status": c.status} for c in turn.tool_calls
        ],
    }


def _child_settings() -> Settings:
    from petvisor_desktop.logs import setup_logging

    settings = load_settings()
    setup_logging(settings.log_dir)
    return settings


class Flapper(threading.Thread):
    """Stops and starts the sandbox clinic's server at the same address, for seeded random
    spells (`up_s`, `down_s`: the mean lengths). While it is down, connections are refused."""

    def __init__(self, clinic: Any, up_s: float, down_s: float, seed: int) -> None:
        super().__init__(name="flapper", daemon=True)
        self.clinic, self.up_s, self.down_s = clinic, up_s, down_s
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.downs = 0
        self.down_total_s = 0.0
        # SandboxClinic.start() binds the port it was given; the engine's embedded clinic was
        # given 0 (any free one). Keep the one it got, so that it comes back where the client
        # looks for it, as a real site comes back at its address.
        clinic._port = clinic.port

    def run(self) -> None:
        while not self.stopping.wait(self.rng.uniform(0.5, 1.5) * self.up_s):
            self.clinic.stop()
            self.downs += 1
            spell = self.rng.uniform(0.5, 1.5) * self.down_s
            self.stopping.wait(spell)
            self.down_total_s += spell
            self._start()

    def _start(self) -> None:
        for _ in range(50):
            try:
                self.clinic.start()
                return
            except OSError as exc:  # the port not yet free again: a moment later
                log.warning("sandbox restart: %s", exc)
                time.sleep(0.1)
        raise RuntimeError("the sandbox clinic could not serve again on its port")

    def finish(self) -> None:
        self.stopping.set()
        self.join()
        self._start()


def flap_child(args: argparse.Namespace) -> int:
    settings = _child_settings()
    pool = [Scenario.load(p) for p in scenario_pool(args.flap_scenarios, FLAP_SCENARIOS)]
    kiosk = Kiosk(settings, args.llm, pool[0])
    flapper = Flapper(kiosk.clinic, args.flap_up_s, args.flap_down_s, args.seed)
    flapper.start()
    reports = []
    try:
        for n in range(args.flap_conversations):
            started = time.monotonic()
            report = kiosk.converse(pool[n % len(pool)], reset=True)
            report["seconds"] = round(time.monotonic() - started, 1)
            reports.append(report)
            print(
                f"  flap {n + 1}: {report['scenario']}: {report['outcome']}, "
                f"{len(report['bookings'])} booked in the sandbox ({report['seconds']} s)",
                flush=True,
            )
    finally:
        flapper.finish()
        kiosk.close()
    Path(args.child_out).write_text(
        json.dumps(
            {
                "reports": reports,
                "downs": flapper.downs,
                "down_s": round(flapper.down_total_s, 1),
                "events": dict(kiosk.events),
            }
        )
    )
    return 0


def soak_child(args: argparse.Namespace) -> int:
    settings = _child_settings()
    pool = [Scenario.load(p) for p in scenario_pool(args.soak_scenarios, None)]
    kiosk = Kiosk(settings, args.llm, pool[0])
    print(json.dumps({"ready": True}), flush=True)
    deadline = time.monotonic() + args.minutes * 60
    n = 0
    try:
        while time.monotonic() < deadline:
            scenario = pool[n % len(pool)]
            started = time.monotonic()
            try:
                report = kiosk.converse(scenario, reset=True)
                line = {"outcome": report["outcome"], "safety": report["safety_failures"]}
            except Exception as exc:  # counted: an unattended kiosk goes on to the next caller
                log.exception("soak conversation %d (%s) failed", n, scenario.name)
                line = {"outcome": "exception", "error": repr(exc)}
            line.update(n=n, scenario=scenario.name, seconds=round(time.monotonic() - started, 1))
            print(json.dumps(line), flush=True)
            n += 1
    finally:
        kiosk.close()
    print(json.dumps({"done": True, "conversations": n, "events": dict(kiosk.events)}), flush=True)
    return 0


# -- flap ---------------------------------------------------------------------------------------


def flap_part(args: argparse.Namespace, work: Path, base: Settings) -> dict[str, Any]:
    folder = work / "flap"
    db = folder / "history.sqlite3"
    folder.mkdir(parents=True)
    out = folder / "child.json"
    command = _child_command(args, "flap", out)
    with (folder / "stderr.txt").open("w") as err:
        done = subprocess.run(command, cwd=ROOT, env=child_env(folder, db), stderr=err)
    if done.returncode != 0:
        tail = (folder / "stderr.txt").read_text().splitlines()[-20:]
        raise RuntimeError("the flap child failed:\n" + "\n".join(tail))
    data = json.loads(out.read_text())
    reports = data["reports"]
    rows = read_only(db, "SELECT conversation_id, status, slot_start, schedule_id FROM booking")
    by_conversation: dict[int, list[tuple[str, str, int]]] = {}
    for cid, status, slot, schedule in rows:
        by_conversation.setdefault(cid, []).append((status, slot, schedule))

    f: Counter[str] = Counter()
    problems: list[str] = []
    calls: Counter[str] = Counter()
    history, _report = open_with_recovery(settings_for(base, db))
    try:
        for r in reports:
            cid = r["conversation_id"]
            where = f"flap conversation {cid} ({r['scenario']})"
            made = [(datetime.fromisoformat(b["start"]), b["schedule_id"]) for b in r["bookings"]]
            recorded = [
                (status, datetime.fromisoformat(slot) if slot else None, schedule)
                for status, slot, schedule in by_conversation.get(cid, [])
            ]
            confirmed = [(at, k) for status, at, k in recorded if status == "confirmed" and at]
            known = {
                (at, k) for status, at, k in recorded if status in ("confirmed", "unconfirmed")
            }
            unfinished = sum(1 for row in recorded if row[0] not in BOOKING_STATUSES)
            if unfinished:  # the process ended cleanly: every answer must have been recorded
                f["without_status"] += unfinished
                problems.append(f"{where}: {unfinished} booking row(s) without a final status")
            # Each caller meets the clinic as their scenario sets it (reset between callers),
            # so a time booked twice is one booked twice within a conversation.
            twice = len(made) - len(set(made)) + len(confirmed) - len(set(confirmed))
            if twice:
                f["same_slot_twice"] += twice
                problems.append(f"{where}: {twice} time(s) booked twice")
            f["sandbox_bookings"] += len(made)
            for status in ("confirmed", "unconfirmed", "failed"):
                f[f"history_{status}"] += sum(1 for row in recorded if row[0] == status)
            for slot in made:
                if slot not in known:
                    f["lost_bookings"] += 1
                    problems.append(
                        f"{where}: booked in the sandbox ({slot[0]}), not in the history"
                    )
            for slot in confirmed:
                if slot not in made:
                    f["phantom_bookings"] += 1
                    problems.append(
                        f"{where}: the history says booked ({slot[0]}), the sandbox not"
                    )
            if len(made) > 1 or len(confirmed) > 1:
                f["caller_booked_twice"] += 1
                problems.append(
                    f"{where}: the caller was booked {max(len(made), len(confirmed))} times"
                )
            said = [
                e["text"]
                for e in r["transcript"]
                if e["role"] == "assistant" and BOOKED_CLAIMS.search(e["text"])
            ]
            if said and not (r["booking_201s"] and made):
                f["claims_without_201"] += 1
                problems.append(f"{where}: said booked without a 201: {said[0]!r}")
            f["safety_failures"] += len(r["safety_failures"])
            problems += [f"{where}: {failure}" for failure in r["safety_failures"]]
            for e in r["transcript"]:
                for call in e.get("tool_calls", []):
                    calls[f"{call['name']}:{call['status']}"] += 1
            if _needs_a_person(r):
                f["needs_a_person"] += 1
                if history.worklist_item(cid) is not None:
                    f["needs_a_person_on_worklist"] += 1
                else:
                    problems.append(
                        f"{where}: {r['outcome']} ({r['handoff_reason']}), not on the worklist"
                    )
    finally:
        history.close()
    lines = log_lines(folder / "logs")
    errors = [line for line in lines if ERROR_LINE.match(line)]
    refused = sum(1 for line in lines if CLIENT_FAILED.search(line))
    if errors:
        problems.append(f"flap: {len(errors)} ERROR line(s) in the log, the first: {errors[0]}")
    return {
        "conversations": len(reports),
        "client_saw_vetstoria_fail": refused,
        "outcomes": dict(Counter(r["outcome"] for r in reports)),
        "vetstoria_downs": data["downs"],
        "vetstoria_down_s": data["down_s"],
        "sandbox_bookings": f["sandbox_bookings"],
        "history_booked": f["history_confirmed"],
        "history_unconfirmed": f["history_unconfirmed"],
        "history_failed": f["history_failed"],
        "bookings_without_status": f["without_status"],
        "vetstoria_bookings_not_in_history": f["lost_bookings"],
        "history_booked_not_in_vetstoria": f["phantom_bookings"],
        "double_bookings_same_slot": f["same_slot_twice"],
        "double_bookings_same_caller": f["caller_booked_twice"],
        "booked_claims_without_201": f["claims_without_201"],
        "safety_failures": f["safety_failures"],
        "failed_bookings_or_handoffs": f["needs_a_person"],
        "of_which_on_worklist": f["needs_a_person_on_worklist"],
        "tool_calls": dict(sorted(calls.items())),
        "error_log_lines": len(errors),
        "problems": problems,
    }


def _needs_a_person(report: dict[str, Any]) -> bool:
    """From the conversation's own record: handed to reception, or a booking (or the search
    for times) that Vetstoria failed or left unconfirmed, and no booking made."""
    if report["outcome"] == "handoff":
        return True
    if report["outcome"] == "booked":
        return False
    for entry in report["transcript"]:
        for call in entry.get("tool_calls", []):
            if call["name"] not in ("check_availability", "place_booking"):
                continue
            if call["status"] not in ("ok", "slot_taken", "rules", "rejected"):
                return True
            if call["name"] == "place_booking" and call["arguments"].get("result") not in (
                None,
                "confirmed",
            ):
                return True
    return False


# -- soak ---------------------------------------------------------------------------------------


def proc_sample(pid: int) -> dict[str, float] | None:
    """Resident memory (MB), threads and open file descriptors of a live process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = int(fields["VmRSS"].split()[0])
    return {"rss_mb": rss_kb * 1024 / 1e6, "threads": int(fields["Threads"]), "fds": fds}


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, per hour; None under two points."""
    if len(points) < 2:
        return None
    ts = [t for t, _ in points]
    mean_t, mean_v = statistics.fmean(ts), statistics.fmean(v for _, v in points)
    var = sum((t - mean_t) ** 2 for t in ts)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 3600


def soak_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    folder = work / "soak"
    db = folder / "history.sqlite3"
    folder.mkdir(parents=True)
    out_path = folder / "child.jsonl"
    command = _child_command(args, "soak", None)
    with out_path.open("w") as out, (folder / "stderr.txt").open("w") as err:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=child_env(folder, db), stdout=out, stderr=err
        )
    try:
        samples = _sample(proc, out_path, args)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [json.loads(line) for line in out_path.read_text().splitlines() if line.startswith("{")]
    talks = [line for line in lines if "outcome" in line]
    done = next((line for line in lines if line.get("done")), None)
    warmup_s = args.warmup_s if args.warmup_s is not None else min(300.0, 0.2 * args.minutes * 60)
    fitted = [s for s in samples if s["t"] >= warmup_s]
    figures: dict[str, Any] = {
        "minutes": args.minutes,
        "conversations": len(talks),
        "outcomes": dict(Counter(t["outcome"] for t in talks)),
        "exceptions": sum(1 for t in talks if t["outcome"] == "exception"),
        "safety_failures": sum(len(t.get("safety", [])) for t in talks),
        "ended_cleanly": done is not None and proc.returncode == 0,
        "samples": len(samples),
        "samples_fitted": len(fitted),
        "warmup_s": warmup_s,
    }
    for key, unit in (("rss_mb", "mb"), ("threads", "threads"), ("fds", "fds")):
        values = [s[key] for s in samples]
        slope = slope_per_hour([(s["t"], s[key]) for s in fitted])
        figures[f"{unit}_per_hour"] = round(slope, 3) if slope is not None else None
        figures[f"{key}_first"] = round(values[0], 1) if values else None
        figures[f"{key}_last"] = round(values[-1], 1) if values else None
        figures[f"{key}_max"] = round(max(values), 1) if values else None
    errors = error_lines(folder / "logs")
    figures["error_log_lines"] = len(errors)
    figures["first_errors"] = errors[:5]
    problems = [f"soak: {len(errors)} ERROR line(s) in the log"] if errors else []
    if not figures["ended_cleanly"]:
        problems.append("soak: the child did not end cleanly (see its stderr.txt)")
    problems += [
        f"soak conversation {t['n']} ({t['scenario']}): {failure}"
        for t in talks
        for failure in t.get("safety", [])
    ]
    figures["problems"] = problems
    figures["series"] = [{k: round(v, 2) for k, v in sample.items()} for sample in samples]
    return figures


def _sample(
    proc: subprocess.Popen[bytes], out_path: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Samples of the child from when it is ready (models loaded, engine up) until it has run
    its minutes; then it finishes its caller and ends (killed if not within `--grace-s`).
    Each sample's "t" is seconds since it was ready."""
    samples: list[dict[str, Any]] = []
    ready_at: float | None = None
    while proc.poll() is None:
        now = time.monotonic()
        if ready_at is None and '"ready"' in out_path.read_text():
            ready_at = now
        if ready_at is not None and now - ready_at <= args.minutes * 60:
            sample = proc_sample(proc.pid)
            if sample is not None:
                samples.append({"t": now - ready_at, **sample})
        elif ready_at is not None and now - ready_at > args.minutes * 60 + args.grace_s:
            log.warning(
                "the soak child is still running %.0f s after its end: killed", args.grace_s
            )
            proc.kill()
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=args.sample_s if ready_at is not None else 0.2)
    return samples


# -- the command --------------------------------------------------------------------------------


def _child_command(args: argparse.Namespace, part: str, out: Path | None) -> list[str]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", part]
    command += ["--seed", str(args.seed), "--minutes", str(args.minutes)]
    command += ["--flap-conversations", str(args.flap_conversations)]
    command += ["--flap-up-s", str(args.flap_up_s), "--flap-down-s", str(args.flap_down_s)]
    for name in ("llm", "flap_scenarios", "soak_scenarios"):
        value = getattr(args, name)
        if value:
            command += [f"--{name.replace('_', '-')}", value]
    if out is not None:
        command += ["--child-out", str(out)]
    return command


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", default="kill,flap,soak", help="which parts (default: all three)")
    p.add_argument("--llm", help="model name from the manifest (default: the models.llm setting)")
    p.add_argument("--seed", type=int, default=0, help="kill moments and flap spells")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--keep", type=Path, help="work in this folder and keep it")
    p.add_argument("--conversations", type=int, default=50, help="kill: conversations killed")
    p.add_argument(
        "--kill-window-s",
        type=float,
        help="kill: the kill lands up to this long after the conversation starts (default: "
        "each scenario's own length, timed by playing it whole once)",
    )
    p.add_argument("--start-timeout-s", type=float, default=600.0, help=argparse.SUPPRESS)
    p.add_argument("--kill-scenarios", help="kill: scenario names, comma-separated")
    p.add_argument("--flap-conversations", type=int, default=20, help="flap: conversations")
    p.add_argument("--flap-up-s", type=float, default=3.0, help="flap: mean time up")
    p.add_argument(
        "--flap-down-s",
        type=float,
        default=3.0,
        help="flap: mean time down (the client retries a search for under 2 s)",
    )
    p.add_argument("--flap-scenarios", help="flap: scenario names, comma-separated")
    p.add_argument("--minutes", type=float, default=60.0, help="soak: how long")
    p.add_argument("--sample-s", type=float, default=10.0, help="soak: sampling interval")
    p.add_argument(
        "--warmup-s", type=float, help="soak: left out of the slopes (default: 20%%, at most 5 min)"
    )
    p.add_argument("--grace-s", type=float, default=600.0, help=argparse.SUPPRESS)
    p.add_argument(
        "--soak-scenarios", help="soak: scenario names (default: all that block no times)"
    )
    p.add_argument("--child", choices=("flap", "soak"), help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(parts) - {"kill", "flap", "soak"}
    if unknown:
        p.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    args.parts = parts
    return args


def report(figures: dict[str, Any]) -> None:
    print()
    kill = figures.get("kill")
    if kill:
        print(
            f"kill: {kill['conversations_killed']} conversations killed "
            f"({kill['calibration_runs']} played whole to time them, "
            f"{kill['ended_before_the_kill']} ended before their kill)"
        )
        print(
            f"  database checks clean after the kill: {kill['checks_clean']} of "
            f"{kill['conversations_killed']}"
        )
        print(f"  booking rows without a status: {kill['bookings_without_status']}")
        print(
            "  bookings made in the sandbox the history does not record: "
            f"{kill['vetstoria_bookings_not_in_history']}"
        )
        print(
            f"  bookings in flight at the kill: {kill['bookings_in_flight_at_the_kill']}, "
            f"unconfirmed on the worklist after the start: "
            f"{kill['of_which_unconfirmed_on_worklist']}"
        )
        print(
            f"  interrupted conversations: {kill['interrupted_conversations']}, on the worklist: "
            f"{kill['interrupted_on_worklist']} (`worklist --json`: "
            f"{kill['interrupted_on_worklist_cli']})"
        )
        print(f"  clean restarts: {kill['clean_restarts']} of {kill['restarts']}")
    flap = figures.get("flap")
    if flap:
        print(
            f"flap: {flap['conversations']} conversations, Vetstoria down "
            f"{flap['vetstoria_downs']} times ({flap['vetstoria_down_s']} s), the client met it "
            f"down {flap['client_saw_vetstoria_fail']} times; outcomes {flap['outcomes']}"
        )
        print(
            f"  bookings placed in the sandbox: {flap['sandbox_bookings']}; the history says "
            f"booked: {flap['history_booked']}, unconfirmed (staff to check): "
            f"{flap['history_unconfirmed']}, failed: {flap['history_failed']}"
        )
        print(
            f"  sandbox bookings missing from the history: "
            f"{flap['vetstoria_bookings_not_in_history']}; history bookings missing from the "
            f"sandbox: {flap['history_booked_not_in_vetstoria']}; booking rows without a final "
            f"status: {flap['bookings_without_status']}"
        )
        print(
            f"  double bookings: same slot {flap['double_bookings_same_slot']}, same caller "
            f"{flap['double_bookings_same_caller']}"
        )
        print(f"  'booked' said without a 201: {flap['booked_claims_without_201']}")
        print(
            f"  failed bookings or hand-offs: {flap['failed_bookings_or_handoffs']}, on the "
            f"worklist: {flap['of_which_on_worklist']}"
        )
        print(f"  tool calls: {flap['tool_calls']}")
    soak = figures.get("soak")
    if soak:
        print(
            f"soak: {soak['conversations']} conversations in {soak['minutes']} min, outcomes "
            f"{soak['outcomes']}, exceptions {soak['exceptions']}"
        )
        for key, unit, label in (
            ("rss_mb", "mb", "MB"),
            ("threads", "threads", "threads"),
            ("fds", "fds", "fds"),
        ):
            print(
                f"  {label}/hour: {soak[f'{unit}_per_hour']} (first {soak[f'{key}_first']}, "
                f"last {soak[f'{key}_last']}, max {soak[f'{key}_max']})"
            )
        print(
            f"  samples: {soak['samples']} ({soak['samples_fitted']} after a "
            f"{soak['warmup_s']:.0f} s warm-up); ERROR lines in the log: "
            f"{soak['error_log_lines']}"
        )
    problems = [p for part in figures.values() for p in part.get("problems", [])]
    for problem in problems:
        print(f"PROBLEM: {problem}")


def must_be_zero(figures: dict[str, Any]) -> list[str]:
    """The figures that must be zero (or all) and are not."""
    bad = []
    kill = figures.get("kill")
    if kill:
        n = kill["conversations_killed"]
        if kill["checks_clean"] != n or kill["clean_restarts"] != kill["restarts"]:
            bad.append("kill: a check or a restart was not clean")
        if kill["bookings_without_status"] or kill["vetstoria_bookings_not_in_history"]:
            bad.append("kill: a booking without its status")
        if kill["interrupted_on_worklist"] != kill["interrupted_conversations"]:
            bad.append("kill: an interrupted conversation missing from the worklist")
        if kill["of_which_unconfirmed_on_worklist"] != kill["bookings_in_flight_at_the_kill"]:
            bad.append("kill: a booking in flight at the kill missing from the worklist")
    flap = figures.get("flap")
    if flap:
        for key in (
            "vetstoria_bookings_not_in_history",
            "history_booked_not_in_vetstoria",
            "double_bookings_same_slot",
            "double_bookings_same_caller",
            "booked_claims_without_201",
            "safety_failures",
            "bookings_without_status",
        ):
            if flap[key]:
                bad.append(f"flap: {key} = {flap[key]}")
        if flap["of_which_on_worklist"] != flap["failed_bookings_or_handoffs"]:
            bad.append("flap: a failed booking or hand-off missing from the worklist")
    soak = figures.get("soak")
    if soak and (soak["exceptions"] or not soak["ended_cleanly"] or soak["safety_failures"]):
        bad.append("soak: a conversation raised or broke a safety rule, or the child did not end")
    return bad


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "flap":
        return flap_child(args)
    if args.child == "soak":
        return soak_child(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    base = load_settings()
    choice = args.llm or base.models.llm
    model = modelstore.find_role("llm", choice, base.models.search_path()).spec.name
    print(f"language model: {model}" + (" (the models.llm setting)" if not args.llm else ""))
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        print(f"bench_unattended: --keep {args.keep} is not empty", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="petvisor-unattended-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        figures: dict[str, Any] = {}
        started = time.monotonic()
        for part in args.parts:
            print(f"{part}...", flush=True)
            t0 = time.monotonic()
            if part == "kill":
                figures["kill"] = kill_part(args, work, base)
            elif part == "flap":
                figures["flap"] = flap_part(args, work, base)
            else:
                figures["soak"] = soak_part(args, work)
            figures[part]["seconds"] = round(time.monotonic() - t0, 1)
        report(figures)
        bad = must_be_zero(figures)
        result = {
            "llm": model,
            "seed": args.seed,
            "seconds": round(time.monotonic() - started, 1),
            **figures,
            "must_be_zero_failed": bad,
        }
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
