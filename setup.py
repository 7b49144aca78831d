"""Everything about the package is in pyproject.toml; this only puts two data files that live
outside the packages in the wheel:
- the model manifest: its home is models/manifest.toml (beside the weights, where the build
  and the checkout read it); an installed copy reads it from petvisor_desktop/data/, where
  modelstore.manifest_path() looks after the checkout and the bundle;
- the demo clinic: its home is data/demo-clinic.toml; an installed copy reads it from
  vetstoria/sandbox/, where clinic_data.clinic_file() looks when there is no checkout."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COPIES = {
    ROOT / "models" / "manifest.toml": Path("petvisor_desktop") / "data" / "manifest.toml",
    ROOT / "data" / "demo-clinic.toml": Path("vetstoria") / "sandbox" / "demo-clinic.toml",
}


class BuildWithManifest(build_py):
    def run(self) -> None:
        super().run()
        for source, inside in COPIES.items():
            target = Path(self.build_lib) / inside
            target.parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildWithManifest})
