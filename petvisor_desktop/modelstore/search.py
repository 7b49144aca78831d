"""Finding installed models on the search path, and which of the models the settings need are
still missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from petvisor_desktop.modelstore.errors import ModelError
from petvisor_desktop.modelstore.manifest import InstalledModel, ModelSpec, load_manifest
from petvisor_desktop.modelstore.records import is_installed


def find_model(
    name: str, search_path: Iterable[Path], manifest: dict[str, ModelSpec] | None = None
) -> InstalledModel:
    """The installed model called `name`, from the first folder of the search path that has it."""
    manifest = manifest if manifest is not None else load_manifest()
    spec = manifest.get(name)
    if spec is None:
        raise ModelError(
            "unknown", f"no model called {name!r} in the manifest; known: {', '.join(manifest)}"
        )
    searched = []
    for base in search_path:
        folder = base / name
        searched.append(str(base))
        if is_installed(spec, folder):
            return InstalledModel(spec, folder)
    raise ModelError(
        "missing",
        f"model {name} is not installed (searched {', '.join(searched)}); "
        f"run `petvisor-desktop models pull {name}` (or `models install-dev` on a "
        "development machine)",
    )


def find_role(
    role: str,
    choice: str,
    search_path: Iterable[Path],
    manifest: dict[str, ModelSpec] | None = None,
) -> InstalledModel:
    """Resolve a setting that may be `auto`: the best-ranked installed model of that role."""
    manifest = manifest if manifest is not None else load_manifest()
    folders = list(search_path)
    if choice != "auto":
        return find_model(choice, folders, manifest)
    for spec in sorted((s for s in manifest.values() if s.role == role), key=lambda s: s.rank):
        try:
            return find_model(spec.name, folders, manifest)
        except ModelError:
            continue
    raise ModelError(
        "missing",
        f"no {role} model is installed; run `petvisor-desktop models pull --defaults` (or "
        "`models install-dev` on a development machine)",
    )


def default_models(settings: Any, manifest: dict[str, ModelSpec]) -> list[str]:
    """The models the app runs with these settings: the chosen (or best-ranked downloadable)
    LLM, the voice, the VAD, the end-of-turn model and the speech recogniser of the chosen
    engine."""
    models = settings.models
    names: list[str] = []
    if models.llm != "auto":
        names.append(models.llm)
    else:
        llms = sorted(
            (s for s in manifest.values() if s.role == "llm" and s.has_official_source),
            key=lambda s: s.rank,
        )
        names.extend(s.name for s in llms[:1])
    names += [models.tts_voice, models.vad_model, models.turn_model]
    if models.stt_engine in ("auto", "vosk"):
        names.append(models.vosk_model)
    if models.stt_engine == "whisper":
        names.append(models.whisper_model)
    return names


def missing_defaults(settings: Any, manifest: dict[str, ModelSpec] | None = None) -> list[str]:
    """The default models (see `default_models`) not found anywhere on the search path:
    what a first start still has to download."""
    manifest = manifest if manifest is not None else load_manifest()
    missing = []
    for name in default_models(settings, manifest):
        try:
            find_model(name, settings.models.search_path(), manifest)
        except ModelError:
            missing.append(name)
    return missing
