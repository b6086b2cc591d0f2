"""A request's status, the questions it waits on, and who answers each."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Role = Literal["owner", "vendor", "tenant"]

Channel = Literal["email", "phone", "dashboard", "api"]
"""How an answer arrived: a signed link from an email (its page), a phone call, an ops
person on someone's behalf, an API client."""

CallPreference = Literal["email_and_call", "email_only", "call_only_after_hours", "call_first"]
"""How an owner with a phone number is asked for approvals: phoned as the email goes out,
never phoned, (outside office hours in the property's time zone) phoned and emailed only if
the call does not settle it, or ``call_first``: always phoned first, and emailed only if the
call does not settle it (a property's preferred channel "phone")."""


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

    @property
    def words(self) -> str:
        """The status as a sentence says it: ``waiting for a quote``."""
        return STATUS_WORDS[self]


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
    REPORT_CHECK = "report_check"
    """A report from the web form by someone who is not the unit's tenant on file: the
    tenant on file (or ops) confirms it before anyone is asked or sent."""

    @property
    def role(self) -> Role:
        return STAGE_ROLE[self]

    @property
    def status(self) -> RequestStatus:
        return STAGE_STATUS[self]

    @property
    def words(self) -> str:
        """What the stage waits for: ``the vendor's quote``."""
        return STAGE_WORDS[self]


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
    Stage.REPORT_CHECK: "tenant",
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
    # Triaged already (ops see its priority), and no further: nobody is asked or sent.
    Stage.REPORT_CHECK: RequestStatus.TRIAGED,
}

STATUS_WORDS: dict[RequestStatus, str] = {
    RequestStatus.SUBMITTED: "received",
    RequestStatus.TRIAGED: "assessed",
    RequestStatus.OWNER_APPROVAL: "waiting for the owner's approval",
    RequestStatus.VENDOR_QUOTE: "waiting for a quote",
    RequestStatus.ESTIMATE_APPROVAL: "waiting for the owner to approve the estimate",
    RequestStatus.SCHEDULING: "booking a visit",
    RequestStatus.IN_PROGRESS: "booked, waiting for the work",
    RequestStatus.COMPLETION: "waiting for the tenant to confirm the repair",
    RequestStatus.INVOICE: "waiting for the invoice",
    RequestStatus.INVOICE_APPROVAL: "waiting for the owner to approve the invoice",
    RequestStatus.PAYMENT: "paying the vendor",
    RequestStatus.CLOSED: "closed",
    RequestStatus.CANCELLED: "cancelled",
    RequestStatus.DECLINED: "declined",
    RequestStatus.EXPIRED: "expired",
    RequestStatus.FAILED: "stopped on a failure, with the team",
}

STAGE_WORDS: dict[Stage, str] = {
    Stage.OWNER_APPROVAL: "the owner's approval of the repair",
    Stage.VENDOR_QUOTE: "the vendor's quote",
    Stage.ESTIMATE_APPROVAL: "the owner's approval of the estimate",
    Stage.AVAILABILITY: "the tenant's times at home",
    Stage.SLOT: "the vendor's booking of a visit",
    Stage.WORK_DONE: "the vendor's word that the work is done",
    Stage.COMPLETION: "the tenant's word that it is fixed",
    Stage.INVOICE: "the vendor's invoice",
    Stage.INVOICE_APPROVAL: "the owner's approval of the invoice",
    Stage.REPORT_CHECK: "the tenant on file's word that the report is genuine",
}

CHANNEL_WORDS: dict[str, str] = {
    "email": "by email",
    "phone": "by phone",
    "dashboard": "on the dashboard",
    "api": "through the API",
}
"""How an answer came, as a sentence says it: ``approved by Dana by phone``."""


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
