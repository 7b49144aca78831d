"""First-run setup: the first staff account (whose PIN leaves the kiosk), the clinic, the
booking system, and what is still missing (models, devices) with the command that fixes it."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from petvisor_desktop.history import staff
from petvisor_desktop.settings import Settings
from ui.admin import settings_io
from ui.bridge import EngineBridge
from ui.widgets import ComponentStatusPanel, label
from ui.workers import run_in_background


def _page(title: str, subtitle: str) -> tuple[QWizardPage, QVBoxLayout]:
    page = QWizardPage()
    layout = QVBoxLayout(page)
    layout.setSpacing(12)
    # Our own heading rather than QWizard's page title, which ignores the theme's sizes.
    layout.addWidget(label(title, "heading"))
    intro = label(subtitle, "subtitle")
    layout.addWidget(intro)
    return page, layout


class StaffPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("setupStaff")
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addWidget(label("The first staff account", "heading"))
        layout.addWidget(
            label(
                "Staff sign in with this to leave kiosk mode and to open the staff screens. "
                "Use a PIN of at least 4 digits, or a password of at least 8 characters.",
                "muted",
            )
        )
        form = QFormLayout()
        self.email = QLineEdit()
        self.email.setObjectName("setupEmail")
        self.email.setAccessibleName("Staff e-mail address")
        self.name = QLineEdit()
        self.name.setObjectName("setupName")
        self.name.setAccessibleName("Staff member's name")
        self.secret = QLineEdit()
        self.secret.setObjectName("setupSecret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setAccessibleName("PIN or password")
        self.repeat = QLineEdit()
        self.repeat.setObjectName("setupRepeat")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setAccessibleName("PIN or password again")
        form.addRow("E-mail", self.email)
        form.addRow("Name", self.name)
        form.addRow("PIN or password", self.secret)
        form.addRow("Again", self.repeat)
        layout.addLayout(form)
        self.problem = label("", "problem", name="setupStaffProblem")
        layout.addWidget(self.problem)
        for edit in (self.email, self.secret, self.repeat):
            edit.textChanged.connect(lambda _t: self.completeChanged.emit())

    def isComplete(self) -> bool:
        return bool(self.email.text().strip() and self.secret.text() and self.repeat.text())

    def validatePage(self) -> bool:
        try:
            staff.normalise_email(self.email.text())
            staff.check_secret_strength(self.secret.text())
        except ValueError as exc:
            self.problem.setText(str(exc).capitalize() + ".")
            return False
        if self.secret.text() != self.repeat.text():
            self.problem.setText("The two entries are not the same.")
            return False
        self.problem.setText("")
        return True


class SetupWizard(QWizard):
    """Shown at the first start (no staff account yet). `completed` when everything was
    saved; the staff account is created in the background on Finish."""

    completed = Signal()

    def __init__(
        self,
        settings: Settings,
        bridge: EngineBridge,
        history: Callable[[], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.history = history
        self.saving = False
        self.setObjectName("setupWizard")
        self.setWindowTitle("Petvisor Desktop — first-run setup")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setMinimumSize(760, 560)

        page, layout = _page(
            "Welcome to Petvisor Desktop",
            "Petvisor answers your clients at the front desk and books their appointments "
            "in Vetstoria, entirely on this computer. This short setup creates the first "
            "staff account, names the clinic and chooses the booking system.",
        )
        page.setObjectName("setupWelcome")
        layout.addSpacing(12)
        layout.addWidget(label("You will need:", "card-value"))
        for line in (
            "•  an e-mail address and a PIN (4 digits or more) for the first member of staff;",
            "•  the clinic's name and phone number, as callers should hear them;",
            "•  later, if you use a real Vetstoria site: its seven connection settings.",
        ):
            layout.addWidget(label(line))
        layout.addStretch(1)
        layout.addWidget(
            label("Everything can be changed afterwards under Staff screens → Settings.", "muted")
        )
        self.addPage(page)

        self.staff_page = StaffPage()
        self.addPage(self.staff_page)

        page, layout = _page("The clinic", "What the assistant says about the clinic it works for.")
        page.setObjectName("setupClinic")
        form = QFormLayout()
        self.clinic_name = QLineEdit(settings.clinic.name)
        self.clinic_name.setObjectName("setupClinicName")
        self.clinic_name.setAccessibleName("Clinic name")
        self.clinic_phone = QLineEdit(settings.clinic.phone)
        self.clinic_phone.setObjectName("setupClinicPhone")
        self.clinic_phone.setAccessibleName("Clinic phone number")
        self.timezone = QComboBox()
        self.timezone.setObjectName("setupTimezone")
        self.timezone.setAccessibleName("Time zone")
        self.timezone.setEditable(True)
        self.timezone.addItems(sorted(zoneinfo.available_timezones()))
        self.timezone.setCurrentText(settings.clinic.timezone)
        form.addRow("Name", self.clinic_name)
        form.addRow("Phone", self.clinic_phone)
        form.addRow("Time zone", self.timezone)
        layout.addLayout(form)
        self.addPage(page)

        page, layout = _page(
            "The booking system",
            "Petvisor books into Vetstoria. Start with the demo clinic to try it out; enter "
            "your site's credentials later under Staff screens → Settings (the secret is "
            "kept in the system keychain).",
        )
        page.setObjectName("setupBooking")
        self.sandbox = QRadioButton("Demo clinic (built in; no real bookings)")
        self.sandbox.setObjectName("setupSandbox")
        self.real = QRadioButton("Our Vetstoria site (I will enter the credentials in Settings)")
        self.real.setObjectName("setupReal")
        group = QButtonGroup(page)
        group.addButton(self.sandbox)
        group.addButton(self.real)
        (self.sandbox if settings.vetstoria.use_sandbox else self.real).setChecked(True)
        layout.addWidget(self.sandbox)
        layout.addWidget(self.real)
        layout.addStretch(1)
        self.addPage(page)

        page, layout = _page(
            "Models and devices",
            "What Petvisor has found on this computer. Anything marked Missing says how to "
            "fix it; callers can type while voice is unavailable.",
        )
        page.setObjectName("setupCheck")
        layout.addWidget(ComponentStatusPanel(bridge, page, always=True))
        self.download = QPushButton("Download the missing models")
        self.download.setObjectName("setupDownload")
        self.download.setAccessibleName("Download the missing models")
        self.download.clicked.connect(self.on_download_clicked)
        self.download_status = label("", "muted", name="setupDownloadStatus")
        layout.addWidget(self.download)
        layout.addWidget(self.download_status)
        self.result = label("", "problem", name="setupResult")
        layout.addWidget(self.result)
        self.addPage(page)

    @Slot()
    def on_download_clicked(self) -> None:
        """First start without models: fetch the default ones from their official hosts (or
        the PETVISOR_MODELS_MIRROR), resumable and checked, on a worker."""
        self.download.setEnabled(False)
        self.download_status.setText("Looking for what is missing…")
        settings = self.settings

        def pull(progress: Callable[[Any], None]) -> list[str]:
            import os

            from petvisor_desktop import modelstore

            manifest = modelstore.load_manifest()
            names = modelstore.missing_defaults(settings, manifest)

            def on_bytes(name: str, done: int, total: int | None) -> None:
                share = f" {done * 100 // total}%" if total else f" {done // 1_000_000} MB"
                progress(f"Downloading {name}:{share}")

            puller = modelstore.ModelPuller(
                settings.models.models_dir,
                source=os.environ.get(modelstore.MIRROR_ENV) or None,
                progress=on_bytes,
            )
            for name in names:
                puller.pull(manifest[name])
            return names

        run_in_background(
            pull,
            on_done=self.on_download_done,
            on_error=self.on_download_failed,
            on_progress=self.download_status.setText,
            context=self,
        )

    def on_download_done(self, names: list[str]) -> None:
        self.download.setEnabled(True)
        self.download_status.setText(
            f"Installed {', '.join(names)}. Restart Petvisor to use them."
            if names
            else "Every model is already installed."
        )

    @Slot(object)
    def on_download_failed(self, exc: BaseException) -> None:
        self.download.setEnabled(True)
        self.download_status.setText(f"Download stopped: {exc}. Press the button to resume.")

    def accept(self) -> None:
        if self.saving:
            return
        history = self.history()
        if history is None:
            self.result.setText(
                "The history database is not ready yet; wait a moment and press Finish again."
            )
            return
        self.saving = True
        self.result.setText("Saving…")
        email = self.staff_page.email.text().strip()
        name = self.staff_page.name.text().strip() or None
        secret = self.staff_page.secret.text()
        changes = {
            "clinic": {
                "name": self.clinic_name.text().strip() or self.settings.clinic.name,
                "phone": self.clinic_phone.text().strip() or self.settings.clinic.phone,
                "timezone": self.timezone.currentText().strip(),
            }
        }
        path = settings_io.config_path(self.settings)

        def save() -> None:
            settings_io.save(path, changes)
            history.create_user(email, secret, name)

        run_in_background(
            save, on_done=self.on_save_done, on_error=self.on_save_failed, context=self
        )

    def on_save_done(self, _result: Any) -> None:
        self.saving = False
        self.staff_page.secret.clear()
        self.staff_page.repeat.clear()
        self.completed.emit()
        super().accept()

    @Slot(object)
    def on_save_failed(self, exc: BaseException) -> None:
        self.saving = False
        self.result.setText(f"Not saved: {exc}")
