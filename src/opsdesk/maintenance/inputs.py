"""What callers send: a repair request (tenant form, API, property-management feed), what
its workflow starts with, and the answers, reassignments and cancellations people send.
Pure data: workflows import it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from opsdesk.ai.models import Priority, Trade
from opsdesk.files.refs import FileRef
from opsdesk.maintenance.ids import REQUEST_ID_PATTERN
from opsdesk.maintenance.invoice import Invoice, ItemisedFields
from opsdesk.maintenance.status import Channel, Stage
from opsdesk.notify.models import CallOutcome
from opsdesk.values import Email, pattern

RequestId = Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)]
DirectoryId = Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
AnswerId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        pattern=pattern(
            r"^\+?[0-9 ()-]{0,31}$", "a phone number: digits, spaces, ( ) - and a leading +"
        ),
    ),
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=4000)
]
Cents = Annotated[int, Field(gt=0, le=100_000_000)]

MAX_WINDOWS = 10
MAX_FILES = 50
"""A ceiling on the references one payload may carry; the settings' per-report limit
(``max_files_per_report``) is checked where files are uploaded."""
Files = Annotated[list[FileRef], Field(max_length=MAX_FILES)]
LONGEST_WINDOW = timedelta(hours=12)


class TenantContact(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: ShortText
    email: Email
    phone: Phone = ""


class RequestForm(BaseModel):
    """A repair request as a tenant reports it."""

    property_id: DirectoryId
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    tenant: TenantContact
    description: Description
    photos: Files = []
    """Photos and videos the tenant sent with the report, by reference (claim check)."""


class MaintenancePolicy(BaseModel):
    """Deadlines and contacts, fixed into each request when it starts so that a settings
    change never alters a request mid-flight (or its replay)."""

    owner_approval: dict[Priority, timedelta] = {
        "emergency": timedelta(hours=4),
        "urgent": timedelta(hours=24),
        "routine": timedelta(hours=72),
    }
    vendor_quote: dict[Priority, timedelta] = {
        "emergency": timedelta(hours=2),
        "urgent": timedelta(hours=24),
        "routine": timedelta(hours=72),
    }
    estimate_approval: timedelta = timedelta(hours=72)
    availability: timedelta = timedelta(hours=72)
    slot: timedelta = timedelta(hours=48)
    work_grace: timedelta = timedelta(hours=48)
    """How long after the booked slot ends the vendor has to mark the work done."""
    completion: timedelta = timedelta(hours=24)
    """After this the work counts as confirmed without the tenant's answer."""
    invoice: timedelta = timedelta(days=14)
    invoice_approval: timedelta = timedelta(days=7)
    ops_email: Email = "ops@opsdesk.local"
    report_check: dict[Priority, timedelta] = {
        "emergency": timedelta(hours=4),
        "urgent": timedelta(hours=48),
        "routine": timedelta(hours=48),
    }
    """How long the unit's tenant on file (or ops) has to confirm a web-form report made by
    someone else; after it, the request expires. Ops hear of an emergency at once."""
    office_hours: tuple[time, time] = (time(9, 0), time(18, 0))
    """Monday to Friday, in the property's time zone: when an owner who asked to be only
    phoned after hours is emailed too."""

    def in_office_hours(self, moment: datetime, time_zone: str) -> bool:
        """Only for histories recorded before ``OFFICE_HOURS_IN_ACTIVITY``; otherwise an
        activity decides (``MaintenanceActivities.in_office_hours``)."""
        return in_office_hours(moment, time_zone, self.office_hours)

    def deadline(self, stage: Stage, priority: Priority) -> timedelta:
        """How long a stage waits for its answer (WORK_DONE counts from the slot's end)."""
        per_stage: dict[Stage, timedelta] = {
            Stage.OWNER_APPROVAL: self.owner_approval[priority],
            Stage.VENDOR_QUOTE: self.vendor_quote[priority],
            Stage.ESTIMATE_APPROVAL: self.estimate_approval,
            Stage.AVAILABILITY: self.availability,
            Stage.SLOT: self.slot,
            Stage.WORK_DONE: self.work_grace,
            Stage.COMPLETION: self.completion,
            Stage.INVOICE: self.invoice,
            Stage.INVOICE_APPROVAL: self.invoice_approval,
            Stage.REPORT_CHECK: self.report_check[priority],
        }
        return per_stage[stage]


