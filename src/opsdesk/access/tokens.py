"""API tokens for machine clients (``Authorization: Bearer odt_…``): named, scoped to a
role, revocable, with the time each was last used. The secret is shown once, at creation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from opsdesk.access.credentials import TOKEN_PREFIX, digest, new_secret
from opsdesk.access.roles import Identity, Role, checked_name
from opsdesk.access.users import AccountError
from opsdesk.db import Database
from opsdesk.db.tables import ApiToken, utcnow

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: Role
    hint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        name=row.name,
        role=Role(row.role),
        hint=row.hint,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class ApiTokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, name: str, role: Role) -> tuple[TokenInfo, str]:
        """The new token's facts and its secret, which is not kept and cannot be shown again."""
        name = checked_name(name)
        secret = new_secret(TOKEN_PREFIX)
        async with self.db.transaction() as session:
            if await session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
                raise AccountError(f"a token named {name} already exists")
            row = ApiToken(
                name=name,
                role=role.value,
                token_digest=digest(secret),
                hint=secret[: len(TOKEN_PREFIX) + 4],
                created_at=utcnow(),
            )
            session.add(row)
        return _info(row), secret

    async def list(self) -> list[TokenInfo]:
        async with self.db.transaction() as session:
            rows = await session.scalars(select(ApiToken).order_by(ApiToken.name))
            return [_info(row) for row in rows]

    async def revoke(self, name: str) -> TokenInfo:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(ApiToken).where(ApiToken.name == name.strip().lower())
            )
            if row is None:
                raise AccountError(f"there is no token named {name}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
        return _info(row)

    async def resolve(self, secret: str) -> Identity | None:
        """The token's identity, or None if it is unknown or revoked."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(ApiToken).where(ApiToken.token_digest == digest(secret))
            )
            if row is None or row.revoked_at is not None:
                return None
            now = utcnow()
            if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
                row.last_used_at = now
            return Identity(name=row.name, role=Role(row.role), kind="token")
