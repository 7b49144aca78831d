"""A full disk never stops a conversation: the engine's writes that find no room are kept in
memory, in order, and written once there is room again.

When SQLite says the disk is full, the write (a turn, a tool call, a booking, a hand-off, the
end of a conversation, what staff did about a worklist item) is kept and the call returns at
once; a write that makes a row returns a provisional id (a negative number) that stands for the
row to come, so the conversation goes on exactly as before. Every later write waits behind the
kept ones, so the order is kept. The kept writes are tried again before the next write, every
`RETRY_INTERVAL_S` on a worker thread, and at `close()`; each is written with the time it was
asked for. The staff screens read `storage_status` (or are told through `watch_storage`); the
log says it once, without any personal data.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import peewee as pw

from petvisor_desktop.history.database import DatabaseAccess
from petvisor_desktop.history.errors import HistoryError
from petvisor_desktop.history.values import _now, asked_at

log = logging.getLogger(__name__)

RETRY_INTERVAL_S = 10.0  # how often kept writes are tried again while nothing else writes
MAX_KEPT = 50_000  # a guard for memory: about a fortnight of a busy kiosk's writes
# The arguments that name rows: a provisional id in them is replaced by the real one.
ID_ARGUMENTS = ("conversation_id", "turn_id", "booking_id")

_Write = TypeVar("_Write", bound=Callable[..., Any])


@dataclass(frozen=True)
class StorageStatus:
    """What the staff screens show about the history's disk."""

    disk_full: bool
    kept: int  # writes waiting in memory for room on the disk
    since: datetime | None  # when the disk was found full

    @property
    def message(self) -> str:
        if not self.disk_full:
            return "The history is written as conversations go."
        return (
            f"The disk holding the history is full: {self.kept} record(s) are kept in memory "
            "and will be written when space is freed. Conversations and bookings go on; free "
            "some space on that disk."
        )


class _Deferred(Exception):
    """Raised where a write's transaction would begin while its arguments are only checked."""


@dataclass
class _Kept:
    write: Callable[..., Any]
    arguments: inspect.BoundArguments
    asked_at: datetime
    provisional: int | None


def spooled(*, new_row: bool) -> Callable[[_Write], _Write]:
    """Mark a write of `Spooling` as one a full disk must not lose. `new_row`: it returns the
    id of the row it makes (a provisional id while it is kept)."""

    def wrap(write: _Write) -> _Write:
        signature = inspect.signature(write)

        @functools.wraps(write)
        def kept_when_full(self: Spooling, *args: Any, **kwargs: Any) -> Any:
            return self._spooled(write, signature.bind(self, *args, **kwargs), new_row)

        return kept_when_full  # type: ignore[return-value]

    return wrap


