"""The staff users kept in the history database: adding, listing, checking a PIN or password,
disabling. The hashing itself is `history.staff`."""

from __future__ import annotations

import logging

from petvisor_desktop.history import staff
from petvisor_desktop.history.database import DatabaseAccess
from petvisor_desktop.history.errors import RecordNotFound
from petvisor_desktop.history.models import StaffUser
from petvisor_desktop.history.records import StaffUserInfo, VerifyResult
from petvisor_desktop.history.values import _dt, _now, _opt_dt, _ts

log = logging.getLogger(__name__)


class StaffUsers(DatabaseAccess):
    """The staff-user part of `History`."""

    def create_user(self, email: str, secret: str, display_name: str | None = None) -> int:
        """Add a staff user. `secret` is a PIN (4+ digits) or a password (8+ characters)."""
        address = staff.normalise_email(email)
        hashed = staff.hash_secret(secret)
        with self._write():
            exists = StaffUser.select().where(StaffUser.email == address).exists(self._db)
            if exists:
                raise ValueError("a staff user with that e-mail already exists")
            user_id = int(
                StaffUser.insert(
                    email=address,
                    display_name=display_name,
                    secret_hash=hashed.hash_hex,
                    salt=hashed.salt_hex,
                    kdf_params=hashed.params_json,
                    is_active=True,
                    created_at=_ts(_now()),
                ).execute(self._db)
            )
        log.info("staff user %d created", user_id)
        return user_id

    def users(self) -> list[StaffUserInfo]:
        self._ensure_open()
        return [
            StaffUserInfo(
                id=u.id,
                email=u.email,
                display_name=u.display_name,
                is_active=bool(u.is_active),
                created_at=_dt(u.created_at),
                last_verified_at=_opt_dt(u.last_verified_at),
            )
            for u in StaffUser.select().order_by(StaffUser.email).bind(self._db)
        ]

    def verify_user(self, email: str, secret: str) -> VerifyResult:
        """Check a staff member's PIN or password. A disabled account is only reported as
        such when the PIN was right, so a guesser learns nothing from it."""
        try:
            address = staff.normalise_email(email)
        except ValueError:
            address = ""
        self._ensure_open()
        user = StaffUser.select().where(StaffUser.email == address).bind(self._db).first()
        if user is None:
            staff.burn_time(secret)
            log.info("staff verification failed: unknown user")
            return VerifyResult.UNKNOWN_USER
        stored = staff.HashedSecret(user.secret_hash, user.salt, user.kdf_params)
        if not staff.verify_secret(secret, stored):
            log.info("staff verification failed for user %d", user.id)
            return VerifyResult.WRONG_SECRET
        if not user.is_active:
            log.info("staff verification refused: user %d is disabled", user.id)
            return VerifyResult.DISABLED
        with self._write():
            StaffUser.update(last_verified_at=_ts(_now())).where(StaffUser.id == user.id).execute(
                self._db
            )
        return VerifyResult.OK

    def set_user_active(self, email: str, active: bool) -> None:
        """Disable (or re-enable) a staff user; their hash is kept."""
        address = staff.normalise_email(email)
        with self._write():
            changed = (
                StaffUser.update(is_active=active)
                .where(StaffUser.email == address)
                .execute(self._db)
            )
        if not changed:
            raise RecordNotFound("no staff user with that e-mail")
        log.info("staff user %s", "enabled" if active else "disabled")

    def disable_user(self, email: str) -> None:
        self.set_user_active(email, False)
