"""The notification and phone-call workflows: started as children (parent-close ABANDON)
so that a slow mail server or voice provider never holds up the workflow that has
something to say."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, VersioningBehavior
from temporalio.exceptions import ActivityError

from opsdesk.errors import NON_RETRYABLE
from opsdesk.notify.models import (
    DeliveryOutcome,
    EmailContent,
    Notification,
    OutboxRecord,
    PhoneCall,
)

with workflow.unsafe.imports_passed_through():
    from opsdesk.notify.activities import CallActivities, NotifyActivities

# Model output that does not fit is retried at most three times; so is a busy provider.
AI_ATTEMPTS = 4
AI_WRITTEN_EMAIL = "ai-written-email"

CHILD_ID_SEPARATOR = ":"
"""Between a parent's workflow id and a child's own parts. No order id or request id may
contain it (``ORDER_ID_PATTERN``, ``REQUEST_ID_PATTERN``), so no input can produce another
workflow's child id."""


def child_key(parent_workflow_id: str, *parts: str | int) -> str:
    """A notification's or a call's key, which is also its workflow id: the parent's
    workflow id and what the child is, e.g. ``order-1043:notify:1:confirmation``. The
    outbox records the message under the same key, once."""
    return CHILD_ID_SEPARATOR.join([parent_workflow_id, *(str(part) for part in parts)])


def legacy_child_id(key: str) -> str:
    """The workflow id children were started under before ``UNFORGEABLE_CHILD_IDS``: the
    key with its separators replaced by ``-``, which an order id could imitate. Kept for
    the workflows started before the patch."""
    return key.replace(CHILD_ID_SEPARATOR, "-")


UNFORGEABLE_CHILD_IDS = "unforgeable-child-ids"
"""Patch: children start under their key itself (see ``child_key``)."""


def child_workflow_id(key: str) -> str:
    """The workflow id to start the child keyed ``key`` under; in workflow code only."""
    return key if workflow.patched(UNFORGEABLE_CHILD_IDS) else legacy_child_id(key)


_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=list(NON_RETRYABLE),
)
_AI_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=AI_ATTEMPTS,
    non_retryable_error_types=list(NON_RETRYABLE),
)


# Auto-upgrade: a delivery retries until the mail server takes it, however long that is;
# pinned, it would keep an old build running. Changes stay behind a `workflow.patched`.
@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class NotificationWorkflow:
    @workflow.run
    async def run(self, notification: Notification) -> DeliveryOutcome:
        content = None
        if notification.ai_written and workflow.patched(AI_WRITTEN_EMAIL):
            content = await self._ai_written(notification)
        if content is None:
            content = await workflow.execute_activity_method(
                NotifyActivities.compose_email,
                notification,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(minutes=30),
                retry_policy=_RETRY,
            )
        await workflow.execute_activity_method(
            NotifyActivities.record_email,
            OutboxRecord(notification=notification, content=content),
            start_to_close_timeout=timedelta(seconds=10),
            schedule_to_close_timeout=timedelta(days=1),
            retry_policy=_RETRY,
        )
        try:
            outcome = await workflow.execute_activity_method(
                NotifyActivities.deliver_email,
                notification.key,
                start_to_close_timeout=timedelta(seconds=60),
                # A mail server may be down for a while; the message waits in the outbox.
                schedule_to_close_timeout=timedelta(days=2),
                retry_policy=_RETRY,
            )
        except ActivityError as err:
            detail = str(err.cause) if err.cause else str(err)
            return DeliveryOutcome(key=notification.key, status="failed", detail=detail)
        return outcome

    async def _ai_written(self, notification: Notification) -> EmailContent | None:
        """The model's prose around the facts, or None: the template then writes it all."""
        try:
            content = await workflow.execute_activity_method(
                NotifyActivities.write_order_email,
                notification,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(minutes=5),
                retry_policy=_AI_RETRY,
            )
        except ActivityError as err:
            workflow.logger.warning("the email falls back to its template: %s", err.cause or err)
            return None
        return content


# Auto-upgrade: a call is retried until its question's deadline, hours or days away.
@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class PhoneCallWorkflow:
    """Record the call in the outbox, then place it once. A call is worth placing only
    while its question is open, so the retries stop at the question's deadline."""

    @workflow.run
    async def run(self, call: PhoneCall) -> DeliveryOutcome:
        await workflow.execute_activity_method(
            CallActivities.record_call,
            call,
            start_to_close_timeout=timedelta(seconds=10),
            schedule_to_close_timeout=timedelta(days=1),
            retry_policy=_RETRY,
        )
        open_for = call.grant.expires_at - workflow.now()
        if open_for <= timedelta(0):
            return DeliveryOutcome(key=call.key, status="not_sent", detail="the question closed")
        try:
            return await workflow.execute_activity_method(
                CallActivities.place_call,
                call,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=min(open_for, timedelta(hours=2)),
                retry_policy=_RETRY,
            )
        except ActivityError as err:
            detail = str(err.cause) if err.cause else str(err)
            return DeliveryOutcome(key=call.key, status="failed", detail=detail)