def in_office_hours(moment: datetime, time_zone: str, office_hours: tuple[time, time]) -> bool:
    """Monday to Friday between ``office_hours``, in ``time_zone``."""
    local = moment.astimezone(ZoneInfo(time_zone))
    start, end = office_hours
    return local.weekday() < 5 and start <= local.time() < end


class PreventiveFacts(BaseModel):
    """The preventive job a request was opened for, and the due date it is for: the
    request is triaged as the job says, and the repair is not put to the owner."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    title: str
    trade: Trade
    due: date
    due_words: str
    """The due date as people read it (``Mon 15 Mar 2027``), worded when the request opens."""


class RequestSubmission(BaseModel):
    """What a request's workflow starts with."""

    request_id: RequestId
    form: RequestForm
    source: Literal["form", "api", "pms", "preventive"] = "form"
    external_id: str | None = None
    """The property-management system's id, for a polled request."""
    policy: MaintenancePolicy = MaintenancePolicy()
    preventive: PreventiveFacts | None = None
    """Set for a request a preventive job's schedule opened."""


# -- answers: one update per stage, each carrying its own id ------------------------------------


class Answer(BaseModel):
    """Who answered, how, and the id that makes a repeat of this answer harmless (a link's
    unique id, an API client's Idempotency-Key, a call's id)."""

    answer_id: AnswerId
    actor: ShortText
    channel: Channel
    note: Note = ""
    round: Annotated[int, Field(ge=1)] | None = None
    """Which asking of the stage this answers (a link names it); None: the one open now."""


class Decision(Answer):
    """The owner's answer to the repair, the estimate or the invoice; and the tenant on
    file's (or ops') to a report someone else made (``approve``: it is genuine)."""

    approve: bool


class QuoteAnswer(Answer):
    """The vendor's quote, or that they cannot take the job (the next vendor is asked)."""

    amount_cents: Cents | None = None
    decline: bool = False

    @model_validator(mode="after")
    def _amount_or_decline(self) -> Self:
        if self.decline == (self.amount_cents is not None):
            raise ValueError("give either an amount or decline, not both")
        return self


