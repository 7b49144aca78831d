"""The settings screen: sound devices (with a live level and a test sound), the models, the
booking system (the secret kept in the keychain, with a connection test), the clinic (with
its opening hours, one row per weekday) and how long data is kept. Saving writes the
settings file; models and devices take effect the next time the app starts."""

from __future__ import annotations

import dataclasses
import logging
import zoneinfo
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from petvisor_desktop import modelstore
from petvisor_desktop.hours import DAY_KEYS, DAY_NAMES, HoursError, OpeningHours
from petvisor_desktop.settings import STT_ENGINES, ClinicSettings, Settings, VetstoriaSettings
from ui import credentials, theme
from ui.admin import audio_check, settings_io
from ui.widgets import LevelMeter, button, label
from ui.workers import run_in_background

log = logging.getLogger(__name__)

DEFAULT_DEVICE = "System default"
SEEDS = ("base_url", "auth_url", "partner_key", "site_hash", "site_id", "booking_hash")
SEED_WORDS = {
    "base_url": "API address (BASE_URL)",
    "auth_url": "Sign-in address (AUTH_URL)",
    "partner_key": "Partner key (PARTNER_KEY)",
    "site_hash": "Site hash (SITE_HASH)",
    "site_id": "Site number (SITE_ID)",
    "booking_hash": "Booking hash (BOOKING_HASH)",
}


HOURS_HINT = "Times as 08:30-18:00; a lunch break as 08:30-12:30, 14:00-18:00; empty for closed."


def day_hours(hours: OpeningHours, day: int) -> str:
    """One weekday's hours in the setting's syntax ('08:30-12:30, 14:00-18:00'); '' if
    closed."""
    return hours.day_text(day).replace("–", "-") if hours.days[day] else ""


def day_problem(day: int, text: str) -> str | None:
    """What is wrong with one weekday's hours as typed in its row, or None."""
    text = text.strip()
    if not text or text.lower() == "closed":
        return None
    if ";" in text or "\n" in text:
        return f"{text!r}: put commas between the ranges, like 08:30-12:30, 14:00-18:00"
    if not text[0].isdigit():
        return f"{text!r} is not opening times: write ranges like 08:30-18:00, or closed"
    entry = f"{DAY_KEYS[day]} {text}"
    try:
        OpeningHours.parse(entry)
    except HoursError as exc:
        # The parser quotes the whole entry ('wed 9-5x'); the row has only the times.
        return str(exc).replace(repr(entry), repr(text))
    return None


def compose_hours(rows: Sequence[str]) -> str:
    """The seven weekday rows (Monday first) as the setting's one line, in its shortest
    form when every row reads. A row that does not read is kept as typed, so that saving
    is refused by the settings' own check, with the reason."""
    line = "; ".join(
        f"{key} {text.strip() or 'closed'}" for key, text in zip(DAY_KEYS, rows, strict=True)
    )
    try:
        return OpeningHours.parse(line).to_text()
    except HoursError:
        return line


def installed_models(settings: Settings) -> dict[str, list[tuple[str, bool]]]:
    """Per role, every model of the manifest and whether it is installed (blocking)."""
    manifest = modelstore.load_manifest()
    folders = settings.models.search_path()
    roles: dict[str, list[tuple[str, bool]]] = {}
    for spec in sorted(manifest.values(), key=lambda s: (s.role, s.rank)):
        try:
            modelstore.find_model(spec.name, folders, manifest)
            ok = True
        except modelstore.ModelError:
            ok = False
        roles.setdefault(spec.role, []).append((spec.name, ok))
    return roles


def typed_site(settings: Settings, fields: dict[str, Any], secret: str) -> Settings:
    """The settings with the booking site as typed on the screen (not saved yet) and
    `secret`, checked as saving would check them (SettingsError, naming the setting)."""
    site_id = fields["site_id"]
    vetstoria = VetstoriaSettings(
        base_url=fields["base_url"],
        auth_url=fields["auth_url"],
        partner_key=fields["partner_key"],
        secret=secret,
        site_hash=fields["site_hash"],
        site_id=int(site_id) if str(site_id).isdigit() else site_id,
        booking_hash=fields["booking_hash"],
        timeout_s=settings.vetstoria.timeout_s,
    )
    clinic = dataclasses.replace(
        settings.clinic, timezone=fields.get("timezone") or settings.clinic.timezone
    )
    return dataclasses.replace(settings, vetstoria=vetstoria, clinic=clinic)


