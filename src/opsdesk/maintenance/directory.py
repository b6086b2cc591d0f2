"""The directory: properties and their units, owners, tenants and vendors.

Imported from a JSON file (``opsdesk maintenance import``) or the sample one a new laptop
stack starts with; an import creates or updates by id and never deletes, so a request in
flight never loses the property or vendor it refers to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Self, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, TypeAdapter, field_validator, model_validator
from sqlalchemy import select

from opsdesk.ai.models import Trade
from opsdesk.db import Database
from opsdesk.db.tables import Owner, PreventiveJob, Property, PropertyPolicy, Tenant, Unit, Vendor
from opsdesk.errors import UnknownProperty, UnknownVendor
from opsdesk.maintenance.compliance import VendorDocuments, import_listed
from opsdesk.maintenance.conversation.languages import DEFAULT_LANGUAGE, language_tag
from opsdesk.maintenance.documents import DocumentKind, DocumentSpec, VendorDocumentOut
from opsdesk.maintenance.inputs import DirectoryId, Phone, ShortText
from opsdesk.maintenance.owner_policy import OwnerPolicy
from opsdesk.maintenance.preventive import PreventiveSpec
from opsdesk.maintenance.preventive_jobs import FROM_DIRECTORY, save_jobs
from opsdesk.maintenance.scorecards import by_scorecard
from opsdesk.maintenance.state import PropertyFacts, TenantOnFile, VendorFacts
from opsdesk.maintenance.status import CallPreference
from opsdesk.values import Email

VendorOrder = Literal["rank", "scorecard"]
UnitLabel = Annotated[str, Field(min_length=1, max_length=50)]


class OwnerSpec(BaseModel):
    id: DirectoryId
    name: ShortText
    email: Email
    phone: Phone | None = None
    calls: CallPreference = "email_and_call"
    """Whether approvals also phone the owner (needs a phone number in E.164 form); a
    property's ``policy.channel``, when set, decides instead for that property."""
    language: str | None = None
    """The language the owner's calls speak and listen in, a BCP-47 tag such as ``es-US``;
    none: the desk's own, ``en-US``."""

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str | None) -> str | None:
        return None if value is None else language_tag(value)


class TenantSpec(BaseModel):
    id: DirectoryId
    name: ShortText
    email: Email
    phone: Phone | None = None


class UnitSpec(BaseModel):
    label: UnitLabel
    tenants: list[TenantSpec] = []


class PropertySpec(BaseModel):
    id: DirectoryId
    name: ShortText
    address: Annotated[str, Field(min_length=1, max_length=500)]
    owner: DirectoryId
    auto_approve_cents: Annotated[int, Field(ge=0)] = 0
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    time_zone: str = "UTC"
    units: Annotated[list[UnitSpec], Field(min_length=1)]
    policy: OwnerPolicy = OwnerPolicy()
    """The owner's policy for this property; absent from a file: the defaults."""
    preventive: list[PreventiveSpec] = []
    """Recurring jobs (``preventive.py``), each on one of the units above."""

    @model_validator(mode="after")
    def _jobs_on_units(self) -> Self:
        labels = {unit.label for unit in self.units}
        for job in self.preventive:
            if job.unit not in labels:
                raise ValueError(f"preventive job {job.id}: {self.name} has no unit {job.unit}")
        return self

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class VendorSpec(BaseModel):
    id: DirectoryId
    name: ShortText
    email: Email
    phone: Phone | None = None
    trades: Annotated[list[Trade], Field(min_length=1)]
    rank: int = 100
    """Who is asked first within a trade: lower first."""
    active: bool = True
    documents: list[DocumentSpec] = []
    """Insurance certificates and licences with their expiry dates (their files are
    uploaded on the dashboard); an export lists the current one of each kind."""


class DirectorySpec(BaseModel):
    """A directory file: every section optional, ids unique within each."""

    owners: list[OwnerSpec] = []
    properties: list[PropertySpec] = []
    vendors: list[VendorSpec] = []

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for section in ("owners", "properties", "vendors"):
            ids = [entry.id for entry in getattr(self, section)]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"{section}: ids listed twice: {', '.join(duplicates)}")
        tenant_ids = [t.id for p in self.properties for u in p.units for t in u.tenants]
        if len(tenant_ids) != len(set(tenant_ids)):
            raise ValueError("tenants: ids listed twice")
        job_ids = [job.id for p in self.properties for job in p.preventive]
        if len(job_ids) != len(set(job_ids)):
            raise ValueError("preventive jobs: ids listed twice")
        return self


class PropertyChoice(BaseModel):
    """A property as the tenant form offers it."""

    id: str
    name: str
    address: str
    units: list[str]


