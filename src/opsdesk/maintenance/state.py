"""A request's state and timeline, the questions it asked, and its list row.
Workflow-side models: no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from opsdesk.ai.models import EmergencyMatch, MaintenanceTriage, Priority
from opsdesk.files.refs import FileRef
from opsdesk.maintenance.inputs import PreventiveFacts, RequestForm, Window
from opsdesk.maintenance.invoice import Invoice
from opsdesk.maintenance.owner_policy import OwnerPolicy
from opsdesk.maintenance.status import CallPreference, Channel, RequestStatus, Role, Stage
from opsdesk.payments.models import Payout


class TenantOnFile(BaseModel):
    """A tenant of the unit as the directory has them: who may report for it."""

    name: str
    email: str
    phone: str | None = None


class PropertyFacts(BaseModel):
    """The property, unit and owner a request is about, as the directory had them."""

    property_id: str
    name: str
    address: str
    unit: str
    owner_id: str
    owner_name: str
    owner_email: str
    owner_phone: str | None = None
    owner_calls: CallPreference = "email_and_call"
    """As this property's requests apply it: the property's preferred channel, or else the
    owner's own preference."""
    auto_approve_cents: int
    currency: str
    time_zone: str
    policy: OwnerPolicy | None = None
    """The owner's policy for the property at intake; None in requests started before
    policies (they keep the behaviour they started with)."""
    # Who may report (issue 27, item 4). Empty in facts loaded before it was added.
    tenants: list[TenantOnFile] = []
    """The unit's tenants on file, in the directory's order: a web-form report from any
    other address waits for the first of them (or ops) to confirm it."""

    def tenant_with(self, email: str) -> TenantOnFile | None:
        """The tenant on file with this email address, whatever its case."""
        wanted = email.casefold()
        return next((t for t in self.tenants if t.email.casefold() == wanted), None)


class VendorFacts(BaseModel):
    vendor_id: str
    name: str
    email: str
    phone: str | None = None
    trades: list[str]


class Asked(BaseModel):
    """One person asked one question, by one channel."""

    role: Role
    name: str
    channel: Channel
    at: datetime


class AnswerRecord(BaseModel):
    answer_id: str
    what: str
    """The answer in a few words: "approved", "quoted", "said it is not fixed"."""
    actor: str
    channel: Channel
    note: str = ""
    at: datetime


class Question(BaseModel):
    """One asking of a stage. A stage is asked again (a new round) after a vendor lapses
    or the tenant says the repair did not hold; links name their round."""

    stage: Stage
    round: int
    asked_at: datetime
    deadline: datetime
    asked: list[Asked] = []
    answer: AnswerRecord | None = None
    lapsed: bool = False
    """Its deadline passed unanswered."""
    withdrawn: bool = False
    """Closed unanswered because a person changed course (a cancel, another vendor)."""
    on_silence: Literal["expire", "approve", "make_safe", "go_ahead"] = "expire"
    """What the owner's policy lets happen if nobody answers by the deadline: the request
    expires (the stage's usual lapse), the quote counts as approved, or make-safe work only;
    an emergency's report check goes ahead as if accepted. Kept here so the pages say what the
    emails say."""


class Attachment(BaseModel):
    """A photo or video someone sent about the request: the file by reference, who sent it
    and when."""

    file: FileRef
    by: str
    role: Role
    at: datetime
    stage: Stage | None = None
    """The question it came with; None: with the report."""


class TimelineEntry(BaseModel):
    at: datetime
    status: RequestStatus
    event: str
    actor: str = ""
    channel: Channel | None = None
    note: str = ""


