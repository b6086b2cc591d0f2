"""Finding an order on the dashboard by its id, its customer's name or e-mail address, with
the filters held in the address as chips; and nothing personal written into visibility."""

from __future__ import annotations

import csv
import io
import re

import httpx
from temporalio.testing import WorkflowEnvironment

from opsdesk.orders.ids import order_label, order_workflow_id
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa
from tests.orders.helpers import body
from tests.waiting import eventually

HTML = {"Accept": "text/html"}
ROW = re.compile(r'data-order="([^"]+)"')


async def _order(api: httpx.AsyncClient, name: str, email: str, **extra: str) -> str:
    order = body(customer=f"cus-{abs(hash(email)) % 10_000}")
    order["customer"] |= {"name": name, "email": email}
    response = await api.post("/api/orders", json=order | extra)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


async def _found(api: httpx.AsyncClient, query: str) -> set[str]:
    response = await api.get("/fragments/orders", params={"q": query}, headers=HTML)
    assert response.status_code == 200, response.text
    return set(ROW.findall(response.text))


async def test_search_by_id_name_or_email(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    ada = await _order(api, "Ada Lovelace", "ada@example.com")
    grace = await _order(api, "Grace Hopper-Smith", "Grace.Hopper@Navy.example.org")
    both = {ada, grace}

    async def listed() -> set[str]:
        response = await api.get("/fragments/orders", headers=HTML)
        return set(ROW.findall(response.text))

    await eventually(listed, lambda rows: both <= rows, timeout=30)

    assert await _found(api, "ada@example.com") == {ada}
    assert await _found(api, "  grace.hopper@navy.EXAMPLE.org ") == {grace}
    assert await _found(api, "lovelace") == {ada}
    assert await _found(api, "Ada LOVELACE") == {ada}
    assert await _found(api, "hopper") == {grace}
    assert await _found(api, "Hopper-Smith") == {grace}
    assert await _found(api, "ada hopper") == set()
    assert await _found(api, "lovelac") == set()  # whole words only
    assert await _found(api, grace) == {grace}
    assert await _found(api, f"#{ada}") == {ada}
    assert await _found(api, "!!!") == set()
    # Too long a search is not an error: it is ignored.
    response = await api.get("/fragments/orders", params={"q": "x" * 5000}, headers=HTML)
    assert response.status_code == 200

    # The name and address are in visibility only as keyed hashes.
    for order_id, words in ((ada, ("ada", "lovelace")), (grace, ("grace", "hopper", "navy"))):
        described = await dev_env.client.get_workflow_handle(order_workflow_id(order_id)).describe()
        keys = described.typed_search_attributes.get(sa.SEARCH_KEYS)
        assert keys, f"{order_id} has no search keys"
        written = " ".join(str(pair.value) for pair in described.typed_search_attributes)
        # As a word: a hex digest or build id may hold "ada" by chance.
        readable = set(re.findall(r"[a-z]+", written.lower()))
        for word in words:
            assert word not in readable, f"{word!r} is readable in visibility: {written}"


async def test_filters_are_chips_in_the_address(api: httpx.AsyncClient) -> None:
    await _order(api, "Chip Reader", "chips@example.com")
    response = await api.get(
        "/", params={"status": "REVIEW", "escalated": "true", "q": "chip"}, headers=HTML
    )
    assert response.status_code == 200
    html = response.text
    found = re.findall(r'data-chip="(\w+)">([^<]+?) <a href="([^"]+)"', html)
    labels = {name: (label, link.replace("&amp;", "&")) for name, label, link in found}
    assert labels == {
        "escalated": ("Escalated", "/?q=chip&status=REVIEW"),
        "q": ("Search: chip", "/?escalated=true&status=REVIEW"),
        "status": ("Status: review", "/?escalated=true&q=chip"),
    }, found
    assert 'href="/" data-reset>Clear all</a>' in html
    # The search box holds what was searched.
    assert 'name="q" value="chip"' in html


async def test_the_filtered_list_as_csv(api: httpx.AsyncClient) -> None:
    evil = await _order(api, '=HYPERLINK("http://x.example") Evil', "evil@example.com")
    plain = await _order(api, "Plain Person", "plain@example.com")

    async def exported() -> list[dict[str, str]]:
        response = await api.get("/orders.csv", params={"q": "evil"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert 'attachment; filename="orders-' in response.headers["content-disposition"]
        text = response.content.decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    rows = await eventually(exported, lambda rows: len(rows) == 1, timeout=30)
    row = rows[0]
    assert row["Order"] == order_label(evil)
    # A spreadsheet shows the name as it was typed, and runs nothing.
    assert row["Customer"] == '\'=HYPERLINK("http://x.example") Evil'
    assert row["Email"] == "evil@example.com"
    assert row["Total"] == "18.00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", row["Created (UTC)"])

    everything = (await api.get("/orders.csv")).content.decode("utf-8-sig")
    assert {order_label(evil), order_label(plain)} <= {
        r["Order"] for r in csv.DictReader(io.StringIO(everything))
    }
