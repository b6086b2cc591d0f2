"""Orders and a catalog for tests, chosen so the rules scorer lands where each test needs."""

from __future__ import annotations

import uuid

from opsdesk.orders.inputs import Address, Customer, LineItem, OrderRequest
from opsdesk.orders.inventory import ProductSpec

CATALOG = [
    ProductSpec(sku="MUG-01", name="Enamel mug", price_cents=1800, stock=100),
    ProductSpec(sku="TEE-M", name="Tee, M", price_cents=3200, stock=50),
    ProductSpec(sku="LAMP-DESK", name="Desk lamp", price_cents=14900, stock=20),
    ProductSpec(sku="BIKE-CITY", name="City bicycle", price_cents=129000, stock=5),
    ProductSpec(sku="KETTLE-01", name="Kettle", price_cents=5400, stock=0),
]

# New customer (15) + base (5) = 20: approved.
LOW_RISK = [LineItem(sku="MUG-01", quantity=2), LineItem(sku="TEE-M", quantity=1)]
# 4 lamps = 596.00 (20) + new customer (15) + base (5) = 40: review.
GREY_RISK = [LineItem(sku="LAMP-DESK", quantity=4)]
# 2 bicycles = 2580.00 (45) + new (15) + base (5) + billing abroad (25) = 90: rejected.
HIGH_RISK = [LineItem(sku="BIKE-CITY", quantity=2)]
OUT_OF_STOCK = [LineItem(sku="KETTLE-01", quantity=1)]


def order_request(
    lines: list[LineItem] | None = None,
    *,
    token: str = "tok_visa",
    billing_country: str | None = None,
    order_id: str | None = None,
    customer_id: str | None = None,
    note: str = "",
) -> OrderRequest:
    order_id = order_id or f"t{uuid.uuid4().hex[:10]}"
    return OrderRequest(
        order_id=order_id,
        customer=Customer(
            id=customer_id or f"cus-{order_id}", name="Ada Lovelace", email="ada@example.com"
        ),
        lines=lines or LOW_RISK,
        shipping_address=Address(
            name="Ada Lovelace",
            line1="12 St James's Square",
            city="London",
            postal_code="SW1Y 4JH",
            country="GB",
        ),
        billing_country=billing_country,
        payment_token=token,
        note=note,
    )
