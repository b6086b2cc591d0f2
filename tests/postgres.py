"""A PostgreSQL server of the test run's own: Debian's ``postgresql`` binaries (``.ci/run``
installs them as it installs Chromium), a data directory in a temporary folder, listening
on loopback only, durability off (a test database outlives nothing).

``OPSDESK_TEST_POSTGRES_URL`` names an existing server instead. Without either, the
PostgreSQL half of the database tests is skipped, except under CI, where it fails: the
run must not quietly test one database where it claims two.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTGRES_URL_VARIABLE = "OPSDESK_TEST_POSTGRES_URL"
# initdb refuses to run as root; as root, the server runs as the package's own user.
SERVER_USER = "postgres"


def binaries() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` directory."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is part of the test run: {reason}")
    pytest.skip(f"needs PostgreSQL: {reason}")


@contextmanager
def postgres_server(port: int) -> Iterator[str]:
    """Start a server on 127.0.0.1:``port``; yields its URL (user ``postgres``, trust)."""
    bin_dir = binaries()
    if bin_dir is None:
        unavailable(f"install Debian's postgresql package or set {POSTGRES_URL_VARIABLE}")
        raise AssertionError("unreachable")
    home = Path(tempfile.mkdtemp(prefix="opsdesk-pg-"))
    data = home / "data"
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(home, user.pw_uid, user.pw_gid)
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync"]
        ),
        check=True, capture_output=True,
    )  # fmt: skip
    options = (
        f"-h 127.0.0.1 -p {port} -k {home} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
             str(home / "server.log"), "-w", "-t", "60", "start"]
        ),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False, capture_output=True,
        )  # fmt: skip
        # The server's last files may still be closing.
        for _ in range(20):
            try:
                shutil.rmtree(home)
                break
            except OSError:
                time.sleep(0.1)
