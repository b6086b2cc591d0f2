"""Reading Temporal visibility: pages of workflows with opaque page tokens, counts, and
quoting values into a visibility query. Every desk's lists go through here."""

from __future__ import annotations

import base64
import binascii

from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode


class BadPageToken(ValueError):
    pass


_BAD_TOKEN_ANSWERS = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL)


def quote(value: str) -> str:
    # Filter values are validated to a plain alphabet before they get here; escaping is a
    # second line of defence for the visibility query language.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def encode_token(token: bytes | None) -> str | None:
    return base64.urlsafe_b64encode(token).decode() if token else None


def decode_token(token: str | None) -> bytes | None:
    if not token:
        return None
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadPageToken("page_token is not one this API handed out") from exc


async def fetch_page(
    client: Client, query: str, *, page_size: int, page_token: str | None
) -> tuple[list[WorkflowExecution], str | None]:
    """One page of the workflows ``query`` matches, and the token of the next page (None on
    the last). Raises ``BadPageToken`` for a token this API did not hand out."""
    iterator = client.list_workflows(
        query, page_size=page_size, next_page_token=decode_token(page_token)
    )
    try:
        await iterator.fetch_next_page()
    except RPCError as exc:
        # Visibility cannot read a forged or stale token: some stores say so, others fail.
        if page_token and exc.status in _BAD_TOKEN_ANSWERS:
            raise BadPageToken("page_token is not one this API handed out") from exc
        raise
    return list(iterator.current_page or []), encode_token(iterator.next_page_token)


async def count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count
