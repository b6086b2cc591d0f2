"""``opsdesk dev`` as a user runs it: ready, stops cleanly, and finds its workflows again."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import VersioningBehavior
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.devstack import CRASH_LIMIT, CRASH_WINDOW, Crashes
from opsdesk.orders.inputs import LineItem
from opsdesk.orders.service import order_handle, start_order
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings, package_version
from opsdesk.temporal import search_attributes
from opsdesk.temporal.client import data_converter
from opsdesk.temporal.devserver import command, find_binary
from tests.conftest import STACKS, free_port
from tests.orders.factory import order_request
from tests.orders.helpers import wait_for_status
from tests.processes import READY_LINE, DevStackProcess, alive
from tests.staff import token_for
from tests.waiting import eventually

pytestmark = STACKS


async def _ready(stack: DevStackProcess) -> None:
    await asyncio.to_thread(stack.wait_ready)


async def _staff(stack: DevStackProcess) -> dict[str, str]:
    """Headers with an API token made in the stack's own database."""
    db = Database(Settings(data_dir=stack.data_dir).resolved_database_url)
    try:
        return {"Authorization": f"Bearer {await token_for(db)}"}
    finally:
        await db.dispose()


async def test_stack_stops_cleanly_and_restarts_with_its_workflows(tmp_path: Path) -> None:
    stack = DevStackProcess(data_dir=tmp_path / "state")
    stack.start()
    await _ready(stack)
    children = stack.descendants()
    assert {p.name() for p in children} >= {"temporal"}
    assert len(children) >= 3  # temporal, worker, api

    # The stack's payload key is in its data directory, as its worker and API read it.
    converter = data_converter(Settings(data_dir=tmp_path / "state"))
    client = await Client.connect(stack.temporal_address, data_converter=converter)
    # The stack seeded the sample catalog; this order gets to CONFIRMED and waits there.
    request = order_request([LineItem(sku="MUG-01", quantity=1)], order_id="devstack-1")
    handle = await start_order(client, Settings(), request)
    before = await wait_for_status(handle, OrderStatus.CONFIRMED)
    # The worker runs as a version of the deployment and, the deployment being new, made
    # itself current: the order started on it, pinned (docs/deployment.md).
    versioning = (await handle.describe()).raw_description.workflow_execution_info
    assert versioning.versioning_info.deployment_version.deployment_name == "opsdesk"
    assert versioning.versioning_info.deployment_version.build_id == package_version()
    assert versioning.versioning_info.behavior == VersioningBehavior.PINNED.value
    namespace = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    # Finished orders stay listed for a month, not the dev server's default day.
    assert namespace.config.workflow_execution_retention_ttl.seconds == 30 * 24 * 3600
    # No SMTP settings: the confirmation went to the dev mailbox, and the dashboard shows it.
    await _in_the_dev_mailbox(stack, "Your order devstack-1 is confirmed")
    # The maintenance desk starts with the sample directory: the tenant form offers it.
    async with httpx.AsyncClient(base_url=stack.url, headers=await _staff(stack)) as http:
        properties = (await http.get("/api/maintenance/properties")).json()["items"]
    assert {p["id"] for p in properties} == {"harbor-12", "elm-48"}

    assert await asyncio.to_thread(stack.stop, signal.SIGTERM) == 0, stack.output()
    assert alive(children) == []
    output = stack.output()
    assert f"{stack.url}/mailbox" in output
    assert "Loaded the sample maintenance directory" in output
    assert "/metrics  (the API's, with a token)" in output
    assert "/metrics  (the worker's)" in output
    # The first start made an admin and printed a one-time link to sign in as them.
    [link] = re.findall(rf"{re.escape(stack.url)}/signin/link/[\w-]+", output)

    stack.start()
    await _ready(stack)
    async with httpx.AsyncClient() as browser:
        assert (await browser.post(link)).status_code == 303
        me = (await browser.get(f"{stack.url}/api/me")).json()
    assert me == {"name": "admin", "role": "admin", "kind": "user"}
    client = await Client.connect(stack.temporal_address, data_converter=converter)
    handle = order_handle(client, "devstack-1")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert await handle.query(OrderWorkflow.get_state) == before
    await _in_the_dev_mailbox(stack, "Your order devstack-1 is confirmed")  # kept on disk

    children = stack.descendants()
    # Ctrl-C in a terminal is SIGINT to the supervisor alone.
    assert await asyncio.to_thread(stack.stop, signal.SIGINT) == 0, stack.output()
    assert alive(children) == []


