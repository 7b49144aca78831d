"""Running blocking work (database reads, password hashing, device queries, HTTP) off the
GUI thread, with the result delivered back to it as a Qt signal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QCoreApplication,
    QDeadlineTimer,
    QObject,
    Qt,
    QThread,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)

log = logging.getLogger(__name__)

_pool: QThreadPool | None = None
# Tasks not yet reported, by id, kept alive here: a task's signals object must outlive the
# queued delivery of its result to the GUI thread, and the task itself its worker's return.
_running: dict[int, Task] = {}
RELEASE_RETRY_MS = 20


def _release(task_id: int, seen_returned: bool = False) -> None:
    """Drop the GUI thread's hold on a reported task, so that it is freed here, on the GUI
    thread. Its worker emits the result just before returning, and lets go of the task a
    moment after marking it returned; the release waits for both."""
    task = _running.get(task_id)
    if task is None:
        return
    if task.returned and seen_returned:
        del _running[task_id]
        return
    returned = task.returned
    QTimer.singleShot(RELEASE_RETRY_MS, lambda: _release(task_id, returned))


def settle(timeout_ms: int = 10_000) -> bool:
    """Wait for the pool's work to finish and every reported task to be released (tests,
    and the app as it closes). True when nothing is left."""
    deadline = QDeadlineTimer(timeout_ms)
    pool().waitForDone(timeout_ms)
    while _running and not deadline.hasExpired():
        QCoreApplication.processEvents()
        QThread.msleep(5)
    return not _running


def pool() -> QThreadPool:
    """The pool for the UI's background work: small, so a burst of slow jobs (a share that
    hangs, scrypt) queues up instead of taking every core from the models."""
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setObjectName("petvisor-ui-pool")
        _pool.setMaxThreadCount(3)
    return _pool


class TaskSignals(QObject):
    """Created on the GUI thread. The worker emits the private signals; they are queued to
    this object's slots, which re-emit the public ones on the GUI thread, so whatever is
    connected to `finished`/`failed`/`progress` (lambdas included) runs there."""

    finished = Signal(object)
    failed = Signal(object)  # the exception
    progress = Signal(object)
    _finished_x = Signal(object)
    _failed_x = Signal(object)
    _progress_x = Signal(object)

    def __init__(self, task: Task) -> None:
        super().__init__()
        # Not a reference to the task: the pair would be a reference cycle, freed by the
        # garbage collector on whichever thread happens to run it (a voice thread, say)
        # instead of here on the GUI thread.
        self._task_id = id(task)
        self.context: QObject | None = None
        self._finished_x.connect(self.on_worker_finished, Qt.ConnectionType.QueuedConnection)
        self._failed_x.connect(self.on_worker_failed, Qt.ConnectionType.QueuedConnection)
        self._progress_x.connect(self.on_worker_progress, Qt.ConnectionType.QueuedConnection)

    def _wanted(self) -> bool:
        """False once the widget that asked has been deleted (a closed dialog): its
        callbacks would touch dead C++ objects."""
        return self.context is None or shiboken6.isValid(self.context)

    @Slot(object)
    def on_worker_finished(self, result: Any) -> None:
        try:
            if self._wanted():
                self.finished.emit(result)
        finally:
            _release(self._task_id)

    @Slot(object)
    def on_worker_failed(self, exc: Any) -> None:
        try:
            if self._wanted():
                self.failed.emit(exc)
        finally:
            _release(self._task_id)

    @Slot(object)
    def on_worker_progress(self, value: Any) -> None:
        if self._wanted():
            self.progress.emit(value)


class Task:
    """One call of `fn(*args)` on the pool. With `with_progress`, `fn` is also given a
    `progress=` callable that reports through the `progress` signal. Not a QRunnable: the
    pool would keep a QRunnable (and its arguments and result) for as long as it lives; it
    lets go of a plain callable once it has run."""

    def __init__(self, fn: Callable[..., Any], *args: Any, with_progress: bool = False) -> None:
        self.fn = fn
        self.args = args
        self.with_progress = with_progress
        self.returned = False  # set by the worker as its last step
        self.signals = TaskSignals(self)

    def run(self) -> None:
        try:
            self._call()
        finally:
            self.returned = True

    def _call(self) -> None:
        try:
            if self.with_progress:
                result = self.fn(*self.args, progress=self.signals._progress_x.emit)
            else:
                result = self.fn(*self.args)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
            log.debug("background task %s failed: %r", getattr(self.fn, "__name__", "?"), exc)
            self.signals._failed_x.emit(exc)
        else:
            self.signals._finished_x.emit(result)


def run_in_background(
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_progress: Callable[[Any], None] | None = None,
    context: QObject | None = None,
) -> Task:
    """Start `fn(*args)` on the pool; `on_done(result)` or `on_error(exc)` runs on the GUI
    thread afterwards, unless `context` (by default the object `on_done` is a method of)
    has been deleted by then. Returns the task (tests can wait on `task.signals.finished`)."""
    task = Task(fn, *args, with_progress=on_progress is not None)
    owner = context if context is not None else getattr(on_done, "__self__", None)
    task.signals.context = owner if isinstance(owner, QObject) else None
    if on_done is not None:
        task.signals.finished.connect(on_done)
    if on_error is not None:
        task.signals.failed.connect(on_error)
    else:
        name = getattr(fn, "__name__", "task")
        task.signals.failed.connect(lambda exc: log.warning("%s failed: %s", name, exc))
    if on_progress is not None:
        task.signals.progress.connect(on_progress)
    _running[id(task)] = task
    pool().start(task.run)
    return task
