"""Worker assembly: one worker per task queue, all in one process."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker, WorkerDeploymentConfig, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from opsdesk.ai.activities import AiActivities
from opsdesk.ai.emergency import load_policy
from opsdesk.ai.providers import Provider
from opsdesk.ai.select import build_provider
from opsdesk.ai.tasks import ProseTask, RiskTask, Triager
from opsdesk.ai.usage import UsageLog
from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.files.store import store_for
from opsdesk.maintenance.activities import MaintenanceActivities
from opsdesk.maintenance.aging import AgingWorkflow
from opsdesk.maintenance.aging_alerts import AgingActivities
from opsdesk.maintenance.aging_schedule import SCHEDULE_ID as AGING_SCHEDULE_ID
from opsdesk.maintenance.aging_schedule import ensure_aging_schedule
from opsdesk.maintenance.claims import IntakeClaims
from opsdesk.maintenance.compliance import VendorDocuments
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.document_reminders import DocumentRemindersWorkflow
from opsdesk.maintenance.document_schedule import REMIND_AT, ensure_reminder_schedule
from opsdesk.maintenance.document_schedule import SCHEDULE_ID as REMINDERS_SCHEDULE_ID
from opsdesk.maintenance.ids import poller_workflow_id
from opsdesk.maintenance.intake import IntakeActivities, Rejects
from opsdesk.maintenance.poller import PmsPollerWorkflow
from opsdesk.maintenance.polling import RESUME, PollerInput
from opsdesk.maintenance.preventive_runs import PreventiveActivities
from opsdesk.maintenance.preventive_schedules import reconcile_schedules
from opsdesk.maintenance.preventive_workflow import PreventiveRunWorkflow
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.notify.activities import CallActivities, NotifyActivities
from opsdesk.notify.compose import AiEmailWriter, TemplateComposer
from opsdesk.notify.devmail import uses_dev_mailbox
from opsdesk.notify.email import Mailer
from opsdesk.notify.outbox import Outbox
from opsdesk.notify.signing import LinkSigner, link_key
from opsdesk.notify.voice import build_voice
from opsdesk.notify.workflows import NotificationWorkflow, PhoneCallWorkflow
from opsdesk.orders.activities import OrderActivities
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.restock import RestockWorkflow
from opsdesk.orders.risk import AiRiskScorer, RiskScorer, RulesRiskScorer
from opsdesk.orders.warehouse import Warehouse
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.payments.ledger import LedgerGateway
from opsdesk.reports.activities import ReportActivities
from opsdesk.reports.schedule import SCHEDULE_ID, ensure_report_schedule
from opsdesk.reports.workflows import DailyReportWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect, metrics_runtime
from opsdesk.temporal.deployments import (
    VersionNotRegistered,
    become_current_if_none,
    current_build_id,
    deployment_config,
    deployment_version,
    version_name,
)
from opsdesk.temporal.interceptors import OutcomeInterceptor, UnversionedInterceptor

log = logging.getLogger(__name__)
T = TypeVar("T")

# Modules workflows import that are safe to share with the sandbox: loading them once
# outside it, instead of re-importing them for every workflow run, is the cheapest speed-up.
PASSTHROUGH_MODULES = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "opsdesk.errors",
    "opsdesk.values",
    "opsdesk.clock",
    "opsdesk.ai.models",
    "opsdesk.orders.status",
    "opsdesk.orders.ids",
    "opsdesk.orders.inputs",
    "opsdesk.orders.payloads",
    "opsdesk.payments.models",
    "opsdesk.orders.state",
    "opsdesk.orders.rules",
    "opsdesk.orders.steps",
    "opsdesk.temporal.steps",
    "opsdesk.orders.notices",
    "opsdesk.notify.models",
    "opsdesk.notify.links",
    "opsdesk.maintenance.status",
    "opsdesk.maintenance.ids",
    "opsdesk.maintenance.inputs",
    "opsdesk.maintenance.payloads",
    "opsdesk.maintenance.state",
    "opsdesk.maintenance.notices",
    "opsdesk.maintenance.steps",
    "opsdesk.maintenance.polling",
    "opsdesk.maintenance.preventive",
    "opsdesk.reports.models",
    "opsdesk.reports.steps",
    "opsdesk.temporal.search_attributes",
    # A workflow module, passed through all the same: every order, maintenance request and
    # report imports it for its children's typed references, and every notification runs
    # from it, so re-importing it ran its two ``@workflow.defn`` again in every sandbox, about
    # 5% of a worker's CPU under load (docs/benchmarks.md, "Where the time went"). It keeps
    # no state, and its two workflows only call activities and read ``workflow.now``.
    "opsdesk.notify.workflows",
)


def task_queues(settings: Settings) -> tuple[str, ...]:
    return (settings.orders_task_queue, settings.maintenance_task_queue)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def order_activities(db: Database, provider: Provider | None) -> OrderActivities:
    scorer: RiskScorer = (
        RulesRiskScorer() if provider is None else AiRiskScorer(RiskTask(provider, UsageLog(db)))
    )
    return OrderActivities(
        db=db,
        inventory=Inventory(db),
        gateway=LedgerGateway(db),
        warehouse=Warehouse(db),
        scorer=scorer,
    )


def maintenance_activities(db: Database, settings: Settings | None = None) -> MaintenanceActivities:
    order = settings.vendor_order if settings is not None else "rank"
    required = settings.vendor_documents_required if settings else {}
    return MaintenanceActivities(
        directory=Directory(db, order),
        gateway=LedgerGateway(db),
        documents=VendorDocuments(db, required),
    )


def intake_activities(db: Database, settings: Settings) -> IntakeActivities:
    return IntakeActivities(settings, Directory(db), Rejects(db), IntakeClaims(db))


def ai_activities(
    db: Database, provider: Provider | None, settings: Settings | None = None
) -> AiActivities:
    """The triage, under the emergency criteria ``settings`` name (the shipped ones without
    settings), showing the tenant's photos to a model that reads them."""
    policy = load_policy(settings.emergency_criteria) if settings is not None else None
    photos = None
    if settings is not None and settings.ai_reads_images:
        photos = store_for(settings).get
    return AiActivities(triager=Triager(provider, UsageLog(db), policy, photos))


