"""The AI cost estimate: list prices per million tokens, dated model names, overrides."""

from __future__ import annotations

import pytest

from opsdesk.ai.pricing import LIST_PRICES, cost_usd, prices
from opsdesk.settings import Settings


def test_a_call_costs_its_tokens_at_the_models_price() -> None:
    # claude-haiku-4-5: $1 in, $5 out per million tokens.
    assert cost_usd("claude-haiku-4-5", 1_000_000, 200_000, LIST_PRICES) == pytest.approx(2.0)
    assert cost_usd("claude-haiku-4-5-20251001", 1000, 0, LIST_PRICES) == pytest.approx(0.001)
    # gpt-5-mini is not priced as gpt-5 because it starts with it.
    assert cost_usd("gpt-5-mini", 1_000_000, 0, LIST_PRICES) == pytest.approx(0.25)


def test_an_unpriced_model_costs_nothing_until_given_a_price() -> None:
    assert cost_usd("rules", 500, 500, LIST_PRICES) == 0.0
    # Not gpt-5's price: another model.
    assert cost_usd("gpt-5-nano", 1_000_000, 0, LIST_PRICES) == 0.0
    assert cost_usd("gpt-5-mini-2025-08-07", 1_000_000, 0, LIST_PRICES) == pytest.approx(0.25)
    settings = Settings(ai_prices={"my-model": (0.5, 2.0)})
    table = prices(settings.ai_prices)
    assert cost_usd("my-model", 2_000_000, 1_000_000, table) == pytest.approx(3.0)
    assert table["claude-haiku-4-5"] == LIST_PRICES["claude-haiku-4-5"]
