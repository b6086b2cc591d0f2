"""An owner's policy for one property: what may happen without the owner's answer, and when
and how the owner is reached. Kept in the directory (a ``policy`` object on each property),
fixed into each request at intake (``PropertyFacts.policy``), so a later change to the
directory never alters a request in flight.

Pure data and pure functions: the workflow imports it. The one function that reads the
time-zone database (``quiet_until``) runs in an activity.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from opsdesk.clock import clock_time, duration, zone_label, zone_of
from opsdesk.maintenance.status import CallPreference
from opsdesk.values import format_money

PreferredChannel = Literal["email", "phone", "both"]
"""How the owner of a property wants approvals to reach them: by email only, by phone first
(email only if the call does not settle it), or both at once."""

CHANNEL_CALLS: dict[PreferredChannel, CallPreference] = {
    "email": "email_only",
    "phone": "call_first",
    "both": "email_and_call",
}
"""A property's preferred channel, as the owner's call preference the workflow applies."""

Hours = Annotated[int, Field(ge=1, le=24 * 14)]


class QuietHours(BaseModel):
    """When a routine or urgent question never phones the owner, in the property's zone."""

    start: time = time(21, 0)
    end: time = time(8, 0)
    """The first minute calls may be placed again; before ``start`` means overnight."""
    weekends: bool = False
    """Saturday and Sunday are quiet all day, too."""

    @model_validator(mode="after")
    def _a_span(self) -> Self:
        if self.start == self.end:
            raise ValueError('quiet hours must start and end at different times (or be "none")')
        return self


class OwnerPolicy(BaseModel):
    """What the owner of a property lets happen without them. Every field has a default,
    so a directory file without a ``policy`` (or with only some of it) imports."""

    emergency_wait_hours: Hours = 2
    """How long an emergency quote above the approval limit waits for the owner before
    work that stops further damage goes ahead without them."""
    make_safe_cap_cents: Annotated[int, Field(ge=0)] | None = None
    """The most that make-safe work may cost without the owner; None: the approval limit."""
    silence_approves_routine_hours: Hours | None = None
    """A routine quote above the limit counts as approved when the owner has not answered
    in this many hours; None: never (the request expires at the estimate's deadline)."""
    quiet_hours: QuietHours | Literal["none"] = QuietHours()
    """"none": routine and urgent questions may phone at any hour."""
    channel: PreferredChannel | None = None
    """None: as the owner's own call preference says (``OwnerSpec.calls``)."""

    def make_safe_cap(self, approval_limit_cents: int) -> int:
        """The make-safe cap for a property whose approval limit is ``approval_limit_cents``."""
        if self.make_safe_cap_cents is None:
            return approval_limit_cents
        return self.make_safe_cap_cents

    def calls(self, owner_calls: CallPreference) -> CallPreference:
        """The call preference this property's requests apply: its channel, or the owner's."""
        return owner_calls if self.channel is None else CHANNEL_CALLS[self.channel]


def is_quiet(local: datetime, quiet: QuietHours) -> bool:
    """Whether ``local`` (a time in the property's zone) falls in the quiet hours."""
    if quiet.weekends and local.weekday() >= 5:
        return True
    now = local.time()
    if quiet.start < quiet.end:
        return quiet.start <= now < quiet.end
    return now >= quiet.start or now < quiet.end


def quiet_until(moment: datetime, time_zone: str, quiet: QuietHours) -> datetime | None:
    """When the quiet hours around ``moment`` end (in UTC), or None when ``moment`` is not in
    quiet hours at the property."""
    zone = ZoneInfo(time_zone)
    local = moment.astimezone(zone)
    if not is_quiet(local, quiet):
        return None
    # The first end of quiet hours after now that is itself not quiet (a weekend night's
    # end falls in the weekend): at most three days on.
    for days in range(4):
        candidate = datetime.combine(local.date() + timedelta(days=days), quiet.end, zone)
        if candidate > local and not is_quiet(candidate, quiet):
            return candidate.astimezone(UTC)
    raise AssertionError(f"quiet hours without an end: {quiet}")


_REACH: dict[CallPreference, str] = {
    "email_and_call": "The owner is asked by email and by phone at once.",
    "email_only": "The owner is asked by email only; only an emergency above the limit phones.",
    "call_first": "The owner is phoned first, and emailed if the call does not settle it.",
    "call_only_after_hours": (
        "The owner is phoned; outside office hours the email goes only if the call does not "
        "settle it."
    ),
}


def policy_sentences(
    policy: OwnerPolicy,
    *,
    limit_cents: int,
    currency: str,
    time_zone: str,
    owner_calls: CallPreference,
    owner_has_phone: bool,
) -> list[str]:
    """The policy in plain sentences, as the property page shows it to ops and owners."""
    limit = format_money(limit_cents, currency)
    cap = policy.make_safe_cap(limit_cents)
    wait = duration(timedelta(hours=policy.emergency_wait_hours))
    lines = [
        f"Quotes up to {limit} go ahead without asking the owner."
        if limit_cents
        else "Every quote needs the owner's approval."
    ]
    if cap:
        lines.append(
            "An emergency quote above the limit is put to the owner by phone and email at "
            f"once, at any hour. If nobody answers within {wait}, only work that stops further "
            f"damage goes ahead, up to {format_money(cap, currency)}; the full repair waits "
            "for the owner."
        )
    else:
        lines.append(
            "An emergency quote above the limit is put to the owner by phone and email at "
            "once, at any hour. No work goes ahead without the owner's answer."
        )
    if policy.silence_approves_routine_hours is None:
        lines.append("A routine quote above the limit always waits for the owner's answer.")
    else:
        silence = duration(timedelta(hours=policy.silence_approves_routine_hours))
        lines.append(f"Routine quotes are approved if the owner has not answered in {silence}.")
    quiet = policy.quiet_hours
    if quiet == "none":
        lines.append("The owner may be phoned at any hour.")
    else:
        today = datetime.now(UTC).date()
        start, end = (
            clock_time(datetime.combine(today, t, zone_of(time_zone)), time_zone)
            for t in (quiet.start, quiet.end)
        )
        weekends = " or at weekends" if quiet.weekends else ""
        lines.append(
            f"No calls between {start} and {end} {zone_label(time_zone)}{weekends}: the "
            "question is emailed and the call waits until the quiet hours end. Emergencies "
            "call at any hour."
        )
    calls = policy.calls(owner_calls)
    lines.append(
        _REACH[calls]
        if owner_has_phone
        else "The owner has no phone number on file: every question goes by email."
    )
    return lines
