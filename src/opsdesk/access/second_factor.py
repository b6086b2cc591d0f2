"""A second factor for signing in with a password: a six-digit code from an authenticator
app (TOTP, RFC 6238, by pyotp), or one of ten recovery codes for the day the phone is lost.

The shared secret is kept encrypted under the payload keys (the codec that seals Temporal's
payloads), so a copy of the database alone does not let anyone make codes. A code is
accepted in its 30-second step or the one either side (a phone's clock drifts), and once:
the step of the last accepted code is kept and no code of that step or an earlier one is
taken again. Recovery codes are argon2-hashed like passwords and each works once.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.api.common.v1 import Payload

from opsdesk.access.passwords import hash_code, verify_password
from opsdesk.access.users import AccountError
from opsdesk.db import Database
from opsdesk.db.tables import RecoveryCode, SecondFactor, User, utcnow
from opsdesk.keys import PayloadKeyError
from opsdesk.temporal.codec import EncryptionCodec

ISSUER = "Ops Desk"
STEP_SECONDS = 30
DRIFT_STEPS = 1
"""Codes of the step before and after now are taken too: a phone's clock is seldom exact."""
RECOVERY_CODES = 10
PENDING_TIME = timedelta(minutes=15)
"""How long a new secret waits for its first code (and is shown on the person's page): not
for ever, so that whoever borrows a session later cannot read and confirm one left there."""
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY = re.compile(r"[a-z2-9]{10}")


