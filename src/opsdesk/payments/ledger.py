"""The ``PaymentGateway`` interface, and the built-in gateway that keeps its charges,
refunds and payouts in our own ledger tables.

The built-in gateway behaves like a card processor in test mode: the payment token says
what happens, the way processors' test cards do.

| token | outcome |
|---|---|
| ``tok_visa``, ``tok_mastercard``, ``tok_amex`` | captured |
| ``tok_chargeDeclined`` | declined (final) |
| ``tok_insufficientFunds`` | declined (final) |
| ``tok_processingError`` | processor error on every attempt (retryable) |
| ``tok_flaky`` | processor error on the first two attempts, then captured |
| ``tok_slow`` | captured, but the processor takes ``SLOW_ANSWER_SECONDS`` to answer |

Any other token is declined as unknown.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsdesk.db import Database
from opsdesk.db.tables import ChargeRow, PaymentAttempt, PayoutRow, RefundRow
from opsdesk.errors import EffectUndone, PaymentDeclined, RefundRefused
from opsdesk.payments.models import Charge, ChargeInput, Payout, PayoutInput, Refund, RefundInput

SLOW_ANSWER_SECONDS = 3.0
VOIDED = "voided"
"""A ``PaymentAttempt`` outcome: the charge under this key was called off before it was
made (refunded by its key while none existed), and no charge may be made under it."""
FLAKY_FAILURES = 2


class PaymentProcessorError(Exception):
    """The processor could not answer; the same charge may succeed on a later attempt."""


class PaymentGateway(Protocol):
    async def charge(self, request: ChargeInput) -> Charge:
        """Capture ``amount_cents`` once per idempotency key. Raises ``PaymentDeclined``."""
        ...

    async def refund(self, request: RefundInput) -> Refund | None:
        """Refund part or all of a charge once per idempotency key. Named by its key, a
        charge that never happened is refunded as None, and the key is voided: a charge
        asked for under it later is refused (``EffectUndone``)."""
        ...

    async def payout(self, request: PayoutInput) -> Payout:
        """Pay a vendor once per idempotency key."""
        ...


class _Behaviour(Enum):
    CAPTURE = "capture"
    DECLINE = "decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    ERROR = "error"
    FLAKY = "flaky"
    SLOW = "slow"


TEST_TOKENS: dict[str, _Behaviour] = {
    "tok_visa": _Behaviour.CAPTURE,
    "tok_mastercard": _Behaviour.CAPTURE,
    "tok_amex": _Behaviour.CAPTURE,
    "tok_chargeDeclined": _Behaviour.DECLINE,
    "tok_insufficientFunds": _Behaviour.INSUFFICIENT_FUNDS,
    "tok_processingError": _Behaviour.ERROR,
    "tok_flaky": _Behaviour.FLAKY,
    "tok_slow": _Behaviour.SLOW,
}


def _charge(row: ChargeRow) -> Charge:
    return Charge(
        charge_id=row.id,
        amount_cents=row.amount_cents,
        currency=row.currency,
        created_at=row.created_at,
    )


def _refund(row: RefundRow) -> Refund:
    return Refund(
        refund_id=row.id,
        charge_id=row.charge_id,
        amount_cents=row.amount_cents,
        created_at=row.created_at,
    )


class LedgerGateway:
    """The built-in gateway. ``sleep`` is how the slow test token waits (tests may pass
    their own)."""

    def __init__(
        self, db: Database, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self.db = db
        self._sleep = sleep

    async def charge(self, request: ChargeInput) -> Charge:
        behaviour = TEST_TOKENS.get(request.payment_token)
        async with self.db.transaction() as session:
            existing = await session.scalar(
                select(ChargeRow).where(ChargeRow.idempotency_key == request.idempotency_key)
            )
            if existing is not None:
                if await _refunded(session, existing.id) >= existing.amount_cents:
                    raise EffectUndone(
                        f"the charge {existing.id} for order {existing.order_id} was refunded"
                    )
                return _charge(existing)
            attempts = list(
                await session.scalars(
                    select(PaymentAttempt.outcome).where(
                        PaymentAttempt.idempotency_key == request.idempotency_key
                    )
                )
            )
            if VOIDED in attempts:
                raise EffectUndone(
                    f"the charge for order {request.order_id} was called off before it was made"
                )
            earlier_attempts = len(attempts)
            outcome, detail = _decide(behaviour, int(earlier_attempts or 0))
            session.add(
                PaymentAttempt(
                    idempotency_key=request.idempotency_key, outcome=outcome, detail=detail
                )
            )
            row = None
            if outcome == "captured":
                row = ChargeRow(
                    id=f"ch_{uuid.uuid4().hex[:24]}",
                    idempotency_key=request.idempotency_key,
                    order_id=request.order_id,
                    customer_id=request.customer_id,
                    amount_cents=request.amount_cents,
                    currency=request.currency,
                    payment_token=request.payment_token,
                )
                session.add(row)
                await session.flush()
        # The attempt is committed before its outcome is reported, as a processor's log is.
        if outcome == "declined":
            raise PaymentDeclined(detail)
        if outcome == "error":
            raise PaymentProcessorError(detail)
        assert row is not None
        if behaviour is _Behaviour.SLOW:
            await self._sleep(SLOW_ANSWER_SECONDS)
        return _charge(row)

    async def refund(self, request: RefundInput) -> Refund | None:
        async with self.db.transaction() as session:
            # The charge's row lock first, then the key: a concurrent retry of this refund
            # waits here for the first to commit and then finds its row, instead of seeing
            # no refund yet and then, once the first commits, nothing left to refund.
            if request.charge_key is not None:
                charge = await session.scalar(
                    select(ChargeRow)
                    .where(ChargeRow.idempotency_key == request.charge_key)
                    .with_for_update()
                )
            else:
                charge = await session.get(ChargeRow, request.charge_id, with_for_update=True)
            existing = await session.scalar(
                select(RefundRow).where(RefundRow.idempotency_key == request.idempotency_key)
            )
            if existing is not None:
                return _refund(existing)
            if charge is None and request.charge_key is not None:
                # Nothing was taken under the key: nothing to give back, and nothing may be
                # taken under it from now on.
                session.add(
                    PaymentAttempt(
                        idempotency_key=request.charge_key,
                        outcome=VOIDED,
                        detail=request.reason,
                    )
                )
                return None
            if charge is None:
                raise RefundRefused(f"no charge {request.charge_id}")
            left = charge.amount_cents - await _refunded(session, charge.id)
            amount = left if request.amount_cents is None else request.amount_cents
            if amount > left:
                raise RefundRefused(
                    f"cannot refund {amount} cents of charge {charge.id}: {left} cents left"
                )
            if amount == 0:
                return None
            row = RefundRow(
                id=f"re_{uuid.uuid4().hex[:24]}",
                idempotency_key=request.idempotency_key,
                charge_id=charge.id,
                amount_cents=amount,
                reason=request.reason,
            )
            session.add(row)
            await session.flush()
            return _refund(row)

    async def payout(self, request: PayoutInput) -> Payout:
        async with self.db.transaction() as session:
            existing = await session.scalar(
                select(PayoutRow).where(PayoutRow.idempotency_key == request.idempotency_key)
            )
            if existing is not None:
                return _payout(existing)
            row = PayoutRow(
                id=f"po_{uuid.uuid4().hex[:24]}",
                idempotency_key=request.idempotency_key,
                request_id=request.request_id,
                vendor_id=request.vendor_id,
                amount_cents=request.amount_cents,
                currency=request.currency,
                property_id=request.property_id,
                invoice_number=request.invoice_number,
                document_key=request.document_key,
            )
            session.add(row)
            await session.flush()
            return _payout(row)


def _payout(row: PayoutRow) -> Payout:
    return Payout(
        payout_id=row.id,
        vendor_id=row.vendor_id,
        amount_cents=row.amount_cents,
        currency=row.currency,
        created_at=row.created_at,
        invoice_number=row.invoice_number,
    )


async def _refunded(session: AsyncSession, charge_id: str) -> int:
    """Cents refunded so far on the charge."""
    refunded = await session.scalar(
        select(func.coalesce(func.sum(RefundRow.amount_cents), 0)).where(
            RefundRow.charge_id == charge_id
        )
    )
    return int(refunded or 0)


def _decide(behaviour: _Behaviour | None, earlier_attempts: int) -> tuple[str, str]:
    if behaviour is None:
        return "declined", "the card was declined: unknown payment token"
    if behaviour is _Behaviour.DECLINE:
        return "declined", "the card was declined"
    if behaviour is _Behaviour.INSUFFICIENT_FUNDS:
        return "declined", "the card was declined: insufficient funds"
    if behaviour is _Behaviour.ERROR:
        return "error", "the payment processor had an error"
    if behaviour is _Behaviour.FLAKY and earlier_attempts < FLAKY_FAILURES:
        return "error", f"the payment processor had an error (attempt {earlier_attempts + 1})"
    return "captured", ""


async def previous_orders(db: Database, customer_id: str, excluding_order: str) -> int:
    """How many other orders this customer has paid for: a new customer has none."""
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count(func.distinct(ChargeRow.order_id))).where(
                ChargeRow.customer_id == customer_id, ChargeRow.order_id != excluding_order
            )
        )
    return int(count or 0)
