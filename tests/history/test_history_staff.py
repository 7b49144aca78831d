"""Staff users: scrypt-hashed PINs and passwords, checked in constant time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from petvisor_desktop.history import History, RecordNotFound, VerifyResult
from petvisor_desktop.history.staff import check_secret_strength


def test_create_verify_and_disable(history: History) -> None:
    history.create_user("Amy.Roberts@Clinic.example ", "4821", "Amy")
    [user] = history.users()
    assert user.email == "amy.roberts@clinic.example" and user.display_name == "Amy"
    assert user.is_active and user.last_verified_at is None

    assert history.verify_user("amy.roberts@clinic.example", "4821") is VerifyResult.OK
    assert history.verify_user("AMY.ROBERTS@clinic.example", "4821").ok
    assert history.users()[0].last_verified_at is not None
    assert history.verify_user("amy.roberts@clinic.example", "4822") is VerifyResult.WRONG_SECRET
    assert history.verify_user("amy.roberts@clinic.example", "") is VerifyResult.WRONG_SECRET
    assert history.verify_user("nobody@clinic.example", "4821") is VerifyResult.UNKNOWN_USER

    history.disable_user("amy.roberts@clinic.example")
    assert not history.users()[0].is_active
    # Disabled is only revealed to someone who knows the PIN.
    assert history.verify_user("amy.roberts@clinic.example", "4821") is VerifyResult.DISABLED
    assert history.verify_user("amy.roberts@clinic.example", "0000") is VerifyResult.WRONG_SECRET
    history.set_user_active("amy.roberts@clinic.example", True)
    assert history.verify_user("amy.roberts@clinic.example", "4821").ok


def test_only_a_salted_hash_is_stored(history: History, db_path: Path) -> None:
    history.create_user("a@clinic.example", "correct horse battery")
    history.create_user("b@clinic.example", "correct horse battery")
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT secret_hash, salt, kdf_params FROM staff_user").fetchall()
    finally:
        conn.close()
    (hash_a, salt_a, params), (hash_b, salt_b, _) = rows
    assert salt_a != salt_b and hash_a != hash_b  # same password, different salt
    assert len(bytes.fromhex(salt_a)) == 16 and len(bytes.fromhex(hash_a)) == 32
    assert '"alg": "scrypt"' in params
    assert b"correct horse" not in db_path.read_bytes()


@pytest.mark.parametrize(
    ("secret", "ok"),
    [
        ("1234", True),
        ("123", False),
        ("12345678", True),
        ("abcdefgh", True),
        ("abc1234", False),  # not all digits, so a password: too short
        ("", False),
        ("x" * 300, False),
    ],
)
def test_minimum_strength(secret: str, ok: bool) -> None:
    if ok:
        check_secret_strength(secret)
    else:
        with pytest.raises(ValueError):
            check_secret_strength(secret)


def test_duplicates_and_unknown_users(history: History) -> None:
    history.create_user("a@clinic.example", "1234")
    with pytest.raises(ValueError, match="already exists"):
        history.create_user("A@clinic.example", "5678")
    with pytest.raises(ValueError, match="e-mail"):
        history.create_user("not-an-email", "5678")
    with pytest.raises(RecordNotFound):
        history.disable_user("b@clinic.example")
    assert len(history.users()) == 1
