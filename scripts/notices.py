"""Collect the licence of everything shipped in the packaged app into its `licenses/` folder.

For each Python distribution whose modules are in the bundle, the licence files it installed
(LICENSE, COPYING, NOTICE, AUTHORS, third-party notices) are copied from its metadata, and
its declared licence (License-Expression, License, or the classifiers) goes into an index.
Native libraries copied from the build machine (Linux: PortAudio, ALSA, X and font
libraries) are listed with the system package they came from and its copyright file. The
bundled models' licences come from the model manifest. Nothing is written from memory: a
distribution that ships no licence text is listed with what its metadata declares, and
THIRD_PARTY_NOTICES.md (beside the executable) covers it.

    python scripts/notices.py OUT_DIR            # every installed runtime dependency
    (build.spec calls write_licenses() with what PyInstaller actually bundled)
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LICENCE_FILE = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS|COPYRIGHT|ThirdPartyNotices)", re.I)
SKIP_SUFFIXES = (".py", ".pyc", ".pyi", ".so", ".dll", ".dylib", ".pyd")
# The runtime extras of pyproject.toml; used when no bundle analysis is given.
RUNTIME_ROOTS = ("petvisor-desktop",)
RUNTIME_EXTRAS = {"llm", "voice", "whisper", "ui"}
# Installed with an extra but left out of the bundle (build.spec `excludes`).
NOT_BUNDLED = {
    "noisereduce",
    "scipy",
    "matplotlib",
    "pillow",
    "contourpy",
    "cycler",
    "fonttools",
    "kiwisolver",
    "pyparsing",
    "python-dateutil",
    "six",
    "joblib",
    "packaging",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_licence(dist: md.Distribution) -> str:
    meta: Any = dist.metadata  # an email.message.Message underneath
    expression = meta.get("License-Expression")
    if expression:
        return expression.strip()
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 80 and text.upper() != "UNKNOWN":
        return text
    classifiers = [
        c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")
    ]
    if classifiers:
        return "; ".join(classifiers)
    return "see the licence files" if text else "not declared"


def licence_files(dist: md.Distribution) -> list[tuple[Path, str]]:
    """(file, where it goes under the component's folder): the path inside the dist-info's
    licenses/ folder or the package, so vendored libraries' licences keep their names."""
    found = []
    for rel in dist.files or []:
        parts = rel.parts
        if rel.name.endswith(SKIP_SUFFIXES) or "__pycache__" in parts:
            continue
        if not LICENCE_FILE.search(rel.name):
            continue
        path = Path(str(dist.locate_file(rel))).resolve()
        if not path.is_file():
            continue
        if parts[0].endswith(".dist-info"):
            inner = parts[2:] if len(parts) > 2 and parts[1] == "licenses" else parts[1:]
        else:
            inner = tuple(p for p in parts if p != "..")
        found.append((path, "/".join(inner)))
    return found


def distributions_for(top_levels: Iterable[str]) -> dict[str, md.Distribution]:
    """The installed distributions that provide these top-level modules."""
    owners = md.packages_distributions()
    found: dict[str, md.Distribution] = {}
    for top in top_levels:
        for name in owners.get(top, []):
            if _norm(name) in NOT_BUNDLED or _norm(name) == "petvisor-desktop":
                continue
            try:
                found[_norm(name)] = md.distribution(name)
            except md.PackageNotFoundError:
                continue
    return found


def runtime_distributions() -> dict[str, md.Distribution]:
    """Every distribution the app's runtime extras pull in (no bundle analysis at hand)."""
    seen: dict[str, md.Distribution] = {}
    todo = [(root, RUNTIME_EXTRAS) for root in RUNTIME_ROOTS]
    while todo:
        name, extras = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        key = _norm(dist.metadata["Name"])
        if key in seen or key in NOT_BUNDLED:
            continue
        if key != "petvisor-desktop":
            seen[key] = dist
        for req in dist.requires or []:
            spec, _, marker = req.partition(";")
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", marker)
            if extra and extra.group(1) not in extras:
                continue
            if marker and not extra:
                try:
                    from packaging.markers import Marker

                    if not Marker(marker).evaluate():
                        continue
                except ImportError:
                    pass
            req_name = re.split(r"[\s\[<>=!~(]", spec.strip(), maxsplit=1)[0]
            todo.append((req_name, set()))
    return seen


def _system_package(path: str) -> tuple[str, Path | None]:
    """(package, copyright file) for a library file on Debian/Ubuntu; ("", None) elsewhere."""
    if not shutil.which("dpkg"):
        return "", None
    # dpkg records one spelling of a path; with merged /usr, /lib and /usr/lib are the same.
    resolved = str(Path(path).resolve())
    candidates = dict.fromkeys(
        [path, resolved, resolved.removeprefix("/usr"), "/usr" + resolved.removeprefix("/usr")]
    )
    package = ""
    for candidate in candidates:
        result = subprocess.run(
            ["dpkg", "-S", candidate], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and ":" in result.stdout:
            package = result.stdout.split(":", 1)[0].strip()
            break
    if not package:
        return "", None
    copyright_file = Path("/usr/share/doc") / package / "copyright"
    return package, copyright_file if copyright_file.is_file() else None


def write_licenses(
    out: Path,
    *,
    top_levels: Iterable[str] | None = None,
    system_libraries: Iterable[str] = (),
    bundle: Path | None = None,
) -> list[dict[str, Any]]:
    """Write `out/` (licence files per component and a README.md index); return the index."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    dists = distributions_for(top_levels) if top_levels is not None else runtime_distributions()
    rows: list[dict[str, Any]] = []

    python_licence = (
        Path(sys.base_prefix)
        / "lib"
        / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        / "LICENSE.txt"
    )
    if not python_licence.is_file():
        python_licence = Path(sys.base_prefix) / "LICENSE.txt"  # Windows layout
    python_dir = out / f"python-{platform.python_version()}"
    python_dir.mkdir()
    if python_licence.is_file():
        shutil.copy2(python_licence, python_dir / "LICENSE.txt")
    rows.append(
        {
            "name": "Python",
            "version": platform.python_version(),
            "licence": "PSF-2.0",
            "files": [f"{python_dir.name}/LICENSE.txt"] if python_licence.is_file() else [],
        }
    )

    for key in sorted(dists):
        dist = dists[key]
        name, version = dist.metadata["Name"], dist.version
        folder = out / f"{_norm(name)}-{version}"
        copied = []
        for path, inner in licence_files(dist):
            target = folder / inner
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied.append(f"{folder.name}/{inner}")
        rows.append(
            {"name": name, "version": version, "licence": declared_licence(dist), "files": copied}
        )

    system_rows = []
    if system_libraries:
        system_dir = out / "system"
        for lib in sorted(set(system_libraries)):
            package, copyright_file = _system_package(lib)
            files = []
            if copyright_file is not None:
                target = system_dir / package / "copyright"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(copyright_file, target)
                files.append(f"system/{package}/copyright")
            system_rows.append(
                {"library": Path(lib).name, "package": package or "?", "files": files}
            )

    lines = [
        "# Licences of the bundled components",
        "",
        "Petvisor Desktop is free software under the GNU General Public License, version 3 or",
        "later (`LICENSE`). It ships the components below, each under its own licence; their",
        "licence files, as installed with them, are in the folders named here. See",
        "`THIRD_PARTY_NOTICES.md` for the summary, the models, and where the sources are.",
        "",
        "| component | version | licence (as declared) | files |",
        "|---|---|---|---|",
    ]
    for row in rows:
        shipped = ", ".join(f"`{f}`" for f in row["files"])
        shipped = shipped or "none shipped: see THIRD_PARTY_NOTICES.md"
        lines.append(f"| {row['name']} | {row['version']} | {row['licence']} | {shipped} |")
    if system_rows:
        lines += [
            "",
            "## Native libraries from the build system",
            "",
            "| library | system package | copyright |",
            "|---|---|---|",
        ]
        for row in system_rows:
            shipped = ", ".join(f"`{f}`" for f in row["files"]) or "-"
            lines.append(f"| {row['library']} | {row['package']} | {shipped} |")
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


def write_model_notices(out: Path, manifest: dict[str, Any], names: Iterable[str]) -> None:
    """`out/models.md`: the bundled models, their licences and where they come from."""
    lines = [
        "# Bundled models",
        "",
        "| model | role | licence | source |",
        "|---|---|---|---|",
    ]
    for name in names:
        spec = manifest[name]
        source = (
            spec.page
            or (spec.urls[0] if spec.urls else "")
            or (spec.archive.url if spec.archive else "a Python package (development build)")
        )
        lines.append(f"| {name} | {spec.role} | {spec.licence} | {source} |")
    (out / "models.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the licenses/ folder to write")
    args = parser.parse_args(argv)
    rows = write_licenses(args.out)
    missing = [r["name"] for r in rows if not r["files"]]
    print(f"{len(rows)} components written to {args.out}")
    if missing:
        print(f"no licence file shipped by: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
