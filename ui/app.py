"""Starting the windows: the kiosk (`petvisor-desktop --kiosk`) or the push-to-talk window
(`petvisor-desktop`). The window is shown first; the engine is created and its models
loaded in the background, each component reporting on screen as it goes."""

from __future__ import annotations

import dataclasses
import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QWidget

from petvisor_desktop import paths
from petvisor_desktop.settings import Settings
from ui import theme as theme_module
from ui.bridge import EngineBridge, EngineFactory
from ui.kiosk import KioskWindow
from ui.maintenance import Maintenance
from ui.staff_login import StaffLoginDialog
from ui.talk_window import TalkWindow
from ui.workers import pool, run_in_background
from ui.worklist_watch import WorklistAlert, WorklistWatch, play_chime

log = logging.getLogger(__name__)

READS_GRACE_S = 5.0


def default_engine_factory(
    settings: Settings, *, now: str | None, voice: bool, kiosk: bool
) -> EngineFactory:
    """The real engine, imported when called (on a worker: the import pulls in the model
    libraries)."""

    def factory(on_event: Callable[[Any], None]) -> Any:
        from petvisor_desktop.runtime import Engine

        return Engine(settings, on_event, now=now, voice=voice, mode="kiosk" if kiosk else "window")

    return factory


def ui_preferences() -> QSettings:
    """The look chosen by staff (zoom), kept beside the settings file."""
    return QSettings(str(paths.user_config_dir() / "ui.ini"), QSettings.Format.IniFormat)


