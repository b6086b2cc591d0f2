"""Fraud risk: the ``RiskScorer`` interface and the offline rules scorer (the default).

The AI scorers implement the same interface; the workflow routes on the score alone (see
``opsdesk.orders.models.route``), so every scorer is held to the same thresholds.
"""

from __future__ import annotations

from typing import Protocol

from opsdesk.orders.models import RiskAction, RiskAssessment, RiskInput

# Domains that hand out throwaway addresses: a common trait of card testing.
DISPOSABLE_EMAIL_DOMAINS = frozenset(
    {"mailinator.com", "guerrillamail.com", "10minutemail.com", "trashmail.com", "yopmail.com"}
)


class RiskScorer(Protocol):
    name: str

    async def score(self, facts: RiskInput) -> RiskAssessment: ...


def action_for(score: int) -> RiskAction:
    """The action a scorer recommends at the default thresholds."""
    if score >= 80:
        return "reject"
    if score >= 40:
        return "review"
    return "approve"


class RulesRiskScorer:
    """Deterministic and offline: each rule that fires adds points and a reason."""

    name = "rules"

    async def score(self, facts: RiskInput) -> RiskAssessment:
        return self.assess(facts)

    def assess(self, facts: RiskInput) -> RiskAssessment:
        points = 5
        reasons: list[str] = []
        dollars = facts.total_cents / 100
        if dollars >= 2000:
            points += 45
            reasons.append(f"large amount ({dollars:,.2f} {facts.currency})")
        elif dollars >= 500:
            points += 20
            reasons.append(f"sizeable amount ({dollars:,.2f} {facts.currency})")
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
            action=action_for(score),
            provider=self.name,
        )
