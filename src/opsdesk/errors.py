"""Errors a retry cannot fix, declared in one place.

An activity raises one of these; Temporal records its class name as the failure type, and
every retry policy lists ``NON_RETRYABLE`` so the step fails at once instead of retrying.
Anything else an activity raises (a dropped connection, a locked database, a 503) is
retried under the step's policy.
"""

from __future__ import annotations


class NonRetryableError(Exception):
    """Base class: the same input will fail the same way every time."""


class InvalidOrder(NonRetryableError):
    """The order refers to something that does not exist or cannot be sold."""


class UnknownProduct(NonRetryableError):
    """No product has this sku."""


class ProductUnavailable(NonRetryableError):
    """A product was withdrawn from sale after the order was validated."""


class PaymentDeclined(NonRetryableError):
    """The payment method was declined; retrying would only be declined again."""


class RefundRefused(NonRetryableError):
    """The refund cannot be made: unknown charge, or more than what is left to refund."""


class EmailRejected(NonRetryableError):
    """The mail server refused the message or its recipient permanently (5xx)."""


class AiRequestRejected(NonRetryableError):
    """The AI provider refused the request itself (400, 401, 403, 404, 422): a key, model
    name or request that is wrong stays wrong."""


_CLASSES: list[type[NonRetryableError]] = [NonRetryableError, *NonRetryableError.__subclasses__()]
NON_RETRYABLE: tuple[str, ...] = tuple(cls.__name__ for cls in _CLASSES)
