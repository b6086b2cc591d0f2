"""The built-in gateway's ledger: exactly once per key, test tokens like a processor's."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from opsdesk.db import Database
from opsdesk.db.tables import RefundRow
from opsdesk.errors import EffectUndone, PaymentDeclined, RefundRefused
from opsdesk.payments.ledger import LedgerGateway, PaymentProcessorError, previous_orders
from opsdesk.payments.models import ChargeInput, Refund, RefundInput
from tests.conftest import BOTH_DATABASES
from tests.orders.records import Records

# Charges and refunds, several connections at once among them: on SQLite and on PostgreSQL.
pytestmark = BOTH_DATABASES


def charge(token: str = "tok_visa", order_id: str = "p1", customer_id: str = "c1") -> ChargeInput:
    return ChargeInput(
        idempotency_key=f"order-{order_id}:charge",
        order_id=order_id,
        customer_id=customer_id,
        payment_token=token,
        amount_cents=2500,
        currency="USD",
    )


async def test_a_charge_happens_once_per_key(db: Database) -> None:
    gateway = LedgerGateway(db)
    first = await gateway.charge(charge())
    again = await gateway.charge(charge())
    assert again == first
    assert len(await Records(db).charges("p1")) == 1


async def test_a_decline_is_final_and_charges_nothing(db: Database) -> None:
    gateway = LedgerGateway(db)
    with pytest.raises(PaymentDeclined, match="insufficient funds"):
        await gateway.charge(charge("tok_insufficientFunds"))
    with pytest.raises(PaymentDeclined, match="unknown payment token"):
        await gateway.charge(charge("tok_madeUp", order_id="p2"))
    assert await Records(db).charges("p1") == []
    assert await Records(db).payment_attempts("p1") == ["declined"]


async def test_flaky_token_fails_twice_then_captures(db: Database) -> None:
    gateway = LedgerGateway(db)
    for _ in range(2):
        with pytest.raises(PaymentProcessorError):
            await gateway.charge(charge("tok_flaky"))
    await gateway.charge(charge("tok_flaky"))
    assert await Records(db).payment_attempts("p1") == ["error", "error", "captured"]


async def test_slow_token_answers_late(db: Database) -> None:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    await LedgerGateway(db, sleep=sleep).charge(charge("tok_slow"))
    assert waited == [3.0]


async def test_refunds_are_once_per_key_and_never_exceed_the_charge(db: Database) -> None:
    gateway = LedgerGateway(db)
    captured = await gateway.charge(charge())
    refund = RefundInput(
        idempotency_key="k1", charge_id=captured.charge_id, amount_cents=2000, reason=""
    )
    assert await gateway.refund(refund) == await gateway.refund(refund)
    with pytest.raises(RefundRefused, match="500 cents left"):
        await gateway.refund(refund.model_copy(update={"idempotency_key": "k2"}))
    with pytest.raises(RefundRefused, match="no charge"):
        await gateway.refund(
            refund.model_copy(update={"idempotency_key": "k3", "charge_id": "ch_x"})
        )


async def test_a_refund_by_the_charges_key_gives_back_what_is_left(db: Database) -> None:
    gateway = LedgerGateway(db)
    captured = await gateway.charge(charge())
    by_key = RefundInput(idempotency_key="k1", charge_key=charge().idempotency_key, reason="")
    refund = await gateway.refund(by_key)
    assert refund is not None
    assert (refund.charge_id, refund.amount_cents) == (captured.charge_id, 2500)
    assert await gateway.refund(by_key) == refund


async def test_a_refund_by_the_key_of_a_charge_never_made_calls_the_charge_off(
    db: Database,
) -> None:
    """The charge's answer was lost before it ran: nothing to give back, and a late
    attempt under the same key must not take the money after the order has failed."""
    gateway = LedgerGateway(db)
    by_key = RefundInput(idempotency_key="k1", charge_key=charge().idempotency_key, reason="")
    assert await gateway.refund(by_key) is None
    with pytest.raises(EffectUndone, match="called off"):
        await gateway.charge(charge())
    assert await Records(db).charges("p1") == []
    assert await Records(db).payment_attempts("p1") == ["voided"]


async def test_previous_orders_counts_other_paid_orders(db: Database) -> None:
    gateway = LedgerGateway(db)
    assert await previous_orders(db, "c1", excluding_order="p1") == 0
    await gateway.charge(charge(order_id="p1"))
    await gateway.charge(charge(order_id="p2"))
    assert await previous_orders(db, "c1", excluding_order="p3") == 2
    assert await previous_orders(db, "c1", excluding_order="p2") == 1


async def test_concurrent_retries_of_a_refund_all_get_it(db: Database) -> None:
    """Retries of one refund racing on several connections: the first makes it, the others
    wait for its row lock and answer with the same refund, none with "nothing left"."""
    made = await LedgerGateway(db).charge(charge())
    refund = RefundInput(
        idempotency_key="order-p1:refund",
        charge_id=made.charge_id,
        amount_cents=made.amount_cents,
        reason="cancelled",
    )
    # A gateway per connection pool: every retry on its own connection, as on several
    # workers.
    others = [Database(db.url.render_as_string(hide_password=False)) for _ in range(6)]
    try:
        answers = await asyncio.gather(
            *(LedgerGateway(other).refund(refund) for other in others), return_exceptions=True
        )
    finally:
        await asyncio.gather(*(other.dispose() for other in others))
    refused = [a for a in answers if isinstance(a, BaseException)]
    assert refused == []
    assert len({a.refund_id for a in answers if isinstance(a, Refund)}) == 1
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(RefundRow))
    assert count == 1
