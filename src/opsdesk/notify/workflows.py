"""The notification and phone-call workflows: started as children (parent-close ABANDON)
so that a slow mail server or voice provider never holds up the workflow that has
something to say."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
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


@workflow.defn
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


@workflow.defn
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