class SettingsPage(QScrollArea):
    saved = Signal(object)  # the new Settings

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("settingsPage")
        self.setWidgetResizable(True)
        inner = QWidget()
        self.column = QVBoxLayout(inner)
        self.column.setSpacing(14)
        self.setWidget(inner)
        self.probe = audio_check.LevelProbe(self)
        self._audio()
        self._models()
        self._vetstoria()
        self._clinic()
        self._storage()
        bottom = QHBoxLayout()
        self.save_status = label("", "muted", name="settingsStatus")
        self.save_button = button("Save settings", kind="primary", size="big", name="settingsSave")
        self.save_button.clicked.connect(self.on_save_button_clicked)
        bottom.addWidget(self.save_status, 1)
        bottom.addWidget(self.save_button)
        self.column.addLayout(bottom)
        self.column.addStretch(1)
        self.refresh_devices()
        self.refresh_models()

    # ---- sections ------------------------------------------------------------------------

    def _group(self, title: str) -> QFormLayout:
        box = QGroupBox(title)
        box.setObjectName(f"group_{title.split()[0].lower()}")
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.column.addWidget(box)
        return form

    def _combo(self, name: str, accessible: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setAccessibleName(accessible)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(24)
        return combo

    def _audio(self) -> None:
        form = self._group("Sound")
        self.input_device = self._combo("inputDevice", "Microphone")
        self.output_device = self._combo("outputDevice", "Speaker")
        form.addRow("Microphone", self.input_device)
        meter_row = QHBoxLayout()
        self.meter = LevelMeter()
        self.meter.setObjectName("settingsLevel")
        self.listen_button = button(
            "Test microphone",
            name="testMicrophone",
            tip="Show the microphone's level while you speak",
        )
        self.listen_button.setCheckable(True)
        self.listen_button.toggled.connect(self.on_listen_button_toggled)
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.listen_button)
        form.addRow("Level", meter_row)
        form.addRow("Speaker", self.output_device)
        sound_row = QHBoxLayout()
        self.sound_button = button("Play a test sound", name="testSound")
        self.sound_button.clicked.connect(self.on_sound_button_clicked)
        self.refresh_devices_button = button("Look for devices again", name="refreshDevices")
        self.refresh_devices_button.clicked.connect(self.refresh_devices)
        sound_row.addWidget(self.sound_button)
        sound_row.addWidget(self.refresh_devices_button)
        sound_row.addStretch(1)
        form.addRow("", sound_row)
        self.audio_status = label("Looking for sound devices…", "muted", name="audioStatus")
        form.addRow("", self.audio_status)
        self.probe.level.connect(self.meter.set_db)
        self.probe.failed.connect(self.on_probe_failed)
        self.probe.stopped.connect(self.on_probe_stopped)

    def _models(self) -> None:
        form = self._group("Models")
        self.llm = self._combo("llmModel", "Language model")
        self.stt_engine = self._combo("sttEngine", "Speech recognition engine")
        for engine in STT_ENGINES:
            self.stt_engine.addItem(
                {"auto": "Automatic", "vosk": "Vosk (fast)", "whisper": "Whisper (accurate)"}[
                    engine
                ],
                engine,
            )
        self._select(self.stt_engine, self.settings.models.stt_engine)
        self.vosk_model = self._combo("voskModel", "Vosk model")
        self.whisper_model = self._combo("whisperModel", "Whisper model")
        self.tts_voice = self._combo("ttsVoice", "Voice")
        form.addRow("Language model", self.llm)
        form.addRow("Speech recognition", self.stt_engine)
        form.addRow("Vosk model", self.vosk_model)
        form.addRow("Whisper model", self.whisper_model)
        form.addRow("Voice", self.tts_voice)
        self.models_status = label(
            "Models marked “not installed” can be added with "
            "`petvisor-desktop models install-dev` or `petvisor-desktop models pull NAME`.",
            "muted",
            name="modelsStatus",
        )
        form.addRow("", self.models_status)

    def _vetstoria(self) -> None:
        form = self._group("Booking system (Vetstoria)")
        v = self.settings.vetstoria
        self.sandbox_radio = QRadioButton("Demo clinic (built in; no real bookings)")
        self.sandbox_radio.setObjectName("useSandbox")
        self.real_radio = QRadioButton("A real Vetstoria site")
        self.real_radio.setObjectName("useRealSite")
        group = QButtonGroup(self)
        group.addButton(self.sandbox_radio)
        group.addButton(self.real_radio)
        (self.sandbox_radio if v.use_sandbox else self.real_radio).setChecked(True)
        form.addRow(self.sandbox_radio)
        form.addRow(self.real_radio)
        self.seed_edits: dict[str, QLineEdit] = {}
        for seed in SEEDS:
            edit = QLineEdit(str(getattr(v, seed) or ""))
            edit.setObjectName(f"vetstoria_{seed}")
            edit.setAccessibleName(SEED_WORDS[seed])
            self.seed_edits[seed] = edit
            form.addRow(SEED_WORDS[seed], edit)
        self.secret = QLineEdit()
        self.secret.setObjectName("vetstoria_secret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setAccessibleName("Secret (SECRET), kept in the keychain")
        self.secret.setPlaceholderText("leave empty to keep the stored secret")
        form.addRow("Secret (SECRET)", self.secret)
        self.keychain_label = label(
            "The secret is kept in the system keychain, never in the settings file.", "muted"
        )
        # Finding the keychain may mean a D-Bus round trip: not on the GUI thread.
        run_in_background(
            credentials.keychain_name, on_done=self.on_keychain_named, on_error=lambda _e: None
        )
        form.addRow("", self.keychain_label)
        row = QHBoxLayout()
        self.test_button = button(
            "Test connection",
            name="testConnection",
            tip="Sign in to Vetstoria and read the clinic's catalogue",
        )
        self.test_button.clicked.connect(self.on_test_button_clicked)
        row.addWidget(self.test_button)
        row.addStretch(1)
        form.addRow("", row)
        self.vetstoria_status = label("", "muted", name="vetstoriaStatus")
        form.addRow("", self.vetstoria_status)
        self.real_radio.toggled.connect(self.on_real_radio_toggled)
        self.on_real_radio_toggled(self.real_radio.isChecked())

    def _clinic(self) -> None:
        form = self._group("Clinic")
        c = self.settings.clinic
        self.clinic_name = QLineEdit(c.name)
        self.clinic_name.setObjectName("clinicName")
        self.clinic_name.setAccessibleName("Clinic name")
        self.clinic_phone = QLineEdit(c.phone)
        self.clinic_phone.setObjectName("clinicPhone")
        self.clinic_phone.setAccessibleName("Clinic phone number")
        self.timezone = self._combo("timezone", "Time zone")
        self.timezone.setEditable(True)
        self.timezone.addItems(sorted(zoneinfo.available_timezones()))
        self.timezone.setCurrentText(c.timezone)
        self.idle_timeout = QSpinBox()
        self.idle_timeout.setObjectName("idleTimeout")
        self.idle_timeout.setAccessibleName("Kiosk clears after this many seconds without activity")
        self.idle_timeout.setRange(10, 3600)
        self.idle_timeout.setSuffix(" s")
        self.idle_timeout.setValue(c.idle_timeout_s)
        self.lead = QSpinBox()
        self.lead.setObjectName("bookingLead")
        self.lead.setAccessibleName("Earliest appointment offered, minutes from now")
        self.lead.setRange(0, 1440)
        self.lead.setSuffix(" min")
        self.lead.setValue(c.booking_lead_min)
        form.addRow("Name", self.clinic_name)
        form.addRow("Phone", self.clinic_phone)
        form.addRow("Time zone", self.timezone)
        form.addRow("Clear the kiosk after", self.idle_timeout)
        form.addRow("Earliest appointment", self.lead)
        self.email_domains = QLineEdit(c.email_domains)
        self.email_domains.setObjectName("emailDomains")
        self.email_domains.setAccessibleName("Clients' usual e-mail domains, most used first")
        self.email_domains.setPlaceholderText("gmail.com hotmail.co.uk outlook.com")
        form.addRow("Clients' e-mail domains", self.email_domains)
        form.addRow(
            "",
            label(
                "Most used first. An address the kiosk does not hear clearly is tried at the "
                "first two, with the caller's own names, and put to them for a yes or no.",
                "muted",
            ),
        )
        self._hours(form, c)

    def _hours(self, form: QFormLayout, c: ClinicSettings) -> None:
        hours = c.hours
        # With no hours kept the rows offer the usual ones, ready for the box to be ticked.
        shown = hours if hours.kept else OpeningHours.parse(ClinicSettings.opening_hours)
        self.keep_hours = QCheckBox("Keep opening hours")
        self.keep_hours.setObjectName("keepHours")
        self.keep_hours.setAccessibleDescription(
            "Unticked: the kiosk says nothing about opening hours"
        )
        self.keep_hours.setChecked(hours.kept)
        form.addRow("Opening hours", self.keep_hours)
        self.hours_edits: list[QLineEdit] = []
        for day, (key, name) in enumerate(zip(DAY_KEYS, DAY_NAMES, strict=True)):
            edit = QLineEdit(day_hours(shown, day))
            edit.setObjectName(f"hours_{key}")
            edit.setAccessibleName(f"{name} opening hours")
            edit.setPlaceholderText("closed")
            edit.textChanged.connect(self.on_hours_edit_text_changed)
            self.hours_edits.append(edit)
            form.addRow(name, edit)
        self.hours_status = label(HOURS_HINT, "muted", name="hoursStatus")
        form.addRow("", self.hours_status)
        self.out_of_hours_phone = QLineEdit(c.out_of_hours_phone)
        self.out_of_hours_phone.setObjectName("outOfHoursPhone")
        self.out_of_hours_phone.setAccessibleName("Out-of-hours phone number")
        self.out_of_hours_phone.setAccessibleDescription(
            "Given to owners for emergencies while the clinic is closed"
        )
        self.out_of_hours_phone.setPlaceholderText(c.phone)
        self.clinic_phone.textChanged.connect(self.out_of_hours_phone.setPlaceholderText)
        form.addRow("Out-of-hours phone", self.out_of_hours_phone)
        form.addRow(
            "",
            label(
                "Given to owners for emergencies while the clinic is closed. Empty: the "
                "clinic's phone.",
                "muted",
            ),
        )
        form.addRow(
            "",
            label(
                "The hours are what the kiosk tells owners and when reception is staffed. "
                "Bookable times still come from each clinician's schedule in Vetstoria.",
                "muted",
            ),
        )
        self.keep_hours.toggled.connect(self.on_keep_hours_toggled)
        self.on_keep_hours_toggled(self.keep_hours.isChecked())

    def _storage(self) -> None:
        form = self._group("Data and backups")
        s = self.settings.storage
        self.retention = QSpinBox()
        self.retention.setObjectName("retentionDays")
        self.retention.setAccessibleName("Keep personal data for this many days")
        self.retention.setRange(1, 3650)
        self.retention.setSuffix(" days")
        self.retention.setValue(s.retention_days)
        self.keep_daily = QSpinBox()
        self.keep_daily.setObjectName("keepDaily")
        self.keep_daily.setAccessibleName("Daily backups kept")
        self.keep_daily.setRange(0, 365)
        self.keep_daily.setValue(s.backups_keep_daily)
        self.keep_weekly = QSpinBox()
        self.keep_weekly.setObjectName("keepWeekly")
        self.keep_weekly.setAccessibleName("Weekly backups kept")
        self.keep_weekly.setRange(0, 520)
        self.keep_weekly.setValue(s.backups_keep_weekly)
        form.addRow("Keep personal data for", self.retention)
        form.addRow("Daily backups kept", self.keep_daily)
        form.addRow("Weekly backups kept", self.keep_weekly)
        db = label(str(s.db_path), "muted")
        db.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Database", db)
        backups = label(str(s.backup_dir), "muted")
        backups.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Backups", backups)

    # ---- opening hours -------------------------------------------------------------------

    @Slot(bool)
    def on_keep_hours_toggled(self, keep: bool) -> None:
        for edit in self.hours_edits:
            edit.setEnabled(keep)
        self.check_hours()

    @Slot(str)
    def on_hours_edit_text_changed(self, _text: str) -> None:
        self.check_hours()

    def hours_problems(self) -> dict[int, str]:
        """What is wrong with each weekday row that does not read (Monday is 0); empty when
        they all read or no hours are kept."""
        if not self.keep_hours.isChecked():
            return {}
        problems = {}
        for day, edit in enumerate(self.hours_edits):
            problem = day_problem(day, edit.text())
            if problem:
                problems[day] = f"{DAY_NAMES[day]}: {problem}"
        return problems

    def check_hours(self) -> None:
        """Mark the rows that do not read and say why under them, as they are typed."""
        problems = self.hours_problems()
        for day, edit in enumerate(self.hours_edits):
            problem = problems.get(day, "")
            edit.setAccessibleDescription(problem)
            if (edit.property("role") == "problem") != bool(problem):
                theme.set_role(edit, "role", "problem" if problem else "")
        self.hours_status.setText("\n".join(problems.values()) if problems else HOURS_HINT)
        theme.set_role(self.hours_status, "role", "problem" if problems else "muted")

    def opening_hours(self) -> str:
        """The setting's value for what the rows say ('' when no hours are kept)."""
        if not self.keep_hours.isChecked():
            return ""
        return compose_hours([edit.text() for edit in self.hours_edits])

    @staticmethod
    def _select(combo: QComboBox, value: Any) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    # ---- devices ---------------------------------------------------------------------------

    def refresh_devices(self) -> None:
        self.audio_status.setText("Looking for sound devices…")
        self.refresh_devices_button.setEnabled(False)
        run_in_background(
            audio_check.list_devices,
            on_done=self.on_devices_listed,
            on_error=self.on_devices_failed,
            context=self,
        )

    def on_devices_listed(self, devices: audio_check.Devices) -> None:
        self.refresh_devices_button.setEnabled(True)
        a = self.settings.audio
        for combo, names, current, default in (
            (self.input_device, devices.inputs, a.input_device, devices.default_input),
            (self.output_device, devices.outputs, a.output_device, devices.default_output),
        ):
            combo.clear()
            shown = DEFAULT_DEVICE + (f" ({default})" if default else "")
            combo.addItem(shown, None)
            for name in names:
                combo.addItem(name, name)
            if current and combo.findData(current) < 0:
                combo.addItem(f"{current} (not connected)", current)
            self._select(combo, current)
        problems = []
        if devices.problem:
            problems.append(f"No sound devices: {devices.problem}.")
        else:
            if not devices.inputs:
                problems.append(
                    "No microphone found. Plug one in, then press “Look for devices again”."
                )
            if not devices.outputs:
                problems.append(
                    "No speaker found. Plug one in, then press “Look for devices again”."
                )
        self.listen_button.setEnabled(bool(devices.inputs))
        self.sound_button.setEnabled(bool(devices.outputs))
        if problems:
            self.audio_status.setText(" ".join(problems) + " Callers can still type.")
        else:
            self.audio_status.setText(
                f"{len(devices.inputs)} microphone(s) and {len(devices.outputs)} speaker(s) found."
            )
        theme.set_role(self.audio_status, "role", "problem" if problems else "muted")

    @Slot(object)
    def on_devices_failed(self, exc: BaseException) -> None:
        self.refresh_devices_button.setEnabled(True)
        self.on_devices_listed(audio_check.Devices((), (), None, None, str(exc)))

    @Slot(bool)
    def on_listen_button_toggled(self, on: bool) -> None:
        if on:
            self.listen_button.setText("Stop")
            self.probe.start(self.input_device.currentData())
        else:
            self.listen_button.setText("Test microphone")
            self.probe.stop()

    @Slot(str)
    def on_probe_failed(self, message: str) -> None:
        self.audio_status.setText(f"The microphone cannot be opened: {message}")

    @Slot()
    def on_probe_stopped(self) -> None:
        self.meter.set_db(-60.0)
        if self.listen_button.isChecked():
            self.listen_button.setChecked(False)

    @Slot()
    def on_sound_button_clicked(self) -> None:
        self.sound_button.setEnabled(False)
        self.audio_status.setText("Playing a test sound…")
        run_in_background(
            audio_check.play_test_sound,
            self.output_device.currentData(),
            on_done=self.on_sound_done,
            on_error=lambda exc: self.on_sound_done(f"The test sound could not play: {exc}"),
            context=self,
        )

    def on_sound_done(self, message: str) -> None:
        self.sound_button.setEnabled(True)
        self.audio_status.setText(message)

    def hideEvent(self, event: Any) -> None:
        self.probe.stop()
        super().hideEvent(event)

    # ---- models ----------------------------------------------------------------------------

    def refresh_models(self) -> None:
        run_in_background(
            installed_models,
            self.settings,
            on_done=self.on_models_listed,
            on_error=lambda exc: self.models_status.setText(
                f"The model list cannot be read: {exc}"
            ),
            context=self,
        )

    def on_models_listed(self, roles: dict[str, list[tuple[str, bool]]]) -> None:
        m = self.settings.models
        for combo, role, current, auto in (
            (self.llm, "llm", m.llm, True),
            (self.vosk_model, "stt-vosk", m.vosk_model, False),
            (self.whisper_model, "stt-whisper", m.whisper_model, False),
            (self.tts_voice, "tts", m.tts_voice, False),
        ):
            combo.clear()
            if auto:
                combo.addItem("Automatic (the best one installed)", "auto")
            for name, ok in roles.get(role, []):
                combo.addItem(name + ("" if ok else "  (not installed)"), name)
            if combo.findData(current) < 0:
                combo.addItem(f"{current} (not in the manifest)", current)
            self._select(combo, current)

    # ---- Vetstoria ---------------------------------------------------------------------------

    @Slot(bool)
    def on_real_radio_toggled(self, real: bool) -> None:
        for edit in self.seed_edits.values():
            edit.setEnabled(real)
        self.secret.setEnabled(real)
        self.test_button.setEnabled(real)
        if not real:
            self.vetstoria_status.setText("The demo clinic runs inside the app: nothing to set up.")
        else:
            self.vetstoria_status.setText("")

    def _seed_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {k: e.text().strip() for k, e in self.seed_edits.items()}
        values["timezone"] = self.timezone.currentText().strip()
        return values

    def on_keychain_named(self, name: str) -> None:
        self.keychain_label.setText(
            f"The secret is kept in the system keychain ({name}), never in the settings file."
        )

    @Slot()
    def on_test_button_clicked(self) -> None:
        typed = self.secret.text()
        fields = self._seed_values()
        settings = self.settings
        self.test_button.setEnabled(False)
        self.vetstoria_status.setText("Connecting…")

        def test() -> Any:
            # The keychain is read here, in the background: it may be slow or ask to unlock.
            secret = typed or credentials.load_secret()
            if not secret:
                raise credentials.CredentialError(
                    "enter the secret first (none is stored in the keychain yet)"
                )
            # Imported here, on the worker: the engine module pulls in the model libraries.
            from petvisor_desktop.runtime import Engine

            return Engine.test_vetstoria(typed_site(settings, fields, secret))

        run_in_background(
            test, on_done=self.on_test_done, on_error=self.on_test_failed, context=self
        )

    def on_test_done(self, check: Any) -> None:
        """`check`: a `runtime.VetstoriaCheck`."""
        if not check.ok:
            self.on_test_failed(check.message)
            return
        self.test_button.setEnabled(True)
        self.vetstoria_status.setText(check.message)
        theme.set_role(self.vetstoria_status, "role", "ok")

    @Slot(object)
    def on_test_failed(self, problem: BaseException | str) -> None:
        self.test_button.setEnabled(True)
        self.vetstoria_status.setText(f"Could not connect: {problem}")
        theme.set_role(self.vetstoria_status, "role", "problem")

    # ---- saving --------------------------------------------------------------------------------

    def changes(self) -> dict[str, dict[str, Any]]:
        """What the form says, as settings-file sections (None: back to the default)."""
        real = self.real_radio.isChecked()
        seeds = self._seed_values()
        vetstoria: dict[str, Any] = {}
        for seed in SEEDS:
            value: Any = seeds[seed] if real else None
            if seed == "site_id" and value:
                value = int(value) if str(value).isdigit() else value
            vetstoria[seed] = value or None
        return {
            "audio": {
                "input_device": self.input_device.currentData(),
                "output_device": self.output_device.currentData(),
            },
            "models": {
                "llm": self.llm.currentData() or self.settings.models.llm,
                "stt_engine": self.stt_engine.currentData(),
                "vosk_model": self.vosk_model.currentData() or self.settings.models.vosk_model,
                "whisper_model": self.whisper_model.currentData()
                or self.settings.models.whisper_model,
                "tts_voice": self.tts_voice.currentData() or self.settings.models.tts_voice,
            },
            "vetstoria": vetstoria,
            "clinic": {
                "name": self.clinic_name.text().strip(),
                "phone": self.clinic_phone.text().strip(),
                "timezone": self.timezone.currentText().strip(),
                "idle_timeout_s": self.idle_timeout.value(),
                "booking_lead_min": self.lead.value(),
                "opening_hours": self.opening_hours(),
                "out_of_hours_phone": self.out_of_hours_phone.text().strip(),
                "email_domains": " ".join(self.email_domains.text().replace(",", " ").split()),
            },
            "storage": {
                "retention_days": self.retention.value(),
                "backups_keep_daily": self.keep_daily.value(),
                "backups_keep_weekly": self.keep_weekly.value(),
            },
        }

    @Slot()
    def on_save_button_clicked(self) -> None:
        problems = self.hours_problems()
        if problems:
            # Refused here, at once (the settings file's own check would refuse it too).
            day, problem = next(iter(problems.items()))
            self._save_failed(f"Not saved: the opening hours do not read. {problem}")
            self.hours_edits[day].setFocus()
            return
        real = self.real_radio.isChecked()
        typed_secret = self.secret.text()
        path = settings_io.config_path(self.settings)
        changes = self.changes()
        self.save_button.setEnabled(False)
        self.save_status.setText("Saving…")

        def save() -> Settings:
            secret = (typed_secret or credentials.load_secret()) if real else None
            if real and not secret:
                raise credentials.CredentialError(
                    "enter the Vetstoria secret: none is stored in the keychain yet"
                )
            settings = settings_io.save(path, changes, secret=secret)
            if real and typed_secret:
                credentials.store_secret(typed_secret)
            elif not real:
                credentials.delete_secret()
            return settings

        run_in_background(
            save, on_done=self.on_save_done, on_error=self.on_save_failed, context=self
        )

    def on_save_done(self, settings: Settings) -> None:
        self.save_button.setEnabled(True)
        self.secret.clear()
        path = settings_io.config_path(self.settings)
        self.save_status.setText(
            f"Saved to {path}. Opening hours apply now; new models, devices and "
            "booking-system settings are used after Petvisor is restarted."
        )
        theme.set_role(self.save_status, "role", "ok")
        self.saved.emit(settings)

    @Slot(object)
    def on_save_failed(self, exc: BaseException) -> None:
        self._save_failed(f"Not saved: {exc}")

    def _save_failed(self, message: str) -> None:
        self.save_button.setEnabled(True)
        self.save_status.setText(message)
        theme.set_role(self.save_status, "role", "problem")
