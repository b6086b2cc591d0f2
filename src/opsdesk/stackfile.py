"""The file a running ``opsdesk dev`` keeps in its data directory: a lock that only one stack
per data directory can hold, and what other commands need to know about that stack (its
pid and URLs).

The lock is ``fcntl.flock`` on the file, which the kernel releases when the process that
holds it ends however it ends: a stack that crashed or was killed never blocks the next
one, and a file left behind by one says nothing about a stack running now.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from opsdesk.settings import Settings

FILE_NAME = "dev-stack.lock"


@dataclass(frozen=True)
class RunningStack:
    """What a running dev stack says about itself."""

    pid: int
    url: str
    """Its dashboard and API, as a browser reaches them."""
    temporal_ui_url: str


class StackRunning(Exception):
    """Another dev stack holds the data directory."""

    def __init__(self, data_dir: Path, running: RunningStack | None) -> None:
        self.running = running
        where = data_dir.resolve()
        if running is None:
            who = "another `opsdesk dev`"
        else:
            who = f"another `opsdesk dev` (pid {running.pid}, serving {running.url}/)"
        super().__init__(
            f"{who} already runs on the data directory {where}; use that one, stop it first "
            "(Ctrl-C in its terminal), or give this one another --data-dir"
        )


def path_in(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def _read(fd: int) -> RunningStack | None:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = b""
    while chunk := os.read(fd, 4096):
        raw += chunk
    try:
        fields = json.loads(raw)
        return RunningStack(
            pid=int(fields["pid"]), url=str(fields["url"]), temporal_ui_url=str(fields["ui"])
        )
    except (ValueError, KeyError, TypeError):
        # Locked but not written yet: a stack in its first instant.
        return None


class StackLock:
    """Held by the dev stack from before it starts anything until it has stopped all."""

    def __init__(self, data_dir: Path) -> None:
        self.path = path_in(data_dir)
        self._fd: int | None = None

    def acquire(self, me: RunningStack) -> None:
        """Take the lock and say who holds it; ``StackRunning`` if another stack has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = _read(fd)
            os.close(fd)
            raise StackRunning(self.path.parent, running) from None
        os.ftruncate(fd, 0)
        fields = {"pid": me.pid, "url": me.url, "ui": me.temporal_ui_url}
        os.pwrite(fd, json.dumps(fields).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        # Emptied first: a reader that opens the file between the two sees no stack.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing releases the lock
        self._fd = None


def running_stack(data_dir: Path) -> RunningStack | None:
    """The dev stack running on ``data_dir`` now, if one does."""
    try:
        fd = os.open(path_in(data_dir), os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd)
        return None  # nobody holds it: what it says is from a stack that has ended
    finally:
        os.close(fd)


def stack_url(settings: Settings) -> str:
    """The URL a person opens for this stack: the public URL when one is set, else the URL
    of the dev stack running on this data directory, else the one the settings describe."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    running = running_stack(settings.data_dir)
    if running is not None:
        return running.url
    return settings.dashboard_url
