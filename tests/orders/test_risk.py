"""The offline rules scorer and how a score routes an order."""

from __future__ import annotations

from opsdesk.orders.inputs import OrderPolicy
from opsdesk.orders.payloads import PricedLine, RiskAssessment, RiskInput
from opsdesk.orders.risk import RulesRiskScorer
from opsdesk.orders.rules import route
from tests.orders.factory import order_request


def facts(
    total_cents: int,
    units: int = 1,
    previous: int = 0,
    billing: str | None = None,
    email: str = "a@example.com",
) -> RiskInput:
    request = order_request()
    return RiskInput(
        order_id="r1",
        customer=request.customer.model_copy(update={"email": email}),
        lines=[
            PricedLine(sku="X-1", name="x", quantity=units, unit_price_cents=total_cents // units)
        ],
        total_cents=total_cents,
        currency="USD",
        shipping_address=request.shipping_address,
        billing_country=billing,
        previous_orders=previous,
        note="",
    )


def test_each_rule_adds_its_points_and_reason() -> None:
    scorer = RulesRiskScorer()
    assert scorer.assess(facts(5000, previous=3)).score == 5
    assert scorer.assess(facts(5000, previous=3)).reason == "no risk signals"
    new = scorer.assess(facts(5000))
    assert (new.score, new.reason) == (20, "new customer")
    risky = scorer.assess(facts(250_000, units=25, billing="US", email="x@mailinator.com"))
    assert risky.score == 100  # 5 + 45 + 20 + 15 + 25 + 15, capped
    assert "billing country US differs from shipping country GB" in risky.reason


def test_the_rules_leave_routing_to_the_policy_thresholds() -> None:
    """The thresholds come from settings only: the rules' score of 40 continues under a
    policy that reviews from 50 (the rules once recommended review at 40 regardless)."""
    sizeable = RulesRiskScorer().assess(facts(60_000))
    assert sizeable.score == 40  # 5 + 20 (600.00 USD) + 15 (new customer)
    assert route(sizeable, OrderPolicy(review_from=50, reject_from=90)) == "approve"
    assert route(sizeable, OrderPolicy(review_from=40, reject_from=90)) == "review"


def test_routing_follows_the_policy_thresholds() -> None:
    policy = OrderPolicy(review_from=40, reject_from=80)
    assert route(RiskAssessment(score=39, reason="", action="approve"), policy) == "approve"
    assert route(RiskAssessment(score=40, reason="", action="review"), policy) == "review"
    assert route(RiskAssessment(score=80, reason="", action="reject"), policy) == "reject"
    # A cautious scorer gets a person, never an outright rejection below the threshold.
    assert route(RiskAssessment(score=10, reason="", action="reject"), policy) == "review"
