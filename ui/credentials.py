"""The Vetstoria secret in the operating system's keychain (through `keyring`), never in the
settings file or a log line."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

SERVICE = "petvisor-desktop"
SECRET_USER = "vetstoria-secret"


class CredentialError(RuntimeError):
    """The keychain cannot be used; the message says which and why."""


def _keyring():  # type: ignore[no-untyped-def]
    try:
        import keyring
    except ImportError as exc:  # the ui extra installs it
        raise CredentialError("the keyring package is not installed") from exc
    return keyring


def keychain_name() -> str:
    """A readable name of the keychain in use (for the settings screen)."""
    try:
        backend = _keyring().get_keyring()
    except CredentialError as exc:
        return str(exc)
    name = getattr(backend, "name", "") or type(backend).__name__
    return str(name)


def load_secret() -> str | None:
    try:
        return _keyring().get_password(SERVICE, SECRET_USER)
    except CredentialError:
        raise
    except Exception as exc:  # keyring's errors, and D-Bus failures beneath them
        raise CredentialError(f"the keychain cannot be read: {exc}") from exc


def store_secret(secret: str) -> None:
    try:
        _keyring().set_password(SERVICE, SECRET_USER, secret)
    except CredentialError:
        raise
    except Exception as exc:
        raise CredentialError(f"the keychain cannot be written: {exc}") from exc
    log.info("Vetstoria secret stored in the keychain")


def delete_secret() -> None:
    try:
        keyring = _keyring()
        if keyring.get_password(SERVICE, SECRET_USER) is not None:
            keyring.delete_password(SERVICE, SECRET_USER)
    except CredentialError:
        raise
    except Exception as exc:
        raise CredentialError(f"the keychain cannot be written: {exc}") from exc
