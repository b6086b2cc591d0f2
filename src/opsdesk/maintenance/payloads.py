"""What the maintenance activities take and give back, and their names. No I/O."""

from __future__ import annotations

from datetime import datetime, time

from pydantic import BaseModel

from opsdesk.maintenance.owner_policy import QuietHours
from opsdesk.maintenance.state import RequestRow, VendorFacts
from opsdesk.notify.models import Notification

LOAD_PROPERTY = "load_property"
OFFICE_HOURS = "in_office_hours"
CHOOSE_VENDOR = "choose_vendor"
LOAD_VENDOR = "load_vendor"
PAY_VENDOR = "pay_vendor"
QUIET_UNTIL = "quiet_until"
CHOOSE_COMPLIANT_VENDOR = "choose_compliant_vendor"
CLAIM_DOCUMENT_REMINDERS = "claim_document_reminders"


class PropertyLookup(BaseModel):
    property_id: str
    unit: str


class VendorChoice(BaseModel):
    """The next vendor of a trade who has not been asked yet."""

    trade: str
    exclude: list[str] = []


class OfficeHoursCheck(BaseModel):
    """Is ``moment`` inside office hours (Monday to Friday) in the property's time zone?
    Asked of an activity: workflow code reads no time-zone database, whose rules may
    differ from one worker to the next and so replay a different decision."""

    moment: datetime
    time_zone: str
    office_hours: tuple[time, time]


class QuietHoursCheck(BaseModel):
    """Is ``moment`` inside the property's quiet hours for calls, and until when? Asked of
    an activity for the same reason as ``OfficeHoursCheck``."""

    moment: datetime
    time_zone: str
    quiet_hours: QuietHours


RECORD_JOB = "record_vendor_job"
CLAIM_AGING = "claim_aging_alerts"


class AgingCheck(BaseModel):
    """Which open requests crossed a threshold (days open) at ``now``: claimed for
    ``run_id``, once per request and threshold."""

    run_id: str
    now: datetime
    thresholds: list[int]


class AgedRequest(BaseModel):
    """One request past a threshold this run claimed: ops are told once."""

    row: RequestRow
    threshold_days: int
    """The highest threshold claimed."""


class AgingResult(BaseModel):
    alerts: list[AgedRequest]


class CompliantVendorChoice(VendorChoice):
    """The next vendor of a trade not yet asked whose documents allow a job on the day it
    is at ``at`` in ``time_zone`` (the property's)."""

    at: datetime
    time_zone: str


class SkippedVendor(BaseModel):
    """A vendor passed over for their documents."""

    vendor_id: str
    name: str
    reason: str
    """Follows "<name> was not asked: ", e.g. "their licence expired on Tue 1 Dec 2026"."""


class VendorPick(BaseModel):
    """Who is offered the job (None: nobody is left), and who was passed over on the way."""

    vendor: VendorFacts | None = None
    skipped: list[SkippedVendor] = []


class ReminderRequest(BaseModel):
    """What the reminders' schedule starts each run with."""

    ops_email: str
    zone: str
    """The business's time zone: what "today" is, and the zone dates are read in."""


class ReminderClaim(BaseModel):
    run_id: str
    at: datetime
    request: ReminderRequest


class DocumentReminders(BaseModel):
    """The emails a reminder run sends: claimed for it, each once."""

    notifications: list[Notification] = []
