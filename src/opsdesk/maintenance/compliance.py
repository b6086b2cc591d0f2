"""Vendors' compliance documents in the database: what is on file, what an upload or a
directory import adds, who a job may be offered to, and which expiry reminders are due."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opsdesk import clock
from opsdesk.db import Database
from opsdesk.db.tables import Vendor, VendorDocument, VendorDocumentReminder, utcnow
from opsdesk.files.refs import FileRef
from opsdesk.maintenance.documents import (
    REMINDER_DAYS,
    DocumentKind,
    DocumentSpec,
    VendorDocumentOut,
    current_of,
    kind_words,
    required_kinds,
    why_not_offered,
)
from opsdesk.maintenance.payloads import SkippedVendor, VendorPick
from opsdesk.maintenance.state import VendorFacts
from opsdesk.notify.models import Notification

IMPORTED_BY = "directory import"
"""``uploaded_by`` of a document the directory file listed."""
REMINDER_TEMPLATE = "maintenance/message"
NextVendor = Callable[[str, Sequence[str]], Awaitable[VendorFacts | None]]


class VendorDocuments:
    """The documents on file, and what they decide."""

    def __init__(self, db: Database, required: Mapping[str, Sequence[DocumentKind]] | None = None):
        self.db = db
        self.required = dict(required or {})

    async def documents(self, vendor_id: str) -> list[VendorDocumentOut]:
        """Every document of one vendor, oldest first."""
        async with self.db.transaction() as session:
            rows = await _filed(session, vendor_id)
        return [_out(row) for row in rows]

    async def current(self) -> dict[str, dict[DocumentKind, VendorDocumentOut]]:
        """Each vendor's current document of each kind."""
        async with self.db.transaction() as session:
            rows = (
                await session.scalars(
                    select(VendorDocument).order_by(VendorDocument.uploaded_at, VendorDocument.id)
                )
            ).all()
        by_vendor: dict[str, list[VendorDocumentOut]] = {}
        for row in rows:
            by_vendor.setdefault(row.vendor_id, []).append(_out(row))
        return {vendor: current_of(docs) for vendor, docs in by_vendor.items()}

    async def add(
        self,
        vendor_id: str,
        kind: DocumentKind,
        expires_on: date,
        *,
        uploaded_by: str,
        file: FileRef | None = None,
        number: str | None = None,
        issuer: str | None = None,
    ) -> VendorDocumentOut:
        """File a new document: from now on the current one of its kind."""
        row = VendorDocument(
            vendor_id=vendor_id,
            kind=kind,
            expires_on=expires_on,
            number=number,
            issuer=issuer,
            file_key=file.key if file else None,
            file_type=file.content_type if file else None,
            file_name=file.name if file else None,
            file_size=file.size if file else None,
            uploaded_by=uploaded_by,
            uploaded_at=utcnow(),
        )
        async with self.db.transaction() as session:
            session.add(row)
            await session.flush()
            return _out(row)

    def required_for(self, trades: Sequence[str]) -> list[DocumentKind]:
        return required_kinds(self.required, trades)

    async def next_offerable(
        self, next_vendor: NextVendor, trade: str, exclude: Sequence[str], today: date
    ) -> VendorPick:
        """The vendor ``next_vendor`` (the directory's order) picks, passing over, and
        naming, each whose documents keep them from a job today."""
        current = await self.current()
        skipped: list[SkippedVendor] = []
        passed = list(exclude)
        while True:
            vendor = await next_vendor(trade, passed)
            if vendor is None:
                return VendorPick(vendor=None, skipped=skipped)
            reason = why_not_offered(
                current.get(vendor.vendor_id, {}), self.required_for([trade]), today
            )
            if reason is None:
                return VendorPick(vendor=vendor, skipped=skipped)
            skipped.append(
                SkippedVendor(vendor_id=vendor.vendor_id, name=vendor.name, reason=reason)
            )
            passed.append(vendor.vendor_id)

    async def claim_reminders(
        self, run_id: str, today: date, ops_email: str, zone: str
    ) -> list[Notification]:
        """The reminders due today, claimed for ``run_id``: a current document that expires
        within 30 (then 7) days, to its vendor and to ops. A claim is unique per document,
        threshold and recipient, so each is sent once however many runs see it; a retry of
        the same run gets its own claims back."""
        current = await self.current()
        async with self.db.transaction() as session:
            vendors = {v.id: v for v in (await session.scalars(select(Vendor))).all()}
        due: list[tuple[VendorDocumentOut, int, str]] = []
        for vendor_id, documents in current.items():
            for document in documents.values():
                days_left = (document.expires_on - today).days
                if days_left < 0:
                    continue
                # The nearest threshold reached: a document filed 5 days before it expires
                # is reminded once, at 7, not also at 30.
                reached = [d for d in REMINDER_DAYS if days_left <= d]
                # A vendor marked inactive is offered no jobs: nothing to renew for.
                if reached and vendor_id in vendors and vendors[vendor_id].active:
                    for recipient in ("vendor", "ops"):
                        due.append((document, min(reached), recipient))
        claimed: list[Notification] = []
        for document, days_before, recipient in due:
            if await self._claim(document.id, days_before, recipient, run_id):
                vendor = vendors[document.vendor_id]
                claimed.append(
                    _reminder(document, vendor, days_before, recipient, today, ops_email, zone)
                )
        return claimed

    async def _claim(self, document_id: int, days_before: int, recipient: str, run_id: str) -> bool:
        try:
            async with self.db.transaction() as session:
                session.add(
                    VendorDocumentReminder(
                        document_id=document_id,
                        days_before=days_before,
                        recipient=recipient,
                        run_id=run_id,
                    )
                )
        except IntegrityError:
            async with self.db.transaction() as session:
                owner = await session.scalar(
                    select(VendorDocumentReminder.run_id).where(
                        VendorDocumentReminder.document_id == document_id,
                        VendorDocumentReminder.days_before == days_before,
                        VendorDocumentReminder.recipient == recipient,
                    )
                )
            return owner == run_id
        return True


