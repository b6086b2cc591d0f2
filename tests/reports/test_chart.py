"""The report page's bar charts, measured: zeros left out, longest first, an axis up to a
round number, and a sentence with every figure."""

from __future__ import annotations

from opsdesk.reports.chart import PLOT, bar_chart


def test_bars_are_longest_first_on_a_round_axis() -> None:
    chart = bar_chart(
        "c", "Orders by status now", "Orders", {"SHIPPED": 7, "REVIEW": 0, "DELIVERED": 23}
    )
    assert [(b.label, b.value) for b in chart.bars] == [("Delivered", 23), ("Shipped", 7)]
    assert [t.label for t in chart.ticks] == ["0", "10", "20", "30"]
    assert chart.ticks[-1].x == PLOT
    assert chart.bars[0].width == PLOT * 23 / 30
    assert chart.summary == "Orders by status now. Delivered: 23; Shipped: 7."
    assert chart.height > chart.axis_y


def test_a_single_small_count_still_has_an_axis() -> None:
    chart = bar_chart("c", "AI calls", "Calls", {"order_risk": 1})
    assert [t.label for t in chart.ticks] == ["0", "1"]
    assert chart.bars[0].width == PLOT
    assert chart.bars[0].label == "Order risk"


def test_nothing_counted_draws_no_bars() -> None:
    chart = bar_chart("c", "Repair requests", "Requests", {"CLOSED": 0})
    assert chart.bars == []
    assert chart.summary == "Repair requests: none."


def test_large_counts_get_few_readable_ticks() -> None:
    chart = bar_chart("c", "Orders", "Orders", {"DELIVERED": 12_345})
    assert [t.label for t in chart.ticks] == ["0", "5,000", "10,000", "15,000"]
