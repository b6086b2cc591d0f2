"""Signed, short-lived links to files in the folder store (the S3 store presigns its own).
A token names one blob, its type and name, and an expiry; it is signed with the link key,
under an audience of its own so a file token never answers a question."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import jwt
from pydantic import ValidationError

from opsdesk.files.refs import FileRef

AUDIENCE = "opsdesk-file"
FILES_PATH = "/files"


class FileLinkRefused(Exception):
    """A file link we did not sign, or one past its expiry."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "forged")
        self.expired = expired


class FileSigner:
    def __init__(self, key: bytes, public_url: str) -> None:
        self._key = key
        self.public_url = public_url.rstrip("/")

    def token(self, ref: FileRef, lifetime: timedelta, now: datetime | None = None) -> str:
        expires = (now or datetime.now(UTC)) + lifetime
        claims: dict[str, Any] = {
            "aud": AUDIENCE,
            "sub": ref.key,
            "typ": ref.content_type,
            "nam": ref.name,
            "siz": ref.size,
            "knd": ref.kind,
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def url(self, ref: FileRef, lifetime: timedelta) -> str:
        return f"{self.public_url}{FILES_PATH}/{self.token(ref, lifetime)}"

    def verify(self, token: str) -> FileRef:
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], audience=AUDIENCE)
            return FileRef(
                key=claims["sub"],
                content_type=claims["typ"],
                name=claims["nam"],
                size=claims["siz"],
                kind=claims["knd"],
            )
        except jwt.ExpiredSignatureError:
            raise FileLinkRefused(expired=True) from None
        except (jwt.InvalidTokenError, KeyError, ValidationError):
            raise FileLinkRefused(expired=False) from None

    @staticmethod
    def disposition(ref: FileRef) -> str:
        """Shown in the browser, saved under the person's own file name."""
        return f"inline; filename*=UTF-8''{quote(ref.name)}"
