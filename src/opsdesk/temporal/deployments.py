"""Worker Versioning: which Worker Deployment Version a worker build is, which version is
current, and how far an old one has drained.

Every worker build polls as ``<deployment_name>:<build_id>``. New workflows start on the
deployment's *current* version; an order (pinned) then stays on the version that started
it, a repair request (auto-upgrade) moves to whatever version is current at its next step.
A version no pinned workflow is open on any more has *drained*, and its workers may stop.

This module is the one way Ops Desk changes the current version: the worker makes its own
version current on a deployment that has none yet (a fresh dev stack, a first install);
after that a person does, with ``opsdesk deployment current`` (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from enum import StrEnum

from temporalio.api.deployment.v1 import WorkerDeploymentInfo
from temporalio.api.deployment.v1 import WorkerDeploymentVersion as VersionMessage
from temporalio.api.enums.v1 import VersionDrainageStatus
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    DescribeWorkerDeploymentResponse,
    DescribeWorkerDeploymentVersionRequest,
    DescribeWorkerDeploymentVersionResponse,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

from opsdesk.settings import Settings
from opsdesk.temporal.visibility import quote

REGISTER_TIMEOUT = 60.0
"""Seconds a version may take to show up in its deployment once its workers poll."""
_POLL = 0.25

IDENTITY = "opsdesk"
"""Who the deployment's history says changed its current version."""


class Drainage(StrEnum):
    """Where a version that is no longer current stands, as the server says."""

    ACTIVE = "active"
    """Current or ramping: new workflows start on it."""
    DRAINING = "draining"
    """Not current, and pinned workflows are still open on it: its workers must run."""
    DRAINED = "drained"
    """Not current, and no pinned workflow is open on it: its workers may stop."""
    UNKNOWN = "unknown"
    """Never current, or the server has not looked yet."""


class VersionNotRegistered(Exception):
    """The version's workers have not polled every task queue it should serve."""


def deployment_version(settings: Settings) -> WorkerDeploymentVersion:
    """This build's version: ``<deployment_name>:<build_id>``."""
    return WorkerDeploymentVersion(
        deployment_name=settings.deployment_name, build_id=settings.build_id
    )


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """The workers' versioning, or None when the settings turn it off. No default
    behaviour: every workflow class says its own, and a worker with a class that does
    not refuses to start (the SDK checks), so none is pinned or upgraded by accident."""
    if not settings.worker_versioning:
        return None
    return WorkerDeploymentConfig(version=deployment_version(settings), use_worker_versioning=True)


def version_name(version: WorkerDeploymentVersion) -> str:
    """The version as Temporal writes it: in the CLI, the UI and search attributes."""
    return f"{version.deployment_name}:{version.build_id}"


async def describe_deployment(client: Client, name: str) -> WorkerDeploymentInfo | None:
    """The deployment as the server has it; None before any of its workers polled."""
    response = await _describe(client, name)
    return None if response is None else response.worker_deployment_info


async def _describe(client: Client, name: str) -> DescribeWorkerDeploymentResponse | None:
    try:
        return await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=name)
        )
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise


async def current_build_id(client: Client, name: str) -> str | None:
    """The build id new workflows of deployment ``name`` start on; None while there is
    none (the deployment is new, or unknown)."""
    info = await describe_deployment(client, name)
    if info is None:
        return None
    return info.routing_config.current_deployment_version.build_id or None


async def _describe_version(
    client: Client, version: WorkerDeploymentVersion
) -> DescribeWorkerDeploymentVersionResponse | None:
    """What the server knows of the version; None for a version it does not know."""
    try:
        return await client.workflow_service.describe_worker_deployment_version(
            DescribeWorkerDeploymentVersionRequest(
                namespace=client.namespace, deployment_version=_message(version)
            )
        )
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise


async def task_queues_of(client: Client, version: WorkerDeploymentVersion) -> set[str]:
    """The task queues the version's workers have polled; empty for an unknown version."""
    response = await _describe_version(client, version)
    if response is None:
        return set()
    return {q.name for q in response.worker_deployment_version_info.task_queue_infos}


