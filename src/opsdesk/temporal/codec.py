"""Payload encryption: every payload Ops Desk hands Temporal (workflow inputs and results,
signals, updates, queries, memo, activity arguments and results) is AES-256-GCM
ciphertext on the server. Search attributes are not payloads and stay plaintext: keep
personal data out of them.

Keys have ids. New payloads use the newest key and name it in their metadata, so a key is
rotated by putting a new one first and keeping the old ones for as long as histories
encrypted with them are kept. A payload that is not encrypted (recorded before this codec,
or sent by the Temporal CLI) passes through as it is.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from opsdesk.keys import PayloadKey, PayloadKeyError, local_secret, parse_keys
from opsdesk.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_FILE = "payload-encryption.key"
_NONCE = 12


def payload_keys(settings: Settings) -> list[PayloadKey]:
    """The configured keys, or on a laptop one generated once into the data directory."""
    if settings.payload_keys is not None:
        return parse_keys(settings.payload_keys.get_secret_value())
    secret = bytes.fromhex(local_secret(settings.data_dir / KEY_FILE).decode())
    return [PayloadKey("local-" + hashlib.sha256(secret).hexdigest()[:8], secret)]


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise PayloadKeyError("no payload encryption key")
        self._newest = keys[0]
        self._by_id = {key.id: AESGCM(key.secret) for key in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self._newest.id.encode()
        nonce = os.urandom(_NONCE)
        # The key id is bound to the ciphertext: relabelling a payload breaks it.
        sealed = self._by_id[self._newest.id].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"")
        cipher = self._by_id.get(key_id.decode(errors="replace"))
        if cipher is None:
            raise PayloadKeyError(f"no payload key with id {key_id.decode(errors='replace')!r}")
        try:
            plain = cipher.decrypt(payload.data[:_NONCE], payload.data[_NONCE:], key_id)
        except InvalidTag:
            raise PayloadKeyError("a payload does not decrypt: it was altered") from None
        return Payload.FromString(plain)
