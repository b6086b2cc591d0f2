"""A repair request made without an id of its own is numbered by the database: ``R-0007``.
The tenant's form and the API share the numbers with every replica, a resent form or a
retried call gets its first number, a number a client took as its own id is passed over,
and the phone reads the number so a person can note it down."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.db.tables import RequestNumber
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import numbered_request_id, spoken_request_id
from opsdesk.settings import Settings
from tests.http import serve_http
from tests.maintenance.helpers import served_desk
from tests.maintenance.test_links import TENANT, report

HTML = {"Accept": "text/html"}


async def next_number(db: Database) -> int:
    """The number the next request will get: one past the largest handed out."""
    async with db.transaction() as session:
        largest: int | None = await session.scalar(select(func.max(RequestNumber.number)))
    assert largest is not None  # the test fixture starts each database at a number
    return largest + 1


async def reported(
    http: httpx.AsyncClient, key: str | None = None, **extra: object
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await http.post("/api/maintenance/requests", json=report(**extra), headers=headers)


def test_the_desk_numbers_requests_in_four_digits_or_more() -> None:
    assert numbered_request_id(7) == "R-0007"
    assert numbered_request_id(12345) == "R-12345"


def test_a_voice_reads_a_request_id_so_it_can_be_noted_down() -> None:
    assert spoken_request_id("R-0007") == "number 7"
    assert spoken_request_id("R-12345") == "number 12345"
    # A property system's ids: a word as a word, a short number as a number, the rest spelled.
    assert spoken_request_id("demo-WO-8F3A21BC") == "demo, W O, 8 F 3 A 2 1 B C"
    assert spoken_request_id("buildium-4821") == "buildium, 4821"
    assert spoken_request_id("appfolio-0042") == "appfolio, 0 0 4 2"


async def test_replicas_share_the_numbers_and_a_retry_gets_its_first(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    first = await next_number(db)
    async with (
        served_desk(dev_env, db, settings) as one,
        serve_http(create_app(settings, dev_env.client)) as two,
    ):
        made = await asyncio.gather(*(reported(http) for http in (one, two) * 3))
        assert [r.status_code for r in made] == [201] * 6
        assert sorted(r.json()["request_id"] for r in made) == [
            numbered_request_id(n) for n in range(first, first + 6)
        ]

        keyed = await reported(one, "report-7")
        again = await reported(two, "report-7")
        changed = await reported(one, "report-7", description="The hall light flickers")
        assert (keyed.status_code, again.status_code, changed.status_code) == (201, 200, 409)
        assert keyed.json()["request_id"] == again.json()["request_id"]
        assert keyed.json()["request_id"] == numbered_request_id(first + 6)

    # A new app on the same database (a restart) goes on from there.
    async with serve_http(create_app(settings, dev_env.client)) as restarted:
        after = await reported(restarted)
        assert after.json()["request_id"] == numbered_request_id(first + 7)


async def test_the_tenant_form_sent_twice_is_one_numbered_request(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    first = await next_number(db)
    async with served_desk(dev_env, db, settings) as http:
        form = {
            "property_id": "harbor-12",
            "unit": "1A",
            "name": "Sam Rivera",
            "email": TENANT,
            "phone": "",
            "description": "The kitchen tap drips all night",
            "key": "form-key-3",
        }
        sent = [await http.post("/report", data=form, headers=HTML) for _ in range(2)]
        assert [s.status_code for s in sent] == [303, 303]
        where = f"/report/received/{numbered_request_id(first)}"
        # The same receipt, with no follow link in its address (that goes by email only).
        assert {s.headers["location"] for s in sent} == {where}
        assert numbered_request_id(first) in (await http.get(where, headers=HTML)).text


async def test_a_number_a_client_took_as_its_own_id_is_passed_over(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    first = await next_number(db)
    async with served_desk(dev_env, db, settings) as http:
        theirs = await reported(http, request_id=numbered_request_id(first))
        assert theirs.status_code == 201, theirs.text

        numbered = await reported(http, "after-a-client")
        retried = await reported(http, "after-a-client")

        assert numbered.json()["request_id"] == numbered_request_id(first + 1)
        assert (retried.status_code, retried.json()["request_id"]) == (
            200,
            numbered_request_id(first + 1),
        )
        # Ids from elsewhere keep working as they did.
        pms_like = await reported(http, request_id="pms-WO-77")
        assert (pms_like.status_code, pms_like.json()["request_id"]) == (201, "pms-WO-77")
