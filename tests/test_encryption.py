"""Every payload is AES-256-GCM ciphertext on the Temporal server: a finished order's raw
history holds none of the customer's name, email or address, and the codec endpoint (what
the Temporal UI and CLI call) decodes them. Keys rotate without stopping anything."""

from __future__ import annotations

import base64
from collections.abc import Iterable

import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.keys import PayloadKey, PayloadKeyError, parse_keys
from opsdesk.orders.inputs import CancelRequest
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import start_order
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.client import data_converter
from opsdesk.temporal.codec import ENCODING, EncryptionCodec
from opsdesk.worker import build_workers, running
from tests.http import serve
from tests.orders.factory import order_request
from tests.orders.helpers import wait_for_status

PERSONAL = [b"Ada Lovelace", b"ada@example.com", b"St James's Square", b"SW1Y 4JH"]
OLD = PayloadKey("2026-01", b"o" * 32)
NEW = PayloadKey("2026-11", b"n" * 32)


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_payloads_round_trip_and_old_keys_still_decrypt_after_a_rotation() -> None:
    before = EncryptionCodec([OLD])
    [sealed_before] = await before.encode([plain('"ada@example.com"')])
    assert sealed_before.metadata["encoding"] == ENCODING
    assert b"ada@example.com" not in sealed_before.data

    rotated = EncryptionCodec([NEW, OLD])  # the new key first; the old one kept
    [sealed_after] = await rotated.encode([plain('"ada@example.com"')])
    assert sealed_after.metadata["encryption-key-id"] == b"2026-11"
    assert await rotated.decode([sealed_before, sealed_after]) == [
        plain('"ada@example.com"'),
        plain('"ada@example.com"'),
    ]
    # A payload from before encryption (or from the Temporal CLI) passes through.
    assert await rotated.decode([plain("1")]) == [plain("1")]

    with pytest.raises(PayloadKeyError, match="no payload key with id '2026-11'"):
        await before.decode([sealed_after])
    tampered = Payload()
    tampered.CopyFrom(sealed_after)
    tampered.metadata["encryption-key-id"] = b"2026-01"  # relabelled: the key id is bound
    with pytest.raises(PayloadKeyError, match="altered"):
        await rotated.decode([tampered])


def test_keys_come_as_id_and_base64_pairs_newest_first() -> None:
    new, old = (base64.b64encode(key.secret).decode() for key in (NEW, OLD))
    text = f"2026-11:{new},2026-01:{old}"
    assert parse_keys(text) == [NEW, OLD]
    for bad in (
        "",
        "k1:short",
        "k1:" + "!" * 44,
        f"k1:{old},k1:{new}",
    ):
        with pytest.raises(PayloadKeyError):
            parse_keys(bad)


def raw_payloads(events: Iterable[Message]) -> list[Payload]:
    """Every payload in the history's events as the server keeps it, but search attributes
    (plaintext by design: ids and amounts) and the SDK's own patch markers."""
    found: list[Payload] = []

    def walk(message: Message) -> None:
        if isinstance(message, Payload):
            found.append(message)
            return
        if message.DESCRIPTOR.name == "MarkerRecordedEventAttributes":
            return
        for field, value in message.ListFields():
            if field.message_type is None or field.name == "search_attributes":
                continue
            if field.message_type.GetOptions().map_entry:
                items = list(value.values())
            elif isinstance(value, Message):
                items = [value]
            else:
                items = list(value)
            for item in items:
                walk(item)

    for event in events:
        walk(event)
    return found


async def test_a_finished_order_holds_no_personal_data_on_the_server_and_decodes_through_the_codec(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    # The client and workers as `opsdesk dev` builds them: the codec on every payload.
    client = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=data_converter(settings),
    )
    async with running(build_workers(client, db, settings)):
        handle = await start_order(client, settings, order_request())
        await wait_for_status(handle, OrderStatus.CONFIRMED)
        await handle.execute_update(
            OrderWorkflow.cancel, CancelRequest(request_id="c1", reason="changed my mind")
        )
        await handle.result()
    # Read it back as any client without the key would: the raw history.
    history = await dev_env.client.get_workflow_handle(handle.id).fetch_history()
    payloads = raw_payloads(history.events)
    assert len(payloads) > 10
    raw = b"".join(p.SerializeToString() for p in payloads)
    assert [secret for secret in PERSONAL if secret in raw] == []
    assert all(p.metadata.get("encoding") == ENCODING for p in payloads)

    # The codec endpoint, as the Temporal UI calls it, gives them back.
    ui = settings.resolved_temporal_ui_url
    async with serve(create_app(settings, dev_env.client)) as http:
        decoded = await http.post(
            "/codec/decode",
            json={"payloads": [MessageToDict(p) for p in payloads]},
            headers={"Origin": ui, "X-Namespace": "default"},
        )
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == ui
        text = b"".join(base64.b64decode(p.get("data", "")) for p in decoded.json()["payloads"])
        assert [secret for secret in PERSONAL if secret not in text] == []

        # Another origin's page cannot read the answer; nonsense gets a 422, not a 500.
        elsewhere = await http.post(
            "/codec/decode",
            json={"payloads": []},
            headers={"Origin": "https://evil.example"},
        )
        assert "access-control-allow-origin" not in elsewhere.headers
        for junk in (b"not json", b'{"payloads": "x"}'):
            bad = await http.post("/codec/decode", content=junk)
            assert bad.status_code == 422
        preflight = await http.options(
            "/codec/decode",
            headers={"Origin": ui, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert "X-Namespace" in preflight.headers["access-control-allow-headers"]
