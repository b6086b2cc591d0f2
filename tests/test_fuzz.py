"""Schemathesis against the API's own OpenAPI schema, with an admin's token: whatever it
generates, valid or not, no route answers with a server error.

The app runs as ``opsdesk dev`` runs it (a worker behind it, the dev server's Temporal);
schemathesis's command runs in a process of its own, as a person would run it.

``make test`` runs it from a fixed seed, so each run sends what the one before it sent.
``make fuzz`` searches further by hand: a new seed each run and ten times the examples.
Two variables set both, to repeat a run that found something::

    OPSDESK_FUZZ_SEED=1234 OPSDESK_FUZZ_EXAMPLES=1000 make fuzz
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from tests.orders.helpers import served_api

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"

SEED_VARIABLE = "OPSDESK_FUZZ_SEED"
"""A seed, or ``random`` for a new one."""
EXAMPLES_VARIABLE = "OPSDESK_FUZZ_EXAMPLES"
"""Examples per operation in the fuzzing phase."""
SEED = 15
EXAMPLES = 100
"""At 10, the fuzzing never sent a ``before`` past 64 bits to the set-aside records, which
answered 500 (issue 25, item 9); at 100 this seed does, and about three seeds in four."""


def fuzz_seed() -> int:
    given = os.environ.get(SEED_VARIABLE) or str(SEED)
    return secrets.randbelow(2**32) if given == "random" else int(given)


def fuzz_examples() -> int:
    return int(os.environ.get(EXAMPLES_VARIABLE) or EXAMPLES)


def _fuzz(
    base_url: str, token: str, report: Path, seed: int, examples: int
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{base_url}/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", str(examples),
            "--seed", str(seed),
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
        # 1000 examples take about 4 minutes on 2 cores; `make fuzz` has no pytest timeout.
        timeout=120 + examples,
        check=False,
    )  # fmt: skip


async def test_no_generated_request_gets_a_server_error(
    dev_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    tmp_path: Path,
) -> None:
    seed, examples = fuzz_seed(), fuzz_examples()
    run = f"{SEED_VARIABLE}={seed} {EXAMPLES_VARIABLE}={examples}"
    print(run)  # `make fuzz` shows it for a run that passed too
    quick = settings.model_copy(update={"action_wait": 1.0})
    async with served_api(dev_env, db, quick) as api:
        token = api.headers["authorization"].removeprefix("Bearer ")
        result = await asyncio.to_thread(_fuzz, str(api.base_url), token, tmp_path, seed, examples)
        # It reached the routes behind sign-in: the token was taken, not refused.
        [ours] = [t for t in (await api.get("/api/tokens")).json() if t["name"] == "ops"]
        assert ours["last_used_at"] is not None
        assert ours["revoked_at"] is None
    assert result.returncode == 0, f"{run}\n{result.stdout[-6000:]}{result.stderr[-2000:]}"
    # It did fuzz: every operation but the excluded ones, and each of the 17 that take input
    # (a path, a query, a body) about ``examples`` times; the others have nothing to vary.
    tested = re.search(r"Tested: (\d+)", result.stdout)
    generated = re.search(r"(\d+) generated", result.stdout)
    assert tested is not None, result.stdout
    assert generated is not None, result.stdout
    assert int(tested.group(1)) >= 25
    assert int(generated.group(1)) >= 15 * examples
