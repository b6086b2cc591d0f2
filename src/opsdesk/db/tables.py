"""Tables. Both desks' tables are declared here so that Alembic sees one metadata.

Every side effect an activity performs is a row with a unique idempotency key (or a unique
natural key such as ``(order_id, sku)``), so a retried activity finds its own earlier work
instead of doing it twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which drops the zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# -- inventory -----------------------------------------------------------------------------


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
    )

    sku: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    stock: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Reservation(Base):
    """Stock held for one line of one order; released rows stay as the audit trail."""

    __tablename__ = "reservations"
    __table_args__ = (UniqueConstraint("order_id", "sku"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    quantity: Mapped[int] = mapped_column(Integer)
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockWait(Base):
    """An order waiting for a sku; a restock wakes every order listed for its sku."""

    __tablename__ = "stock_waits"
    __table_args__ = (UniqueConstraint("order_id", "sku"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Restock(Base):
    __tablename__ = "restocks"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    quantity: Mapped[int] = mapped_column(Integer)
    stock_after: Mapped[int] = mapped_column(Integer)
    woken: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- payments ledger -----------------------------------------------------------------------


class ChargeRow(Base):
    __tablename__ = "charges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RefundRow(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PaymentAttempt(Base):
    """Every call to the payment processor and how it ended, declines included."""

    __tablename__ = "payment_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), index=True)
    outcome: Mapped[str] = mapped_column(String(20))  # captured | declined | error | voided
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- warehouse -----------------------------------------------------------------------------


class FulfilmentRequest(Base):
    __tablename__ = "fulfilment_requests"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lines: Mapped[list[Any]] = mapped_column()
    ship_to: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="requested")
    """requested | shipped | delivered | cancelled"""
    tracking_number: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)


# -- order ids -----------------------------------------------------------------------------


class OrderIdClaim(Base):
    """An order id and the workflow chain that runs it. Side effects are keyed by the
    order's workflow id, so an id may serve one order only, however long ago that order
    ended and whatever Temporal still remembers of it."""

    __tablename__ = "order_id_claims"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stamp: Mapped[str | None] = mapped_column(String(64))
    """The first run id of the workflow chain; NULL for orders from before claims existed."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- outbox --------------------------------------------------------------------------------


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reference: Mapped[str] = mapped_column(String(100), index=True)
    """The workflow the message belongs to, e.g. ``order-1001``."""
    template: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    """queued | placing (a call being placed) | sent | delivered_dev | not_sent (no SMTP
    or Twilio configured) | failed (permanently refused)."""
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    """The provider's id for what was sent: a Twilio call's SID."""
    callback_url: Mapped[str | None] = mapped_column(Text, default=None)
    """A call taken by the dev phone: the webhook address it dials, as Twilio would hold
    it. (A call placed through Twilio keeps its address at Twilio only.)"""
    attempted_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the first unfinished attempt to place a call began: a retry after a crash looks
    for a call the provider took since then before placing another."""
    call_outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    """How a call ended (Twilio's final status: completed, busy, no-answer, …); while it
    goes on, ``in-progress`` once the callee has picked up."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


# -- AI ------------------------------------------------------------------------------------


class AiCall(Base):
    """Every model call, answered or not: what it cost and how it ended."""

    __tablename__ = "ai_calls"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), index=True)
    """The workflow the call served, e.g. ``order-1001``."""
    task: Mapped[str] = mapped_column(String(50))
    provider: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(100))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(20))  # ok | invalid_output | error
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# -- maintenance directory -----------------------------------------------------------------


