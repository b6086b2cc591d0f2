"""A list's filters as the address holds them, and as removable chips.

The address is the list's whole state: a filtered list can be bookmarked, shared and saved
as a view (``opsdesk.web.saved_views``), and each chip's "remove" is a link to the same
address without that one filter. Both desks' lists use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


@dataclass(frozen=True)
class Chip:
    name: str
    """The query parameter the chip stands for."""
    label: str
    """What it says: "Status: awaiting stock", "Search: ada"."""
    remove: str
    """The list's address without this filter."""


def query_string(query: Mapping[str, Any]) -> str:
    """The filters as the address writes them, in one order (so one filter set is one
    address): booleans as ``true``/``false``, empty values left out."""
    pairs = sorted(
        (k, str(v).lower() if isinstance(v, bool) else str(v))
        for k, v in query.items()
        if v not in (None, "")
    )
    return urlencode(pairs)


def address(path: str, query: Mapping[str, Any]) -> str:
    written = query_string(query)
    return f"{path}?{written}" if written else path


def chips(path: str, query: Mapping[str, Any], label: Callable[[str, Any], str]) -> list[Chip]:
    """A chip for each filter in ``query``, labelled by ``label(name, value)``."""
    return [
        Chip(name, label(name, value), address(path, {k: v for k, v in query.items() if k != name}))
        for name, value in sorted(query.items())
        if value not in (None, "")
    ]