@dataclass(frozen=True)
class Enrolment:
    """A secret waiting for its first code: what the authenticator app is shown."""

    secret: str
    """Base32, as an app takes it when typed in."""
    uri: str
    """``otpauth://totp/…``: what the QR code holds."""

    @property
    def grouped(self) -> str:
        """The secret in groups of four, for typing it in by hand."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def _steps_now() -> int:
    return int(time.time()) // STEP_SECONDS


def _normal(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def _new_recovery_code() -> str:
    code = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{code[:5]}-{code[5:]}"


class SecondFactors:
    """Each person's authenticator app and recovery codes."""

    def __init__(self, db: Database, codec: EncryptionCodec) -> None:
        self.db = db
        self.codec = codec

    async def enrolled(self, name: str) -> bool:
        """Whether signing in as ``name`` asks for a code (a confirmed second factor)."""
        async with self.db.transaction() as session:
            found = await session.scalar(
                select(SecondFactor.id)
                .join(User, User.id == SecondFactor.user_id)
                .where(User.name == name, SecondFactor.confirmed_at.is_not(None))
            )
            return found is not None

    async def lacking(self, name: str) -> bool:
        """Whether ``name`` signs in here by password and has no second factor on (what
        ``OPSDESK_ADMIN_SECOND_FACTOR=required`` holds an admin to)."""
        async with self.db.transaction() as session:
            found = (
                await session.execute(
                    select(User.provider_subject, SecondFactor.confirmed_at)
                    .outerjoin(SecondFactor, SecondFactor.user_id == User.id)
                    .where(User.name == name)
                )
            ).first()
        return found is not None and found[0] is None and found[1] is None

    async def recovery_codes_left(self, name: str) -> int:
        async with self.db.transaction() as session:
            left = await session.scalar(
                select(func.count(RecoveryCode.id))
                .join(User, User.id == RecoveryCode.user_id)
                .where(User.name == name, RecoveryCode.used_at.is_(None))
            )
            return int(left or 0)

    async def begin(self, name: str) -> Enrolment:
        """A new secret for ``name``, not yet asked for at sign-in (it replaces one that
        was never confirmed)."""
        secret = pyotp.random_base32()
        async with self.db.transaction() as session:
            user = await self._user(session, name)
            row = await session.scalar(select(SecondFactor).where(SecondFactor.user_id == user.id))
            if row is not None and row.confirmed_at is not None:
                raise AccountError("a second factor is on already; turn it off first")
            if row is None:
                row = SecondFactor(user_id=user.id, secret_sealed="", created_at=utcnow())
                session.add(row)
            row.secret_sealed = self._seal(secret)
            row.created_at = utcnow()
        return self._enrolment(name, secret)

    async def pending(self, name: str) -> Enrolment | None:
        """The secret that waits for its first code, if any."""
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(SecondFactor)
                .join(User, User.id == SecondFactor.user_id)
                .where(
                    User.name == name,
                    SecondFactor.confirmed_at.is_(None),
                    SecondFactor.created_at > utcnow() - PENDING_TIME,
                )
            )
        return self._enrolment(name, self._unseal(row.secret_sealed)) if row else None

    async def confirm(self, name: str, code: str) -> list[str]:
        """Turns the pending secret on if ``code`` is one of its codes; returns the new
        recovery codes, which are stored only as hashes (show them this once)."""
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
        hashes = await asyncio.to_thread(lambda: [hash_code(_normal(c)) for c in codes])
        async with self.db.transaction() as session:
            user = await self._user(session, name)
            row = await session.scalar(
                select(SecondFactor).where(
                    SecondFactor.user_id == user.id,
                    SecondFactor.confirmed_at.is_(None),
                    SecondFactor.created_at > utcnow() - PENDING_TIME,
                )
            )
            if row is None:
                raise AccountError(
                    "no authenticator app is waiting to be confirmed; set it up again"
                )
            step = self._matching_step(self._unseal(row.secret_sealed), code, after=None)
            if step is None:
                raise AccountError("that code does not match; try the one your app shows now")
            row.confirmed_at = utcnow()
            row.last_step = step
            await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
            session.add_all(
                RecoveryCode(user_id=user.id, hint=_normal(c)[:2], code_hash=h)
                for c, h in zip(codes, hashes, strict=True)
            )
        return codes

    async def check(self, name: str, code: str) -> bool:
        """Whether ``code`` proves ``name``'s second factor: the app's code of now (each
        works once), or an unused recovery code (which is then spent)."""
        given = _normal(code)
        if given.isdigit():
            return await self._check_app_code(name, given)
        if _RECOVERY.fullmatch(given):
            return await self._spend_recovery_code(name, given)
        return False

    async def turn_off(self, name: str) -> bool:
        """Removes ``name``'s second factor and recovery codes (a lost phone); whether
        there was one on."""
        async with self.db.transaction() as session:
            user = await self._user(session, name)
            was_on = await session.scalar(
                select(SecondFactor.id).where(
                    SecondFactor.user_id == user.id, SecondFactor.confirmed_at.is_not(None)
                )
            )
            await session.execute(delete(SecondFactor).where(SecondFactor.user_id == user.id))
            await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        return was_on is not None

    async def _check_app_code(self, name: str, code: str) -> bool:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(SecondFactor)
                .join(User, User.id == SecondFactor.user_id)
                .where(User.name == name, SecondFactor.confirmed_at.is_not(None))
            )
            if row is None:
                return False
            step = self._matching_step(self._unseal(row.secret_sealed), code, row.last_step)
            if step is None:
                return False
            # Taken by one statement that only a newer step matches: the same code sent
            # twice at once (two replicas) signs in once.
            taken = await session.execute(
                update(SecondFactor)
                .where(
                    SecondFactor.id == row.id,
                    (SecondFactor.last_step.is_(None)) | (SecondFactor.last_step < step),
                )
                .values(last_step=step)
            )
            return bool(taken.rowcount == 1)  # type: ignore[attr-defined]

    async def _spend_recovery_code(self, name: str, code: str) -> bool:
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    select(RecoveryCode.id, RecoveryCode.code_hash)
                    .join(User, User.id == RecoveryCode.user_id)
                    .where(
                        User.name == name,
                        RecoveryCode.used_at.is_(None),
                        RecoveryCode.hint == code[:2],
                    )
                )
            ).all()
        # argon2 is slow on purpose: off the event loop, and only for the codes whose first
        # characters match (one, mostly).
        match = await asyncio.to_thread(
            lambda: next((i for i, h in rows if verify_password(h, code)), None)
        )
        if match is None:
            return False
        async with self.db.transaction() as session:
            spent = await session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == match, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
            )
            return bool(spent.rowcount == 1)  # type: ignore[attr-defined]

    @staticmethod
    def _matching_step(secret: str, code: str, after: int | None) -> int | None:
        """The step ``code`` belongs to, near now and after ``after``; None if none."""
        code = _normal(code)
        totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
        now = _steps_now()
        for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
            if after is not None and step <= after:
                continue
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None

    def _enrolment(self, name: str, secret: str) -> Enrolment:
        totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
        uri = totp.provisioning_uri(name=name, issuer_name=ISSUER)
        return Enrolment(secret=secret, uri=uri)

    def _seal(self, secret: str) -> str:
        sealed = self.codec.encrypt(Payload(data=secret.encode()))
        return base64.b64encode(sealed.SerializeToString()).decode()

    def _unseal(self, sealed: str) -> str:
        try:
            payload = self.codec.decrypt(Payload.FromString(base64.b64decode(sealed)))
        except PayloadKeyError:
            raise AccountError(
                "the second factor was sealed with a payload key this process does not hold"
            ) from None
        return payload.data.decode()

    async def _user(self, session: AsyncSession, name: str) -> User:
        row = await session.scalar(select(User).where(User.name == name.strip().lower()))
        if row is None:
            raise AccountError(f"there is no user named {name}")
        return row
