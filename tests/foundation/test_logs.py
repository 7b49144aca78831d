"""Logging: a rotating file in the log folder, with secrets and personal data redacted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from petvisor_desktop.logs import redact, setup_logging


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi.abc.def"),
        ('{"secret": "s3cr3t!", "x": 1}', "s3cr3t!"),
        ("POST /auth body secret=topsecret&x=1", "topsecret"),
        ("caller email james.okafor@example.com", "james.okafor@example.com"),
        ("phone 07700 900456 given", "07700 900456"),
        ("phone +44 7700 900456", "7700 900456"),
        ('{"firstName": "James", "lastName": "Okafor"}', "Okafor"),
        ("pet_name='Mittens'", "Mittens"),
    ],
)
def test_redact_removes_secrets_and_personal_data(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_redact_keeps_ordinary_figures() -> None:
    line = "turn took 812 ms, 45 tokens, slot 2026-11-26T13:00:00+00:00"
    assert redact(line) == line


def test_log_file_is_written_redacted(tmp_path: Path) -> None:
    path = setup_logging(tmp_path / "logs")
    assert path is not None
    logging.getLogger("petvisor.test").warning(
        "booked for %s on %s", "jo@example.com", "07700900456"
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    content = path.read_text(encoding="utf-8")
    assert "booked for [email] on [phone]" in content
    assert "jo@example.com" not in content
