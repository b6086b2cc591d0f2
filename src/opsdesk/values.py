"""Small value types every layer shares: money as people read it, email addresses, phone
numbers a call can dial. Pure: workflows import it."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

_PATTERN_WORDS: dict[str, str] = {}


def pattern(regex: str, words: str) -> str:
    """``regex`` for a text field, registered with ``words`` that say what it takes
    (``letters, digits and dashes, up to 64``): a value that does not match is refused in
    those words, never by showing the regex."""
    _PATTERN_WORDS[regex] = words
    return regex


def pattern_words(regex: str) -> str | None:
    """What a field of ``regex`` takes, in words, if it was registered with ``pattern``."""
    return _PATTERN_WORDS.get(regex)


Email = Annotated[
    str,
    StringConstraints(
        pattern=pattern(
            r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an email address, such as name@example.com"
        ),
        max_length=254,
        to_lower=True,
    ),
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
