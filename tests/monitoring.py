"""The Grafana dashboard and Prometheus example shipped in docs/monitoring/, read the way
Grafana and Prometheus read them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from opsdesk.settings import Settings
from opsdesk.temporal.client import connect, metrics_runtime
from tests.conftest import free_port
from tests.waiting import eventually

DASHBOARD = Path(__file__).parents[1] / "docs" / "monitoring" / "grafana-dashboard.json"
SCRAPE_EXAMPLE = Path(__file__).parents[1] / "docs" / "monitoring" / "prometheus.yml"


WORKFLOW_COUNTERS = {
    "opsdesk_orders_created",
    "opsdesk_orders_ended",
    "opsdesk_maintenance_requests_opened",
    "opsdesk_maintenance_requests_ended",
    "opsdesk_maintenance_answers",
    "opsdesk_maintenance_deadlines_missed",
}
"""The dashboard's ``opsdesk_`` families a worker serves (the workflows count them); the
rest come from the API."""


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
    return {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in names}


def missing_from(exposition: str, names: set[str]) -> list[str]:
    """The names no ``# TYPE`` line of a scrape declares (a counter's is ``…_total``)."""
    declared = set(re.findall(r"^# TYPE (\S+)", exposition, re.MULTILINE))
    return sorted(n for n in names if n not in declared and f"{n}_total" not in declared)


async def metered_client(env: WorkflowEnvironment, settings: Settings) -> tuple[Client, str]:
    """A client of ``env``'s server whose workers serve Prometheus metrics, and where."""
    address = f"127.0.0.1:{free_port()}"
    host, port = env.client.service_client.config.target_host.rsplit(":", 1)
    at_the_server = settings.model_copy(update={"host": host, "temporal_port": int(port)})
    return await connect(at_the_server, runtime=metrics_runtime(address)), address


async def scrape(address: str, until: str) -> str:
    """The worker's metrics page, once it mentions ``until``."""
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        answer = await eventually(lambda: http.get("/metrics"), lambda r: until in r.text)
    return answer.text


def series(exposition: str, prefix: str) -> dict[str, float]:
    """The samples whose names start with ``prefix``: ``name{labels}`` to value, with the
    labels every workflow metric carries (namespace, task queue, workflow type,
    service_name) left out."""
    found = {}
    for line in exposition.splitlines():
        if not line.startswith(prefix):
            continue
        name, value = line.rsplit(" ", 1)
        labels = re.findall(r'(\w+)="([^"]*)"', name)
        kept = ",".join(
            f"{k}={v}"
            for k, v in labels
            if k not in {"namespace", "task_queue", "workflow_type", "service_name"}
        )
        found[f"{name.split('{')[0]}{{{kept}}}"] = float(value)
    return found
