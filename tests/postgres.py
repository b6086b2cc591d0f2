"""The test run's PostgreSQL server: a scratch one (``opsdesk.db.scratch``: Debian's
``postgresql`` binaries, which ``.ci/run`` installs as it installs Chromium), durability off
(a test database outlives nothing).

``OPSDESK_TEST_POSTGRES_URL`` names an existing server instead. Without either, the
PostgreSQL half of the database tests is skipped, except under CI, where it fails: the
run must not quietly test one database where it claims two.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from opsdesk.db.scratch import binaries, scratch_server

POSTGRES_URL_VARIABLE = "OPSDESK_TEST_POSTGRES_URL"


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is part of the test run: {reason}")
    pytest.skip(f"needs PostgreSQL: {reason}")


@contextmanager
def postgres_server(port: int) -> Iterator[str]:
    """Start a server on 127.0.0.1:``port``; yields its URL (user ``postgres``, trust)."""
    if binaries() is None:
        unavailable(f"install Debian's postgresql package or set {POSTGRES_URL_VARIABLE}")
    with scratch_server(port) as url:
        yield url
