"""Reading Temporal visibility: pages of workflows with opaque page tokens, counts, and
quoting values into a visibility query. Every desk's lists go through here.

The page tokens we hand out are Temporal's, sealed with an HMAC. A token we did not hand out
is refused at once: Temporal cannot read a forged one either, but its answer ("something
went wrong, please retry") is one the SDK retries for about ten seconds first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from pathlib import Path

from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.settings import Settings
from opsdesk.temporal.codec import payload_keys


class BadPageToken(ValueError):
    pass


_BAD_TOKEN_ANSWERS = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL)


def quote(value: str) -> str:
    # Filter values are validated to a plain alphabet before they get here; escaping is a
    # second line of defence for the visibility query language.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_MAC = 16


_derived_keys: dict[tuple[str | None, Path], bytes] = {}


def page_token_key(settings: Settings) -> bytes:
    """The key page tokens are sealed with: derived from the newest payload key, which every
    process of a deployment shares, so a token one API replica hands out opens on another.
    Derived once per process (a laptop's key is a file, and every list asks)."""
    configured = settings.payload_keys.get_secret_value() if settings.payload_keys else None
    where = (configured, settings.data_dir.resolve())
    if where not in _derived_keys:
        newest = payload_keys(settings)[0]
        _derived_keys[where] = hmac.new(
            newest.secret, b"opsdesk page tokens", hashlib.sha256
        ).digest()
    return _derived_keys[where]


def _mac(key: bytes, query: str, token: bytes) -> bytes:
    # The query is sealed in too: a token of one list is not one of another.
    return hmac.new(key, query.encode() + b"\0" + token, hashlib.sha256).digest()[:_MAC]


def encode_token(token: bytes | None, key: bytes, query: str) -> str | None:
    if not token:
        return None
    return base64.urlsafe_b64encode(_mac(key, query, token) + token).decode()


def decode_token(token: str | None, key: bytes, query: str) -> bytes | None:
    if not token:
        return None
    try:
        sealed = base64.b64decode(token.encode(), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadPageToken("page_token is not one this API handed out") from exc
    mac, raw = sealed[:_MAC], sealed[_MAC:]
    if not raw or not hmac.compare_digest(mac, _mac(key, query, raw)):
        raise BadPageToken("page_token is not one this API handed out")
    return raw


async def fetch_page(
    client: Client, query: str, *, page_size: int, page_token: str | None, key: bytes
) -> tuple[list[WorkflowExecution], str | None]:
    """One page of the workflows ``query`` matches, and the token of the next page (None on
    the last). Raises ``BadPageToken`` for a token this API did not hand out."""
    iterator = client.list_workflows(
        query, page_size=page_size, next_page_token=decode_token(page_token, key, query)
    )
    try:
        await iterator.fetch_next_page()
    except RPCError as exc:
        # Visibility cannot read a forged or stale token: some stores say so, others fail.
        if page_token and exc.status in _BAD_TOKEN_ANSWERS:
            raise BadPageToken("page_token is not one this API handed out") from exc
        raise
    return list(iterator.current_page or []), encode_token(iterator.next_page_token, key, query)


async def count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count
