"""What the maintenance activities take and give back, and their names. No I/O."""

from __future__ import annotations

from pydantic import BaseModel

LOAD_PROPERTY = "load_property"
CHOOSE_VENDOR = "choose_vendor"
LOAD_VENDOR = "load_vendor"
PAY_VENDOR = "pay_vendor"


class PropertyLookup(BaseModel):
    property_id: str
    unit: str


class VendorChoice(BaseModel):
    """The next vendor of a trade who has not been asked yet."""

    trade: str
    exclude: list[str] = []
