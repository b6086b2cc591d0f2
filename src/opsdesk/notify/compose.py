"""Turn a notification's facts into an email from the desk's Jinja templates.

Each template is one file, ``<desk>/emails/<name>.j2``, with ``subject``, ``text`` and
``html`` blocks. The html block is rendered by an environment that escapes everything it
prints, the other two by one that does not (plain text must not show ``&amp;``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, PrefixLoader, StrictUndefined

from opsdesk import clock
from opsdesk.ai.tasks import ProseTask
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.models import EmailContent, Notification
from opsdesk.notify.signing import LinkSigner
from opsdesk.values import format_money

# Loaded by package name, so this shared service imports no desk.
_LOADER = PrefixLoader(
    {
        "orders": PackageLoader("opsdesk.orders", "emails"),
        "maintenance": PackageLoader("opsdesk.maintenance", "emails"),
        "reports": PackageLoader("opsdesk.reports", "emails"),
    }
)


def _instant(value: str | datetime) -> datetime:
    # Facts travel through workflows as ISO strings.
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def local_time(value: str | datetime, zone: str) -> str:
    """An ISO time as a person in ``zone`` reads it, the zone named (``clock.moment``)."""
    return clock.moment(_instant(value), zone)


def local_date(value: str | datetime, zone: str) -> str:
    """An ISO time's day in ``zone`` (``clock.day``)."""
    return clock.day(_instant(value), zone)


def local_span(start: str | datetime, end: str | datetime, zone: str) -> str:
    """Two ISO times as one window in ``zone``, the zone named (``clock.span``)."""
    return clock.span(_instant(start), _instant(end), zone)


def _environment(*, html: bool) -> Environment:
    # Plain text is never HTML, so only the html environment escapes.
    environment = Environment(
        loader=_LOADER,
        undefined=StrictUndefined,
        autoescape=html,  # noqa: S701
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["local_time"] = local_time
    environment.filters["local_date"] = local_date
    environment.filters["money"] = format_money
    environment.globals["local_span"] = local_span
    return environment


_PLAIN = _environment(html=False)
_HTML = _environment(html=True)


def render_template(
    template: str, facts: dict[str, Any], public_url: str, signer: LinkSigner | None = None
) -> EmailContent:
    """Render ``subject``, ``text`` and ``html`` from one template. A ``link`` fact (a
    ``LinkGrant``) becomes ``link_url``, signed here: the key never enters a workflow."""
    values = {**facts, "public_url": public_url.rstrip("/")}
    if facts.get("link"):
        if signer is None:
            raise ValueError(f"{template} has a link to sign but no signing key was given")
        values["link_url"] = signer.url(LinkGrant.model_validate(facts["link"]))

    def block(environment: Environment, name: str) -> str:
        compiled = environment.get_template(f"{template}.j2")
        return "".join(compiled.blocks[name](compiled.new_context(values))).strip()

    return EmailContent(
        subject=" ".join(block(_PLAIN, "subject").split()),
        text=block(_PLAIN, "text") + "\n",
        html=block(_HTML, "html"),
    )


class TemplateComposer:
    """Writes every email from its template."""

    def __init__(self, public_url: str, signer: LinkSigner | None = None) -> None:
        self.public_url = public_url
        self.signer = signer

    async def compose(self, notification: Notification) -> EmailContent:
        return render_template(
            notification.template, notification.facts, self.public_url, self.signer
        )


class AiEmailWriter:
    """Writes a customer email: a model's prose around the facts, which the template takes
    from the order's data; the template alone without a model."""

    def __init__(self, prose: ProseTask | None, public_url: str) -> None:
        self.prose = prose
        self.public_url = public_url

    async def write(self, notification: Notification) -> EmailContent:
        facts = notification.facts
        if self.prose is None:
            return render_template(notification.template, facts, self.public_url)
        prose, usage = await self.prose.write(
            first_name=str(facts.get("customer_name", "")).split(" ")[0],
            items=[line["name"] for line in facts.get("lines", [])],
            reference=notification.reference,
        )
        content = render_template(
            notification.template, {**facts, "prose": prose.model_dump()}, self.public_url
        )
        return content.model_copy(update={"author": f"{usage.provider}/{usage.model}"})
