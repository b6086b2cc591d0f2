"""The Grafana dashboard and Prometheus example shipped in docs/monitoring/, read the way
Grafana and Prometheus read them."""

from __future__ import annotations

import json
import re
from pathlib import Path

DASHBOARD = Path(__file__).parents[1] / "docs" / "monitoring" / "grafana-dashboard.json"
SCRAPE_EXAMPLE = Path(__file__).parents[1] / "docs" / "monitoring" / "prometheus.yml"


def dashboard_metrics(prefix: str) -> set[str]:
    """The metric families the dashboard's queries read, by name (``_bucket`` and the like
    taken off), of those starting with ``prefix``."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    names = {
        name
        for panel in panels
        for target in panel["targets"]
        for name in re.findall(rf"\b{prefix}[a-z_]+", target["expr"])
    }
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in names}


def missing_from(exposition: str, names: set[str]) -> list[str]:
    """The names no ``# TYPE`` line of a scrape declares (a counter's is ``…_total``)."""
    declared = set(re.findall(r"^# TYPE (\S+)", exposition, re.MULTILINE))
    return sorted(n for n in names if n not in declared and f"{n}_total" not in declared)
