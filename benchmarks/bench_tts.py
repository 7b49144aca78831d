"""Benchmark of the Piper voice on the assistant's own replies.

Prints, per onnxruntime thread count: the real-time factor (synthesis time / audio duration,
target <= 0.3 on the 2-core kiosk PC), the first-chunk latency p50/p95 (from the reply text
to the first audio ready), and the CPU seconds spent per second of audio. Then the same
replies without the clause cuts of long sentences (sentences whole, as Piper would split
them), to show what the cuts buy for the first audio.

The ~30 replies are built the way `petvisor_desktop/dialog/assistant.py` builds them
(greeting, questions, offers with times, read-backs with phone numbers and e-mail, hand-offs),
with the same `normalize` helpers for times, dates, phones and e-mail addresses.

    .venv/bin/python benchmarks/bench_tts.py [--threads 1 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petvisor_desktop.dialog import normalize as n  # noqa: E402
from petvisor_desktop.settings import load_settings  # noqa: E402
from petvisor_desktop.voice.tts import MAX_WORDS, PiperSynthesizer, load_synthesizer  # noqa: E402

TODAY = date(2026, 11, 23)


def replies() -> list[str]:
    """Assistant replies, phrased as the assistant phrases them."""
    clinic, clinic_phone = "Petvisor Demo Clinic", "020 7946 0000"
    vets = ["Dr Amy Roberts", "Dr Michael Norman"]
    # As `Assistant._on` says a day: "tomorrow", or "on Thursday the 26th of November".
    days = [n.spoken_date(date(2026, 11, d), TODAY) for d in (24, 26, 27, 30)]
    days = [d if d in ("today", "tomorrow") else f"on {d}" for d in days]
    out = [
        f"Hello, welcome to {clinic}. I can book an appointment for your cat or dog. "
        "How can I help?",
        "Is the appointment for a cat or a dog?",
        "What kind of appointment do you need: a vaccination, a consultation or a dental check?",
        "Would a vaccination be right?",
        f"Would you like to see {vets[0]} or {vets[1]}, or whoever is free first?",
        "What day would suit you, and do you prefer morning or afternoon?",
        "Lovely. What's your cat's name?",
        "And your first and last name, please?",
        "Thanks, James. And your last name?",
        "What's the best phone number to reach you?",
        "And your email address? You can say skip if you'd rather not.",
        "Sorry, I didn't catch that. Which time would suit you?",
        "You're welcome. Goodbye, and take care.",
        f"This sounds like an emergency. Please tell the reception team right now, or call "
        f"the clinic on {clinic_phone} straight away.",
        f"I'm sorry, I can't reach the booking system right now, so I can't book anything. "
        f"Please ask at reception, or call {clinic_phone}. Is there anything else?",
    ]
    offers = [
        [(9, 0), (10, 30), (14, 0)],
        [(11, 15), (15, 45)],
        [(9, 30), (12, 0), (16, 15)],
        [(8, 45), (13, 0), (17, 30)],
    ]
    for day, times, vet in zip(days, offers, vets * 2, strict=False):
        spoken = [n.spoken_time(clock(h, m)) for h, m in times]
        joined = ", ".join(spoken[:-1]) + " or " + spoken[-1]
        upper = day[:1].upper() + day[1:]
        out.append(f"{upper} I have {joined}. Which would suit you?")
        out.append(f"{vet} has {joined} {day}. Which would suit you?")
        out.append(
            f"Sorry, {n.spoken_time(clock(14, 0))} isn't free. {upper} I have {joined}. "
            "Which would suit you?"
        )
    people = [
        ("Mittens", "cat", "James", "Okafor", "07700900456", "james.okafor@example.com"),
        ("Luna", "dog", "Priya", "Shah-Patel", "02079460018", "priya.shah@example.co.uk"),
        ("Biscuit", "dog", "Tom", "Reilly", "+447700900123", None),
        ("Pepper", "cat", "Anna", "Kowalski", "01632960123", "anna_k@example.org"),
    ]
    for (pet, species, first, last, phone, email), day, vet in zip(
        people, days, vets * 2, strict=False
    ):
        mail = f", and email {n.format_email_for_speech(email)}" if email else ""
        out.append(
            "Let me check I have everything right. A vaccination for "
            f"{pet}, your {species}, with {vet} {day} at {n.spoken_time(clock(10, 30))}. "
            f"Your name is {first} {last}, phone {n.format_phone_for_speech(phone)}{mail}. "
            "Shall I book that?"
        )
        out.append(
            f"You're booked: {pet} will see {vet} {day} at {n.spoken_time(clock(9, 0))}. "
            "Please arrive five minutes early. Is there anything else I can help with?"
        )
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(synth: PiperSynthesizer, texts: list[str], rounds: int, whole: bool) -> dict[str, float]:
    first_ms: list[float] = []
    wall = cpu = audio = 0.0
    for _ in range(rounds):
        for text in texts:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            first: float | None = None
            stream = synth.synthesize_text(text, max_words=10_000 if whole else MAX_WORDS)
            for chunk in stream:
                if first is None:
                    first = (time.perf_counter() - wall0) * 1000
                audio += len(chunk.samples) / chunk.sample_rate_hz
            wall += time.perf_counter() - wall0
            cpu += time.process_time() - cpu0
            first_ms.append(first or 0.0)
    return {
        "rtf": wall / audio,
        "cpu_per_audio_s": cpu / audio,
        "first_p50": pct(first_ms, 0.5),
        "first_p95": pct(first_ms, 0.95),
        "audio_s": audio / rounds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    texts = replies()
    settings = load_settings()
    print(f"{len(texts)} replies, {args.rounds} round(s) each; load average {os.getloadavg()}")
    print(f"{'threads':>7} {'mode':>9} {'RTF':>6} {'CPU/s':>6} {'1st p50':>8} {'1st p95':>8}")
    for threads in args.threads:
        started = time.perf_counter()
        synth = load_synthesizer(settings, threads=threads)
        load_s = time.perf_counter() - started
        for whole in (False, True):
            figures = run(synth, texts, args.rounds, whole)
            print(
                f"{threads:>7} {'sentences' if whole else 'clauses':>9} {figures['rtf']:6.3f} "
                f"{figures['cpu_per_audio_s']:6.3f} {figures['first_p50']:6.0f}ms "
                f"{figures['first_p95']:6.0f}ms"
            )
        print(f"        (load and warm-up {load_s:.1f} s; {figures['audio_s']:.0f} s of audio)")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
