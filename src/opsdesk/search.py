"""Search by personal words without writing them into visibility.

An order is found by its customer's name or e-mail address, but visibility is readable by
whoever runs Temporal (its UI, its database, its backups), so the words themselves never go
there. Each word is stored as a keyed hash (HMAC-SHA256 under a key derived from the payload
keys, which only the desk's own processes hold) in the ``SearchKeys`` search attribute, and a
search hashes what was typed the same way and compares hashes. Only whole words match:
"ada" finds Ada Lovelace, "ad" does not.

The key is derived from the oldest payload key a deployment holds, so adding a newer key
(rotation) changes no hash; retiring the oldest one makes older orders unfindable by name.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from pathlib import Path

from opsdesk.settings import Settings
from opsdesk.temporal.codec import payload_keys

# Enough to tell apart every word a desk will ever hold, short enough for visibility's index.
_HASH_CHARS = 24
MAX_WORDS = 6
"""Words of one search that are compared; more say nothing a person means."""

_WORD = re.compile(r"[^\W_]+(?:['\u2019.-][^\W_]+)*")
_derived: dict[tuple[str | None, Path], bytes] = {}


def _key(settings: Settings) -> bytes:
    configured = settings.payload_keys.get_secret_value() if settings.payload_keys else None
    where = (configured, settings.data_dir.resolve())
    if where not in _derived:
        oldest = payload_keys(settings)[-1]
        _derived[where] = hmac.new(oldest.secret, b"opsdesk search keys", hashlib.sha256).digest()
    return _derived[where]


def normal(text: str) -> str:
    """How a word is compared: case, accents and width do not matter."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of ``text`` as they are hashed: "Fitzgerald-Oyelaran" is one word, and so is
    each of its halves, so either finds it."""
    found: list[str] = []
    for match in _WORD.finditer(normal(text)):
        word = match.group()
        found.append(word)
        parts = re.split(r"['\u2019.-]", word)
        if len(parts) > 1:
            found.extend(part for part in parts if part)
    return list(dict.fromkeys(found))


def hashed(settings: Settings, word: str) -> str:
    digest = hmac.new(_key(settings), normal(word).encode(), hashlib.sha256).hexdigest()
    return digest[:_HASH_CHARS]


def private_customer_id(settings: Settings, customer_id: str) -> str:
    """A customer id as visibility may hold it: an id that is an email address (a shop's, or
    the dashboard's form, which has no other) becomes ``cus-`` and its keyed hash, the same
    for the same address; any other id is the client's own and stays as it came. Search
    attributes are readable by anyone with access to the namespace, and never by our key."""
    if "@" not in customer_id:
        return customer_id
    return f"cus-{hashed(settings, customer_id)}"


def keys_for(settings: Settings, *, name: str, email: str) -> list[str]:
    """What an order stores to be found: each word of the name, and the whole address."""
    return sorted({hashed(settings, w) for w in words(name)} | {hashed(settings, email.strip())})


def query_keys(settings: Settings, text: str) -> list[str]:
    """The hashes a search for ``text`` must all find: the whole address for one with an
    "@", else each word (up to ``MAX_WORDS``)."""
    text = text.strip()
    if "@" in text and " " not in text:
        return [hashed(settings, text)]
    return [hashed(settings, w) for w in words(text)[:MAX_WORDS]]
