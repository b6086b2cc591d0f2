"""Run ``opsdesk`` commands as real subprocesses, the way a user does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from tests.conftest import free_port


@dataclass
class DevStackProcess:
    """``opsdesk dev`` on free ports, with its state in ``data_dir``."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    temporal_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    # Set on top of the test's environment, from which TEMPORAL_* and OPSDESK_* are removed.
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OPSDESK_"))}
        env.update(self.env)
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "opsdesk", "dev",
                "--port", str(self.port),
                "--temporal-port", str(self.temporal_port),
                "--ui-port", str(self.ui_port),
                "--data-dir", str(self.data_dir),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 120.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"opsdesk dev exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise AssertionError(f"not ready within {timeout}s:\n{self.output()}")

    def descendants(self) -> list[psutil.Process]:
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        assert self.process is not None
        if self.process.poll() is None or self.process.stdout is None:
            return "(still running)"
        return self.process.stdout.read().decode(errors="replace")


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those that still run (a zombie has exited; only its parent's bookkeeping remains)."""
    result = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                result.append(p)
        except psutil.NoSuchProcess:
            continue
    return result
