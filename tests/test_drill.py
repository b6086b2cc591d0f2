"""``opsdesk drill`` on a small load: two workers and two API replicas on one Temporal
server and the test run's PostgreSQL, a worker, a replica and the server each killed with
SIGKILL while orders and repair requests run. Nothing may be lost or doubled, every request
that failed must be recovered by its retry, and while the server is down every replica
must say it is not ready and then, by itself, that it is ready again."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from opsdesk.db import Database
from tests.conftest import STACKS

pytestmark = STACKS


async def test_the_drill_loses_nothing_and_the_replicas_ride_out_a_server_restart(
    pg_db: Database, tmp_path: Path
) -> None:
    figures_file = tmp_path / "drill.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSDESK_", "TEMPORAL_"))}
    argv = [
        sys.executable, "-m", "opsdesk", "drill",
        "--orders", "24", "--requests", "4", "--concurrency", "8", "--timeout", "300",
        "--database-url", pg_db.url.render_as_string(hide_password=False),
        "--json", str(figures_file),
    ]  # fmt: skip
    result = await asyncio.to_thread(
        subprocess.run, argv, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-4000:]
    assert "nothing lost, nothing doubled" in result.stdout
    figures = json.loads(figures_file.read_text())
    assert figures["failures"] == []

    for desk, planned in (("orders", 24), ("requests", 4)):
        assert figures[desk]["accepted"] == planned
        assert sum(figures[desk]["ended"].values()) == planned
        assert figures[desk]["lost"] == []
    assert figures["requests"]["ended"] == {"CLOSED": 4}
    audit = figures["audit"]
    assert set(audit["charges"]) <= {"0", "1"}
    assert audit["payouts"] == {"1": 4}
    assert audit["emails"] > 24
    assert audit["received"] >= audit["emails"]

    # The kills reached the clients, and their retries recovered every request.
    tally = figures["tally"]
    assert tally["failed"] > 0
    assert tally["recovered"] == tally["failed"]
    assert tally["unrecovered"] == []

    kills = {kill["name"]: kill for kill in figures["kills"]}
    assert list(kills) == ["worker-1", "api-1", "temporal"]
    assert all(kill["ready_at"] is not None for kill in kills.values())
    assert figures["exited"] == []
    server = kills["temporal"]
    # Each replica answered 503 while the server was gone, and 200 again by itself.
    said = {o["replica"] for o in server["outages"] if o["said"] and o["end"] is not None}
    assert said == {"api-1", "api-2"}
    assert server["polling_at"] is not None
