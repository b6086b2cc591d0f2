"""A scratch PostgreSQL server from the system's binaries (Debian's ``postgresql``
package): a data directory in a temporary folder, listening on loopback only, removed when
it stops. The test run and ``opsdesk drill`` start one; production never does."""

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

# initdb refuses to run as root; as root, the server runs as the package's own user.
SERVER_USER = "postgres"


class NoPostgres(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def binaries() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` directory."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def scratch_server(port: int, *, durable: bool = False) -> Iterator[str]:
    """Start a server on 127.0.0.1:``port``; yields its URL (user ``postgres``, trust).

    Not ``durable``, it skips fsync and the like: a test database outlives nothing. The
    drill keeps them on, so its database does the work a production one does."""
    bin_dir = binaries()
    if bin_dir is None:
        raise NoPostgres("install Debian's postgresql package (apt-get install postgresql)")
    home = Path(tempfile.mkdtemp(prefix="opsdesk-pg-"))
    data = home / "data"
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(SERVER_USER)
        except KeyError:
            shutil.rmtree(home)
            raise NoPostgres(f"there is no {SERVER_USER} user to run the server as") from None
        os.chown(home, user.pw_uid, user.pw_gid)
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync"]
        ),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {home} -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
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
