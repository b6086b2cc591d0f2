"""Order activities: each step's side effect against the stores, idempotent by its key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from opsdesk.db import Database
from opsdesk.orders.claims import OrderIds
from opsdesk.orders.inputs import OrderRequest
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.payloads import (
    CANCEL_FULFILMENT,
    CHARGE_PAYMENT,
    CLAIM_ORDER_ID,
    REFUND_PAYMENT,
    RELEASE_STOCK,
    REQUEST_FULFILMENT,
    RESERVE_STOCK,
    RESTOCK,
    SCORE_ORDER_RISK,
    UPDATE_FULFILMENT,
    VALIDATE_ORDER,
    FulfilmentInput,
    FulfilmentUpdate,
    OrderClaim,
    ReserveInput,
    ReserveResult,
    RestockInput,
    RestockResult,
    RiskAssessment,
    RiskInput,
    RiskRequest,
    ValidatedOrder,
)
from opsdesk.orders.risk import RiskScorer, RulesRiskScorer
from opsdesk.orders.warehouse import Warehouse
from opsdesk.payments.ledger import PaymentGateway, previous_orders
from opsdesk.payments.models import Charge, ChargeInput, Refund, RefundInput
from opsdesk.temporal.heartbeat import heartbeating


class OrderActivities:
    def __init__(
        self,
        db: Database,
        inventory: Inventory,
        gateway: PaymentGateway,
        warehouse: Warehouse,
        scorer: RiskScorer,
    ) -> None:
        self.db = db
        self.ids = OrderIds(db)
        self.inventory = inventory
        self.gateway = gateway
        self.warehouse = warehouse
        self.scorer = scorer
        self.rules = RulesRiskScorer()

    @activity.defn(name=CLAIM_ORDER_ID)
    async def claim_order_id(self, claim: OrderClaim) -> None:
        await self.ids.claim(claim)

    @activity.defn(name=VALIDATE_ORDER)
    async def validate_order(self, request: OrderRequest) -> ValidatedOrder:
        return await self.inventory.price(request.lines)

    @activity.defn(name=SCORE_ORDER_RISK)
    async def score_order_risk(self, risk: RiskRequest) -> RiskAssessment:
        request, validated = risk.request, risk.validated
        facts = RiskInput(
            order_id=request.order_id,
            customer=request.customer,
            lines=validated.lines,
            total_cents=validated.total_cents,
            currency=validated.currency,
            shipping_address=request.shipping_address,
            billing_country=request.billing_country,
            previous_orders=await previous_orders(
                self.db, request.customer.id, excluding_order=request.order_id
            ),
            note=request.note,
        )
        if risk.fallback_reason:
            assessment = await self.rules.score(facts)
            return assessment.model_copy(
                update={
                    "fallback": True,
                    "reason": f"{assessment.reason} (rules, after: {risk.fallback_reason})",
                }
            )
        return await self.scorer.score(facts)

    @activity.defn(name=CHARGE_PAYMENT)
    async def charge_payment(self, charge: ChargeInput) -> Charge:
        async with heartbeating():
            return await self.gateway.charge(charge)

    @activity.defn(name=REFUND_PAYMENT)
    async def refund_payment(self, refund: RefundInput) -> Refund | None:
        async with heartbeating():
            return await self.gateway.refund(refund)

    @activity.defn(name=RESERVE_STOCK)
    async def reserve_stock(self, reserve: ReserveInput) -> ReserveResult:
        return await self.inventory.reserve(reserve.order_id, reserve.lines)

    @activity.defn(name=RELEASE_STOCK)
    async def release_stock(self, order_id: str) -> int:
        return await self.inventory.release(order_id)

    @activity.defn(name=REQUEST_FULFILMENT)
    async def request_fulfilment(self, fulfilment: FulfilmentInput) -> None:
        await self.warehouse.request(fulfilment)

    @activity.defn(name=UPDATE_FULFILMENT)
    async def update_fulfilment(self, update: FulfilmentUpdate) -> None:
        await self.warehouse.update(update)

    @activity.defn(name=CANCEL_FULFILMENT)
    async def cancel_fulfilment(self, order_id: str) -> bool:
        return await self.warehouse.cancel(order_id)

    @activity.defn(name=RESTOCK)
    async def restock(self, restock: RestockInput) -> RestockResult:
        return await self.inventory.restock(restock)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.claim_order_id,
            self.validate_order,
            self.score_order_risk,
            self.charge_payment,
            self.refund_payment,
            self.reserve_stock,
            self.release_stock,
            self.request_fulfilment,
            self.update_fulfilment,
            self.cancel_fulfilment,
            self.restock,
        ]