class App(QObject):
    """The windows, the bridge and the background upkeep of one run of the app."""

    def __init__(
        self,
        settings: Settings,
        *,
        kiosk: bool = False,
        now: str | None = None,
        voice: bool = True,
        engine_factory: EngineFactory | None = None,
        idle_timeout_ms: int | None = None,
        maintenance_first_ms: int | None = None,
        worklist_sound: Callable[[], None] | None = None,
        worklist_poll_ms: int | None = None,
    ) -> None:
        super().__init__()
        self.created_at = time.monotonic()
        self.shown_at: float | None = None
        self.settings = settings
        self.kiosk = kiosk
        self.quitting = False
        self.finished = False
        self.admin: Any = None
        self.wizard: Any = None
        self.login: StaffLoginDialog | None = None
        self.first_run_checked = False
        self.quit_event_loop = False  # run_app: leave QApplication.exec() once closed
        self.engine_factory = engine_factory or default_engine_factory(
            settings, now=now, voice=voice, kiosk=kiosk
        )
        qapp = QApplication.instance()
        assert isinstance(qapp, QApplication), "create the QApplication first"
        self.qapp = qapp
        screen = qapp.primaryScreen()
        height = screen.availableGeometry().height() if screen is not None else None
        self.theme = theme_module.Theme.for_mode(kiosk, height)
        saved = ui_preferences().value(self._scale_key())
        if saved is not None and theme_module._env_scale() is None:
            try:
                self.theme = theme_module.Theme(scale=float(saved))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                log.debug("ignoring a bad saved zoom %r", saved)
        theme_module.apply(qapp, self.theme)

        self.bridge = EngineBridge(self)
        self.window: KioskWindow | TalkWindow
        if kiosk:
            self.window = KioskWindow(
                self.bridge, settings, history=self.history, idle_timeout_ms=idle_timeout_ms
            )
            self.window.exit_requested.connect(self.quit)
            self.window.admin_requested.connect(
                lambda: self.open_admin(self.window.signed_in_email)  # type: ignore[union-attr]
            )
        else:
            self.window = TalkWindow(self.bridge, settings)
            self.window.quit_requested.connect(self.quit)
            self.window.admin_requested.connect(lambda: self.request_admin("history"))
            self.window.diagnostics_requested.connect(lambda: self.request_admin("diagnostics"))
            self.window.zoom_requested.connect(self.zoom)
            self.window.worklist_requested.connect(lambda: self.request_admin("worklist"))
        # The reception worklist, watched in the staff's window only: the kiosk stands in the
        # waiting room, and never shows, chimes or notifies about another caller.
        self.worklist_watch: WorklistWatch | None = None
        self.worklist_alert: WorklistAlert | None = None
        if isinstance(self.window, TalkWindow):
            poll = {} if worklist_poll_ms is None else {"interval_ms": worklist_poll_ms}
            self.worklist_watch = WorklistWatch(self.history, parent=self, **poll)
            device = settings.audio.output_device
            self.worklist_alert = WorklistAlert(
                self.window.show_worklist_notice,
                play=worklist_sound or (lambda: play_chime(device)),
                parent=self,
            )
            self.worklist_watch.changed.connect(self.on_worklist_watch_changed)
            self.worklist_watch.arrived.connect(self.worklist_alert.on_watch_arrived)
        kwargs = {} if maintenance_first_ms is None else {"first_ms": maintenance_first_ms}
        self.maintenance = Maintenance(settings, self.history, self, **kwargs)
        self.bridge.component_changed.connect(self.on_bridge_component_changed)
        self.bridge.engine_attached.connect(self.on_bridge_engine_attached)
        self.bridge.shutdown_finished.connect(self.on_bridge_shutdown_finished)

    def _scale_key(self) -> str:
        return "scale/kiosk" if self.kiosk else "scale/window"

    def history(self) -> Any:
        return getattr(self.bridge.engine, "history", None)

    # ---- start -----------------------------------------------------------------------------

    def show(self) -> None:
        if self.kiosk:
            self.window.showFullScreen()
        else:
            self.window.show()
        self.shown_at = time.monotonic()
        log.info("window shown %.2f s after start", self.shown_at - self.created_at)

    def start_engine(self) -> None:
        self.bridge.start_engine(self.engine_factory)

    @Slot(str, object)
    def on_bridge_component_changed(self, name: str, data: dict[str, Any]) -> None:
        if name == "history" and data.get("state") == "ready":
            self._history_ready()

    @Slot()
    def on_bridge_engine_attached(self) -> None:
        if self.bridge.component_state("history") == "ready":
            self._history_ready()

    def _history_ready(self) -> None:
        history = self.history()
        if history is None or self.first_run_checked:
            return
        self.first_run_checked = True
        self.maintenance.start()
        if self.worklist_watch is not None:
            self.worklist_watch.start()
        run_in_background(history.users, on_done=self.on_users_checked, context=self)

    def on_users_checked(self, users: list[Any]) -> None:
        if not users and not self.quitting:
            self.show_setup()

    def show_setup(self) -> None:
        from ui.admin.setup_wizard import SetupWizard

        self.wizard = SetupWizard(self.settings, self.bridge, self.history, self.window)
        self.wizard.setWindowModality(Qt.WindowModality.WindowModal)
        self.wizard.open()

    # ---- staff screens ---------------------------------------------------------------------

    def request_admin(self, tab: str) -> None:
        if self.admin is not None and self.admin.isVisible():
            self.admin.show_tab(tab)
            self.admin.raise_()
            self.admin.activateWindow()
            return
        self.login = StaffLoginDialog(self.history, parent=self.window)
        self.login.verified.connect(lambda email: self.open_admin(email, tab))
        self.login.open()

    def open_admin(self, email: str, tab: str = "worklist") -> None:
        from ui.admin.window import AdminWindow

        if self.admin is not None:
            self.admin.close()
            self.admin.deleteLater()
        # Parented to the main window (as a separate window) so it stays above the
        # full-screen kiosk.
        self.admin = AdminWindow(
            self.bridge,
            self.settings,
            self.history,
            staff_email=email,
            watch=self.worklist_watch,
            parent=self.window,
        )
        self.admin.setWindowFlag(Qt.WindowType.Window, True)
        self.admin.settings_page.saved.connect(self.on_settings_saved)
        self.admin.show_tab(tab)
        if self.kiosk:
            self.admin.showMaximized()
        else:
            self.admin.show()

    @Slot(object)
    def on_settings_saved(self, saved: Settings) -> None:
        """Opening hours and the out-of-hours phone apply at once: the idle kiosk's line and
        the next conversation's greeting and hand-offs. Everything else waits for a restart
        (the settings screen says so)."""
        clinic = dataclasses.replace(
            self.settings.clinic,
            opening_hours=saved.clinic.opening_hours,
            out_of_hours_phone=saved.clinic.out_of_hours_phone,
        )
        self.settings = dataclasses.replace(self.settings, clinic=clinic)
        # The engine takes what applies now; the rest waits for a restart (the settings
        # screen says so; the engine logs which).
        self.bridge.apply_settings(saved)
        if isinstance(self.window, KioskWindow):
            self.window.idle_page.hours = clinic.hours
            self.window.idle_page.refresh_hours()

    @Slot(object)
    def on_worklist_watch_changed(self, items: list[Any]) -> None:
        if isinstance(self.window, TalkWindow):
            self.window.set_worklist_count(len(items))

    # ---- zoom --------------------------------------------------------------------------------

    @Slot(int)
    def zoom(self, step: int) -> None:
        self.theme = self.theme.zoomed(step)
        theme_module.apply(self.qapp, self.theme)
        ui_preferences().setValue(self._scale_key(), self.theme.scale)

    # ---- quitting -------------------------------------------------------------------------------

    @Slot()
    def quit(self) -> None:
        """Stop the engine in the background; the window closes when it has finished."""
        if self.quitting:
            return
        self.quitting = True
        self.maintenance.stop()
        if self.worklist_watch is not None:
            self.worklist_watch.stop()
        for window in (self.admin, self.wizard):
            if window is not None:
                window.close()
        if isinstance(self.window, TalkWindow):
            self.window.statusBar().showMessage("Closing… finishing the last turn")
        self.window.setEnabled(False)
        self._shutdown_when_reads_finish(time.monotonic() + READS_GRACE_S)

    def _shutdown_when_reads_finish(self, deadline: float) -> None:
        """Stop the engine once the screens' background reads are over: stopping it closes
        the history, and SQLite must not close a connection another thread is reading on
        (the worklist polls every few seconds). Waits by timer, never blocking the window;
        after `READS_GRACE_S` (a backup to a slow share) it stops anyway."""
        if pool().activeThreadCount() and time.monotonic() < deadline:
            QTimer.singleShot(20, lambda: self._shutdown_when_reads_finish(deadline))
            return
        self.bridge.shutdown()

    @Slot()
    def on_bridge_shutdown_finished(self) -> None:
        self.finished = True
        if isinstance(self.window, KioskWindow):
            self.window.exit_allowed = True
        else:
            self.window.close_allowed = True
        self.window.close()
        if self.quit_event_loop:
            self.qapp.quit()


def _let_python_handle_signals(app: App, parent: QWidget) -> None:
    """Ctrl+C in the terminal quits cleanly: Python only sees signals between Qt events, so
    a timer wakes it now and then."""
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    timer = QTimer(parent)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def run_app(
    settings: Settings, kiosk: bool = False, now: str | None = None, *, voice: bool = True
) -> int:
    """Show the kiosk or the push-to-talk window and run until it closes."""
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("Petvisor Desktop")
    qapp.setOrganizationName("Petvisor")
    qapp.setQuitOnLastWindowClosed(False)  # quitting waits for the engine (App.quit)
    app = App(settings, kiosk=kiosk, now=now, voice=voice)
    app.quit_event_loop = True
    app.show()
    _let_python_handle_signals(app, app.window)
    QTimer.singleShot(0, app.start_engine)
    code = qapp.exec()
    # The window is gone; finishing background reads no longer freezes anything.
    pool().waitForDone(5000)
    return int(code)
