"""The wheel (`pip install petvisor-desktop` from a build) carries what the app reads at run
time besides code: the model manifest, the demo clinic, the self-test recording and the
windows' icons. An installed copy finds them without a checkout beside it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # pip builds in the source folder (leaving build/ behind, which would also mask a file
    # the build no longer copies): build from a copy of the files git knows or would add.
    tree = tmp_path_factory.mktemp("tree")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = ROOT / rel
        if source.is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tree / rel)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(tree),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("petvisor_desktop-*.whl")
    return built


def test_the_wheel_carries_the_manifest_the_phrase_and_the_icons(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        manifest = whl.read("petvisor_desktop/data/manifest.toml")
        clinic = whl.read("vetstoria/sandbox/demo-clinic.toml")
    assert manifest == (ROOT / "models" / "manifest.toml").read_bytes()
    assert clinic == (ROOT / "data" / "demo-clinic.toml").read_bytes()
    assert not [n for n in names if n.endswith((".sqlite3", ".db"))]  # no local database
    assert "petvisor_desktop/data/selftest-phrase.wav" in names
    icons = {p.name for p in (ROOT / "ui" / "resources").glob("*.svg")}
    assert icons and {f"ui/resources/{name}" for name in icons} <= names


def test_an_installed_copy_reads_its_own_manifest(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as whl:
        whl.extractall(site)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import petvisor_desktop, ui.theme as t; from petvisor_desktop import modelstore;"
        "from vetstoria.sandbox import demo;"
        "print(petvisor_desktop.__file__); print(modelstore.manifest_path());"
        "print(len(modelstore.load_manifest())); print(t.RESOURCES);"
        "print(demo.CLINIC.source); print(sorted(demo.SCHEDULES.values()))"
    )
    env_free = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    lines = subprocess.run(
        [sys.executable, "-c", probe, str(site)],
        cwd=tmp_path,
        env=env_free,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()
    module, manifest, count, resources, clinic, clinicians = lines[-6:]
    assert module.startswith(str(site))  # the installed copy, not the checkout
    assert manifest == str(site / "petvisor_desktop" / "data" / "manifest.toml")
    assert int(count) >= 6
    assert (Path(resources) / "paw.svg").is_file() and resources.startswith(str(site))
    assert clinic == str(site / "vetstoria" / "sandbox" / "demo-clinic.toml")
    assert clinicians == "['Dr Amy Roberts', 'Dr Michael Norman']"
