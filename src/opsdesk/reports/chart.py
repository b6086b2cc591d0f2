"""The report page's charts: horizontal bar charts, measured here and drawn by the
template as inline SVG (``reports/_chart.html``). No script and no library: the page
renders as it is served, under the dashboard's content security policy.

Each bar's label sits above it, so the bars use the chart's whole width and a phone's
narrow screen shrinks nothing but the bars. Each chart carries a sentence with every
figure for screen readers (its ``<desc>``), as the email carries its text chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 360
"""The chart's drawing width in SVG units; the page scales it to fit."""
LEFT = 6
"""Room left of the axis, for half of the tick "0"."""
VALUES = 56
"""Room right of the longest bar for its number."""
PLOT = WIDTH - LEFT - VALUES
ROW = 40
LABEL_BASELINE = 14
BAR_TOP = 20
BAR_HEIGHT = 14
AXIS = 44
"""Below the bars: the axis, its ticks' numbers and its title."""
FONT = 13


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    top: float
    width: float

    @property
    def label_y(self) -> float:
        return self.top + LABEL_BASELINE

    @property
    def bar_y(self) -> float:
        return self.top + BAR_TOP

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT

    @property
    def value_x(self) -> float:
        return self.width + 6

    @property
    def value_y(self) -> float:
        return self.top + BAR_TOP + BAR_HEIGHT - 2


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    chart_id: str
    title: str
    axis_title: str
    """What the bars count, under the axis: ``Orders``."""
    bars: list[Bar]
    ticks: list[Tick]
    height: int
    summary: str
    """Every figure in a sentence: the chart's text alternative."""

    @property
    def width(self) -> int:
        return WIDTH

    @property
    def plot(self) -> int:
        return PLOT

    @property
    def left(self) -> int:
        return LEFT

    @property
    def axis_y(self) -> int:
        return len(self.bars) * ROW + 4


def words(name: str) -> str:
    """A status or task's name as a person reads it: ``AWAITING_STOCK`` → ``Awaiting
    stock``."""
    return name.replace("_", " ").replace("-", " ").strip().lower().capitalize()


def _step(top: int) -> int:
    """A round tick step giving two to five ticks up to ``top``."""
    raw = max(top / 4, 1)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)


def bar_chart(chart_id: str, title: str, axis_title: str, counts: dict[str, int]) -> BarChart:
    """Bars for ``counts`` (largest first; zeros left out), on an axis from 0 to a round
    number at or above the largest."""
    shown = sorted(((n, name) for name, n in counts.items() if n > 0), key=lambda p: (-p[0], p[1]))
    largest = shown[0][0] if shown else 0
    step = _step(largest)
    top = max(step * math.ceil(largest / step), step)
    bars = [
        Bar(label=words(name), value=n, top=i * ROW, width=PLOT * n / top)
        for i, (n, name) in enumerate(shown)
    ]
    ticks = [Tick(x=PLOT * v / top, label=f"{v:,}") for v in range(0, top + 1, step)]
    listed = "; ".join(f"{bar.label}: {bar.value:,}" for bar in bars)
    summary = f"{title}. {listed}." if bars else f"{title}: none."
    return BarChart(
        chart_id=chart_id,
        title=title,
        axis_title=axis_title,
        bars=bars,
        ticks=ticks,
        height=len(bars) * ROW + AXIS,
        summary=summary,
    )
