"""Staff PINs and passwords: scrypt with a random salt per user, compared in constant time.

A PIN is all digits and at least 4 long; anything else is a password of at least 8
characters. A 4-digit PIN is weak against anyone who can copy the database file (10,000
guesses), which is why the admin screens should also rate-limit attempts; the KDF makes each
guess cost tens of milliseconds and the salt stops precomputed tables.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass
from typing import Any

MIN_PIN_DIGITS = 4
MIN_PASSWORD_CHARS = 8
MAX_SECRET_CHARS = 256
SALT_BYTES = 16


@dataclass(frozen=True)
class KdfParams:
    n: int = 2**14
    r: int = 8
    p: int = 1
    dklen: int = 32

    def to_json(self) -> str:
        return json.dumps(
            {"alg": "scrypt", "n": self.n, "r": self.r, "p": self.p, "dklen": self.dklen},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> KdfParams:
        data: dict[str, Any] = json.loads(text)
        if data.get("alg") != "scrypt":
            raise ValueError(f"unsupported key derivation {data.get('alg')!r}")
        return cls(n=int(data["n"]), r=int(data["r"]), p=int(data["p"]), dklen=int(data["dklen"]))


DEFAULT_KDF = KdfParams()


def check_secret_strength(secret: str) -> None:
    """Raise ValueError unless `secret` is a PIN of 4+ digits or a password of 8+ characters."""
    if len(secret) > MAX_SECRET_CHARS:
        raise ValueError(f"the PIN or password is too long (at most {MAX_SECRET_CHARS} characters)")
    if secret.isdigit() and secret.isascii():
        if len(secret) < MIN_PIN_DIGITS:
            raise ValueError(f"a PIN needs at least {MIN_PIN_DIGITS} digits")
        return
    if len(secret) < MIN_PASSWORD_CHARS:
        raise ValueError(
            f"use a PIN of at least {MIN_PIN_DIGITS} digits or a password of at least "
            f"{MIN_PASSWORD_CHARS} characters"
        )


def derive(secret: str, salt: bytes, params: KdfParams = DEFAULT_KDF) -> bytes:
    # NFC so that the same password typed on two keyboards gives the same bytes.
    data = unicodedata.normalize("NFC", secret).encode("utf-8")
    return hashlib.scrypt(
        data,
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        dklen=params.dklen,
        maxmem=256 * params.n * params.r + 1024 * 1024,
    )


@dataclass(frozen=True)
class HashedSecret:
    hash_hex: str
    salt_hex: str
    params_json: str


def hash_secret(secret: str, params: KdfParams = DEFAULT_KDF) -> HashedSecret:
    """Check the strength of `secret` and hash it with a fresh random salt."""
    check_secret_strength(secret)
    salt = os.urandom(SALT_BYTES)
    return HashedSecret(derive(secret, salt, params).hex(), salt.hex(), params.to_json())


def verify_secret(secret: str, stored: HashedSecret) -> bool:
    """Constant-time comparison of `secret` against a stored hash."""
    if len(secret) > MAX_SECRET_CHARS:
        return False
    params = KdfParams.from_json(stored.params_json)
    candidate = derive(secret, bytes.fromhex(stored.salt_hex), params)
    return hmac.compare_digest(candidate, bytes.fromhex(stored.hash_hex))


def burn_time(secret: str) -> None:
    """Spend what a real check costs, so an unknown e-mail answers as slowly as a known one."""
    derive(secret[:MAX_SECRET_CHARS], b"\0" * SALT_BYTES)


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        raise ValueError("that does not look like an e-mail address")
    return email
