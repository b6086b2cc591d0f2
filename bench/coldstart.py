"""Cold start: seconds from running `opsdesk dev` to ``/readyz`` answering 200 (Temporal up,
database migrated, a worker polling), on a fresh data directory and then restarting on
the same one.

    uv run python -m bench.coldstart [--runs 3]

Each run is a fresh start followed by a restart on its data; every run's seconds are kept,
and the report gives each start's median and range.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import free_port, save

# One start says little on a shared machine; the report judges nothing from fewer runs.
MIN_RUNS = 3


def time_to_ready(data_dir: Path) -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSDESK_", "TEMPORAL_"))}
    command = [
        sys.executable, "-m", "opsdesk", "dev",
        "--port", str(port),
        "--temporal-port", str(free_port()),
        "--ui-port", str(free_port()),
        "--data-dir", str(data_dir),
    ]  # fmt: skip
    began = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - began < 120:
            if process.poll() is not None:
                raise RuntimeError(f"opsdesk dev exited with {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return time.perf_counter() - began
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError("opsdesk dev was not ready within 120 s")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def measure(runs: int) -> dict[str, Any]:
    fresh, restart = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="opsdesk-cold-") as tmp:
            fresh.append(time_to_ready(Path(tmp) / "data"))
            restart.append(time_to_ready(Path(tmp) / "data"))
        print(f"  fresh {fresh[-1]:.1f} s · restart {restart[-1]:.1f} s", flush=True)
    return {
        "runs": runs,
        "fresh_s": [round(s, 2) for s in fresh],
        "restart_s": [round(s, 2) for s in restart],
        "fresh_median_s": round(statistics.median(fresh), 2),
        "restart_median_s": round(statistics.median(restart), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=MIN_RUNS,
        help=f"fresh starts, each then restarted (the report judges from {MIN_RUNS} or more)",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.runs < MIN_RUNS:
        print(f"fewer than {MIN_RUNS} runs: the report will ask for a rerun", flush=True)
    print(f"saved {save('coldstart', measure(args.runs))}")


if __name__ == "__main__":
    main()
