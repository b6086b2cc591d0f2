"""An itemised invoice: the vendor's number, lines of labour and materials, tax and the
document it came on. Pure data (workflows import it); the total is computed, never typed,
and it is what the vendor is paid."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from opsdesk.files.refs import DOCUMENT_TYPES, FileRef

LineKind = Literal["labour", "materials"]
LINE_KINDS: dict[LineKind, str] = {"labour": "Labour", "materials": "Materials"}
MAX_LINES = 30
MAX_TOTAL_CENTS = 100_000_000

InvoiceNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
]
Quantity = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=9, decimal_places=2)]
UnitPrice = Annotated[int, Field(ge=0, le=MAX_TOTAL_CENTS)]


class InvoiceLine(BaseModel):
    """One line: what was done or fitted, how many (hours, parts) and the price of one."""

    model_config = ConfigDict(frozen=True)

    kind: LineKind
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    quantity: Quantity
    unit_price_cents: UnitPrice

    @property
    def total_cents(self) -> int:
        # Half a cent rounds up, as an invoice's arithmetic does.
        exact = self.quantity * self.unit_price_cents
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Invoice(BaseModel):
    """What the request keeps of the vendor's invoice, and what the owner approves."""

    number: InvoiceNumber | None = None
    """None for an amount-only invoice (sent before invoices were itemised)."""
    lines: list[InvoiceLine] = []
    tax_cents: int = 0
    total_cents: int
    document: FileRef | None = None

    @property
    def subtotal_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)


class ItemisedFields(BaseModel):
    """The fields an itemised invoice answer carries (``InvoiceAnswer`` adds the answer's
    own), with the checks an accountant would make, each said in plain words."""

    number: InvoiceNumber | None = None
    lines: Annotated[list[InvoiceLine], Field(max_length=MAX_LINES)] = []
    tax_cents: Annotated[int, Field(ge=0, le=MAX_TOTAL_CENTS)] = 0
    document: FileRef | None = None

    @model_validator(mode="after")
    def _a_whole_invoice(self) -> Self:
        if not self.lines:
            return self
        total = self.itemised_total
        if total <= 0:
            raise ValueError("the invoice's total is zero; give the price of each line")
        if total > MAX_TOTAL_CENTS:
            raise ValueError("the invoice's total is too large: at most 1,000,000.00")
        if self.number is None:
            raise ValueError("give the invoice's number, as it is on your invoice")
        if self.document is None:
            raise ValueError("attach the invoice itself (a PDF, JPEG or PNG)")
        if self.document.content_type not in DOCUMENT_TYPES:
            raise ValueError("the invoice's document must be a PDF, JPEG or PNG")
        return self

    @property
    def itemised_total(self) -> int:
        return sum(line.total_cents for line in self.lines) + self.tax_cents
