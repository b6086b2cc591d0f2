"""A request's status, the questions it waits on, and who answers each."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Role = Literal["owner", "vendor", "tenant"]

Channel = Literal["email", "phone", "dashboard", "api"]
"""How an answer arrived: a signed link from an email (its page), a phone call, an ops
person on someone's behalf, an API client."""

CallPreference = Literal["email_and_call", "email_only", "call_only_after_hours"]
"""How an owner with a phone number is asked for approvals: phoned as the email goes out,
never phoned, or (outside office hours in the property's time zone) phoned, and emailed
only if the call does not settle it."""


class RequestStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    TRIAGED = "TRIAGED"
    OWNER_APPROVAL = "OWNER_APPROVAL"
    VENDOR_QUOTE = "VENDOR_QUOTE"
    ESTIMATE_APPROVAL = "ESTIMATE_APPROVAL"
    SCHEDULING = "SCHEDULING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETION = "COMPLETION"
    INVOICE = "INVOICE"
    INVOICE_APPROVAL = "INVOICE_APPROVAL"
    PAYMENT = "PAYMENT"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    """A step gave up (the directory or the payout unreachable for longer than it waits):
    ops are told and take it from there."""

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {
        RequestStatus.CLOSED,
        RequestStatus.CANCELLED,
        RequestStatus.DECLINED,
        RequestStatus.EXPIRED,
        RequestStatus.FAILED,
    }
)


class Stage(StrEnum):
    """A question a request waits on. Each has its own update, deadline and signed links;
    SCHEDULING asks two (the tenant's availability, then the vendor's slot)."""

    OWNER_APPROVAL = "owner_approval"
    VENDOR_QUOTE = "vendor_quote"
    ESTIMATE_APPROVAL = "estimate_approval"
    AVAILABILITY = "availability"
    SLOT = "slot"
    WORK_DONE = "work_done"
    COMPLETION = "completion"
    INVOICE = "invoice"
    INVOICE_APPROVAL = "invoice_approval"

    @property
    def role(self) -> Role:
        return STAGE_ROLE[self]

    @property
    def status(self) -> RequestStatus:
        return STAGE_STATUS[self]


STAGE_ROLE: dict[Stage, Role] = {
    Stage.OWNER_APPROVAL: "owner",
    Stage.VENDOR_QUOTE: "vendor",
    Stage.ESTIMATE_APPROVAL: "owner",
    Stage.AVAILABILITY: "tenant",
    Stage.SLOT: "vendor",
    Stage.WORK_DONE: "vendor",
    Stage.COMPLETION: "tenant",
    Stage.INVOICE: "vendor",
    Stage.INVOICE_APPROVAL: "owner",
}

STAGE_STATUS: dict[Stage, RequestStatus] = {
    Stage.OWNER_APPROVAL: RequestStatus.OWNER_APPROVAL,
    Stage.VENDOR_QUOTE: RequestStatus.VENDOR_QUOTE,
    Stage.ESTIMATE_APPROVAL: RequestStatus.ESTIMATE_APPROVAL,
    Stage.AVAILABILITY: RequestStatus.SCHEDULING,
    Stage.SLOT: RequestStatus.SCHEDULING,
    Stage.WORK_DONE: RequestStatus.IN_PROGRESS,
    Stage.COMPLETION: RequestStatus.COMPLETION,
    Stage.INVOICE: RequestStatus.INVOICE,
    Stage.INVOICE_APPROVAL: RequestStatus.INVOICE_APPROVAL,
}

CANCELLABLE = frozenset(RequestStatus) - TERMINAL - {RequestStatus.PAYMENT}
"""Cancel at any stage before the vendor is paid."""

REASSIGNABLE = frozenset(
    {
        RequestStatus.VENDOR_QUOTE,
        RequestStatus.ESTIMATE_APPROVAL,
        RequestStatus.SCHEDULING,
        RequestStatus.IN_PROGRESS,
    }
)
"""A new vendor quotes afresh: from asking for a quote until the work is done."""
