"""Benchmark of the end-of-turn model (Smart Turn v3.2 through onnxruntime) on a full 8 s
window, the most it ever reads.

Prints, per onnxruntime thread count: milliseconds per call (p50 and p95), split into the
log-mel features (numpy, ours) and the model itself; then the resident memory the model adds
(onnxruntime's import separately, since Silero and Piper load it anyway in the app).

    .venv/bin/python benchmarks/bench_turn_end.py [--threads 1 2] [--calls 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petvisor_desktop import modelstore  # noqa: E402
from petvisor_desktop.settings import load_settings  # noqa: E402
from petvisor_desktop.voice import turn_end  # noqa: E402


def rss_mb() -> float:
    """This process's resident memory (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def window_audio() -> np.ndarray:
    """8 s of speech-like sound: the cost does not depend on what is said (the window is
    always padded to 8 s), so a seeded noise with a voiced tone stands in for a caller."""
    rng = np.random.default_rng(0)
    t = np.arange(turn_end.WINDOW_SAMPLES) / 16_000
    voiced = 0.2 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    return (voiced + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_calls(detector: turn_end.SmartTurnDetector, audio: np.ndarray, calls: int) -> None:
    detector.probability(audio)  # warm-up: onnxruntime allocates its buffers on the first run
    total_ms, features_ms = [], []
    for _ in range(calls):
        started = time.perf_counter()
        detector.probability(audio)
        total_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        turn_end.log_mel_features(audio)
        features_ms.append((time.perf_counter() - started) * 1000)
    total, features = statistics.median(total_ms), statistics.median(features_ms)
    print(
        f"  per call p50 {total:6.1f} ms, p95 {percentile(total_ms, 0.95):6.1f} ms "
        f"(features p50 {features:.1f} ms, the model about {total - features:.1f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()

    settings = load_settings()
    installed = modelstore.find_role(
        "turn", settings.models.turn_model, settings.models.search_path()
    )
    audio = window_audio()
    turn_end.log_mel_features(audio)  # numpy's FFT set-up, not the model's cost

    base = rss_mb()
    import onnxruntime

    with_ort = rss_mb()
    print(f"{installed.spec.name} ({installed.file()}), onnxruntime {onnxruntime.__version__}")
    first: float | None = None
    for threads in args.threads:
        started = time.perf_counter()
        detector = turn_end.SmartTurnDetector.load(installed.file(), threads=threads)
        loaded_s = time.perf_counter() - started
        print(f"{threads} thread(s): loaded in {loaded_s:.2f} s; {args.calls} calls on 8 s")
        time_calls(detector, audio, args.calls)
        if first is None:
            first = rss_mb()
        del detector
    size_mb = installed.file().stat().st_size / 1e6
    print(
        f"resident memory: onnxruntime import {with_ort - base:+.0f} MB; the model loaded and "
        f"run once {(first or with_ort) - with_ort:+.0f} MB (its file: {size_mb:.1f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
