"""What was paid to vendors, by property and month: the rows an accountant reconciles (the
vendor's invoice number, the amount, the property) and the totals per property and month.

A payout's month is the month in the property's time zone: a payout late on the last
evening of a month in New York belongs to that month, not to the next one in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, StringConstraints
from sqlalchemy import select

from opsdesk import clock
from opsdesk.db import Database
from opsdesk.db.tables import PayoutRow, Property, Vendor
from opsdesk.values import pattern

# Years from 2000 to 2199: far from the calendar's ends, where a month's bounds (and the
# zones' spread around them) would fall off it.
Month = Annotated[
    str,
    StringConstraints(
        pattern=pattern(r"^2[01][0-9]{2}-(0[1-9]|1[0-2])$", "a month like 2026-12, from year 2000")
    ),
]
NOT_RECORDED = "not recorded"
"""The property of a payout made before payouts recorded it."""
# The widest gap between a zone's local time and UTC: a month's payouts, in any zone, fall
# within this much of the month's UTC bounds.
_ZONE_SPREAD = timedelta(hours=15)


class PayoutLine(BaseModel):
    payout_id: str
    request_id: str
    property_id: str | None
    property_name: str
    vendor_id: str
    vendor_name: str
    invoice_number: str | None
    amount_cents: int
    currency: str
    paid_at: datetime
    month: str
    """``2026-12``, in the property's time zone."""


class PayoutTotal(BaseModel):
    month: str
    property_id: str | None
    property_name: str
    currency: str
    payouts: int
    amount_cents: int


class PayoutReport(BaseModel):
    month: str | None
    property_id: str | None
    items: list[PayoutLine]
    """Newest first."""
    totals: list[PayoutTotal]
    """One per month, property and currency: newest month first, then by property name."""
    truncated: bool = False
    """More payouts matched than ``limit``: narrow the filters."""


def _bounds(month: str) -> tuple[datetime, datetime]:
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


async def payout_report(
    db: Database, month: str | None = None, property_id: str | None = None, limit: int = 5000
) -> PayoutReport:
    """Payouts of ``month`` (every month when None) at ``property_id`` (every property
    when None), with their totals."""
    query = (
        select(PayoutRow, Property.name, Property.time_zone, Vendor.name)
        .outerjoin(Property, Property.id == PayoutRow.property_id)
        .outerjoin(Vendor, Vendor.id == PayoutRow.vendor_id)
        .order_by(PayoutRow.created_at.desc(), PayoutRow.id)
    )
    if property_id is not None:
        query = query.where(PayoutRow.property_id == property_id)
    if month is not None:
        start, end = _bounds(month)
        query = query.where(
            PayoutRow.created_at >= start - _ZONE_SPREAD, PayoutRow.created_at < end + _ZONE_SPREAD
        )
    async with db.transaction() as session:
        found = (await session.execute(query)).all()
    items: list[PayoutLine] = []
    truncated = False
    for row, property_name, zone, vendor_name in found:
        paid_at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        local_month = f"{paid_at.astimezone(clock.zone_of(zone or 'UTC')):%Y-%m}"
        if month is not None and local_month != month:
            continue
        if len(items) == limit:
            truncated = True
            break
        items.append(
            PayoutLine(
                payout_id=row.id,
                request_id=row.request_id,
                property_id=row.property_id,
                property_name=property_name or row.property_id or NOT_RECORDED,
                vendor_id=row.vendor_id,
                vendor_name=vendor_name or row.vendor_id,
                invoice_number=row.invoice_number,
                amount_cents=row.amount_cents,
                currency=row.currency,
                paid_at=paid_at,
                month=local_month,
            )
        )
    return PayoutReport(
        month=month,
        property_id=property_id,
        items=items,
        totals=_totals(items),
        truncated=truncated,
    )


def _totals(items: list[PayoutLine]) -> list[PayoutTotal]:
    totals: dict[tuple[str, str | None, str], PayoutTotal] = {}
    for item in items:
        key = (item.month, item.property_id, item.currency)
        total = totals.get(key)
        if total is None:
            total = totals[key] = PayoutTotal(
                month=item.month,
                property_id=item.property_id,
                property_name=item.property_name,
                currency=item.currency,
                payouts=0,
                amount_cents=0,
            )
        total.payouts += 1
        total.amount_cents += item.amount_cents
    by_name = sorted(totals.values(), key=lambda t: (t.property_name.lower(), t.currency))
    return sorted(by_name, key=lambda t: t.month, reverse=True)


async def unknown_property(db: Database, property_id: str | None) -> str:
    """Why payouts cannot be filtered by ``property_id`` (it is not in the directory), as a
    sentence; "" when it can (or no property was asked for)."""
    if property_id is None:
        return ""
    async with db.transaction() as session:
        found = await session.get(Property, property_id)
    if found is not None:
        return ""
    return f"There is no property {property_id!r} in the directory: choose one from the list."
