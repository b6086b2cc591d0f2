"""``opsdesk dev``'s SMTP sink (aiosmtpd): accepts every message on loopback and files it in
the dev mailbox, so mail can be read on a laptop without an SMTP account.

It runs in a thread of the process that starts it, on an event loop of its own: the
supervisor knows the port it took before it starts the worker, and nothing outlives the
stack.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from aiosmtpd.smtp import SMTP

from opsdesk.notify.devmail import DEV_MAILBOX_HOST, DevMailbox

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class _Filer:
    """aiosmtpd's handler: every recipient is accepted, every message filed."""

    def __init__(self, mailbox: DevMailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        # SMTP's line ends are CRLF; a Maildir's files, like every local mailbox, use LF.
        raw = envelope.original_content.replace(b"\r\n", b"\n")
        try:
            await asyncio.to_thread(self.mailbox.deliver, raw)
        except OSError as exc:
            # Transient for the sender (a full disk gets freed): its retries try again.
            return f"451 4.3.0 could not file the message: {exc}"
        return "250 2.0.0 delivered to the dev mailbox"


class DevMailSink:
    def __init__(self, mailbox: DevMailbox, port: int = 0) -> None:
        """``port`` 0 takes a free one (see ``port`` once started)."""
        self.mailbox = mailbox
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> int:
        """Listen, and answer from a thread; the port. ``OSError`` if it is taken."""
        sock = socket.create_server((DEV_MAILBOX_HOST, self.port))
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(sock, ready),), name="dev-mailbox", daemon=True
        )
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the dev mailbox did not start within {START_TIMEOUT:.0f}s")
        if self._failure is not None:
            raise self._failure
        return self.port

    def stop(self) -> None:
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and self.running:
            loop.call_soon_threadsafe(stopped.set)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)

    async def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        handler = _Filer(self.mailbox)

        def session() -> SMTP:
            # A hostname of its own: aiosmtpd would otherwise look this machine's name up in
            # DNS for every connection.
            return SMTP(handler, hostname="opsdesk-dev-mailbox", enable_SMTPUTF8=True, loop=loop)

        try:
            server = await loop.create_server(session, sock=sock)
        except Exception as exc:
            self._failure = exc
            sock.close()
            ready.set()
            return
        self._loop, self._stopped = loop, asyncio.Event()
        ready.set()
        try:
            await self._stopped.wait()
        finally:
            # No wait for open sessions: asyncio.run cancels them as it ends.
            server.close()