_DIRECTORY = TypeAdapter(DirectorySpec)


def parse_directory(text: str) -> DirectorySpec:
    """Raises ``pydantic.ValidationError`` naming the bad entry."""
    return _DIRECTORY.validate_json(text)


def read_directory(path: Path) -> DirectorySpec:
    return parse_directory(path.read_text())


def sample_directory() -> DirectorySpec:
    return parse_directory(
        resources.files("opsdesk.maintenance").joinpath("sample_directory.json").read_text()
    )


def dump_directory(spec: DirectorySpec) -> str:
    return json.dumps(spec.model_dump(mode="json", exclude_none=True), indent=2)


def unit_id(property_id: str, label: str) -> str:
    return f"{property_id}/{label}"[:64]


class Directory:
    def __init__(self, db: Database, vendor_order: VendorOrder = "rank") -> None:
        self.db = db
        self.vendor_order = vendor_order
        """How ``next_vendor`` orders a trade's vendors (``OPSDESK_VENDOR_ORDER``)."""

    async def import_directory(self, spec: DirectorySpec) -> int:
        """Create or update every entry; returns how many were written. An owner a property
        names must be in the file or already in the directory."""
        async with self.db.transaction() as session:
            for owner in spec.owners:
                await session.merge(Owner(**owner.model_dump()))
            await session.flush()
            for prop in spec.properties:
                if await session.get(Owner, prop.owner) is None:
                    raise UnknownProperty(f"property {prop.id}: unknown owner {prop.owner}")
                await session.merge(
                    Property(
                        **prop.model_dump(exclude={"units", "owner", "policy", "preventive"}),
                        owner_id=prop.owner,
                    )
                )
                await session.merge(
                    PropertyPolicy(property_id=prop.id, policy=prop.policy.model_dump(mode="json"))
                )
                for unit in prop.units:
                    uid = unit_id(prop.id, unit.label)
                    await session.merge(Unit(id=uid, property_id=prop.id, label=unit.label))
                    for tenant in unit.tenants:
                        await session.merge(Tenant(**tenant.model_dump(), unit_id=uid))
                await session.flush()
                await save_jobs(session, prop.id, prop.preventive, FROM_DIRECTORY)
            for vendor in spec.vendors:
                await session.merge(Vendor(**vendor.model_dump(exclude={"documents"})))
            await session.flush()
            for vendor in spec.vendors:
                await import_listed(session, vendor.id, vendor.documents)
        units = sum(len(p.units) for p in spec.properties)
        return len(spec.owners) + len(spec.properties) + units + len(spec.vendors)

    async def export(self) -> DirectorySpec:
        async with self.db.transaction() as session:
            owners = (await session.scalars(select(Owner).order_by(Owner.id))).all()
            props = (await session.scalars(select(Property).order_by(Property.id))).all()
            units = (await session.scalars(select(Unit).order_by(Unit.id))).all()
            tenants = (await session.scalars(select(Tenant).order_by(Tenant.id))).all()
            vendors = (await session.scalars(select(Vendor).order_by(Vendor.rank, Vendor.id))).all()
            policies = {
                row.property_id: _policy(row)
                for row in (await session.scalars(select(PropertyPolicy))).all()
            }
            jobs = (await session.scalars(select(PreventiveJob).order_by(PreventiveJob.id))).all()
        documents = await VendorDocuments(self.db).current()
        return DirectorySpec(
            owners=[
                OwnerSpec(
                    id=o.id,
                    name=o.name,
                    email=o.email,
                    phone=o.phone,
                    calls=o.calls,
                    language=o.language,
                )
                for o in owners
            ],
            properties=[
                PropertySpec(
                    id=p.id,
                    name=p.name,
                    address=p.address,
                    owner=p.owner_id,
                    auto_approve_cents=p.auto_approve_cents,
                    currency=p.currency,
                    time_zone=p.time_zone,
                    policy=policies.get(p.id, OwnerPolicy()),
                    units=[
                        UnitSpec(
                            label=u.label,
                            tenants=[
                                TenantSpec(id=t.id, name=t.name, email=t.email, phone=t.phone)
                                for t in tenants
                                if t.unit_id == u.id
                            ],
                        )
                        for u in units
                        if u.property_id == p.id
                    ],
                    preventive=[_job_spec(j) for j in jobs if j.property_id == p.id],
                )
                for p in props
            ],
            vendors=[_vendor_spec(v, documents.get(v.id, {})) for v in vendors],
        )

    async def properties(self) -> list[PropertyChoice]:
        spec = await self.export()
        return [
            PropertyChoice(
                id=p.id, name=p.name, address=p.address, units=[u.label for u in p.units]
            )
            for p in spec.properties
        ]

    async def vendors(self, *, active_only: bool = True) -> list[VendorSpec]:
        """Vendors by rank, with their current documents; the inactive ones too on ask."""
        async with self.db.transaction() as session:
            rows = (await session.scalars(select(Vendor).order_by(Vendor.rank, Vendor.id))).all()
        documents = await VendorDocuments(self.db).current()
        return [
            _vendor_spec(v, documents.get(v.id, {})) for v in rows if v.active or not active_only
        ]

    async def property_facts(self, property_id: str, unit: str) -> PropertyFacts:
        async with self.db.transaction() as session:
            prop = await session.get(Property, property_id)
            if prop is None:
                raise UnknownProperty(f"unknown property {property_id}")
            found = await session.scalar(
                select(Unit).where(Unit.property_id == property_id, Unit.label == unit)
            )
            if found is None:
                raise UnknownProperty(f"{prop.name} has no unit {unit}")
            owner = await session.get(Owner, prop.owner_id)
            assert owner is not None  # a foreign key
            policy = _policy(await session.get(PropertyPolicy, prop.id))
            tenants = (
                await session.scalars(
                    select(Tenant).where(Tenant.unit_id == found.id).order_by(Tenant.id)
                )
            ).all()
            return PropertyFacts(
                property_id=prop.id,
                name=prop.name,
                address=prop.address,
                unit=unit,
                owner_id=owner.id,
                owner_name=owner.name,
                owner_email=owner.email,
                owner_phone=owner.phone,
                # The column holds only what OwnerSpec.calls accepted.
                owner_calls=policy.calls(cast(CallPreference, owner.calls)),
                auto_approve_cents=prop.auto_approve_cents,
                currency=prop.currency,
                time_zone=prop.time_zone,
                policy=policy,
                tenants=[TenantOnFile(name=t.name, email=t.email, phone=t.phone) for t in tenants],
            )

    async def owner_language(self, owner_id: str) -> str:
        """The language the owner's calls speak (a BCP-47 tag), read when the call is
        made: the desk's own for an owner with none on file, or no longer on file."""
        async with self.db.transaction() as session:
            owner = await session.get(Owner, owner_id)
        return owner.language if owner is not None and owner.language else DEFAULT_LANGUAGE

    async def next_vendor(self, trade: str, exclude: Sequence[str]) -> VendorFacts | None:
        """The first active vendor of the trade by rank, then id (or by scorecard, then
        rank, as ``vendor_order`` says), not yet asked."""
        async with self.db.transaction() as session:
            rows = (
                await session.scalars(
                    select(Vendor).where(Vendor.active.is_(True)).order_by(Vendor.rank, Vendor.id)
                )
            ).all()
        if self.vendor_order == "scorecard":
            rows = await by_scorecard(self.db, rows)
        for row in rows:
            if trade in row.trades and row.id not in exclude:
                return _vendor_facts(row)
        return None

    async def vendor(self, vendor_id: str) -> VendorFacts:
        async with self.db.transaction() as session:
            row = await session.get(Vendor, vendor_id)
        if row is None or not row.active:
            raise UnknownVendor(f"no active vendor {vendor_id}")
        return _vendor_facts(row)


