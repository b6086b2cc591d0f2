"""Roles, and the identity a request acts as."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from opsdesk.values import pattern


class Role(StrEnum):
    """Each role may do what the ones before it may."""

    VIEWER = "viewer"
    """Reads every page and list."""
    OPERATOR = "operator"
    """Acts on orders and requests."""
    ADMIN = "admin"
    """Manages users and API tokens."""

    def allows(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


NAME_PATTERN = re.compile(
    pattern(
        r"^[a-z0-9][a-z0-9._@+-]{0,63}$",
        "up to 64 small letters, digits and . _ @ + -, starting with a letter or digit",
    )
)
NAME_RULE = "1-64 characters: lowercase letters, digits and . _ @ + - (first a letter or digit)"


RESERVED_NAMES = frozenset({"system", "temporal", "anthropic", "openai", "rules"})
"""Actors the workflows themselves record on a timeline: no person or token may be named so."""


def checked_name(name: str) -> str:
    """A user's or token's name, lowercased; ValueError saying the rule if it breaks it."""
    name = name.strip().lower()
    if not NAME_PATTERN.match(name):
        raise ValueError(f"invalid name {name!r}: {NAME_RULE}")
    if name in RESERVED_NAMES:
        raise ValueError(f"{name!r} is reserved: the timeline uses it for Ops Desk itself")
    return name


def checked_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise ValueError(
            f"unknown role {role!r}: one of {', '.join(r.value for r in Role)}"
        ) from None


def role_for(claim: object, mapping: Mapping[str, str]) -> Role | None:
    """The highest role an identity provider's claim grants: the claim is a role name or a
    group name, or a list of them; ``mapping`` turns names into roles (without one, the
    claim's values are role names). None when nothing maps."""
    values = claim if isinstance(claim, list) else [claim]
    found = []
    for value in values:
        if not isinstance(value, str):
            continue
        # With a mapping, only the mapping grants: a group that happens to be called
        # "admin" at the provider is not an admin here unless mapped.
        named = mapping.get(value) if mapping else value
        if named in {r.value for r in Role}:
            found.append(Role(named))
    return max(found, key=list(Role).index, default=None)


@dataclass(frozen=True)
class Identity:
    """Who a request acts as: a signed-in person or a token. ``name`` is what the timeline
    records as the actor."""

    name: str
    role: Role
    kind: Literal["user", "token"]
    time_zone: str | None = None
    """The zone a person reads times in (their account's setting); none for the
    business's."""
