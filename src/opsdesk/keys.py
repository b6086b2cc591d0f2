"""Keys: the ones a laptop makes for itself (generated once into the data directory, so
that every process of one stack reads the same key; production sets them in settings
instead), and the payload keys' written form. No other opsdesk module is imported here:
settings check keys with it."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def local_secret(path: Path) -> bytes:
    """A random key kept in ``path``, made on first use. Every process on the machine that
    reads the same path gets the same key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place, so no reader ever sees a half-written key.
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            draft.unlink()
    return path.read_bytes().strip()


class PayloadKeyError(ValueError):
    """The keys are missing or malformed, or a payload names a key we do not hold."""


@dataclass(frozen=True)
class PayloadKey:
    id: str
    secret: bytes


def parse_keys(text: str) -> list[PayloadKey]:
    """``id:base64key,id:base64key``, newest first; each key 32 bytes (AES-256)."""
    keys = []
    for entry in text.split(","):
        key_id, _, encoded = entry.strip().partition(":")
        try:
            secret = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            secret = b""
        if not key_id or len(secret) != 32:
            raise PayloadKeyError(
                "OPSDESK_PAYLOAD_KEYS must be id:base64 pairs separated by commas, each key "
                "32 bytes (make one with: openssl rand -base64 32)"
            )
        keys.append(PayloadKey(key_id, secret))
    if len({key.id for key in keys}) != len(keys):
        raise PayloadKeyError("OPSDESK_PAYLOAD_KEYS names a key id twice")
    return keys
