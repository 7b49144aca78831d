"""The real language model with its calls counted, for tests that check when the model is
(not) asked."""

from __future__ import annotations

from typing import Any


class CountingModel:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls = 0

    def complete(self, *args: Any, **kw: Any) -> Any:
        self.calls += 1
        return self.model.complete(*args, **kw)

    def warm(self, *args: Any) -> Any:
        return self.model.warm(*args)
