"""The secrets a client holds (session cookies, sign-in links, API tokens): long random
strings of which only a SHA-256 digest is stored."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "odt_"  # noqa: S105 - a prefix, not a secret
"""API tokens start with this, so a leaked one is recognisable (and secret scanners can
be taught it)."""


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
