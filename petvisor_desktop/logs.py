"""Logging to a rotating file in the user's log folder, with secrets and personal data
redacted before anything reaches a handler.

Redaction works on the formatted message, so it also covers values passed as %-arguments
and exception text. Code should still avoid logging personal data at all; this is the net.

A log file that cannot be written (a full disk) never stops the app: the lines are dropped
and one line on stderr says so, until the file can be written again.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
import re
import sys
from pathlib import Path

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Bearer tokens and JSON/TOML/query secrets.
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[token]"),
    (
        re.compile(
            r"(?i)([\"']?(?:secret|token|password|pin|authorization|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\"'\s,}&]+"
        ),
        r"\1[redacted]",
    ),
    # E-mail addresses.
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # Personal fields in JSON bodies and reprs.
    (
        re.compile(
            r"(?i)([\"']?(?:firstName|lastName|first_name|last_name|patientName|pet_name|patient_name|"
            r"client_name|owner_name|name|phone|email|text|transcript|notes)[\"']?\s*[:=]\s*)"
            r"(\"[^\"]*\"|'[^']*')"
        ),
        r"\1'[redacted]'",
    ),
]


# Phone-like runs: digits with spaces, dashes, dots or brackets, and a leading +.
_PHONE = re.compile(r"(?<![\w:])\+?\d[\d \t().-]{6,}\d(?![\w:])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    # 9+ digits is a phone number (UK numbers have 10-11); ISO dates are not.
    if digits < 9 or _DATE.search(text):
        return text
    return "[phone]"


def redact(text: str) -> str:
    """Replace tokens, secrets, e-mails, phone numbers and personal JSON fields."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _PHONE.sub(_phone, text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """The rotating log file, for which a full disk (or any write error) is a paused log with
    one clear line on stderr, not a traceback per log line (logging's own handleError)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
        self.paused = False
        self._failed = False

    def emit(self, record: logging.LogRecord) -> None:
        self._failed = False
        super().emit(record)
        if self.paused and not self._failed:
            self.paused = False
            _say(f"the log file {self.baseFilename} can be written again")

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        self._failed = True
        if not self.paused:
            self.paused = True
            why = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
            _say(
                f"the log file {self.baseFilename} cannot be written ({why}); log lines are "
                "dropped until it can be"
            )


def _say(line: str) -> None:
    try:
        print(f"petvisor-desktop: {line}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # no stderr (a windowed app): nothing more to do
        return


def setup_logging(
    log_dir: Path, *, verbose: bool = False, filename: str = "petvisor.log"
) -> Path | None:
    """Send logs to `log_dir/filename` (rotating, 5 x 2 MB) and warnings to stderr.

    Returns the log file path, or None if the folder cannot be written (logged to stderr)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_petvisor", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    formatter = RedactingFormatter(LOG_FORMAT)

    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(formatter)
    console._petvisor = True  # type: ignore[attr-defined]
    root.addHandler(console)

    path = log_dir / filename
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = LogFileHandler(path)
    except OSError as exc:
        logging.getLogger(__name__).warning(
            "cannot write the log file in %s: %s", log_dir, exc.strerror
        )
        return None
    file_handler.setFormatter(formatter)
    file_handler.setLevel(logging.DEBUG)
    file_handler._petvisor = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    # httpx logs full URLs and headers at DEBUG; keep it at INFO so nothing sensitive leaks.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return path