class Window(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.end <= self.start:
            raise ValueError("a window must end after it starts")
        if self.end - self.start > LONGEST_WINDOW:
            raise ValueError("a window may be at most 12 hours long")
        return self

    def holds(self, other: Window) -> bool:
        return self.start <= other.start and other.end <= self.end


class AvailabilityAnswer(Answer):
    """When the tenant is at home."""

    windows: Annotated[list[Window], Field(min_length=1, max_length=MAX_WINDOWS)]
    photos: Files = []
    """Photos and videos the tenant sent with the answer, by reference."""


class SlotAnswer(Answer):
    """The vendor's visit, inside one of the tenant's windows; or ``none_fits``: none of
    them works for the vendor, and the tenant is asked for other times."""

    slot: Window | None = None
    none_fits: bool = False

    @model_validator(mode="after")
    def _slot_or_none_fits(self) -> Self:
        if self.none_fits == (self.slot is not None):
            raise ValueError("give either a visit or that none of the times fits, not both")
        return self


class WorkDoneAnswer(Answer):
    """The vendor says the work is done."""


class CompletionAnswer(Answer):
    """The tenant confirms the repair, or says it is not fixed."""

    fixed: bool
    photos: Files = []
    """Photos and videos the tenant sent with the answer (the repair, or what still leaks)."""


class InvoiceAnswer(ItemisedFields, Answer):
    """The vendor's invoice: itemised (a number, lines, tax and the document), or, as
    clients written before itemised invoices send it, an amount alone."""

    amount_cents: Cents | None = None

    @model_validator(mode="after")
    def _lines_or_amount(self) -> Self:
        if bool(self.lines) == (self.amount_cents is not None):
            raise ValueError(
                "give the invoice's lines (labour and materials, each with a quantity and "
                "a price)" + (", not an amount as well" if self.lines else "")
            )
        return self

    @property
    def total_cents(self) -> int:
        """What the vendor is paid: the lines and the tax, or the amount sent alone."""
        return self.amount_cents if self.amount_cents is not None else self.itemised_total

    def invoice(self) -> Invoice:
        return Invoice(
            number=self.number,
            lines=self.lines,
            tax_cents=self.tax_cents,
            total_cents=self.total_cents,
            document=self.document,
        )


class ReassignRequest(BaseModel):
    """Ops give the job to another vendor (or the next of the trade), who quotes afresh."""

    answer_id: AnswerId
    actor: ShortText
    vendor_id: DirectoryId | None = None
    note: Note = ""


class CancelRequest(BaseModel):
    answer_id: AnswerId
    actor: ShortText
    reason: Note = ""


ANSWER_MODELS: dict[Stage, type[Answer]] = {
    Stage.OWNER_APPROVAL: Decision,
    Stage.VENDOR_QUOTE: QuoteAnswer,
    Stage.ESTIMATE_APPROVAL: Decision,
    Stage.AVAILABILITY: AvailabilityAnswer,
    Stage.SLOT: SlotAnswer,
    Stage.WORK_DONE: WorkDoneAnswer,
    Stage.COMPLETION: CompletionAnswer,
    Stage.INVOICE: InvoiceAnswer,
    Stage.INVOICE_APPROVAL: Decision,
    Stage.REPORT_CHECK: Decision,
}


REPORT_CONFIRMED = "confirmed the report"
REPORT_REFUSED = "refused the report"
"""How the timeline and the records say the answer to a report's check."""

NONE_FITS = "said none of the tenant's times fits"
"""How the timeline and the records say a vendor's "none of these times works"."""


def describe_answer(stage: Stage, answer: Answer) -> str:
    """The answer in a few words, as the timeline and "already answered" say it."""
    if stage is Stage.REPORT_CHECK and isinstance(answer, Decision):
        return REPORT_CONFIRMED if answer.approve else REPORT_REFUSED
    if isinstance(answer, Decision):
        return "approved" if answer.approve else "declined"
    if isinstance(answer, QuoteAnswer):
        return "cannot take the job" if answer.decline else "quoted"
    if isinstance(answer, AvailabilityAnswer):
        count = len(answer.windows)
        return f"gave {count} time window{'' if count == 1 else 's'}"
    if isinstance(answer, SlotAnswer):
        return NONE_FITS if answer.none_fits else "booked a visit"
    if isinstance(answer, CompletionAnswer):
        return "confirmed it is fixed" if answer.fixed else "said it is not fixed"
    if isinstance(answer, InvoiceAnswer):
        return "sent the invoice"
    return "marked the work done"


class CallTranscript(BaseModel):
    """What was said on a call's conversation that recorded no answer (one that did keeps
    its transcript as its answer's note). A signal; a repeat is ignored."""

    call_id: str
    """The id of the call's grant."""
    stage: Stage
    round: int
    transcript: Note


class CallEnded(BaseModel):
    """A call's status callback: how the call about one question ended. A signal: the
    provider wants no answer, and a repeat of one is ignored."""

    call_id: str
    """The id of the call's grant (its webhook token's ``jti``)."""
    stage: Stage
    round: int
    outcome: CallOutcome
    provider_id: str = ""
    seconds: int = 0
