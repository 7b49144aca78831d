"""Everything about the package is in pyproject.toml; this only puts the model manifest in
the wheel. Its home is models/manifest.toml (beside the weights, where the build and the
checkout read it); an installed copy reads it from petvisor_desktop/data/, where
modelstore.manifest_path() looks after the checkout and the bundle."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MANIFEST = Path(__file__).resolve().parent / "models" / "manifest.toml"


class BuildWithManifest(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "petvisor_desktop" / "data" / "manifest.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(MANIFEST), str(target))


setup(cmdclass={"build_py": BuildWithManifest})