async def seed_sample_directory(db: Database) -> int:
    """Give an empty directory the sample one (a first `opsdesk dev`); 0 when not empty."""
    directory = Directory(db)
    if (await directory.export()).properties:
        return 0
    return await directory.import_directory(sample_directory())


def _policy(row: PropertyPolicy | None) -> OwnerPolicy:
    """A property's policy as stored; the defaults for a property imported before policies."""
    return OwnerPolicy() if row is None else OwnerPolicy.model_validate(row.policy)


def _vendor_spec(row: Vendor, documents: Mapping[DocumentKind, VendorDocumentOut]) -> VendorSpec:
    return VendorSpec(
        id=row.id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        trades=row.trades,
        rank=row.rank,
        active=row.active,
        documents=[
            DocumentSpec(kind=d.kind, expires_on=d.expires_on, number=d.number, issuer=d.issuer)
            for d in documents.values()
        ],
    )


def _job_spec(row: PreventiveJob) -> PreventiveSpec:
    return PreventiveSpec(
        id=row.id,
        unit=row.unit,
        title=row.title,
        instructions=row.instructions,
        trade=row.trade,
        every_days=row.every_days,
        every_months=row.every_months,
        first_due=row.first_due,
    )


def _vendor_facts(row: Vendor) -> VendorFacts:
    return VendorFacts(
        vendor_id=row.id, name=row.name, email=row.email, phone=row.phone, trades=row.trades
    )