def notify_activities(
    db: Database, settings: Settings, provider: Provider | None
) -> NotifyActivities:
    prose = None if provider is None else ProseTask(provider, UsageLog(db))
    return NotifyActivities(
        outbox=Outbox(db),
        mailer=Mailer(settings),
        composer=TemplateComposer(
            settings.resolved_public_url,
            LinkSigner(link_key(settings), settings.resolved_public_url),
        ),
        writer=AiEmailWriter(prose, settings.resolved_public_url),
    )


def call_activities(db: Database, settings: Settings) -> CallActivities:
    return CallActivities(
        outbox=Outbox(db),
        voice=build_voice(settings),
        signer=LinkSigner(link_key(settings), settings.resolved_public_url),
        dev_phone=uses_dev_mailbox(settings),
    )


def build_workers(
    client: Client,
    db: Database,
    settings: Settings,
    runner: WorkflowRunner | None = None,
    deployment: WorkerDeploymentConfig | None = None,
) -> list[Worker]:
    """The workers of every task queue, with the model provider the settings ask for.
    ``runner`` replaces the sandbox as configured here (the benchmarks compare them);
    ``deployment`` makes them a version of a Worker Deployment (``opsdesk worker`` passes
    the settings' one, tests and benchmarks run unversioned unless they say so)."""
    provider = build_provider(settings)
    notify = notify_activities(db, settings, provider).all()
    ai = ai_activities(db, provider, settings).all()

    def worker(task_queue: str, workflows: list[type], activities: list[Any]) -> Worker:
        return Worker(
            client,
            task_queue=task_queue,
            # Notifications run as children on their parent's queue.
            workflows=[*workflows, NotificationWorkflow],
            activities=[*activities, *notify, *ai],
            workflow_runner=runner or workflow_runner(),
            interceptors=[OutcomeInterceptor()]
            + ([] if deployment else [UnversionedInterceptor()]),
            max_cached_workflows=settings.worker_cache,
            graceful_shutdown_timeout=timedelta(seconds=10),
            deployment_config=deployment,
        )

    return [
        worker(
            settings.orders_task_queue,
            # The daily report reads both desks; it runs beside the orders.
            [OrderWorkflow, RestockWorkflow, DailyReportWorkflow],
            [*order_activities(db, provider).all(), *ReportActivities(client, db, settings).all()],
        ),
        worker(
            settings.maintenance_task_queue,
            [
                MaintenanceRequestWorkflow,
                PmsPollerWorkflow,
                PhoneCallWorkflow,
                AgingWorkflow,
                PreventiveRunWorkflow,
                DocumentRemindersWorkflow,
            ],
            [
                *maintenance_activities(db, settings).all(),
                *AgingActivities(client, db, settings).all(),
                *intake_activities(db, settings).all(),
                *call_activities(db, settings).all(),
                *PreventiveActivities(client, db, settings).all(),
            ],
        ),
    ]


@asynccontextmanager
async def running(workers: Sequence[Worker]) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        yield


