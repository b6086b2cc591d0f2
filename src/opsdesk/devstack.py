"""``opsdesk dev``: the Temporal dev server, the worker and the API as one supervised group.

Each child runs in a session of its own, so a Ctrl-C in the terminal reaches only this
supervisor, which then stops the children in order (API, worker, Temporal) and waits for
them. On Linux each child also asks the kernel to send it SIGTERM if the supervisor dies
without that chance (``PR_SET_PDEATHSIG``), so even a SIGKILL leaves nothing behind.

Without SMTP settings the supervisor also runs the dev mailbox's SMTP sink, in a thread of
its own: it has the sink's port before it starts the worker, and the sink dies with it.
Likewise it serves the Temporal UI on the UI port through ``opsdesk.temporal.uiproxy``, so
the UI decodes payloads with the dashboard's session.

One stack per data directory: the supervisor holds ``opsdesk.stackfile``'s lock there
while it runs, and the file says where the stack serves for other commands to print.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import IO

import httpx
from rich.console import Console

from opsdesk import tracing
from opsdesk.access.roles import Role
from opsdesk.access.sessions import Sessions
from opsdesk.access.users import Users
from opsdesk.db import Database
from opsdesk.db.migrate import upgrade
from opsdesk.maintenance.directory import seed_sample_directory
from opsdesk.maintenance.feed import FEED_PATH
from opsdesk.notify.devmail import DEV_MAILBOX_HOST, DevMailbox, mailbox_path
from opsdesk.notify.sink import DevMailSink
from opsdesk.orders.catalog import seed_sample_catalog
from opsdesk.settings import Settings
from opsdesk.stackfile import RunningStack, StackLock, StackRunning
from opsdesk.temporal import devserver
from opsdesk.temporal.client import connect, uses_external_temporal
from opsdesk.temporal.uiproxy import UiProxy
from opsdesk.web.signin import link_url

STOP_TIMEOUT = 15.0
CRASH_WINDOW = 60.0
"""A child that crashes ``CRASH_LIMIT`` times within this many seconds keeps crashing."""
CRASH_LIMIT = 5
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 16.0
TEMPORAL_START_TIMEOUT = 60.0
READY_TIMEOUT = 90.0
FIRST_ADMIN = "admin"
FIRST_LINK_LIFETIME = timedelta(hours=24)


class StartupFailed(Exception):
    pass


class StoppedWhileStarting(Exception):
    """Ctrl-C or SIGTERM before the stack was ready: a stop asked for, not a failure."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    argv: list[str]
    log_to: Path | None = None

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


class Crashes:
    """When to restart a child that exited on its own: after 1, 2, 4, … seconds (at most
    ``MAX_BACKOFF``), and not at all once it has crashed ``CRASH_LIMIT`` times within
    ``CRASH_WINDOW`` seconds, which is a child that keeps crashing, not a hiccup."""

    def __init__(self) -> None:
        self.at: list[float] = []

    def record(self, now: float) -> float | None:
        """Note a crash at ``now``; the seconds to wait before the restart, or None."""
        self.at = [t for t in self.at if now - t < CRASH_WINDOW] + [now]
        if len(self.at) >= CRASH_LIMIT:
            return None
        return float(min(FIRST_BACKOFF * 2.0 ** (len(self.at) - 1), MAX_BACKOFF))


def stop_children(
    waves: list[list[Child]], on_late: Callable[[Child], None] = lambda _: None
) -> None:
    """SIGTERM each wave and wait up to ``STOP_TIMEOUT`` for it before the next; a child
    still running then is killed (and ``on_late`` told)."""
    for wave in waves:
        for child in wave:
            if child.running:
                child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in wave:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                on_late(child)
                child.signal_group(signal.SIGKILL)
                child.process.wait()
            # The group may hold processes the child started; none may outlive the stack.
            child.signal_group(signal.SIGKILL)


def stack_env(settings: Settings, *, embedded: bool = True) -> dict[str, str]:
    """The variables that point a child at the stack ``settings`` describe: its data, its
    database, its ports and, when the stack runs its own server, that Temporal server."""
    env = {
        "OPSDESK_DATA_DIR": str(settings.data_dir.resolve()),
        "OPSDESK_DATABASE_URL": settings.resolved_database_url,
        "OPSDESK_HOST": settings.host,
        "OPSDESK_PORT": str(settings.port),
        "OPSDESK_TEMPORAL_PORT": str(settings.temporal_port),
        "OPSDESK_UI_PORT": str(settings.ui_port),
        "OPSDESK_TEMPORAL_UI_URL": settings.resolved_temporal_ui_url,
    }
    if embedded:
        env["TEMPORAL_ADDRESS"] = f"{settings.host}:{settings.temporal_port}"
        env["TEMPORAL_NAMESPACE"] = "default"
    return env


