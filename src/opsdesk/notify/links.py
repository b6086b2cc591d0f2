"""What a signed link grants: one answer to one question of one workflow, by one role,
until the question's deadline. No I/O: workflows put these in a notification's facts, and
composing the email signs them (``opsdesk.notify.signing``)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict


class LinkGrant(BaseModel):
    model_config = ConfigDict(frozen=True)

    link_id: str
    """Unique per link: the answer's id when the link is used, so a link acts once."""
    request_id: str
    stage: str
    round: int
    role: str
    answers: tuple[str, ...]
    """What the page may offer, e.g. ``("approve", "decline")``."""
    expires_at: AwareDatetime
    channel: Literal["email", "phone"] = "email"
    """Where the token travels: in an email's link, or in a call's webhook addresses. Each
    is refused on the other's route."""