async def wait_until_registered(
    client: Client,
    version: WorkerDeploymentVersion,
    task_queues: tuple[str, ...],
    within: float = REGISTER_TIMEOUT,
) -> None:
    """Wait until the version's workers have polled every one of ``task_queues``: made
    current before that, a queue nobody of the version polls yet would get its
    workflows routed nowhere. Raises ``VersionNotRegistered`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        missing = set(task_queues) - await task_queues_of(client, version)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise VersionNotRegistered(
                f"no worker of {version_name(version)} has polled "
                f"{', '.join(sorted(missing))} within {within:.0f} s: is it running?"
            )
        await asyncio.sleep(_POLL)


async def set_current(
    client: Client,
    version: WorkerDeploymentVersion,
    task_queues: tuple[str, ...],
    *,
    within: float = REGISTER_TIMEOUT,
) -> str | None:
    """Make ``version`` current once its workers poll every queue; the build id that was
    current before (None: none). New workflows start on it from now, and auto-upgrade ones
    move to it at their next step; pinned ones stay where they are."""
    deadline = time.monotonic() + within
    await wait_until_registered(client, version, task_queues, within)
    while True:
        try:
            response = await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=version.deployment_name,
                    build_id=version.build_id,
                    identity=IDENTITY,
                )
            )
        except RPCError as exc:
            # The server's own view of the version's queues can lag the description we
            # waited on ("missing active task queues from the current version"): not yet.
            lagging = exc.status is RPCStatusCode.FAILED_PRECONDITION and "task queues" in str(exc)
            if not lagging:
                raise
            if time.monotonic() > deadline:
                raise VersionNotRegistered(
                    f"{version_name(version)} does not poll every task queue the current "
                    f"version does, after {within:.0f} s: {exc.message}"
                ) from exc
            await asyncio.sleep(_POLL)
            continue
        return response.previous_deployment_version.build_id or None


async def become_current_if_none(
    client: Client,
    version: WorkerDeploymentVersion,
    task_queues: tuple[str, ...],
    *,
    within: float = REGISTER_TIMEOUT,
) -> bool:
    """Make ``version`` current if its deployment has no current version yet: whether it
    did. A deployment that has one keeps it, so a new build started beside a running one
    (a rollout) takes no traffic until a person says so."""
    await wait_until_registered(client, version, task_queues, within)
    described = await _describe(client, version.deployment_name)
    if described is None:
        return False
    if described.worker_deployment_info.routing_config.current_deployment_version.build_id:
        return False
    try:
        await client.workflow_service.set_worker_deployment_current_version(
            SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace,
                deployment_name=version.deployment_name,
                build_id=version.build_id,
                identity=IDENTITY,
                # Only if nobody changed the deployment since we looked: two replicas of a
                # first build may both try, and a person may have chosen meanwhile.
                conflict_token=described.conflict_token,
            )
        )
    except RPCError as exc:
        if exc.status in (RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.ABORTED):
            return False
        raise
    return True


async def drainage(client: Client, version: WorkerDeploymentVersion) -> Drainage:
    """Whether the version still has pinned workflows open, as the server last looked
    (it looks every few minutes on a cluster, every second on the dev server)."""
    response = await _describe_version(client, version)
    if response is None:
        return Drainage.UNKNOWN
    info = response.worker_deployment_version_info
    status = info.drainage_info.status
    if status == VersionDrainageStatus.VERSION_DRAINAGE_STATUS_DRAINED:
        return Drainage.DRAINED
    if status == VersionDrainageStatus.VERSION_DRAINAGE_STATUS_DRAINING:
        return Drainage.DRAINING
    if info.HasField("current_since_time") or info.HasField("ramping_since_time"):
        return Drainage.ACTIVE
    return Drainage.UNKNOWN


def pinned_query(version: WorkerDeploymentVersion) -> str:
    """The visibility query for the workflows still open and pinned to ``version``: the
    ones that keep it from draining (``temporal workflow list --query`` takes it too)."""
    return (
        f"TemporalWorkerDeploymentVersion = {quote(version_name(version))} "
        "AND TemporalWorkflowVersioningBehavior = 'Pinned' "
        "AND ExecutionStatus = 'Running'"
    )


async def open_pinned(client: Client, version: WorkerDeploymentVersion) -> int:
    """How many workflows are still open and pinned to ``version`` (visibility: a moment
    behind)."""
    return (await client.count_workflows(pinned_query(version))).count


@dataclass(frozen=True)
class VersionStatus:
    """One version of the deployment, for a person deciding whether to stop its workers."""

    build_id: str
    current: bool
    drainage: Drainage
    open_pinned: int


async def deployment_status(client: Client, name: str) -> list[VersionStatus]:
    """Every version of deployment ``name``, newest first; empty for an unknown one."""
    info = await describe_deployment(client, name)
    if info is None:
        return []
    current = info.routing_config.current_deployment_version.build_id
    summaries = sorted(
        info.version_summaries, key=lambda s: s.create_time.ToDatetime(), reverse=True
    )
    found = []
    for summary in summaries:
        version = WorkerDeploymentVersion(name, summary.deployment_version.build_id)
        found.append(
            VersionStatus(
                build_id=version.build_id,
                current=version.build_id == current,
                drainage=await drainage(client, version),
                open_pinned=await open_pinned(client, version),
            )
        )
    return found


def _message(version: WorkerDeploymentVersion) -> VersionMessage:
    return VersionMessage(deployment_name=version.deployment_name, build_id=version.build_id)
