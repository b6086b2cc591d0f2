"""The drill's processes: one Temporal dev server keeping its state in a file, several
workers and several API replicas, each a real ``opsdesk`` process on loopback, all on one
database. Any of them can be killed with SIGKILL and started again as it was."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import httpx

from opsdesk.devstack import Child, spawn
from opsdesk.settings import Settings
from opsdesk.temporal import devserver
from opsdesk.temporal.client import connect

STOP_TIMEOUT = 15.0
# Variables of the caller's that would point the fleet somewhere else.
NOT_INHERITED = ("OPSDESK_DEV_MAILBOX_PORT", "OPSDESK_PMS_URL", "OPSDESK_WORKER_METRICS_ADDRESS")


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
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env.update(
            OPSDESK_DATA_DIR=str(settings.data_dir.resolve()),
            OPSDESK_DATABASE_URL=settings.resolved_database_url,
            OPSDESK_HOST=settings.host,
            OPSDESK_TEMPORAL_PORT=str(settings.temporal_port),
            OPSDESK_UI_PORT=str(settings.ui_port),
            TEMPORAL_ADDRESS=f"{settings.host}:{settings.temporal_port}",
            TEMPORAL_NAMESPACE="default",
            # A real SMTP server on loopback, so every delivery can be counted there.
            OPSDESK_SMTP_HOST="127.0.0.1",
            OPSDESK_SMTP_PORT=str(smtp_port),
            OPSDESK_SMTP_STARTTLS="false",
            OPSDESK_LOG_FORMAT="json",
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
        for wave in (self.members[1:], self.members[:1]):
            for member in wave:
                if member.running:
                    assert member.child is not None
                    member.child.signal_group(signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            for member in wave:
                if member.child is None:
                    continue
                try:
                    member.child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except Exception:
                    member.child.signal_group(signal.SIGKILL)
                    member.child.process.wait()
                member.child.signal_group(signal.SIGKILL)
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
        async def probe() -> bool:
            try:
                client = await connect(self.settings)
                await client.service_client.check_health()
            except Exception:
                return False
            return True

        return asyncio.run(probe())

    def all_ready(self) -> bool:
        return all(ready(url) for url in self.api_urls)


def ready(url: str) -> bool:
    """Whether the replica at ``url`` says it is ready."""
    try:
        return httpx.get(f"{url}/readyz", timeout=5.0).status_code == 200
    except httpx.HTTPError:
        return False