async def _in_the_dev_mailbox(stack: DevStackProcess, subject: str) -> None:
    async with httpx.AsyncClient(base_url=stack.url, headers=await _staff(stack)) as http:
        outbox = await eventually(
            lambda: http.get("/api/outbox"),
            # Recorded first (queued), then delivered.
            lambda r: any(
                m["subject"] == subject and m["status"] != "queued" for m in r.json()["items"]
            ),
        )
        [sent] = [m for m in outbox.json()["items"] if m["subject"] == subject]
        assert sent["status"] == "delivered_dev", sent
        mailbox = await http.get("/mailbox")
    assert subject in mailbox.text


async def test_a_child_that_crashes_is_restarted_and_the_stack_stays_up(tmp_path: Path) -> None:
    stack = DevStackProcess(data_dir=tmp_path / "state")
    stack.start()
    await _ready(stack)

    def worker() -> psutil.Process | None:
        found = [p for p in alive(stack.descendants()) if p.cmdline()[-1:] == ["worker"]]
        return found[0] if found else None

    first = worker()
    assert first is not None
    first.kill()  # SIGKILL: no goodbye, as when the machine runs out of memory
    try:
        restarted = await eventually(
            lambda: asyncio.to_thread(worker), lambda p: p is not None and p.pid != first.pid
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nthe stack said:\n{stack.output()}") from None
    assert restarted is not None
    # Ready again by itself: the new worker polls its task queues.
    await _ready(stack)

    # The Temporal server too: restarted on its own file, and the worker and the API, left
    # running, find it again without anyone's help.
    [server] = [p for p in alive(stack.descendants()) if p.name() == "temporal"]
    server.kill()
    await eventually(
        lambda: asyncio.to_thread(
            lambda: [p.pid for p in alive(stack.descendants()) if p.name() == "temporal"]
        ),
        lambda pids: bool(pids) and pids != [server.pid],
    )
    await _ready(stack)
    # The worker, left running through the server's restart, runs an order on it.
    converter = data_converter(Settings(data_dir=tmp_path / "state"))
    client = await Client.connect(stack.temporal_address, data_converter=converter)
    request = order_request([LineItem(sku="MUG-01", quantity=1)], order_id="after-restart")
    await wait_for_status(await start_order(client, Settings(), request), OrderStatus.CONFIRMED)
    assert await asyncio.to_thread(stack.stop, signal.SIGTERM) == 0
    output = stack.output()
    assert "worker exited with code -9; restarting it in 1 s" in output
    assert "worker restarted" in output
    assert "temporal exited with code -9; restarting it in 1 s" in output


def test_a_child_that_keeps_crashing_stops_the_stack() -> None:
    crashes = Crashes()
    waits = [crashes.record(float(t)) for t in range(CRASH_LIMIT)]
    # 1, 2, 4, 8 s between restarts; the fifth crash within a minute ends it.
    assert waits == [1.0, 2.0, 4.0, 8.0, None]
    # Crashes a minute apart are hiccups, each restarted at once.
    spread = Crashes()
    assert [spread.record(t * CRASH_WINDOW) for t in range(CRASH_LIMIT + 2)] == [1.0] * 7


async def test_ctrl_c_while_starting_stops_cleanly(tmp_path: Path) -> None:
    stack = DevStackProcess(data_dir=tmp_path / "state")
    stack.start()
    children = await eventually(
        lambda: asyncio.to_thread(stack.descendants),
        lambda found: any(p.name() == "temporal" for p in found),
    )
    # The dev server is up but the worker and the API are not ready yet.
    assert await asyncio.to_thread(stack.stop, signal.SIGINT) == 0, stack.output()
    assert alive(children) == []
    output = stack.output()
    assert "Stopping before the stack was ready" in output
    assert "Traceback" not in output


async def test_a_configured_temporal_address_is_used_instead_of_a_server_of_its_own(
    tmp_path: Path,
) -> None:
    # A server of the test's own: the stack's worker must not poll the shared one's queues.
    async with await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        search_attributes=search_attributes.ALL_KEYS,
        dev_server_existing_path=str(find_binary("temporal")),
    ) as cluster:
        address = cluster.client.service_client.config.target_host
        # SMTP settings too: mail goes there, and no dev mailbox runs.
        smtp = {"OPSDESK_SMTP_HOST": "127.0.0.1", "OPSDESK_SMTP_PORT": str(free_port())}
        stack = DevStackProcess(
            data_dir=tmp_path / "state", env={"TEMPORAL_ADDRESS": address, **smtp}
        )
        stack.start()
        await _ready(stack)  # /readyz: Temporal at `address` answers and our worker polls it
        names = {p.name() for p in stack.descendants()}
        async with httpx.AsyncClient(base_url=stack.url, headers=await _staff(stack)) as http:
            assert "The dev mailbox is off" in (await http.get("/mailbox")).text

        request = order_request([LineItem(sku="MUG-01", quantity=1)], order_id="external-1")
        client = Client(
            cluster.client.service_client,
            namespace=cluster.client.namespace,
            data_converter=data_converter(Settings(data_dir=tmp_path / "state")),
        )
        await wait_for_status(await start_order(client, Settings(), request), OrderStatus.CONFIRMED)
        assert await asyncio.to_thread(stack.stop, signal.SIGTERM) == 0, stack.output()
        await cluster.client.service_client.check_health()  # not ours to stop

    assert "temporal" not in names
    output = stack.output()
    assert "external Temporal cluster" in output
    assert "Mailbox" not in output  # the line naming its URL when it runs
    assert "/signin/link/" in output
    assert not (tmp_path / "state" / "temporal.db").exists()


