"""What a model's tokens cost: estimates for the dashboard, ``/metrics`` and the daily
report, from list prices in US dollars per million tokens. A provider's invoice is the
truth; these say roughly what the AI is costing and which task spends it."""

from __future__ import annotations

import re
from collections.abc import Mapping

LIST_PRICES: dict[str, tuple[float, float]] = {
    # model: (input, output) USD per million tokens, the providers' list prices.
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-sonnet-4-6": (3.00, 15.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
}


_DATED = re.compile(r"-\d{4}-?\d{2}-?\d{2}$")


def prices(overrides: Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """The list prices with ``OPSDESK_AI_PRICES`` over them."""
    return {**LIST_PRICES, **overrides}


def cost_usd(
    model: str, input_tokens: int, output_tokens: int, table: Mapping[str, tuple[float, float]]
) -> float:
    """The estimated cost of a call; 0 for a model with no price (the offline rules, or one
    to add to ``OPSDESK_AI_PRICES``). A dated name (``claude-haiku-4-5-20251001``,
    ``gpt-5-mini-2025-08-07``) takes its model's price; another model that merely starts
    with a priced name (``gpt-5-nano``) does not."""
    price = table.get(_DATED.sub("", model)) or table.get(model)
    if price is None:
        return 0.0
    per_input, per_output = price
    return (input_tokens * per_input + output_tokens * per_output) / 1_000_000
