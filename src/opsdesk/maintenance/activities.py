"""The maintenance desk's side effects, called from the workflow by typed reference."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio import activity

from opsdesk import clock
from opsdesk.maintenance.compliance import VendorDocuments
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import in_office_hours
from opsdesk.maintenance.job_facts import JobFacts
from opsdesk.maintenance.owner_policy import quiet_until
from opsdesk.maintenance.payloads import (
    CHOOSE_COMPLIANT_VENDOR,
    CHOOSE_VENDOR,
    CLAIM_DOCUMENT_REMINDERS,
    LOAD_PROPERTY,
    LOAD_VENDOR,
    OFFICE_HOURS,
    PAY_VENDOR,
    QUIET_UNTIL,
    RECORD_JOB,
    CompliantVendorChoice,
    DocumentReminders,
    OfficeHoursCheck,
    PropertyLookup,
    QuietHoursCheck,
    ReminderClaim,
    VendorChoice,
    VendorPick,
)
from opsdesk.maintenance.state import PropertyFacts, VendorFacts
from opsdesk.maintenance.vendor_jobs import VendorJobs
from opsdesk.payments.ledger import PaymentGateway
from opsdesk.payments.models import Payout, PayoutInput


class MaintenanceActivities:
    def __init__(
        self,
        directory: Directory,
        gateway: PaymentGateway,
        documents: VendorDocuments | None = None,
    ) -> None:
        self.directory = directory
        self.gateway = gateway
        self.documents = documents or VendorDocuments(directory.db)

    @activity.defn(name=LOAD_PROPERTY)
    async def load_property(self, lookup: PropertyLookup) -> PropertyFacts:
        return await self.directory.property_facts(lookup.property_id, lookup.unit)

    @activity.defn(name=CHOOSE_VENDOR)
    async def choose_vendor(self, choice: VendorChoice) -> VendorFacts | None:
        return await self.directory.next_vendor(choice.trade, choice.exclude)

    @activity.defn(name=CHOOSE_COMPLIANT_VENDOR)
    async def choose_compliant_vendor(self, choice: CompliantVendorChoice) -> VendorPick:
        """The next vendor of the trade whose documents allow a job on the property's
        today, and who was passed over for theirs."""
        today = clock.date_in(choice.at, choice.time_zone)
        return await self.documents.next_offerable(
            self.directory.next_vendor, choice.trade, choice.exclude, today
        )

    @activity.defn(name=CLAIM_DOCUMENT_REMINDERS)
    async def claim_document_reminders(self, claim: ReminderClaim) -> DocumentReminders:
        """The expiry reminders due on the business's today, claimed for this run."""
        request = claim.request
        notifications = await self.documents.claim_reminders(
            claim.run_id, clock.date_in(claim.at, request.zone), request.ops_email, request.zone
        )
        return DocumentReminders(notifications=notifications)

    @activity.defn(name=LOAD_VENDOR)
    async def load_vendor(self, vendor_id: str) -> VendorFacts:
        return await self.directory.vendor(vendor_id)

    @activity.defn(name=OFFICE_HOURS)
    async def in_office_hours(self, check: OfficeHoursCheck) -> bool:
        return in_office_hours(check.moment, check.time_zone, check.office_hours)

    @activity.defn(name=QUIET_UNTIL)
    async def quiet_until(self, check: QuietHoursCheck) -> datetime | None:
        """When the property's quiet hours around ``check.moment`` end; None: not quiet."""
        return quiet_until(check.moment, check.time_zone, check.quiet_hours)

    @activity.defn(name=PAY_VENDOR)
    async def pay_vendor(self, payout: PayoutInput) -> Payout:
        return await self.gateway.payout(payout)

    @activity.defn(name=RECORD_JOB)
    async def record_vendor_job(self, facts: JobFacts) -> bool:
        """Keep the job of a request that ended with a vendor; False when already kept."""
        return await VendorJobs(self.directory.db).record(facts)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.load_property,
            self.choose_vendor,
            self.choose_compliant_vendor,
            self.claim_document_reminders,
            self.load_vendor,
            self.in_office_hours,
            self.quiet_until,
            self.pay_vendor,
            self.record_vendor_job,
        ]
