"""Diagnostics: each component's state (live), the versions of what runs, the model files
with their checksums (verified on request, in the background), where things are kept, and
the engine's recent errors."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QProgressBar,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import petvisor_desktop
from petvisor_desktop import modelstore, paths
from petvisor_desktop.settings import Settings, default_config_path
from ui.bridge import ALL_COMPONENTS, EngineBridge
from ui.widgets import COMPONENT_NAMES, STATE_WORDS, button, label
from ui.workers import run_in_background

PACKAGES = (
    "PySide6-Essentials",
    "llama_cpp_python",
    "onnxruntime",
    "vosk",
    "piper-tts",
    "faster-whisper",
    "sounddevice",
    "numpy",
    "httpx",
    "peewee",
    "keyring",
)


def versions() -> list[tuple[str, str]]:
    rows = [
        ("Petvisor Desktop", petvisor_desktop.__version__),
        ("Python", f"{platform.python_version()} ({sys.platform})"),
    ]
    for package in PACKAGES:
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    return rows


def model_rows(settings: Settings) -> list[dict[str, Any]]:
    """Every model of the manifest: where it is installed, its files, sizes and expected
    checksums (blocking: reads the install records)."""
    manifest = modelstore.load_manifest()
    folders = settings.models.search_path()
    rows = []
    for spec in sorted(manifest.values(), key=lambda s: (s.role, s.rank)):
        try:
            installed = modelstore.find_model(spec.name, folders, manifest)
        except modelstore.ModelError:
            rows.append({"name": spec.name, "role": spec.role, "installed": None, "files": []})
            continue
        files = []
        for rel in spec.files or ("(folder)",):
            path = installed.path / rel if rel != "(folder)" else installed.path
            size = path.stat().st_size if path.is_file() else None
            files.append((rel, size, spec.expected_sha(rel)))
        rows.append({"name": spec.name, "role": spec.role, "installed": installed, "files": files})
    return rows


def verify_models(rows: list[dict[str, Any]], progress: Any) -> dict[str, list[str]]:
    """Re-hash every installed model's files (slow: hundreds of MB)."""
    results: dict[str, list[str]] = {}
    installed = [r for r in rows if r["installed"] is not None]
    for i, row in enumerate(installed):
        progress((i, len(installed), row["name"]))
        results[row["name"]] = modelstore.verify(row["installed"])
    progress((len(installed), len(installed), ""))
    return results


