"""Fraud risk: the ``RiskScorer`` interface, the offline rules scorer (the default), and
the scorer that asks a model.

The workflow routes on the score against the order's policy (see ``route``), so every
scorer is held to the same thresholds, which come from settings only.
"""

from __future__ import annotations

from typing import Protocol

from opsdesk.ai.tasks import RiskTask
from opsdesk.orders.ids import order_workflow_id
from opsdesk.orders.inputs import OrderPolicy
from opsdesk.orders.payloads import RiskAssessment, RiskInput
from opsdesk.orders.rules import route
from opsdesk.values import format_money

# Domains that hand out throwaway addresses: a common trait of card testing.
DISPOSABLE_EMAIL_DOMAINS = frozenset(
    {"mailinator.com", "guerrillamail.com", "10minutemail.com", "trashmail.com", "yopmail.com"}
)


def outcome(risk: RiskAssessment, policy: OrderPolicy) -> str:
    """What the score led to under the order's thresholds, for the order's page: ``Score
    85 of 100: at or above 80, so the order was rejected.``"""
    score = f"Score {risk.score} of 100"
    review, reject = policy.review_from, policy.reject_from
    held = "so the order was held for a person to review"
    if risk.fallback:
        return f"{score} from the rules (the scorer failed), {held}."
    routed = route(risk, policy)
    if routed == "reject":
        return f"{score}: at or above {reject}, so the order was rejected."
    if routed == "review" and risk.score >= review:
        return f"{score}: between {review} and {reject - 1}, {held}."
    if routed == "review":
        return f"{score}: under {review}, but the scorer asked for a second look, {held}."
    return f"{score}: under {review}, so the order went ahead without a review."


class RiskScorer(Protocol):
    name: str

    async def score(self, facts: RiskInput) -> RiskAssessment: ...


class RulesRiskScorer:
    """Deterministic and offline: each rule that fires adds points and a reason."""

    name = "rules"

    async def score(self, facts: RiskInput) -> RiskAssessment:
        return self.assess(facts)

    def hard_signals(self, facts: RiskInput) -> list[str]:
        """The signals no text can explain away: a model's score never goes below the
        rules' score while one of these fires (see ``AiRiskScorer``)."""
        signals = []
        if facts.billing_country and facts.billing_country != facts.shipping_address.country:
            signals.append(
                f"billing country {facts.billing_country} differs from shipping country "
                f"{facts.shipping_address.country}"
            )
        if facts.total_cents >= 200_000 and facts.previous_orders == 0:
            amount = format_money(facts.total_cents, facts.currency)
            signals.append(f"a first order of {amount}")
        if facts.customer.email.rsplit("@", 1)[-1] in DISPOSABLE_EMAIL_DOMAINS:
            signals.append("disposable email address")
        return signals

    def assess(self, facts: RiskInput) -> RiskAssessment:
        points = 5
        reasons: list[str] = []
        dollars = facts.total_cents / 100
        amount = format_money(facts.total_cents, facts.currency)
        if dollars >= 2000:
            points += 45
            reasons.append(f"large amount ({amount})")
        elif dollars >= 500:
            points += 20
            reasons.append(f"sizeable amount ({amount})")
        units = sum(line.quantity for line in facts.lines)
        if units >= 20:
            points += 20
            reasons.append(f"{units} units in one order")
        elif units >= 10:
            points += 10
            reasons.append(f"{units} units in one order")
        if facts.previous_orders == 0:
            points += 15
            reasons.append("new customer")
        if facts.billing_country and facts.billing_country != facts.shipping_address.country:
            points += 25
            reasons.append(
                f"billing country {facts.billing_country} differs from shipping country "
                f"{facts.shipping_address.country}"
            )
        if facts.customer.email.rsplit("@", 1)[-1] in DISPOSABLE_EMAIL_DOMAINS:
            points += 15
            reasons.append("disposable email address")
        score = min(points, 100)
        return RiskAssessment(
            score=score,
            reason="; ".join(reasons) if reasons else "no risk signals",
            # The score is the whole verdict: the order's policy (settings) sets the
            # thresholds that route it, so the rules add no caution of their own.
            action="approve",
            provider=self.name,
        )


class AiRiskScorer:
    """Asks a model (``opsdesk.ai``) for a verdict on what a reviewer would look at.

    The customer's note reaches the model as data, but a model may still follow an
    instruction hidden in it. So the rules' hard signals are a floor: while one fires, the
    model's score is never below the rules' own, and the order's thresholds route it as
    the rules alone would have at least."""

    def __init__(self, task: RiskTask) -> None:
        self.task = task
        self.name = task.provider.name
        self.rules = RulesRiskScorer()

    async def score(self, facts: RiskInput) -> RiskAssessment:
        order: dict[str, object] = {
            "order_id": facts.order_id,
            "customer_email_domain": facts.customer.email.rsplit("@", 1)[-1],
            "previous_paid_orders": facts.previous_orders,
            "total": format_money(facts.total_cents, facts.currency),
            "lines": [
                {
                    "product": line.name,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price": format_money(line.unit_price_cents, facts.currency),
                }
                for line in facts.lines
            ],
            "shipping_country": facts.shipping_address.country,
            "billing_country": facts.billing_country,
            "customer_note": facts.note,
        }
        verdict, usage = await self.task.assess(order, order_workflow_id(facts.order_id))
        assessment = RiskAssessment(
            score=verdict.risk_score,
            reason=verdict.reason,
            action=verdict.recommended_action,
            provider=self.name,
            usage=usage,
        )
        return self._floored(assessment, facts)

    def _floored(self, assessment: RiskAssessment, facts: RiskInput) -> RiskAssessment:
        signals = self.rules.hard_signals(facts)
        floor = self.rules.assess(facts).score
        if not signals or assessment.score >= floor:
            return assessment
        return assessment.model_copy(
            update={
                "score": floor,
                "reason": f"{assessment.reason} (raised to the rules' {floor}: "
                f"{'; '.join(signals)})",
            }
        )
