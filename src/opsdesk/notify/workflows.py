"""The notification workflow: started as a child (parent-close ABANDON) so that a slow
mail server never holds up the workflow that has something to say."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from opsdesk.errors import NON_RETRYABLE
from opsdesk.notify.models import (
    COMPOSE_EMAIL,
    DELIVER_EMAIL,
    RECORD_EMAIL,
    DeliveryOutcome,
    EmailContent,
    Notification,
    OutboxRecord,
)

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=list(NON_RETRYABLE),
)


@workflow.defn
class NotificationWorkflow:
    @workflow.run
    async def run(self, notification: Notification) -> DeliveryOutcome:
        content = await workflow.execute_activity(
            COMPOSE_EMAIL,
            notification,
            result_type=EmailContent,
            start_to_close_timeout=timedelta(seconds=60),
            schedule_to_close_timeout=timedelta(minutes=30),
            retry_policy=_RETRY,
        )
        await workflow.execute_activity(
            RECORD_EMAIL,
            OutboxRecord(notification=notification, content=content),
            start_to_close_timeout=timedelta(seconds=10),
            schedule_to_close_timeout=timedelta(days=1),
            retry_policy=_RETRY,
        )
        try:
            outcome: DeliveryOutcome = await workflow.execute_activity(
                DELIVER_EMAIL,
                notification.key,
                result_type=DeliveryOutcome,
                start_to_close_timeout=timedelta(seconds=60),
                # A mail server may be down for a while; the message waits in the outbox.
                schedule_to_close_timeout=timedelta(days=2),
                retry_policy=_RETRY,
            )
        except ActivityError as err:
            detail = str(err.cause) if err.cause else str(err)
            return DeliveryOutcome(key=notification.key, status="failed", detail=detail)
        return outcome