class RequestState(BaseModel):
    request_id: str
    status: RequestStatus
    source: str
    external_id: str | None = None
    form: RequestForm
    preventive: PreventiveFacts | None = None
    """The preventive job (and due date) the request was opened for."""
    premises: PropertyFacts | None = None
    """The property, unit and owner, from the directory when the request started."""
    triage: MaintenanceTriage | None = None
    triaged_by: str = ""
    """``rules``, or the model provider that triaged it."""
    emergency_criterion: EmergencyMatch | None = None
    """The written emergency criterion the description met, and the words that met it."""
    vendor: VendorFacts | None = None
    vendors_tried: list[str] = []
    windows: list[Window] = []
    slot: Window | None = None
    quote_cents: int | None = None
    approved_cents: int | None = None
    """The estimate the owner approved (or the limit approved without asking)."""
    invoice_cents: int | None = None
    invoice: Invoice | None = None
    """The vendor's invoice as sent (its lines, tax and document); None before it."""
    payout: Payout | None = None
    question: Question | None = None
    """The question open now."""
    questions: list[Question] = []
    """Every question asked, the open one last."""
    timeline: list[TimelineEntry] = []
    photos: list[Attachment] = []
    """Photos and videos from the tenant, oldest first (references only)."""
    ended_reason: str = ""
    created_at: datetime
    updated_at: datetime

    @property
    def priority(self) -> Priority | None:
        return self.triage.priority if self.triage else None

    @property
    def waiting_on(self) -> Role | None:
        return self.question.stage.role if self.question else None

    @property
    def tenant_on_file(self) -> TenantOnFile | None:
        """The tenant on file asked to confirm a report; None when the unit has none."""
        tenants = self.premises.tenants if self.premises else []
        return tenants[0] if tenants else None

    @property
    def report_to_check(self) -> bool:
        """Whether the report waits for the unit's tenant on file (or ops) to confirm it:
        made on the web form by someone whose address is not one on file for the unit."""
        if self.source != "form" or self.premises is None:
            return False
        return self.premises.tenant_with(self.form.tenant.email) is None

    @property
    def office_checks(self) -> bool:
        """Whether the open question is a report's check nobody on file was asked: ops
        accept or refuse it themselves."""
        question = self.question
        return question is not None and question.stage is Stage.REPORT_CHECK and not question.asked

    @property
    def vendor_name(self) -> str:
        return self.vendor.name if self.vendor else "the vendor"

    @property
    def currency(self) -> str:
        return self.premises.currency if self.premises else "USD"

    def latest(self, stage: Stage, round: int | None = None) -> Question | None:
        """The last asking of ``stage`` (of that round, when given)."""
        for question in reversed(self.questions):
            if question.stage == stage and round in (None, question.round):
                return question
        return None


class RequestRow(BaseModel):
    """What a list row shows, kept in the workflow's memo."""

    request_id: str
    status: RequestStatus
    priority: Priority | None = None
    emergency: bool = False
    summary: str
    property_name: str = ""
    unit: str = ""
    waiting_on: Role | Literal["ops"] | None = None
    """``ops``: a report's check nobody on file can answer."""
    stage: Stage | None = None
    deadline: datetime | None = None
    vendor_name: str = ""
    amount_cents: int | None = None
    currency: str = "USD"
    created_at: datetime
    updated_at: datetime
    address: str = ""
    tenant_name: str = ""
    """For the list's search, which reads rows (the memo is encrypted; search attributes are
    not, so these stay out of them). Empty in rows written before they were added."""

    @classmethod
    def of(cls, state: RequestState) -> RequestRow:
        question = state.question
        amounts = (state.invoice_cents, state.approved_cents, state.quote_cents)
        return cls(
            request_id=state.request_id,
            status=state.status,
            priority=state.priority,
            emergency=bool(state.triage and state.triage.emergency),
            summary=state.triage.summary if state.triage else state.form.description[:140],
            property_name=state.premises.name if state.premises else state.form.property_id,
            unit=state.form.unit,
            waiting_on="ops" if state.office_checks else state.waiting_on,
            stage=question.stage if question else None,
            deadline=question.deadline if question else None,
            vendor_name=state.vendor.name if state.vendor else "",
            amount_cents=next((a for a in amounts if a is not None), None),
            currency=state.currency,
            created_at=state.created_at,
            updated_at=state.updated_at,
            address=state.premises.address if state.premises else "",
            tenant_name=state.form.tenant.name,
        )
