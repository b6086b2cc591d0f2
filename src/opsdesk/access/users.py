"""The ops staff: names, roles and password hashes."""

from __future__ import annotations

import asyncio
import functools
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsdesk.access.passwords import hash_password, needs_rehash, verify_password
from opsdesk.access.roles import Identity, Role, checked_name
from opsdesk.db import Database
from opsdesk.db.tables import User, utcnow


@functools.cache
def time_zones() -> list[str]:
    """The zones a person may pick, by their IANA names (``America/Los_Angeles``)."""
    skipped = ("Etc/", "SystemV/", "US/", "posix/", "right/")
    named = (z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(skipped))
    return [*sorted(named), "UTC"]


class AccountError(ValueError):
    """A change to users or tokens that cannot be made, with a sentence saying why."""


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: Role
    has_password: bool
    from_provider: bool
    """Signs in through the OpenID Connect provider, never with a password here."""
    created_at: datetime
    last_sign_in_at: datetime | None
    time_zone: str | None = None
    """Their own zone for times on the pages; none for the business's."""


def _info(row: User) -> UserInfo:
    return UserInfo(
        name=row.name,
        role=Role(row.role),
        has_password=row.password_hash is not None,
        from_provider=row.provider_subject is not None,
        created_at=row.created_at,
        last_sign_in_at=row.last_sign_in_at,
        time_zone=row.time_zone,
    )


class Users:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, name: str, role: Role, password: str | None = None) -> UserInfo:
        name = checked_name(name)
        hashed = hash_password(password) if password is not None else None
        async with self.db.transaction() as session:
            if await session.scalar(select(User.id).where(User.name == name)) is not None:
                raise AccountError(f"a user named {name} already exists")
            row = User(name=name, role=role.value, password_hash=hashed, created_at=utcnow())
            session.add(row)
        return _info(row)

    async def get(self, name: str) -> UserInfo | None:
        async with self.db.transaction() as session:
            row = await session.scalar(select(User).where(User.name == name.strip().lower()))
            return _info(row) if row else None

    async def list(self) -> list[UserInfo]:
        async with self.db.transaction() as session:
            rows = await session.scalars(select(User).order_by(User.name))
            return [_info(row) for row in rows]

    async def count(self) -> int:
        async with self.db.transaction() as session:
            return int(await session.scalar(select(func.count(User.id))) or 0)

    async def remove(self, name: str) -> None:
        """Removes the user and signs them out everywhere (their sessions cascade)."""
        async with self.db.transaction() as session:
            row = await self._one(session, name)
            await self._keep_an_admin(session, row, Role.VIEWER)
            await session.execute(delete(User).where(User.id == row.id))

    async def set_role(self, name: str, role: Role) -> UserInfo:
        async with self.db.transaction() as session:
            row = await self._one(session, name)
            await self._keep_an_admin(session, row, role)
            row.role = role.value
        return _info(row)

    async def set_time_zone(self, name: str, zone: str | None) -> UserInfo:
        """The zone ``name`` reads times in; none (or an empty name) for the business's."""
        zone = (zone or "").strip() or None
        if zone is not None and zone not in time_zones():
            raise AccountError(f"{zone} is not a time zone we know (pick one from the list)")
        async with self.db.transaction() as session:
            row = await self._one(session, name)
            row.time_zone = zone
        return _info(row)

    async def set_password(self, name: str, password: str) -> None:
        hashed = await asyncio.to_thread(hash_password, password)
        async with self.db.transaction() as session:
            row = await self._one(session, name)
            if row.provider_subject is not None:
                raise AccountError(
                    f"{row.name} signs in through the identity provider; there is no password here"
                )
            row.password_hash = hashed

    async def authenticate(self, name: str, password: str) -> Identity | None:
        """The user, if the password is theirs; the hash is upgraded when argon2's
        parameters have moved on since it was made."""
        async with self.db.transaction() as session:
            row = await session.scalar(select(User).where(User.name == name.strip().lower()))
        stored = row.password_hash if row else None
        # argon2 takes a tenth of a second of CPU on purpose: off the event loop.
        matches = await asyncio.to_thread(verify_password, stored, password)
        if row is None or not matches or stored is None:
            return None
        async with self.db.transaction() as session:
            fresh = await session.get(User, row.id)
            if fresh is None:
                return None
            fresh.last_sign_in_at = utcnow()
            if needs_rehash(stored):
                fresh.password_hash = await asyncio.to_thread(hash_password, password)
            return Identity(
                name=fresh.name, role=Role(fresh.role), kind="user", time_zone=fresh.time_zone
            )

    async def from_provider(self, subject: str, name: str, role: Role) -> Identity:
        """A person the OpenID Connect provider vouches for, matched on ``subject`` (issuer
        and ``sub``): made on first sign-in under ``name``, and their role kept as the
        provider says it is now. A name a local user already has is refused, so a provider
        account can never take over a local one."""
        async with self.db.transaction() as session:
            row = await session.scalar(select(User).where(User.provider_subject == subject))
            if row is None:
                name = checked_name(name)
                if await session.scalar(select(User.id).where(User.name == name)) is not None:
                    raise AccountError(
                        f"the name {name} belongs to another account here; ask an admin"
                    )
                row = User(name=name, provider_subject=subject, created_at=utcnow())
                session.add(row)
            row.role = role.value
            row.last_sign_in_at = utcnow()
            return Identity(name=row.name, role=role, kind="user", time_zone=row.time_zone)

    async def _one(self, session: AsyncSession, name: str) -> User:
        row = await session.scalar(select(User).where(User.name == name.strip().lower()))
        if row is None:
            raise AccountError(f"there is no user named {name}")
        return row

    async def _keep_an_admin(self, session: AsyncSession, row: User, new_role: Role) -> None:
        if row.role != Role.ADMIN or new_role is Role.ADMIN:
            return
        admins = await session.scalar(select(func.count(User.id)).where(User.role == Role.ADMIN))
        if (admins or 0) <= 1:
            raise AccountError(f"{row.name} is the last admin; make another admin first")
