"""Typed errors of the history store, each with a short code and a message for people."""

from __future__ import annotations


class HistoryError(Exception):
    """Something is wrong with the history database as a whole.

    Codes: `damaged` (integrity check failed), `not_sqlite` (not a database at all),
    `newer_schema` (written by a newer Petvisor), `missing` (no file), `in_use` (another
    Petvisor process holds it), `no_backup` (nothing good to restore), `closed`,
    `backup_failed`.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RecordNotFound(HistoryError, LookupError):
    """A conversation, booking or staff user id/e-mail that is not in the database."""

    def __init__(self, message: str) -> None:
        super().__init__("not_found", message)
