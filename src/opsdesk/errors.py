"""Errors a retry cannot fix, declared in one place.

An activity raises one of these; Temporal records its class name as the failure type, and
every retry policy lists ``NON_RETRYABLE`` so the step fails at once instead of retrying.
Anything else an activity raises (a dropped connection, a locked database, a 503) is
retried under the step's policy.
"""

from __future__ import annotations


class NonRetryableError(Exception):
    """Base class: the same input will fail the same way every time."""

    benign = False
    """An expected business outcome (a declined card, an unknown sku), not a fault: the
    worker logs it as one line, without a traceback, and no failure metric counts it."""


class InvalidOrder(NonRetryableError):
    """The order refers to something that does not exist or cannot be sold."""

    benign = True


class UnknownProduct(NonRetryableError):
    """No product has this sku."""

    benign = True


class ProductUnavailable(NonRetryableError):
    """A product was withdrawn from sale after the order was validated."""

    benign = True


class PaymentDeclined(NonRetryableError):
    """The payment method was declined; retrying would only be declined again."""

    benign = True


class OrderIdReused(NonRetryableError):
    """An order id that an earlier order already used: its charges, reservations and
    messages are keyed by that id, so a second order under it must not run."""


class EffectUndone(NonRetryableError):
    """A step asked for an effect that compensation has already undone (a refunded charge,
    released stock, a withdrawn warehouse request): only a reset of a finished order asks
    for that, and redoing it under the same key would pretend the undo never happened."""


class RefundRefused(NonRetryableError):
    """The refund cannot be made: unknown charge, or more than what is left to refund."""


class EmailRejected(NonRetryableError):
    """The mail server refused the message or its recipient permanently (5xx)."""


class AiRequestRejected(NonRetryableError):
    """The AI provider refused the request itself (400, 401, 403, 404, 422): a key, model
    name or request that is wrong stays wrong."""


class CallRejected(NonRetryableError):
    """The voice provider refused the call itself (a 4xx other than 429: a number it cannot
    dial, credentials that are wrong): placing it again would be refused again."""


class UnknownProperty(NonRetryableError):
    """A repair request names a property (or unit) the directory does not have."""

    benign = True


class UnknownVendor(NonRetryableError):
    """No active vendor has this id."""

    benign = True


class PmsRefused(NonRetryableError):
    """The property-management system refused the poll (401, 403, 404, another 4xx): a wrong
    token or address stays wrong until someone fixes the settings."""


class PmsProtocolError(NonRetryableError):
    """The property-management system answered in a shape the adapter does not read (not
    JSON, no list of requests, no cursor after records). The poller sets such an answer
    aside and goes on (``pms.BadAnswer``)."""


class PmsNotConfigured(NonRetryableError):
    """This worker has no property-management system for the poller's source: no
    ``OPSDESK_PMS_URL``, or another ``OPSDESK_PMS_SOURCE``."""


class UnknownPreventiveJob(NonRetryableError):
    """A preventive job's schedule ran for a job the database no longer has."""

    benign = True


_CLASSES: list[type[NonRetryableError]] = [NonRetryableError, *NonRetryableError.__subclasses__()]
NON_RETRYABLE: tuple[str, ...] = tuple(cls.__name__ for cls in _CLASSES)
