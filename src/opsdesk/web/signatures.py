"""Timestamped webhook signatures, the scheme large payment providers use.

The sender signs ``"<unix seconds>." + body`` with HMAC-SHA256 and sends
``X-Opsdesk-Signature: t=<unix seconds>,v1=<hex>``. We accept it only within a tolerance
window of our clock, so a captured request cannot be replayed later, and against any of
the secrets currently active, so a secret can be rotated without a moment when deliveries
fail: make the new one active beside the old, move the sender over, then drop the old one.
A sender may send one ``v1`` per secret while it moves.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import timedelta

from opsdesk.web.params import whole_number

HEADER = "X-Opsdesk-Signature"


class SignatureRefused(Exception):
    """Why a signature does not prove the request: the message says what to fix."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value a sender sends for ``body`` at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secrets: Sequence[str],
    body: bytes,
    header: str | None,
    *,
    now: float,
    tolerance: timedelta,
) -> None:
    """Return when ``header`` signs ``body`` with one of ``secrets`` within ``tolerance`` of
    ``now``; raise ``SignatureRefused`` otherwise."""
    if not header:
        raise SignatureRefused(f"missing {HEADER}")
    timestamp, candidates = _parse(header)
    age = now - timestamp
    window = tolerance.total_seconds()
    if abs(age) > window:
        when = "old" if age > 0 else "far in the future"
        raise SignatureRefused(
            f"{HEADER} is {abs(age):.0f} s {when}: outside the {window:.0f} s window "
            "(check the sender's clock)"
        )
    expected = [_digest(secret, body, timestamp) for secret in secrets]
    if not any(hmac.compare_digest(e, c) for e in expected for c in candidates):
        raise SignatureRefused(f"{HEADER} does not match the body with any active secret")


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and (seconds := whole_number(value, 10**12 - 1)) is not None:
            timestamp = seconds
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureRefused(f"{HEADER} must be t=<unix seconds>,v1=<hex HMAC-SHA256>")
    return timestamp, candidates