class Spooling(DatabaseAccess):
    """The part of `History` that keeps `@spooled` writes while the disk is full."""

    def _init_spool(self, *, keep_when_full: bool = True) -> None:
        # Off for a command that ends at once: what it kept would be lost when it exits, so
        # its writes fail on a full disk (HistoryError `disk_full`) and it says so.
        self._keeps_when_full = keep_when_full
        self._spool_lock = threading.RLock()
        self._kept: deque[_Kept] = deque()
        self._real_ids: dict[int, int] = {}
        self._next_provisional = -1
        self._full_since: datetime | None = None
        self._local = threading.local()  # per thread: nesting depth, checking only
        self._retry_stop = threading.Event()
        self._retrier: threading.Thread | None = None
        self._watchers: list[Callable[[StorageStatus], None]] = []
        self._dropped_for_memory = 0

    # ---- what the screens read ------------------------------------------------------------

    @property
    def storage_status(self) -> StorageStatus:
        with self._spool_lock:
            return StorageStatus(self._full_since is not None, len(self._kept), self._full_since)

    @property
    def disk_full(self) -> bool:
        return self.storage_status.disk_full

    def watch_storage(self, callback: Callable[[StorageStatus], None]) -> None:
        """Call `callback(status)` (on the writing thread) whenever the disk is found full,
        a write is kept, kept writes are written, or the disk has room again."""
        self._watchers.append(callback)

    def write_kept(self) -> int:
        """Try the kept writes now (or, with none kept while the disk was full, whether there
        is room again); returns how many are still waiting."""
        with self._spool_lock:
            before = (len(self._kept), self._full_since)
            if self._kept:
                self._write_kept()
            elif self._full_since is not None:
                self._look_for_room()
            after = (len(self._kept), self._full_since)
        if after != before:
            self._tell()
        return after[0]

    def _waiting(self, write_name: str) -> list[tuple[inspect.BoundArguments, datetime]]:
        """The kept writes of the method `write_name`, oldest first, each with when it was
        asked for: a part of History that reads can show what is still to be written (the
        worklist shows a staff action kept on a full disk as done)."""
        with self._spool_lock:
            return [(k.arguments, k.asked_at) for k in self._kept if k.write.__name__ == write_name]

    # ---- the write path ---------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        if getattr(self._local, "checking", False):
            raise _Deferred
        with super()._write():
            yield

    def _spooled(
        self, write: Callable[..., Any], arguments: inspect.BoundArguments, new_row: bool
    ) -> Any:
        if getattr(self._local, "depth", 0) or not self._keeps_when_full:
            return write(*arguments.args, **arguments.kwargs)  # part of another, or not kept
        self._ensure_open()
        with self._spool_lock:
            waiting = len(self._kept)
            if waiting:
                self._write_kept()
            if self._kept:  # still no room: check the arguments, then keep it behind them
                done, result = self._check_only(write, arguments)
            else:
                done, result = self._try(write, arguments)
            if not done:
                result = self._keep(write, arguments, new_row)
        if waiting or not done:
            self._tell()
        return result

    def _try(
        self, write: Callable[..., Any], arguments: inspect.BoundArguments
    ) -> tuple[bool, Any]:
        self._resolve(arguments)
        try:
            return True, self._run(write, arguments)
        except HistoryError as exc:
            if exc.code != "disk_full":
                raise
            return False, None  # its arguments were checked before the transaction began

    def _check_only(
        self, write: Callable[..., Any], arguments: inspect.BoundArguments
    ) -> tuple[bool, Any]:
        """Run the write's own checks (a wrong value raises here, to its caller) but stop
        where its transaction would begin. (True, result) when it had nothing to write."""
        try:
            with self._nested():
                self._local.checking = True
                try:
                    return True, write(*arguments.args, **arguments.kwargs)
                finally:
                    self._local.checking = False
        except _Deferred:
            return False, None

    def _keep(
        self, write: Callable[..., Any], arguments: inspect.BoundArguments, new_row: bool
    ) -> int | None:
        """Caller holds the spool lock."""
        provisional = None
        if new_row:
            provisional = self._next_provisional
            self._next_provisional -= 1
        if len(self._kept) >= MAX_KEPT:
            self._dropped_for_memory += 1
            if self._dropped_for_memory == 1:
                log.error(
                    "the disk is still full and %d history writes are waiting in memory; "
                    "later ones are not kept until space is freed",
                    MAX_KEPT,
                )
            return provisional
        self._disk_found_full()
        self._kept.append(_Kept(write, arguments, _now(), provisional))
        return provisional

    def _disk_found_full(self) -> None:
        """Say it once, and look for room again every RETRY_INTERVAL_S."""
        with self._spool_lock:
            if self._full_since is not None:
                return
            self._full_since = _now()
        log.warning(
            "the disk holding the history database is full: conversations go on and their "
            "records are kept in memory until space is freed"
        )
        self._start_retrying()

    def _look_for_room(self) -> None:
        """Nothing kept, but the disk was full (it was at opening): an empty write
        transaction tells whether there is room now. Caller holds the spool lock."""
        try:
            with self._write():
                pass
        except HistoryError as exc:
            if exc.code != "disk_full":
                raise
            return
        log.info("the history database has room again")
        self._full_since = None

    def _write_kept(self) -> None:
        """Write the kept writes in order until one finds the disk still full. Caller holds
        the spool lock."""
        written = 0
        while self._kept:
            item = self._kept[0]
            self._resolve(item.arguments)
            token = asked_at.set(item.asked_at)
            try:
                result = self._run(item.write, item.arguments)
            except HistoryError as exc:
                if exc.code == "disk_full":
                    break
                if exc.code == "closed":
                    raise
                self._drop(item, exc)
            except (sqlite3.OperationalError, pw.OperationalError):
                break  # busy or locked by another process: try again later
            except (ValueError, LookupError, pw.IntegrityError, sqlite3.IntegrityError) as exc:
                self._drop(item, exc)  # it would never be written: say so and go on
            else:
                if item.provisional is not None and isinstance(result, int):
                    self._real_ids[item.provisional] = result
                written += 1
            finally:
                asked_at.reset(token)
            self._kept.popleft()
        if not self._kept and self._full_since is not None:
            log.info("the history database has room again: %d kept record(s) written", written)
            self._full_since = None
            self._dropped_for_memory = 0

    def _drop(self, item: _Kept, exc: BaseException) -> None:
        # The type and code only: the message may quote what the caller said.
        log.warning(
            "a kept history write (%s) could not be written and was dropped: %s %s",
            item.write.__name__,
            type(exc).__name__,
            getattr(exc, "code", ""),
        )

    def _resolve(self, arguments: inspect.BoundArguments) -> None:
        for name in ID_ARGUMENTS:
            value = arguments.arguments.get(name)
            if isinstance(value, int) and value < 0 and value in self._real_ids:
                arguments.arguments[name] = self._real_ids[value]

    def _run(self, write: Callable[..., Any], arguments: inspect.BoundArguments) -> Any:
        with self._nested():
            return write(*arguments.args, **arguments.kwargs)

    @contextmanager
    def _nested(self) -> Iterator[None]:
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1

    # ---- telling and retrying ---------------------------------------------------------------

    def _tell(self) -> None:
        status = self.storage_status
        for callback in list(self._watchers):
            try:
                callback(status)
            except Exception:  # a screen's trouble must not stop a conversation
                log.exception("a storage-status watcher failed")

    def _start_retrying(self) -> None:
        if self._retrier is not None and self._retrier.is_alive():
            return
        self._retrier = threading.Thread(
            target=self._retry_until_written, name="petvisor-history-retry", daemon=True
        )
        self._retrier.start()

    def _retry_until_written(self) -> None:
        while not self._retry_stop.wait(RETRY_INTERVAL_S):
            try:
                if self.write_kept() == 0 and not self.disk_full:
                    return
            except (HistoryError, sqlite3.Error, pw.PeeweeException) as exc:
                # Closed meanwhile, or the file went bad: the next write or close says more.
                log.warning("kept history writes not retried: %s", type(exc).__name__)
                return

    def _close_spool(self) -> None:
        """At close: one last try; what still finds no room is lost, and the log says so."""
        self._retry_stop.set()
        with self._spool_lock:
            if self._kept:
                self._write_kept()
            lost = len(self._kept) + self._dropped_for_memory
            self._kept.clear()
        if lost:
            log.error(
                "%d history record(s) could not be written before closing: the disk is still full",
                lost,
            )
        retrier = self._retrier
        if retrier is not None and retrier is not threading.current_thread():
            retrier.join(timeout=5)
