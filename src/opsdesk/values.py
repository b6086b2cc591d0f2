"""Small value types every layer shares: money as people read it, email addresses.
Pure: workflows import it."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, to_lower=True)
]


def format_money(cents: int, currency: str) -> str:
    """``120450, "USD"`` → ``"1,204.50 USD"``. Amounts are integer cents everywhere else."""
    return f"{cents / 100:,.2f} {currency}"
