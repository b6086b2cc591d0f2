"""Loading a catalog: from a JSON file, or the sample one a new laptop stack starts with."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from pydantic import TypeAdapter

from opsdesk.db import Database
from opsdesk.orders.inventory import Inventory, ProductSpec

_CATALOG = TypeAdapter(list[ProductSpec])


def parse_catalog(text: str) -> list[ProductSpec]:
    """A JSON list of products; raises ``pydantic.ValidationError`` naming the bad entry."""
    return _CATALOG.validate_json(text)


def read_catalog(path: Path) -> list[ProductSpec]:
    return parse_catalog(path.read_text())


def sample_catalog() -> list[ProductSpec]:
    return parse_catalog(
        resources.files("opsdesk.orders").joinpath("sample_catalog.json").read_text()
    )


async def seed_sample_catalog(db: Database) -> int:
    """Give an empty catalog the sample products (a first `opsdesk dev`); 0 when not empty."""
    inventory = Inventory(db)
    if await inventory.products():
        return 0
    return await inventory.import_catalog(sample_catalog(), set_stock=True)


def dump_catalog(products: list[ProductSpec]) -> str:
    return json.dumps([p.model_dump() for p in products], indent=2)