def _size(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return ""


def fit_height(table: QTableWidget) -> None:
    """Show every row (the page scrolls, not each table inside it)."""
    table.resizeRowsToContents()
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    height += sum(table.rowHeight(i) for i in range(table.rowCount()))
    height += table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(height)


def _table(columns: tuple[str, ...], name: str, accessible: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setAccessibleName(accessible)
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(True)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return table


class DiagnosticsPage(QScrollArea):
    def __init__(
        self, bridge: EngineBridge, settings: Settings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.settings = settings
        self.model_data: list[dict[str, Any]] = []
        self.setObjectName("diagnosticsPage")
        self.setWidgetResizable(True)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setSpacing(14)
        self.setWidget(inner)

        box = QGroupBox("Components")
        lay = QVBoxLayout(box)
        self.components = _table(
            ("Component", "State", "Load time", "Details"),
            "diagnosticsComponents",
            "Components and their state",
        )
        self.components.setRowCount(len(ALL_COMPONENTS))
        for row, name in enumerate(ALL_COMPONENTS):
            self.components.setItem(row, 0, QTableWidgetItem(COMPONENT_NAMES.get(name, name)))
            self._component_row(row, bridge.components.get(name, {}))
        lay.addWidget(self.components)
        column.addWidget(box)

        box = QGroupBox("Models")
        lay = QVBoxLayout(box)
        self.models = _table(
            ("Model", "Role", "File", "Size", "SHA-256", "Check", "Folder"),
            "diagnosticsModels",
            "Model files and checksums",
        )
        lay.addWidget(self.models)
        row_layout = QHBoxLayout()
        self.verify_button = button(
            "Verify checksums",
            name="verifyModels",
            tip="Re-read every model file and compare its SHA-256",
        )
        self.verify_button.clicked.connect(self.on_verify_button_clicked)
        self.verify_progress = QProgressBar()
        self.verify_progress.setAccessibleName("Checksum progress")
        self.verify_progress.hide()
        self.verify_status = label("", "muted", name="verifyStatus")
        row_layout.addWidget(self.verify_button)
        row_layout.addWidget(self.verify_progress, 1)
        row_layout.addStretch(0)
        lay.addLayout(row_layout)
        lay.addWidget(self.verify_status)
        column.addWidget(box)

        box = QGroupBox("Versions")
        lay = QVBoxLayout(box)
        self.versions = _table(("Part", "Version"), "diagnosticsVersions", "Versions")
        lay.addWidget(self.versions)
        column.addWidget(box)

        box = QGroupBox("Where things are kept")
        lay = QVBoxLayout(box)
        self.places = _table(("What", "Path"), "diagnosticsPaths", "Where things are kept")
        lay.addWidget(self.places)
        column.addWidget(box)

        box = QGroupBox("Recent problems")
        lay = QVBoxLayout(box)
        self.errors = QListWidget()
        self.errors.setObjectName("diagnosticsErrors")
        self.errors.setAccessibleName("Recent problems reported by the engine")
        self.errors.setMaximumHeight(160)
        lay.addWidget(self.errors)
        column.addWidget(box)
        column.addStretch(1)

        bridge.component_changed.connect(self.on_bridge_component_changed)
        bridge.error_occurred.connect(self.on_bridge_error_occurred)
        self._fill_places()
        self.refresh()

    def refresh(self) -> None:
        run_in_background(versions, on_done=self.on_versions_read, context=self)
        run_in_background(
            model_rows,
            self.settings,
            on_done=self.on_models_read,
            on_error=lambda exc: self.verify_status.setText(
                f"The model manifest cannot be read: {exc}"
            ),
            context=self,
        )

    # ---- components -------------------------------------------------------------------------

    def _component_row(self, row: int, data: dict[str, Any]) -> None:
        state = str(data.get("state", "loading"))
        words = STATE_WORDS.get(state, state)
        progress = data.get("progress")
        if state == "loading" and isinstance(progress, int | float):
            words += f" {progress:.0%}"
        load_s = data.get("load_s")
        for col, text in (
            (1, words),
            (2, f"{load_s:.1f} s" if isinstance(load_s, int | float) else ""),
            (3, str(data.get("detail") or "")),
        ):
            item = QTableWidgetItem(text)
            if col == 1 and state in ("missing", "error"):
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.components.setItem(row, col, item)
        fit_height(self.components)

    @Slot(str, object)
    def on_bridge_component_changed(self, name: str, data: dict[str, Any]) -> None:
        if name in ALL_COMPONENTS:
            self._component_row(ALL_COMPONENTS.index(name), data)

    @Slot(object)
    def on_bridge_error_occurred(self, data: dict[str, Any]) -> None:
        self.errors.insertItem(
            0, f"{data.get('stage', '?')} / {data.get('code', '?')}: {data.get('message', '')}"
        )
        while self.errors.count() > 50:
            self.errors.takeItem(self.errors.count() - 1)

    # ---- versions and places --------------------------------------------------------------------

    def on_versions_read(self, rows: list[tuple[str, str]]) -> None:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        rows = [*rows, ("Qt", f"{qVersion()} (PySide6 {pyside_version})")]
        self.versions.setRowCount(len(rows))
        for i, (name, version) in enumerate(rows):
            self.versions.setItem(i, 0, QTableWidgetItem(name))
            self.versions.setItem(i, 1, QTableWidgetItem(version))
        fit_height(self.versions)

    def _fill_places(self) -> None:
        s = self.settings
        rows: list[tuple[str, str]] = [
            ("Settings file", str(s.config_path or f"{default_config_path()} (not created yet)")),
            ("History database", str(s.storage.db_path)),
            ("Backups", str(s.storage.backup_dir)),
            ("Logs", str(s.log_dir)),
            ("Cache", str(paths.user_cache_dir())),
        ]
        rows += [(f"Model folder {i + 1}", str(p)) for i, p in enumerate(s.models.search_path())]
        self.places.setRowCount(len(rows))
        for i, (what, where) in enumerate(rows):
            self.places.setItem(i, 0, QTableWidgetItem(what))
            item = QTableWidgetItem(where)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsSelectable)
            self.places.setItem(i, 1, item)
        fit_height(self.places)

    # ---- models ---------------------------------------------------------------------------

    def on_models_read(self, rows: list[dict[str, Any]]) -> None:
        self.model_data = rows
        lines = []
        for row in rows:
            installed = row["installed"]
            if installed is None:
                lines.append((row["name"], row["role"], "", "", "", "not installed", ""))
                continue
            for rel, size, sha in row["files"]:
                short = (sha[:16] + "…") if sha else "(size checked)"
                lines.append(
                    (row["name"], row["role"], rel, _size(size), short, "", str(installed.path))
                )
        self.models.setRowCount(len(lines))
        for i, values in enumerate(lines):
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if col == 4 and text:
                    full = next(
                        (
                            f[2]
                            for r in rows
                            if r["name"] == values[0]
                            for f in r["files"]
                            if f[0] == values[2]
                        ),
                        "",
                    )
                    item.setToolTip(full)
                self.models.setItem(i, col, item)
        fit_height(self.models)
        installed = sum(1 for r in rows if r["installed"] is not None)
        self.verify_status.setText(f"{installed} of {len(rows)} models installed.")

    @Slot()
    def on_verify_button_clicked(self) -> None:
        if not self.model_data:
            return
        self.verify_button.setEnabled(False)
        self.verify_progress.show()
        self.verify_progress.setValue(0)
        run_in_background(
            verify_models,
            self.model_data,
            on_done=self.on_verify_done,
            on_progress=self.on_verify_progress,
            on_error=lambda exc: self.on_verify_done({"error": [str(exc)]}),
            context=self,
        )

    def on_verify_progress(self, value: tuple[int, int, str]) -> None:
        done, total, name = value
        self.verify_progress.setRange(0, max(1, total))
        self.verify_progress.setValue(done)
        if name:
            self.verify_status.setText(f"Checking {name}…")

    def on_verify_done(self, results: dict[str, list[str]]) -> None:
        self.verify_button.setEnabled(True)
        self.verify_progress.hide()
        bad = {k: v for k, v in results.items() if v}
        for i in range(self.models.rowCount()):
            name = self.models.item(i, 0).text()
            if name in results:
                self.models.setItem(i, 5, QTableWidgetItem("problem" if results[name] else "OK"))
        if bad:
            self.verify_status.setText(
                "Problems: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in bad.items())
            )
        else:
            self.verify_status.setText(
                f"All {len(results)} installed models match their checksums."
            )
