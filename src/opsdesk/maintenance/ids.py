"""Request ids and the workflow ids made from them."""

from __future__ import annotations

import hashlib
import re

from opsdesk.values import pattern

REQUEST_ID_PATTERN = pattern(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    "up to 64 letters, digits and . _ -, starting with a letter or digit",
)
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_.-]")
FIRST_REQUEST_NUMBER = 1
"""The first number the desk gives a request made without an id of its own (``R-0001``)."""
_NUMBERED = re.compile(r"R-(\d{4,})")
_WORD = re.compile(r"[a-z]{3,}")
_SHORT_NUMBER = re.compile(r"[1-9]\d{0,3}")


def numbered_request_id(number: int) -> str:
    """The id of the request the desk gave ``number``: ``R-0007``, more digits past 9999."""
    return f"R-{number:04d}"


def number_of(request_id: str) -> int:
    """The number of the desk's ``R-0007``: 7. Only for ids ``numbered_request_id`` made."""
    numbered = _NUMBERED.fullmatch(request_id)
    if numbered is None:
        raise ValueError(f"{request_id} is not a numbered request id")
    return int(numbered.group(1))


def spoken_request_id(request_id: str, number: str = "number") -> str:
    """A request id as a voice should read it, so a listener can write it down: the desk's
    own ``R-0007`` is "number 7"; any other id (a property system's ``demo-WO-8F3A21BC``)
    is read piece by piece: a lower-case word as a word, a number of up to four digits as
    a number, anything else one character at a time: "demo, W O, 8 F 3 A 2 1 B C".
    ``number`` is the word in the call's language ("número 7")."""
    numbered = _NUMBERED.fullmatch(request_id)
    if numbered:
        return f"{number} {int(numbered.group(1))}"
    said = []
    for group in re.split(r"[-_.]+", request_id):
        if _WORD.fullmatch(group) or _SHORT_NUMBER.fullmatch(group):
            said.append(group)
        elif group:
            said.append(" ".join(group.upper()))
    return ", ".join(said) or request_id


def request_workflow_id(request_id: str) -> str:
    return f"maintenance-{request_id}"


def request_id_of(workflow_id: str) -> str:
    return workflow_id.removeprefix("maintenance-")


EXTERNAL_HASH_LENGTH = 12
"""Hex digits of the hash that ends the id of a record whose own id does not fit as it is."""


def external_request_id(source: str, external_id: str) -> str:
    """The request id of a record polled from a property-management system: the source and
    its own id, so a record starts one request however often it is polled.

    An id that fits (64 characters at most, only letters, digits and . _ -) is kept as it
    is. Any other is made to fit, readable as far as it goes, and ends with a short hash of
    the whole id: two records whose ids differ only past the 64th character, or only in
    characters a request id cannot hold, are two requests, never one "started before"."""
    whole = f"{source}-{external_id}"
    if len(whole) <= 64 and not _NOT_ALLOWED.search(whole):
        return whole
    digest = hashlib.sha256(whole.encode()).hexdigest()[:EXTERNAL_HASH_LENGTH]
    readable = _NOT_ALLOWED.sub("_", whole)[: 64 - EXTERNAL_HASH_LENGTH - 1]
    return f"{readable}-{digest}"


def poller_workflow_id(source: str) -> str:
    return f"pms-poller-{source}"
