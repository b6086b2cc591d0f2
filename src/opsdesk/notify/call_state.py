"""Where a call is, in words a person reads: ringing, on the line, ended, or answered
first on another channel (the owner clicked the email's link while the phone rang).

The outbox knows the first three (the call's webhooks note the pick-up and the end). Only
the desk that asked the call's question knows whether someone answered it another way, so
it registers a ``FirstAnswers`` lookup on the app (``app.state.first_answers``) and the dev
phone asks it; this package imports no desk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fastapi import Request

from opsdesk.notify.models import OutboxEntry

CallState = Literal["ringing", "answered", "ended", "answered_first"]


@dataclass(frozen=True)
class FirstAnswer:
    """The call's question, answered on another channel before the call answered it."""

    who: str
    how: str
    """The channel in words: ``by email``, ``through our office``."""
    what: str
    """The answer in a few words: ``approved``."""
    at: datetime


@dataclass(frozen=True)
class CallView:
    state: CallState
    label: str
    """A few words for a badge: ``Ringing``, ``Answered by email first``."""
    detail: str
    """A sentence saying what happened and what happens next (after the first answer, which
    ``notify/_call_state.html`` words, when there is one)."""
    first: FirstAnswer | None = None


FirstAnswers = Callable[[Request, list[OutboxEntry]], Awaitable[dict[int, FirstAnswer]]]
"""Given calls from the outbox, those whose question was answered another way, by id."""


def call_view(entry: OutboxEntry, first: FirstAnswer | None = None) -> CallView:
    """The call's state: an answer on another channel says most, then how the call ended,
    then whether anyone picked up."""
    if first is not None:
        # The template words the answer, with its time in the reader's zone; then the call.
        return CallView(
            "answered_first",
            f"Answered {first.how} first",
            entry.call_ended or "Nobody needs to pick up; the question is closed.",
            first,
        )
    if entry.call_ended:
        return CallView("ended", "Ended", entry.call_ended)
    if entry.call_answered:
        return CallView("answered", "On the line", "Picked up: the call is going on now.")
    return CallView("ringing", "Ringing", "Nobody has picked up yet.")


async def call_views(request: Request, calls: list[OutboxEntry]) -> dict[int, CallView]:
    """Each call's view, asking the desk that placed it which were answered first."""
    lookup: FirstAnswers | None = getattr(request.app.state, "first_answers", None)
    firsts = await lookup(request, calls) if lookup is not None and calls else {}
    return {call.id: call_view(call, firsts.get(call.id)) for call in calls}
