"""Scheduled upkeep of the history while the app runs: the daily backup (with rotation) and
the retention purge, always on a worker; a timer only starts the job. A slow or missing
backup folder makes a log line and a diagnostics entry, never a frozen window."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from petvisor_desktop.settings import Settings
from ui.workers import run_in_background

log = logging.getLogger(__name__)

CHECK_EVERY_MS = 30 * 60 * 1000  # backup_if_due decides whether a backup is due
FIRST_CHECK_MS = 60 * 1000  # not during start-up, when the models are loading


class Maintenance(QObject):
    backup_done = Signal(object)  # the new backup's path, or None when none was due
    failed = Signal(str)

    def __init__(
        self,
        settings: Settings,
        history: Callable[[], Any],
        parent: QObject | None = None,
        *,
        first_ms: int = FIRST_CHECK_MS,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.history = history
        self.busy = False
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_EVERY_MS)
        self.timer.timeout.connect(self.run_now)
        self.first_ms = first_ms

    def start(self) -> None:
        QTimer.singleShot(self.first_ms, self.run_now)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def run_now(self) -> None:
        history = self.history()
        if history is None or self.busy:
            return
        self.busy = True
        storage = self.settings.storage

        def job() -> Any:
            path = history.backup_if_due(
                storage.backup_dir,
                keep_daily=storage.backups_keep_daily,
                keep_weekly=storage.backups_keep_weekly,
            )
            purged = history.purge_expired()
            if purged.total:
                log.info("retention: personal data removed from %d rows", purged.total)
            return path

        run_in_background(job, on_done=self.on_job_done, on_error=self.on_job_failed, context=self)

    def on_job_done(self, path: Any) -> None:
        self.busy = False
        if path is not None:
            log.info("scheduled backup written: %s", path)
        self.backup_done.emit(path)

    def on_job_failed(self, exc: BaseException) -> None:
        self.busy = False
        log.warning("scheduled backup failed: %s", exc)
        self.failed.emit(str(exc))