async def _filed(session: AsyncSession, vendor_id: str) -> Sequence[VendorDocument]:
    """A vendor's documents in the order they were filed: the newest of a kind is current."""
    return (
        await session.scalars(
            select(VendorDocument)
            .where(VendorDocument.vendor_id == vendor_id)
            .order_by(VendorDocument.uploaded_at, VendorDocument.id)
        )
    ).all()


async def import_listed(
    session: AsyncSession, vendor_id: str, listed: Sequence[DocumentSpec]
) -> None:
    """File the documents a directory file lists for a vendor. An import never takes a
    document's place when one of the kind on file expires as late or later (an uploaded
    renewal stays current), and importing the same file twice files nothing new."""
    rows = await _filed(session, vendor_id)
    latest: dict[str, date] = {}
    for row in rows:
        latest[row.kind] = max(latest.get(row.kind, row.expires_on), row.expires_on)
    for spec in listed:
        if spec.kind in latest and latest[spec.kind] >= spec.expires_on:
            continue
        session.add(
            VendorDocument(
                vendor_id=vendor_id,
                kind=spec.kind,
                expires_on=spec.expires_on,
                number=spec.number,
                issuer=spec.issuer,
                uploaded_by=IMPORTED_BY,
                uploaded_at=utcnow(),
            )
        )


def _out(row: VendorDocument) -> VendorDocumentOut:
    file = None
    if row.file_key is not None:
        file = FileRef(
            key=row.file_key,
            content_type=row.file_type or "application/octet-stream",
            size=row.file_size or 0,
            name=row.file_name or "",
            kind="document",
        )
    return VendorDocumentOut(
        id=row.id,
        vendor_id=row.vendor_id,
        kind=row.kind,
        number=row.number,
        issuer=row.issuer,
        expires_on=row.expires_on,
        file=file,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
    )


def _reminder(
    document: VendorDocumentOut,
    vendor: Vendor,
    days_before: int,
    recipient: str,
    today: date,
    ops_email: str,
    zone: str,
) -> Notification:
    what = kind_words(document.kind)
    on = clock.calendar_day(document.expires_on)
    left = (document.expires_on - today).days
    when = "today" if left == 0 else "tomorrow" if left == 1 else f"in {left} days"
    number = f" (number {document.number})" if document.number else ""
    if recipient == "vendor":
        to = vendor.email
        greeting = f"Hello {vendor.name},"
        paragraphs = [
            f"Your {what}{number} that we have on file expires {when}, on {on}.",
            "Please send us the renewed document before then: reply to this email with it "
            f"attached (PDF, JPEG or PNG), or send it to {ops_email}.",
            "Once it expires we cannot offer you new jobs until we have the new one.",
        ]
        dashboard_path = ""
    else:
        to = ops_email
        greeting = "Hello,"
        paragraphs = [
            f"{vendor.name}'s {what}{number} expires {when}, on {on}. We have asked them for "
            "the renewed document.",
            "When it arrives, upload it on the vendor's page. Once it expires they will not "
            "be offered new jobs.",
        ]
        dashboard_path = f"/maintenance/vendors/{vendor.id}"
    return Notification(
        key=f"vendor-document:{document.id}:{days_before}:{recipient}",
        template=REMINDER_TEMPLATE,
        to=to,
        reference=f"vendor-{vendor.id}",
        facts={
            "subject": f"{vendor.name}: {what} expires {when} ({on})",
            "greeting": greeting,
            "paragraphs": paragraphs,
            "details": [],
            "link": None,
            "button": "",
            "dashboard_path": dashboard_path,
            "time_zone": zone,
        },
    )
