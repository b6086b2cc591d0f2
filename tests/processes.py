"""Run ``opsdesk`` commands as real subprocesses, the way a user does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil

from tests.conftest import free_port

READY_LINE = "Ops Desk is ready"
"""What ``opsdesk dev`` prints once it has seen the stack ready."""
LAST_LINE = "Press Ctrl-C to stop."
"""The end of what it prints then (the addresses and a first sign-in link come between)."""


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
    _console: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OPSDESK_"))}
        env.update(self.env)
        # This start's output only, as each start had a pipe of its own before.
        self._console = self.log_file.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "opsdesk", "dev",
                "--port", str(self.port),
                "--temporal-port", str(self.temporal_port),
                "--ui-port", str(self.ui_port),
                "--data-dir", str(self.data_dir),
            ],
            env=env,
            # A file, not a pipe: a pipe nobody reads until the end fills up, and then the
            # stack (and every child sharing its output) blocks on its next line.
            stdout=self._console,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 120.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"opsdesk dev exited early:\n{self.output()}")
            # Ready when the supervisor has said so too: until it has, it takes a child's
            # exit for a failed start, though /readyz may already answer 200.
            try:
                answered = httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                answered = False
            # The whole banner: on a busy machine its lines (the sign-in link among them)
            # reach the output file some moments after the first.
            output = self.output()
            if answered and READY_LINE in output and LAST_LINE in output.split(READY_LINE)[-1]:
                return
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
        code = self.process.wait(timeout=timeout)
        if self._console is not None:
            self._console.close()
        return code

    @property
    def log_file(self) -> Path:
        """Where the stack's console goes (beside its data directory)."""
        return self.data_dir.with_name(f"{self.data_dir.name}-console-{self.port}.log")

    def output(self) -> str:
        """Everything the stack has printed so far."""
        try:
            return self.log_file.read_bytes().decode(errors="replace")
        except FileNotFoundError:
            return ""


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
