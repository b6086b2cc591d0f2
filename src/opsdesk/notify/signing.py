"""Signed links (PyJWT, HS256): what a ``LinkGrant`` becomes in an email, and what a click
on one proves.

A token names one workflow, one question (stage and round), one role, the answers its page
may offer, a unique id and an expiry at the question's deadline. Verifying tells a forged
token from an expired one, so the page can say which; whether the link was already used is
the database's ``link_uses`` table, and whether the question is still open is the workflow's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import jwt
from pydantic import ValidationError

from opsdesk.keys import local_secret
from opsdesk.notify.links import LinkGrant
from opsdesk.settings import Settings

AUDIENCE = "opsdesk-link"
KEY_FILE = "link-signing.key"


class LinkRefused(Exception):
    """A link that cannot be used. ``grant`` is what an expired link said, for the page."""

    def __init__(
        self, kind: Literal["forged", "expired"], message: str, grant: LinkGrant | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.grant = grant


def link_key(settings: Settings) -> bytes:
    """The signing key: ``OPSDESK_LINK_SECRET``, or on a laptop one generated once into the
    data directory (the worker and the API read the same file)."""
    if settings.link_secret is not None:
        return settings.link_secret.get_secret_value().encode()
    return local_secret(settings.data_dir / KEY_FILE)


class LinkSigner:
    def __init__(self, key: bytes, public_url: str) -> None:
        self._key = key
        self.public_url = public_url.rstrip("/")

    def token(self, grant: LinkGrant) -> str:
        claims: dict[str, Any] = {
            "aud": AUDIENCE,
            "jti": grant.link_id,
            "sub": grant.request_id,
            "stg": grant.stage,
            "rnd": grant.round,
            "rol": grant.role,
            "ans": list(grant.answers),
            "exp": int(grant.expires_at.timestamp()),
        }
        if grant.channel != "email":
            claims["chn"] = grant.channel
        return jwt.encode(claims, self._key, algorithm="HS256")

    def url(self, grant: LinkGrant) -> str:
        return f"{self.public_url}/links/{self.token(grant)}"

    def verify(self, token: str, now: datetime | None = None) -> LinkGrant:
        """The grant a token carries. Raises ``LinkRefused`` for a token we did not sign
        (or that was altered) and for one past its expiry."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"verify_exp": False, "require": ["exp", "jti", "sub"]},
            )
            grant = LinkGrant(
                link_id=claims["jti"],
                request_id=claims["sub"],
                stage=claims["stg"],
                round=claims["rnd"],
                role=claims["rol"],
                answers=tuple(claims["ans"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                channel=claims.get("chn", "email"),
            )
        except (jwt.InvalidTokenError, KeyError, TypeError, ValidationError):
            raise LinkRefused(
                "forged", "This link is not one of ours, or it was changed on the way."
            ) from None
        if (now or datetime.now(UTC)) >= grant.expires_at:
            raise LinkRefused("expired", "This link has expired.", grant)
        return grant
