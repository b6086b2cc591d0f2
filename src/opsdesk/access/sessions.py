"""Signed-in browsers, and the one-time links that sign a person in without a password.

A session ends after ``idle`` without a request or ``lifetime`` after sign-in, whichever
comes first; its last-seen time is written at most once a minute, so a busy dashboard does
not turn every page view into a database write."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update

from opsdesk.access.credentials import digest, new_secret
from opsdesk.access.roles import Identity, Role
from opsdesk.access.users import AccountError
from opsdesk.db import Database
from opsdesk.db.tables import SignInLink, User, UserSession, utcnow

TOUCH_EVERY = timedelta(minutes=1)
LINK_LIFETIME = timedelta(hours=1)


class LinkRefusal(StrEnum):
    """Why a sign-in link did not sign anyone in; the page says which."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class Sessions:
    def __init__(self, db: Database, idle: timedelta, lifetime: timedelta) -> None:
        self.db = db
        self.idle = idle
        self.lifetime = lifetime

    async def open(self, name: str, *, by_link: bool = False) -> str:
        """A new session for the user; the returned secret goes into their cookie."""
        secret = new_secret()
        async with self.db.transaction() as session:
            user_id = await session.scalar(select(User.id).where(User.name == name))
            if user_id is None:
                raise AccountError(f"there is no user named {name}")
            now = utcnow()
            session.add(
                UserSession(
                    token_digest=digest(secret),
                    user_id=user_id,
                    created_at=now,
                    last_seen_at=now,
                    by_link=by_link,
                )
            )
        return secret

    async def resolve(self, secret: str) -> Identity | None:
        """Who the session belongs to, or None if it is unknown, idle too long or too old
        (an ended session is deleted)."""
        async with self.db.transaction() as session:
            found = (
                await session.execute(
                    select(UserSession, User)
                    .join(User, User.id == UserSession.user_id)
                    .where(UserSession.token_digest == digest(secret))
                )
            ).first()
            if found is None:
                return None
            row, user = found
            now = utcnow()
            if now - row.last_seen_at > self.idle or now - row.created_at > self.lifetime:
                await session.delete(row)
                return None
            if now - row.last_seen_at > TOUCH_EVERY:
                row.last_seen_at = now
            return Identity(
                name=user.name, role=Role(user.role), kind="user", time_zone=user.time_zone
            )

    async def opened_by_link(self, secret: str) -> bool:
        async with self.db.transaction() as session:
            by_link = await session.scalar(
                select(UserSession.by_link).where(UserSession.token_digest == digest(secret))
            )
            return bool(by_link)

    async def close_others(self, name: str, keep: str) -> None:
        """Signs the user out everywhere but the session ``keep`` (after a password change)."""
        async with self.db.transaction() as session:
            user_id = select(User.id).where(User.name == name).scalar_subquery()
            await session.execute(
                delete(UserSession).where(
                    UserSession.user_id == user_id, UserSession.token_digest != digest(keep)
                )
            )

    async def close(self, secret: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                delete(UserSession).where(UserSession.token_digest == digest(secret))
            )

    async def issue_link(self, name: str, lifetime: timedelta = LINK_LIFETIME) -> str:
        """A one-time sign-in link's secret for the user."""
        secret = new_secret()
        async with self.db.transaction() as session:
            user_id = await session.scalar(select(User.id).where(User.name == name))
            if user_id is None:
                raise AccountError(f"there is no user named {name}")
            session.add(
                SignInLink(
                    token_digest=digest(secret), user_id=user_id, expires_at=utcnow() + lifetime
                )
            )
        return secret

    async def redeem_link(self, secret: str) -> str | LinkRefusal:
        """The user the link signs in (and the link is spent), or why it does not."""
        async with self.db.transaction() as session:
            found = (
                await session.execute(
                    select(SignInLink, User)
                    .join(User, User.id == SignInLink.user_id)
                    .where(SignInLink.token_digest == digest(secret))
                )
            ).first()
            if found is None:
                return LinkRefusal.UNKNOWN
            link, user = found
            if utcnow() > link.expires_at and link.used_at is None:
                return LinkRefusal.EXPIRED
            # Spent by one statement that only an unspent link matches, so two clicks at
            # once (on PostgreSQL, where they need not queue) sign in once.
            spent = await session.execute(
                update(SignInLink)
                .where(SignInLink.id == link.id, SignInLink.used_at.is_(None))
                .values(used_at=utcnow())
            )
            if spent.rowcount != 1:  # type: ignore[attr-defined]
                return LinkRefusal.USED
            user.last_sign_in_at = utcnow()
            return user.name
