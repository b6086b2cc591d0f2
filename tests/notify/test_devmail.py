"""The dev mailbox: the real sink on loopback, fed by the real deliver activity and Mailer, the
Maildir read back, and the Mailbox pages served by the app."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosmtplib
import httpx
import pytest
from temporalio.client import Client

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.notify.devmail import DevMailbox, Mail, mailbox_path
from opsdesk.notify.email import message_id
from opsdesk.notify.models import DeliveryOutcome, Notification, OutboxRecord
from opsdesk.notify.outbox import Outbox
from opsdesk.notify.sink import DevMailSink
from opsdesk.notify.views import CONTENT_SECURITY_POLICY
from opsdesk.settings import Settings
from opsdesk.worker import notify_activities
from tests.conftest import free_port
from tests.http import serve

REVIEW = Notification(
    key="order-7:notify:1:review",
    template="orders/review_needed",
    to="ops@opsdesk.local",
    reference="order-7",
    facts={
        "order_id": "7",
        "customer_name": "Ada <script>",
        "customer_email": "ada@example.com",
        "risk_score": 55,
        "risk_reason": "new customer, large order",
        "lines": [{"sku": "MUG-01", "name": "Mug", "quantity": 2, "line_total": "$24.00"}],
        "total": "$24.00",
        "deadline": "48 hours",
    },
)


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[DevMailSink]:
    running = DevMailSink(DevMailbox(tmp_path / "mailbox"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def dev_settings(db: Database, tmp_path: Path, port: int) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=db.url.render_as_string(hide_password=False),
        public_url="http://desk.test/",
        dev_mailbox_port=port,
    )


async def deliver(db: Database, settings: Settings, n: Notification) -> DeliveryOutcome:
    activities = notify_activities(db, settings, provider=None)
    content = await activities.compose_email(n)
    await activities.record_email(OutboxRecord(notification=n, content=content))
    outcome = await activities.deliver_email(n.key)
    again = await activities.deliver_email(n.key)  # a retried step delivers nothing twice
    assert outcome == again
    return outcome


async def test_mail_goes_through_the_sink_into_the_maildir(
    db: Database, tmp_path: Path, sink: DevMailSink
) -> None:
    settings = dev_settings(db, tmp_path, sink.port)
    outcome = await deliver(db, settings, REVIEW)
    assert outcome.status == "delivered_dev"
    assert outcome.detail == "delivered to the dev mailbox"

    [entry] = await Outbox(db).recent()
    assert entry.status == "delivered_dev"
    assert entry.last_error == "delivered to the dev mailbox"
    assert entry.sent_at is not None
    assert entry.attempts == 1

    mailbox = DevMailbox(mailbox_path(settings))
    [mail] = mailbox.recent()
    assert mail.subject == "Review needed: order 7 (risk 55)"
    assert mail.to == "ops@opsdesk.local"
    assert mail.sender == "Ops Desk <orders@opsdesk.local>"
    assert mail.reference == "order-7"
    assert mail.date is not None
    assert mail.text is not None
    assert "Ada <script>" in mail.text
    assert mail.html is not None
    assert 'href="http://desk.test/orders/7"' in mail.html
    assert "Ada &lt;script&gt;" in mail.html
    assert mailbox.find(message_id(REVIEW.key)) == mail.key
    assert mailbox.get(mail.key) == mail


async def test_the_newest_message_comes_first(tmp_path: Path, sink: DevMailSink) -> None:
    for n in range(3):
        await aiosmtplib.send(
            f"Subject: number {n}\r\n\r\nbody\r\n",
            sender="a@example.com",
            recipients=["b@example.com"],
            hostname="127.0.0.1",
            port=sink.port,
        )
    mailbox = sink.mailbox
    assert [m.subject for m in mailbox.recent()] == ["number 2", "number 1", "number 0"]
    assert [m.subject for m in mailbox.recent(limit=1)] == ["number 2"]
    assert mailbox.count() == 3
    [plain] = mailbox.recent(limit=1)
    assert plain.html is None
    assert plain.text == "body\n"


def test_a_sink_on_a_taken_port_says_so_and_a_stopped_one_answers_no_more(
    tmp_path: Path, sink: DevMailSink
) -> None:
    with pytest.raises(OSError, match="in use"):
        DevMailSink(DevMailbox(tmp_path / "other"), port=sink.port).start()
    assert sink.running
    sink.stop()
    assert not sink.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sink.port), timeout=2).close()


# -- the pages -------------------------------------------------------------------------------


@pytest.fixture
async def nowhere() -> Client:
    return await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)


@pytest.fixture
async def dev_app(
    db: Database, tmp_path: Path, sink: DevMailSink, nowhere: Client
) -> AsyncIterator[tuple[httpx.AsyncClient, Mail]]:
    settings = dev_settings(db, tmp_path, sink.port)
    await deliver(db, settings, REVIEW)
    [mail] = DevMailbox(mailbox_path(settings)).recent()
    async with serve(create_app(settings, temporal=nowhere)) as http:
        yield http, mail


async def test_the_mailbox_lists_and_shows_each_message(
    dev_app: tuple[httpx.AsyncClient, Mail],
) -> None:
    http, mail = dev_app
    page = await http.get("/mailbox")
    assert page.status_code == 200
    assert '<a href="/mailbox" aria-current="page">Mailbox</a>' in page.text
    assert "Review needed: order 7 (risk 55)" in page.text

    found = await http.get(f"/mailbox/outbox/{REVIEW.key}")  # the outbox's link to it
    assert found.status_code == 303
    one = await http.get(found.headers["location"])
    assert one.status_code == 200
    assert f'src="/mailbox/{mail.key}/html"' in one.text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox' in one.text
    assert "Ada &lt;script&gt;" in one.text  # the plain text, escaped on the page

    html = await http.get(f"/mailbox/{mail.key}/html")
    assert html.status_code == 200
    policy = html.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert policy.startswith("sandbox allow-popups ")
    assert "allow-scripts" not in policy
    assert "allow-same-origin" not in policy
    assert html.text.startswith('<!doctype html>\n<base target="_top">\n')
    assert 'href="http://desk.test/orders/7"' in html.text

    outbox = await http.get("/fragments/outbox")
    assert "delivered to the </span>dev mailbox" in outbox.text
    assert f'href="/mailbox/outbox/{REVIEW.key.replace(":", "%3A")}"' in outbox.text


async def test_an_unknown_message_is_a_page_saying_so(
    dev_app: tuple[httpx.AsyncClient, Mail],
) -> None:
    http, _ = dev_app
    for path in ("/mailbox/nope", "/mailbox/nope/html", "/mailbox/outbox/nope"):
        response = await http.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404, path
        assert "No such message in the dev mailbox." in response.text


async def test_with_smtp_settings_mail_goes_out_as_before_and_the_mailbox_is_off(
    db: Database, tmp_path: Path, sink: DevMailSink, nowhere: Client
) -> None:
    # The sink stands in for a real SMTP server here; the sink port in the environment (as
    # `opsdesk dev` would set it) changes nothing once SMTP is configured.
    settings = Settings(
        data_dir=tmp_path / "state",
        database_url=db.url.render_as_string(hide_password=False),
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_starttls=False,
        dev_mailbox_port=free_port(),
    )
    assert (await deliver(db, settings, REVIEW)).status == "sent"
    assert sink.mailbox.count() == 1  # it went out over SMTP
    async with serve(create_app(settings, temporal=nowhere)) as http:
        page = await http.get("/mailbox")
        assert page.status_code == 200
        assert "The dev mailbox is off" in page.text
        assert 'href="/mailbox"' not in page.text  # not in the top bar
        outbox = await http.get("/outbox")
        assert 'href="/mailbox"' not in outbox.text.split("</header>")[0]
        assert "delivered to the </span>dev mailbox" not in outbox.text
        message = await http.get("/mailbox/whatever", headers={"Accept": "text/html"})
        assert message.status_code == 404
        assert "The dev mailbox is off" in message.text
