"""Schemathesis against the API's own OpenAPI schema, with an admin's token: whatever it
generates, valid or not, no route answers with a server error.

The app runs as ``opsdesk dev`` runs it (a worker behind it, the dev server's Temporal);
schemathesis's command runs in a process of its own, as a person would run it."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from tests.orders.helpers import served_api

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def _fuzz(base_url: str, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{base_url}/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "10",
            "--seed", "15",
            "--generation-database", "none",
            "--workers", "1",
            "--request-timeout", "30",
            # Not ready is a 503 by design, and the probe is no input's business; the event
            # stream never ends; revoking tokens would revoke the fuzzer's own.
            "--exclude-path", "/readyz",
            "--exclude-path", "/api/events",
            "--exclude-method", "DELETE",
            "--no-color",
            "--report", "junit",
            "--report-dir", str(report),
        ],
        # Schemathesis keeps a crash cache in .schemathesis/ where it runs: not in the repo.
        cwd=report,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip


async def test_no_generated_request_gets_a_server_error(
    dev_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    tmp_path: Path,
) -> None:
    quick = settings.model_copy(update={"action_wait": 1.0})
    async with served_api(dev_env, db, quick) as api:
        token = api.headers["authorization"].removeprefix("Bearer ")
        result = await asyncio.to_thread(_fuzz, str(api.base_url), token, tmp_path)
        # It reached the routes behind sign-in: the token was taken, not refused.
        [ours] = [t for t in (await api.get("/api/tokens")).json() if t["name"] == "ops"]
        assert ours["last_used_at"] is not None
        assert ours["revoked_at"] is None
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # It did fuzz: every operation but the excluded ones, hundreds of cases.
    tested = re.search(r"Tested: (\d+)", result.stdout)
    generated = re.search(r"(\d+) generated", result.stdout)
    assert tested is not None, result.stdout
    assert generated is not None, result.stdout
    assert int(tested.group(1)) >= 25
    assert int(generated.group(1)) >= 500