async def start_poller(
    client: Client, settings: Settings, *, max_polls: int | None = None
) -> WorkflowHandle[PmsPollerWorkflow, None]:
    """Start the configured source's poller, or wake the running one (``resume``): one per
    source however many workers start. ``max_polls`` bounds a run (tests make it small)."""
    start = PollerInput(source=settings.pms_source, poll_interval=settings.pms_poll_interval)
    if max_polls is not None:
        start.max_polls = max_polls
    return await client.start_workflow(
        PmsPollerWorkflow.run,
        start,
        id=poller_workflow_id(settings.pms_source),
        task_queue=settings.maintenance_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=RESUME,
    )


async def _set(whose: str, ensure: Awaitable[T]) -> T | None:
    """What setting a schedule gave, or None (logged) when Temporal refused it: a namespace
    where this worker may not manage schedules still runs everything else."""
    try:
        return await ensure
    except RPCError as exc:
        log.warning("%s schedule could not be set: %s", whose, exc.message)
        return None


SETTLE_WITHIN = 60.0
"""Seconds a worker keeps trying to learn (or set) its deployment's current version while
the server answers "too many requests"."""


async def settle_version(client: Client, settings: Settings) -> None:
    """Say which version this worker is and whether new workflows start on it, making it
    current when its deployment has no current version yet (a fresh stack): otherwise every
    workflow would wait for a person to choose one."""
    if not settings.worker_versioning:
        return
    version = deployment_version(settings)
    name = version_name(version)
    # The server limits how often one deployment is asked about (API replicas' readiness
    # probes ask too): "too many requests" is "not yet", tried again for a while.
    deadline = time.monotonic() + SETTLE_WITHIN
    while True:
        try:
            made = await become_current_if_none(client, version, task_queues(settings))
            current = await current_build_id(client, version.deployment_name)
            break
        except RPCError as exc:
            busy = exc.status in (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE)
            if busy and time.monotonic() < deadline:
                await asyncio.sleep(1.0)
                continue
            log.warning("could not tell whether version %s is current: %s", name, exc)
            return
        except VersionNotRegistered as exc:
            log.warning("could not tell whether version %s is current: %s", name, exc)
            return
    if made:
        log.info("version %s is current: the deployment had none", name)
    elif current == version.build_id:
        log.info("version %s is current", name)
    else:
        # A rollout: this build waits beside the current one until a person chooses it.
        log.info(
            "version %s is running beside the current build %s; new workflows start on it "
            "once it is made current (opsdesk deployment current %s)",
            name,
            current,
            version.build_id,
        )


async def run(settings: Settings, runner: WorkflowRunner | None = None) -> None:
    """Run every task queue's worker until SIGINT or SIGTERM, then drain and stop."""
    await upgrade_async(settings.resolved_database_url)
    address = settings.worker_metrics_address
    client = await connect(settings, runtime=metrics_runtime(address) if address else None)
    if address:
        log.info("SDK metrics for Prometheus at http://%s/metrics", address)
    db = Database(settings.resolved_database_url)
    workers = build_workers(client, db, settings, runner, deployment_config(settings))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    try:
        # Said before polling starts: once a worker polls, `opsdesk dev` may call the stack
        # ready and print its URLs, which should be the console's last lines.
        schedule = await _set("the daily report's", ensure_report_schedule(client, settings))
        if schedule is not None:
            log.info(
                "daily report schedule %s %s: weekdays at %s %s",
                SCHEDULE_ID,
                schedule,
                settings.report_at.strftime("%H:%M"),
                settings.business_time_zone,
            )
        aging = await _set("the aging alerts'", ensure_aging_schedule(client, settings))
        if aging is not None:
            log.info(
                "aging alerts schedule %s %s: every %s",
                AGING_SCHEDULE_ID,
                aging,
                settings.aging_every,
            )
        jobs = await _set("the preventive jobs'", reconcile_schedules(client, settings, db))
        if jobs is not None:
            log.info(
                "preventive job schedules: %d created, %d updated",
                jobs["created"],
                jobs["updated"],
            )
        reminders = await _set(
            "the document reminders'", ensure_reminder_schedule(client, settings)
        )
        if reminders is not None:
            log.info(
                "document reminders schedule %s %s: every day at %s %s",
                REMINDERS_SCHEDULE_ID,
                reminders,
                REMIND_AT.strftime("%H:%M"),
                settings.business_time_zone,
            )
        if settings.pms_url:
            await start_poller(client, settings)
            log.info("intake from %s: %s", settings.pms_source, settings.pms_url)
        log.info("worker polling %s", ", ".join(task_queues(settings)))
        async with running(workers):
            settle = asyncio.create_task(settle_version(client, settings))
            await stop.wait()
            settle.cancel()
            log.info("worker stopping")
    finally:
        await db.dispose()
