"""Where things live: a source checkout keeps its data beside the code, an installed app in
the user's folders (platformdirs), and a PyInstaller bundle ships read-only data inside it."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

APP_NAME = "petvisor-desktop"
APP_AUTHOR = "Petvisor"


def is_frozen() -> bool:
    """True inside the PyInstaller executable."""
    return bool(getattr(sys, "frozen", False))


def checkout_root() -> Path | None:
    """The repository root when running from a source checkout, else None."""
    if is_frozen():
        return None
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "petvisor_desktop").is_dir():
        return root
    return None


def bundle_root() -> Path | None:
    """The PyInstaller bundle's data folder when frozen (`_internal/` beside the executable
    of a one-folder build), else None."""
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if meipass else None


def app_dir() -> Path | None:
    """The folder holding the executable when frozen, else None."""
    return Path(sys.executable).resolve().parent if is_frozen() else None


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def user_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR))


def default_data_dir() -> Path:
    """`data/` in a checkout, the user's data folder for an installed app."""
    root = checkout_root()
    return root / "data" if root else user_data_dir()


def default_models_dir() -> Path:
    """`models/` in a checkout, the user's data folder for an installed app."""
    root = checkout_root()
    return root / "models" if root else user_data_dir() / "models"


def model_search_path(configured: Path | None = None) -> list[Path]:
    """Folders searched for model files, first match wins: the configured folder, the user's
    data folder, `models/` beside the app, and the executable's bundle."""
    checkout, bundle, beside = checkout_root(), bundle_root(), app_dir()
    candidates: list[Path | None] = [
        configured,
        user_data_dir() / "models",
        checkout / "models" if checkout else None,
        beside / "models" if beside else None,
        bundle / "models" if bundle else None,
    ]
    seen: list[Path] = []
    for c in candidates:
        if c is not None and c not in seen:
            seen.append(c)
    return seen
