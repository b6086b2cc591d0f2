"""Money as people read it. Amounts are integer cents everywhere else."""

from __future__ import annotations


def format_money(cents: int, currency: str) -> str:
    """``120450, "USD"`` → ``"1,204.50 USD"``."""
    return f"{cents / 100:,.2f} {currency}"