async def test_a_taken_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    stack = DevStackProcess(data_dir=tmp_path / "state")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", stack.temporal_port))
        squatter.listen()
        stack.start()
        assert stack.process is not None
        code = await asyncio.to_thread(stack.process.wait, 30)
    output = stack.output()
    assert code != 0
    assert f"port {stack.temporal_port}" in output
    assert "already in use" in output
    assert "Traceback" not in output
    assert not (tmp_path / "state" / "temporal.db").exists()


def test_the_dev_server_gets_ports_of_its_own_for_http_and_metrics() -> None:
    # Left to itself the server may pick its own just-freed gRPC port for HTTP on a restart.
    settings = Settings(temporal_port=free_port(), ui_port=free_port())
    args = command(settings)
    http = int(args[args.index("--http-port") + 1])
    metrics = int(args[args.index("--metrics-port") + 1])
    assert len({settings.temporal_port, settings.ui_port, http, metrics}) == 4


def _after_ready(output: str) -> str:
    return output.split(READY_LINE, 1)[1]


async def test_one_quiet_stack_per_data_directory_that_prints_its_own_urls(
    tmp_path: Path,
) -> None:
    """The console starts quietly and ends with the URLs and the sign-in link; a second
    stack on the same data directory is refused; commands print the running stack's URLs.
    One test, so that the suite starts one stack for all three."""
    stack = DevStackProcess(data_dir=tmp_path / "state")
    stack.start()
    env = {"OPSDESK_DATA_DIR": str(stack.data_dir)}
    try:
        await _ready(stack)
        # Ready to serve is not yet done printing: the console's last line comes after.
        output = await eventually(
            lambda: asyncio.to_thread(stack.output),
            lambda out: "Press Ctrl-C to stop." in out,
        )
        # The worker's poller fetched the demo feed the API serves, and nothing failed.
        assert "Traceback" not in output, output
        assert "WARNING" not in output, output
        # The URLs and the one-time link are the last lines, below everything the children
        # said while starting.
        last = output.rstrip().splitlines()[-3:]
        assert last[0].startswith("Sign in as admin"), output
        assert last[1].strip().startswith(f"{stack.url}/signin/link/"), output
        assert last[2] == "Press Ctrl-C to stop.", output
        assert f"Dashboard    {stack.url}/" in _after_ready(output)

        # Other ports, the same data directory (and so the same Temporal database file).
        assert stack.process is not None
        second = DevStackProcess(data_dir=tmp_path / "state")
        second.start()
        assert second.process is not None
        code = await asyncio.to_thread(second.process.wait, 60)
        said = " ".join(second.output().split())
        assert code != 0
        assert f"pid {stack.process.pid}" in said, said
        assert f"serving {stack.url}/" in said, said
        assert "Traceback" not in said
        assert "Ops Desk is ready" not in said
        await _ready(stack)  # untouched

        # Every command that prints a link prints the running stack's, not port 8000's.
        link = await asyncio.to_thread(_opsdesk, "users", "link", "admin", **env)
        assert link.returncode == 0, link.stderr
        assert link.stdout.startswith(f"{stack.url}/signin/link/"), link.stdout

        # The poller polls the demo feed the API serves; one poll picks up a new record.
        dropped = await asyncio.to_thread(_opsdesk, "maintenance", "demo-request", **env)
        assert dropped.returncode == 0, dropped.stderr
        assert f"{stack.url}/maintenance/intake" in " ".join(dropped.stderr.split())
        [request_id] = re.findall(r"starts request (\S+) at", dropped.stderr)
        async with httpx.AsyncClient(base_url=stack.url, headers=await _staff(stack)) as http:
            await eventually(
                lambda: http.get("/api/maintenance/requests"),
                lambda r: request_id in r.text,
            )
            # A page's static files and live updates are reads nobody looks for.
            assert (await http.get("/static/app.css")).status_code == 200
            # An error is worth a line; written after the reads above, by the same process.
            assert (await http.get("/no-such-page")).status_code == 404
        await eventually(
            lambda: asyncio.to_thread(stack.output), lambda out: "/no-such-page" in out
        )
        lines = _after_ready(stack.output()).split("Press Ctrl-C to stop.", 1)[1]
        assert [line for line in lines.splitlines() if line.strip()] == [
            line for line in lines.splitlines() if "GET /no-such-page" in line
        ], lines
    finally:
        assert await asyncio.to_thread(stack.stop, signal.SIGTERM) == 0, stack.output()

    # The file a stack that crashed leaves behind holds no lock: the next one starts.
    lock = tmp_path / "state" / "dev-stack.lock"
    lock.write_text('{"pid": 1, "url": "http://127.0.0.1:1", "ui": "http://127.0.0.1:2"}')
    stopped = await asyncio.to_thread(_opsdesk, "users", "link", "admin", **env)
    assert stopped.stdout.startswith("http://127.0.0.1:8000/signin/link/"), stopped.stdout
    third = DevStackProcess(data_dir=tmp_path / "state")
    third.start()
    try:
        await _ready(third)
    finally:
        assert await asyncio.to_thread(third.stop, signal.SIGTERM) == 0, third.output()


def _opsdesk(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """An ``opsdesk`` command beside the stack, as a person runs it in another terminal."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OPSDESK_"))}
    return subprocess.run(
        [sys.executable, "-m", "opsdesk", *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