def temporal_answers(settings: Settings) -> bool:
    """Whether the Temporal server the settings name answers a health check."""

    async def probe() -> bool:
        try:
            client = await connect(settings)
            await client.service_client.check_health()
        except Exception:
            return False
        return True

    return asyncio.run(probe())


def api_ready(url: str, probe: str = "/readyz") -> bool:
    """Whether the API at ``url`` says it is ready (``/readyz``), or with ``/healthz`` that
    it answers at all."""
    try:
        response = httpx.get(f"{url}{probe}", timeout=5.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The servers we start set SO_REUSEADDR, so a port in TIME_WAIT is not "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def spawn(name: str, argv: list[str], env: dict[str, str], output: IO[bytes] | None) -> Child:
    """Start a child in a session of its own that dies with this process; its output goes
    to ``output``, or to this process's when None."""
    process = subprocess.Popen(
        argv,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
    )
    return Child(name, process, argv)


class DevStack:
    def __init__(self, settings: Settings, console: Console | None = None) -> None:
        self.settings = settings
        self.console = console or Console()
        self.embedded = not uses_external_temporal()
        self.children: list[Child] = []
        self.sink: DevMailSink | None = None
        self.ui_proxy: UiProxy | None = None
        self._stop = threading.Event()
        self._log_files: list[IO[bytes]] = []
        self._demo_pms_token = secrets.token_urlsafe(24)
        taken = (settings.port, settings.temporal_port, settings.ui_port)
        self.ui_upstream_port = devserver.spare_port(*taken)
        """Where the dev server's own UI listens; people reach it through ``ui_proxy``."""
        spare = devserver.spare_port(*taken, self.ui_upstream_port)
        self.worker_metrics_address = settings.worker_metrics_address or f"{settings.host}:{spare}"
        """Where the worker serves the SDK's metrics for Prometheus."""
        self.first_link: str | None = None
        """On the first start, the secret of the first admin's one-time sign-in link."""

    # -- lifecycle -----------------------------------------------------------------------

    def run(self) -> int:
        s = self.settings
        lock = StackLock(s.data_dir)
        try:
            # Before the ports: a stack on this data directory holds them too, and two
            # Temporal servers on one database file would corrupt it.
            lock.acquire(RunningStack(os.getpid(), s.dashboard_url, s.resolved_temporal_ui_url))
        except StackRunning as exc:
            self.console.print(f"[red]error:[/] {exc}")
            return 2
        try:
            return self._run()
        finally:
            lock.release()

    def _run(self) -> int:
        busy = self._busy_ports()
        if busy:
            for message in busy:
                self.console.print(f"[red]error:[/] {message}")
            return 2
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            started = time.monotonic()
            self._start()
            self._announce(time.monotonic() - started)
            return self._supervise()
        except StartupFailed as exc:
            self.console.print(f"[red]error:[/] {exc}")
            return 1
        except StoppedWhileStarting:
            self.console.print("Stopping before the stack was ready…")
            return 0
        finally:
            self._stop_children()
            # After the worker: a delivery it finishes while draining still finds the sink.
            if self.sink is not None:
                self.sink.stop()
            if self.ui_proxy is not None:
                self.ui_proxy.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for f in self._log_files:
                f.close()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stop.set()

    @property
    def runs_dev_mailbox(self) -> bool:
        """Mail goes to the dev mailbox unless an SMTP server is configured."""
        return not self.settings.smtp_host

    def _busy_ports(self) -> list[str]:
        s = self.settings
        wanted = [(s.host, s.port, "the API and dashboard", "--port or OPSDESK_PORT")]
        if self.embedded:
            wanted += [
                (
                    s.host,
                    s.temporal_port,
                    "the Temporal server",
                    "--temporal-port or OPSDESK_TEMPORAL_PORT",
                ),
                (s.host, s.ui_port, "the Temporal web UI", "--ui-port or OPSDESK_UI_PORT"),
            ]
        # Unset, the sink takes any free port.
        if self.runs_dev_mailbox and s.dev_mailbox_port is not None:
            wanted.append(
                (
                    DEV_MAILBOX_HOST,
                    s.dev_mailbox_port,
                    "the dev mailbox",
                    "OPSDESK_DEV_MAILBOX_PORT",
                )
            )
        return [
            f"port {port} on {host} (for {what}) is already in use; choose another with {how}"
            for host, port, what, how in wanted
            if port_in_use(host, port)
        ]

    def _start(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(s.resolved_database_url)
        products, entries, self.first_link = asyncio.run(self._seed_samples())
        if products:
            self.console.print(f"Loaded the sample catalog ({products} products).")
        if entries:
            self.console.print(
                f"Loaded the sample maintenance directory ({entries} properties, units, "
                "owners and vendors)."
            )
        if self.runs_dev_mailbox:
            self._start_sink()
        if self.embedded:
            self._start_ui_proxy()
            self._spawn(
                "temporal",
                devserver.command(s, ui_port=self.ui_upstream_port),
                log_to=s.data_dir / "temporal.log",
            )
            self._wait("the Temporal dev server", TEMPORAL_START_TIMEOUT, self._temporal_ready)
            asyncio.run(self._keep_history())
        python = [sys.executable, "-m", "opsdesk"]
        # The API before the worker: the worker's poller fetches the demo feed the API
        # serves as soon as it polls, and would start with a failure.
        self._spawn("api", [*python, "api"])
        self._wait("the API to start (/healthz)", READY_TIMEOUT, self._api_alive)
        self._spawn("worker", [*python, "worker"])
        self._wait("the stack to become ready (/readyz)", READY_TIMEOUT, self._api_ready)

    def _start_sink(self) -> None:
        sink = DevMailSink(
            DevMailbox(mailbox_path(self.settings)), port=self.settings.dev_mailbox_port or 0
        )
        try:
            sink.start()
        except OSError as exc:
            raise StartupFailed(f"could not start the dev mailbox: {exc}") from None
        self.sink = sink

    def _start_ui_proxy(self) -> None:
        s = self.settings
        try:
            proxy = UiProxy(s.host, s.ui_port, s.host, self.ui_upstream_port)
        except OSError as exc:
            raise StartupFailed(
                f"could not serve the Temporal UI on port {s.ui_port}: {exc}"
            ) from None
        proxy.start()
        self.ui_proxy = proxy

    def _supervise(self) -> int:
        """Restart a child that exits on its own, after a growing pause; stop the stack only
        when one keeps crashing (or the dev mailbox stops)."""
        crashes: dict[str, Crashes] = {}
        due: dict[str, float] = {}
        while not self._stop.wait(0.2):
            if self.sink is not None and not self.sink.running:
                self.console.print("[red]error:[/] the dev mailbox stopped; stopping the stack")
                return 1
            now = time.monotonic()
            for child in list(self.children):
                if child.running or child.name in due:
                    continue
                # Whatever the child started goes with it.
                child.signal_group(signal.SIGKILL)
                code = child.process.returncode
                wait = crashes.setdefault(child.name, Crashes()).record(now)
                if wait is None:
                    self.console.print(
                        f"[red]error:[/] {child.name} exited with code {code} "
                        f"{CRASH_LIMIT} times within {CRASH_WINDOW:.0f} s; stopping the stack"
                    )
                    return 1
                self.console.print(
                    f"[yellow]{child.name} exited with code {code}; restarting it in "
                    f"{wait:.0f} s[/]"
                )
                due[child.name] = now + wait
            for name, at in list(due.items()):
                if now >= at:
                    del due[name]
                    self._restart(name)
        self.console.print("Stopping…")
        return 0

    def _restart(self, name: str) -> None:
        [old] = [c for c in self.children if c.name == name]
        self.children.remove(old)
        self._spawn(name, old.argv, log_to=old.log_to)
        self.console.print(f"{name} restarted")

    # -- children ------------------------------------------------------------------------

    def _child_env(self) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ) | stack_env(s, embedded=self.embedded)
        env["OPSDESK_WORKER_METRICS_ADDRESS"] = self.worker_metrics_address
        if self.sink is not None:
            # The worker sends its mail there; the API shows the Mailbox page.
            env["OPSDESK_DEV_MAILBOX_PORT"] = str(self.sink.port)
        if not s.pms_url:
            # No property-management system of its own: the API serves a demo one, which
            # the worker's poller polls (`opsdesk maintenance demo-request` feeds it).
            env.update(
                OPSDESK_DEMO_PMS="true",
                OPSDESK_PMS_URL=f"{s.dashboard_url}{FEED_PATH}",
                OPSDESK_PMS_TOKEN=self._demo_pms_token,
            )
        return env

    def _spawn(self, name: str, argv: list[str], log_to: Path | None = None) -> None:
        output: IO[bytes] | None = None
        if log_to is not None:
            output = open(log_to, "ab")  # noqa: SIM115 - closed when the stack stops
            self._log_files.append(output)
        child = spawn(name, argv, self._child_env(), output)
        child.log_to = log_to
        self.children.append(child)

    def _stop_children(self) -> None:
        # API first (stop taking requests), then the worker (drain tasks), then Temporal.
        waves = [
            [c for c in self.children if c.name != "temporal"],
            [c for c in self.children if c.name == "temporal"],
        ]
        stop_children(
            waves,
            on_late=lambda child: self.console.print(
                f"[yellow]{child.name} did not stop in time; killing it[/]"
            ),
        )
        self.children.clear()

    # -- readiness -----------------------------------------------------------------------

    def _wait(self, what: str, timeout: float, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + timeout
        while not self._stop.is_set():
            for child in self.children:
                if not child.running:
                    hint = (
                        f" (see {self.settings.data_dir / 'temporal.log'})"
                        if child.name == "temporal"
                        else ""
                    )
                    raise StartupFailed(
                        f"{child.name} exited with code {child.process.returncode} "
                        f"while waiting for {what}{hint}"
                    )
            if ready():
                return
            if time.monotonic() > deadline:
                raise StartupFailed(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(0.2)
        raise StoppedWhileStarting

    async def _seed_samples(self) -> tuple[int, int, str | None]:
        """The sample catalog and maintenance directory, each into an empty database only;
        and with no user yet, an admin and a one-time link to sign in as them."""
        db = Database(self.settings.resolved_database_url)
        try:
            return (
                await seed_sample_catalog(db),
                await seed_sample_directory(db),
                await self._first_admin(db),
            )
        finally:
            await db.dispose()

    async def _first_admin(self, db: Database) -> str | None:
        # No default password anywhere: the first person in signs in by a link printed here,
        # which only someone who can read this console has, and then sets a password.
        users = Users(db)
        if await users.count():
            return None
        await users.add(FIRST_ADMIN, Role.ADMIN)
        s = self.settings
        sessions = Sessions(db, s.session_idle, s.session_lifetime)
        return await sessions.issue_link(FIRST_ADMIN, lifetime=FIRST_LINK_LIFETIME)

    async def _keep_history(self) -> None:
        await devserver.keep_history(await connect(self.settings), self.settings.dev_retention)

    def _temporal_ready(self) -> bool:
        return temporal_answers(self.settings)

    def _api_ready(self) -> bool:
        return api_ready(self.settings.dashboard_url)

    def _api_alive(self) -> bool:
        return api_ready(self.settings.dashboard_url, "/healthz")

    def _announce(self, elapsed: float) -> None:
        s = self.settings
        self.console.print(f"\n[bold green]Ops Desk is ready[/] ({elapsed:.1f}s)")
        self.console.print(f"  Dashboard    {s.dashboard_url}/")
        self.console.print(f"  API docs     {s.dashboard_url}/docs")
        self.console.print(f"  Temporal UI  {s.resolved_temporal_ui_url}")
        worker_metrics = f"http://{self.worker_metrics_address}/metrics"
        self.console.print(f"  Metrics      {s.dashboard_url}/metrics  (the API's, with a token)")
        self.console.print(f"               {worker_metrics}  (the worker's)")
        traces = tracing.endpoint()
        if traces is not None:
            self.console.print(f"  Traces       {traces}  (OTLP)")
        if self.sink is not None:
            where = f"{DEV_MAILBOX_HOST}:{self.sink.port}"
            self.console.print(f"  Mailbox      {s.dashboard_url}/mailbox  (SMTP sink {where})")
            if not s.twilio_configured:
                phone = f"{s.dashboard_url}/mailbox/phone"
                self.console.print(f"  Phone        {phone}  (the owners' calls)")
        where = f"{s.data_dir.resolve()}" if self.embedded else "external Temporal cluster"
        self.console.print(f"  Data         {where}")
        if self.first_link is not None:
            link = link_url(s.dashboard_url, self.first_link)
            self.console.print(
                f"\n[bold]Sign in[/] as {FIRST_ADMIN} with this one-time link, then set a password:"
            )
            self.console.print(f"  {link}", soft_wrap=True)
        else:
            self.console.print(
                f"  Sign in      {s.dashboard_url}/signin  (a new one-time link: "
                "opsdesk users link <name>)"
            )
        self.console.print("Press Ctrl-C to stop.\n")