class Owner(Base):
    __tablename__ = "owners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    calls: Mapped[str] = mapped_column(String(24), default="email_and_call")
    """email_and_call | email_only | call_only_after_hours (see CallPreference)."""
    # The owner's spoken language (issue 29): a BCP-47 tag; None is the desk's own (en-US).
    language: Mapped[str | None] = mapped_column(String(35), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Property(Base):
    __tablename__ = "properties"
    __table_args__ = (CheckConstraint("auto_approve_cents >= 0", name="limit_not_negative"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id"), index=True)
    auto_approve_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    """Estimates up to this amount are approved without asking the owner."""
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("property_id", "label"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    property_id: Mapped[str] = mapped_column(ForeignKey("properties.id"), index=True)
    label: Mapped[str] = mapped_column(String(50))


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32), default=None)


class Vendor(Base):
    __tablename__ = "vendors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    trades: Mapped[list[Any]] = mapped_column(default=list)
    rank: Mapped[int] = mapped_column(Integer, default=100)
    """Who is asked first within a trade: lower first, then by id."""
    active: Mapped[bool] = mapped_column(default=True)


class LinkUse(Base):
    """A signed link that has been acted on: each link acts once."""

    __tablename__ = "link_uses"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    answer: Mapped[str] = mapped_column(String(40))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class PayoutRow(Base):
    """Money paid out to a vendor for a request, once per idempotency key."""

    __tablename__ = "payouts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    vendor_id: Mapped[str] = mapped_column(String(64), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # -- invoices (issue 27, item 6): what was paid for, for the accountant ------------------
    property_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """None for payouts made before the property was recorded."""
    invoice_number: Mapped[str | None] = mapped_column(String(40))
    document_key: Mapped[str | None] = mapped_column(String(200))


# -- property-management intake --------------------------------------------------------------


class PmsFeedRecord(Base):
    """The demo property-management system's requests (``opsdesk dev`` serves them)."""

    __tablename__ = "pms_feed"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PmsReject(Base):
    """A polled record that did not validate, set aside with the reason."""

    __tablename__ = "pms_rejects"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    record: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class IntakeCursor(Base):
    """Where intake from a property-management system has got to: the system's cursor after
    the last batch whose requests were all claimed and started. The poller reads it before
    every fetch, so a new, reset or failed poller goes on from here, not from its input."""

    __tablename__ = "intake_cursors"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    """None: from the system's first record (set it so to read the system again)."""
    batches: Mapped[int] = mapped_column(BigInteger)
    """Batches taken so far: the number of the next, which its claims' stamp carries."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IntakeClaim(Base):
    """A polled record, claimed before its request is started: a record becomes one request,
    once, however long ago that request ended and whatever Temporal still remembers of it."""

    __tablename__ = "intake_claims"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    request_id: Mapped[str] = mapped_column(String(64))
    stamp: Mapped[str] = mapped_column(Text)
    """The start that claimed it: the poller's workflow id and the batch's number."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    """When its batch was committed, the request started (or found started before)."""


# -- sign-in -------------------------------------------------------------------------------
# Secrets (session, link and API tokens) are kept as SHA-256 digests: they are long random
# strings, so a digest is as good as a slow hash, and a leaked table signs nobody in.


class User(Base):
    """A person of the ops staff. ``password_hash`` is argon2; none until they set one (the
    first sign-in is by a one-time link) or for people who sign in through OpenID Connect."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(Text, default=None)
    provider_subject: Mapped[str | None] = mapped_column(String(300), unique=True, default=None)
    """``<issuer> <sub>`` for a person an OpenID Connect provider vouches for: matched on
    this, never on the name, and they have no password here."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(default=None)
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)
    """The zone this person reads times in; none for the business's
    (``OPSDESK_BUSINESS_TIME_ZONE``)."""


class UserSession(Base):
    """A signed-in browser: idle after ``last_seen_at``, over after ``created_at`` plus the
    absolute lifetime; signing out or removing the user deletes it."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    by_link: Mapped[bool] = mapped_column(default=False)
    """Opened by a one-time link: may set a password without giving the old one."""


class SignInLink(Base):
    """A one-time sign-in link, printed in a console (first start, ``opsdesk users link``)."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class ReportRow(Base):
    """A daily report as it was emailed, once per report (its workflow's id)."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime] = mapped_column(index=True)
    subject: Mapped[str] = mapped_column(String(300))
    html: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A machine client's bearer token, scoped to a role. Revoked tokens stay listed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    """The token's first characters, to tell tokens apart in a list."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


# -- what people see (readable numbers, comments, saved views) ------------------------------
# The numbers come from an autoincrement key, so the database hands them out: they survive
# restarts and every API replica draws from the same counter. A client's Idempotency-Key is
# kept beside its number so that a retried "create" gets the number it got the first time.


class OrderNumber(Base):
    """An order number handed out to an order created without an id of its own. The
    order's id is ``str(number)``, shown as ``#<number>``."""

    __tablename__ = "order_numbers"

    number: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RequestNumber(Base):
    """A repair request number, for a request reported without an id of its own (the form,
    the dashboard, the API). The request's id is ``R-<number, four digits or more>``."""

    __tablename__ = "request_numbers"

    number: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Comment(Base):
    """A note a person of the ops staff left on an order or a request, signed with their
    name. Comments are never edited: a correction is another comment."""

    __tablename__ = "comments"
    __table_args__ = (CheckConstraint("subject_kind IN ('order', 'request')", name="subject_kind"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedView(Base):
    """A list's filters saved under a name by one person: the query string of the list's URL,
    so a saved view is also a link to share."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "desk", "name"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    desk: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- owner policies per property (issue 27) -------------------------------------------------


class PropertyPolicy(Base):
    """The owner's policy for one property (``OwnerPolicy`` as JSON). A property without a
    row has the default policy."""

    __tablename__ = "property_policies"

    property_id: Mapped[str] = mapped_column(
        ForeignKey("properties.id", ondelete="CASCADE"), primary_key=True
    )
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# -- after the job and requests that age (issue 27: surveys, vendor jobs, aging alerts) ----


class VendorJob(Base):
    """A request that ended having had a vendor, as its workflow saw it at the end: what
    the vendor scorecards are computed from (never from the workflows). One per request."""

    __tablename__ = "vendor_jobs"
    __table_args__ = (
        CheckConstraint(
            "ending IN ('CLOSED', 'DECLINED', 'EXPIRED', 'CANCELLED', 'FAILED')", name="ending"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    vendor_id: Mapped[str] = mapped_column(String(64), index=True)
    property_id: Mapped[str] = mapped_column(String(64), index=True)
    reported_at: Mapped[datetime]
    first_answer_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the vendor first answered the request for a quote (None: they never did)."""
    quote_asked_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    """When the work was confirmed fixed, by the tenant or by their silence."""
    not_fixed: Mapped[bool] = mapped_column(default=False)
    """The tenant said at least once that the repair did not hold."""
    quote_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    approved_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    invoice_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str] = mapped_column(String(3))
    ending: Mapped[str] = mapped_column(String(16))
    ended_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyAnswer(Base):
    """A tenant's answer to the satisfaction survey sent at close: one per request."""

    __tablename__ = "survey_answers"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_1_to_5"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    link_id: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgingAlert(Base):
    """Ops were told that a request has been open ``threshold_days``: once per threshold.
    ``claimed_by`` is the aging run that claimed it, so a retried run finds its own."""

    __tablename__ = "aging_alerts"
    __table_args__ = (UniqueConstraint("request_id", "threshold_days"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    threshold_days: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- preventive maintenance (issue 27, item 9) ------------------------------------------------
# A job's Temporal Schedule starts each of its runs; the runs table is what makes a run that
# is retried, triggered twice or replayed by a reconcile open its request once.


class PreventiveJob(Base):
    """Recurring work on a property (replace the HVAC filters every 90 days): each due date
    becomes a repair request 21 days ahead. Exactly one of ``every_days`` and
    ``every_months`` is set."""

    __tablename__ = "preventive_jobs"
    __table_args__ = (
        CheckConstraint("(every_days IS NULL) <> (every_months IS NULL)", name="one_interval"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    property_id: Mapped[str] = mapped_column(ForeignKey("properties.id"), index=True)
    unit: Mapped[str] = mapped_column(String(50))
    """A unit's label, or a common area the directory lists as a unit."""
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text)
    trade: Mapped[str] = mapped_column(String(32))
    every_days: Mapped[int | None] = mapped_column(Integer, default=None)
    every_months: Mapped[int | None] = mapped_column(Integer, default=None)
    first_due: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PreventiveRun(Base):
    """The request a job's due date opens: one per job and due date, claimed under its
    number before the request starts, so that two runs at once start one request."""

    __tablename__ = "preventive_runs"
    __table_args__ = (UniqueConstraint("job_id", "due"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("preventive_jobs.id"), index=True)
    due: Mapped[date] = mapped_column(Date)
    request_id: Mapped[str] = mapped_column(String(64))
    started: Mapped[bool] = mapped_column(default=False)
    """The request's workflow has started: no later run starts it again (Temporal forgets
    a closed workflow, and would start its id afresh)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- vendors' compliance documents (issue 27, item 5) ----------------------------------------


class VendorDocument(Base):
    """An insurance certificate or a licence a vendor holds, with its expiry. Never edited:
    a renewal is a newer row, and the current document of a kind is the newest."""

    __tablename__ = "vendor_documents"
    __table_args__ = (
        CheckConstraint("kind IN ('general_liability', 'workers_comp', 'licence')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str | None] = mapped_column(String(100), default=None)
    issuer: Mapped[str | None] = mapped_column(String(200), default=None)
    expires_on: Mapped[date] = mapped_column(Date)
    file_key: Mapped[str | None] = mapped_column(String(200), default=None)
    """The blob store's key of the document's file; None: no file (a directory import)."""
    file_type: Mapped[str | None] = mapped_column(String(100), default=None)
    file_name: Mapped[str | None] = mapped_column(String(200), default=None)
    file_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class VendorDocumentReminder(Base):
    """A reminder that a document expires soon, sent to the vendor or to ops: the unique key
    makes each one once per document and threshold however often the schedule runs."""

    __tablename__ = "vendor_document_reminders"
    __table_args__ = (UniqueConstraint("document_id", "days_before", "recipient"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("vendor_documents.id", ondelete="CASCADE"), index=True
    )
    days_before: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(16))
    """``vendor`` or ``ops``."""
    run_id: Mapped[str] = mapped_column(String(200))
    """The reminder run that claimed it: a retry of that run sends it again, no other run."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- issue 28, item 9: rate limits every API replica shares ------------------------------------


class RateCount(Base):
    """Requests one client made against one rate limit in one window. Every replica adds to
    the same row, so N replicas allow the limit once, not N times."""

    __tablename__ = "rate_counts"

    limit_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    """The client address, or the account name for the sign-in limit per name."""
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    """Unix seconds, a multiple of the window's length."""
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    """Unix seconds after which the row no longer counts (two windows on): then it is deleted."""


# Issue 28, item 10: a second factor for signing in (TOTP, and its recovery codes).


class SecondFactor(Base):
    """A person's authenticator app (TOTP, RFC 6238). Pending until a first code confirms
    it: only a confirmed one is asked for at sign-in."""

    __tablename__ = "second_factors"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    """The shared secret, encrypted under the payload keys (never stored in the clear)."""
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The 30-second step of the last code accepted: a code works once, and none older."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    """A one-time code for signing in without the authenticator app, argon2-hashed like a
    password; shown once, at enrolment."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    hint: Mapped[str] = mapped_column(String(2))
    """The code's first two characters: which hash to check, rather than all ten at argon2's
    price (the other eight characters, 40 bits, stay secret)."""
    code_hash: Mapped[str] = mapped_column(Text)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


# -- the owner's call as a conversation (issue 29) ---------------------------------------------


class CallRelayClaim(Base):
    """A call's conversation taken up: the WebSocket a call's token opens is opened once."""

    __tablename__ = "call_relay_claims"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The call's grant id (its token's ``jti``)."""
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
