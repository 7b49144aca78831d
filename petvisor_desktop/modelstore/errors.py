"""The one error type of the model store."""

from __future__ import annotations


class ModelError(Exception):
    """A model is missing, corrupt or cannot be installed; the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
