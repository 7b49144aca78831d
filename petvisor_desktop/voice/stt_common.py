"""What both speech recognisers share: checking a model folder before loading it (with the
message that says how to fix it) and converting audio frames to the sample type each wants."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from petvisor_desktop.voice.base import SttError


def fix_command(name: str) -> str:
    return f"run `petvisor-desktop models pull {name}`"


def to_pcm16(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.int16:
        return frame
    return (np.clip(frame, -1.0, 1.0) * 32767.0).astype(np.int16)


def to_float(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.int16:
        return frame.astype(np.float32) / 32768.0
    return np.asarray(frame, dtype=np.float32)


def model_corrupt(name: str, folder: Path, why: str) -> SttError:
    return SttError(
        "model-corrupt",
        f"the speech model {name} in {folder} is damaged ({why}); {fix_command(name)}",
        recoverable=False,
    )


def check_model_folder(folder: Path, name: str, required: Iterable[str], *, engine: str) -> None:
    if not folder.is_dir():
        raise SttError(
            "model-missing",
            f"the {engine} speech model {name} is not installed ({folder} does not exist); "
            f"{fix_command(name)}",
            recoverable=False,
        )
    missing = [rel for rel in required if not (folder / rel).is_file()]
    if missing:
        raise model_corrupt(name, folder, f"{', '.join(missing)} missing")
