"""Small value types every layer shares: money as people read it, email addresses, phone
numbers a call can dial. Pure: workflows import it."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, to_lower=True)
]


def format_money(cents: int, currency: str) -> str:
    """``120450, "USD"`` → ``"1,204.50 USD"``. Amounts are integer cents everywhere else."""
    return f"{cents / 100:,.2f} {currency}"


_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


def dialable(phone: str | None) -> str | None:
    """A phone number as a call dials it (E.164, ``+14155550101``), or None when it is not
    one: written without its country code, a call could reach the wrong country."""
    if not phone:
        return None
    compact = re.sub(r"[\s().-]", "", phone)
    return compact if _E164.match(compact) else None
