"""The drill's processes: one Temporal dev server keeping its state in a file, several
workers and several API replicas, each a real ``opsdesk`` process on loopback, all on one
database. Any of them can be killed with SIGKILL and started again as it was."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from opsdesk.devstack import (
    Child,
    api_ready,
    spawn,
    stack_env,
    stop_children,
    temporal_answers,
)
from opsdesk.settings import Settings
from opsdesk.temporal import devserver

# Variables of the caller's that would point the fleet somewhere else, or at a paid service:
# the drill's owners are sample people, and the drill compares runs on the offline rules.
NOT_INHERITED = (
    "OPSDESK_DEV_MAILBOX_PORT",
    "OPSDESK_PMS_URL",
    "OPSDESK_WORKER_METRICS_ADDRESS",
    "OPSDESK_TWILIO_",
)


class FleetFailed(Exception):
    """A process did not start or become ready in time."""


@dataclass
class Member:
    """One process of the fleet, and how to start it again."""

    name: str
    argv: Callable[[], list[str]]
    """Made anew for each start: the Temporal server takes fresh side ports every time."""
    env: dict[str, str]
    child: Child | None = None

    @property
    def running(self) -> bool:
        return self.child is not None and self.child.running


class Fleet:
    def __init__(
        self,
        settings: Settings,
        *,
        workers: int,
        apis: int,
        smtp_port: int,
    ) -> None:
        self.settings = settings
        self.logs = settings.data_dir / "logs"
        self._files: list[IO[bytes]] = []
        taken = {settings.temporal_port, settings.ui_port, smtp_port}
        self.api_ports: list[int] = []
        for _ in range(apis):
            port = devserver.spare_port(*taken)
            taken.add(port)
            self.api_ports.append(port)
        env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
        env |= stack_env(settings)
        env.update(
            # A real SMTP server on loopback, so every delivery can be counted there.
            OPSDESK_SMTP_HOST="127.0.0.1",
            OPSDESK_SMTP_PORT=str(smtp_port),
            OPSDESK_SMTP_STARTTLS="false",
            OPSDESK_LOG_FORMAT="json",
            OPSDESK_AI_PROVIDER="rules",
        )
        python = [sys.executable, "-m", "opsdesk"]
        self.members = [Member("temporal", lambda: devserver.command(settings), env)]
        self.members += [
            Member(f"worker-{n}", lambda: [*python, "worker"], env) for n in range(1, workers + 1)
        ]
        self.members += [
            Member(f"api-{n}", lambda: [*python, "api"], env | {"OPSDESK_PORT": str(port)})
            for n, port in enumerate(self.api_ports, start=1)
        ]

    @property
    def api_urls(self) -> list[str]:
        return [f"http://{self.settings.host}:{port}" for port in self.api_ports]

    def member(self, name: str) -> Member:
        [found] = [m for m in self.members if m.name == name]
        return found

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, timeout: float) -> None:
        """Start everything, the server first, and wait until every replica is ready."""
        self.logs.mkdir(parents=True, exist_ok=True)
        self.launch("temporal")
        self.wait("the Temporal server", timeout, self.temporal_ready)
        for member in self.members[1:]:
            self.launch(member.name)
        self.wait("every API replica to be ready (/readyz)", timeout, self.all_ready)

    def launch(self, name: str) -> None:
        member = self.member(name)
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._files.append(log)
        member.child = spawn(name, member.argv(), member.env, log)

    def kill(self, name: str) -> None:
        """SIGKILL the process and whatever it started; no chance to clean up."""
        child = self.member(name).child
        assert child is not None
        child.signal_group(signal.SIGKILL)
        child.process.wait()

    def stop(self) -> None:
        # Replicas and workers first, the server last, as `opsdesk dev` stops them.
        waves = [self.members[1:], self.members[:1]]
        stop_children([[m.child for m in wave if m.child is not None] for wave in waves])
        for file in self._files:
            file.close()

    # -- readiness -----------------------------------------------------------------------

    def wait(self, what: str, timeout: float, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for member in self.members:
                if member.child is not None and not member.running:
                    code = member.child.process.returncode
                    raise FleetFailed(
                        f"{member.name} exited with code {code} while waiting for {what} "
                        f"(see {self.logs / member.name}.log)"
                    )
            if time.monotonic() > deadline:
                raise FleetFailed(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.25)

    def temporal_ready(self) -> bool:
        return temporal_answers(self.settings)

    def all_ready(self) -> bool:
        return all(api_ready(url) for url in self.api_urls)
