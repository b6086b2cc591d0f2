"""The dev mailbox: the mail ``opsdesk dev``'s SMTP sink received, kept in a Maildir in the
data directory, so that what the sink files the API's Mailbox page reads (they run in
different processes). No SMTP here; the sink is ``opsdesk.notify.sink``.
"""

from __future__ import annotations

import email.policy
import mailbox
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from opsdesk.settings import Settings

DEV_MAILBOX_HOST = "127.0.0.1"
"""The sink listens on loopback only: it accepts mail from anyone who can reach it."""

# Python's Maildir names a message "<seconds>.M<microseconds>P<pid>Q<n>.<host>".
_DELIVERED = re.compile(r"^(\d+)\.M(\d+)P\d+Q(\d+)\.")


def uses_dev_mailbox(settings: Settings) -> bool:
    """Mail goes to the dev mailbox: ``opsdesk dev`` runs the sink (it sets the port) and no
    SMTP server is configured."""
    return not settings.smtp_host and settings.dev_mailbox_port is not None


def mailbox_path(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "mailbox"


@dataclass(frozen=True)
class Mail:
    """One delivered message as the Mailbox page shows it."""

    key: str
    subject: str
    sender: str
    to: str
    date: datetime | None
    """The message's Date header: when the outbox recorded it."""
    reference: str
    """What the message is about (``X-Opsdesk-Reference``), e.g. ``order-1001``."""
    text: str | None
    html: str | None


class DevMailbox:
    """The Maildir at ``path``. Each message is a file written under ``tmp/`` and then renamed
    into ``new/``, so a reader in another process never sees half of one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _maildir(self) -> mailbox.Maildir:
        return mailbox.Maildir(self.path, create=True)

    def deliver(self, raw: bytes) -> str:
        """File one message as received; its key."""
        return self._maildir().add(raw)

    def count(self) -> int:
        return len(self._keys())

    def recent(self, limit: int = 100) -> list[Mail]:
        """The newest ``limit`` messages, newest first."""
        maildir = self._maildir()
        mails = []
        for key in self._keys()[:limit]:
            mail = self._read(maildir, key)
            if mail is not None:
                mails.append(mail)
        return mails

    def get(self, key: str) -> Mail | None:
        return self._read(self._maildir(), key)

    def receipts(self) -> Counter[str]:
        """How many times each Message-ID was received (a retried delivery may file two)."""
        maildir = self._maildir()
        found: Counter[str] = Counter()
        for key in self._keys():
            message_id = self._message_id(maildir, key)
            if message_id is not None:
                found[message_id] += 1
        return found

    def find(self, message_id: str) -> str | None:
        """The key of the newest message with this Message-ID (a retried delivery may have
        filed two copies)."""
        maildir = self._maildir()
        for key in self._keys():
            if self._message_id(maildir, key) == message_id:
                return key
        return None

    @staticmethod
    def _message_id(maildir: mailbox.Maildir, key: str) -> str | None:
        try:
            raw = maildir.get_bytes(key)
        except (KeyError, FileNotFoundError):
            return None
        return str(
            BytesHeaderParser().parsebytes(raw, headersonly=True).get("Message-ID", "")
        ).strip()

    def _keys(self) -> list[str]:
        """Newest first, by when the sink filed each one (the Date header is when the outbox
        recorded it, which a retry makes older than a later message's)."""
        return sorted(self._maildir().keys(), key=_delivered, reverse=True)

    @staticmethod
    def _read(maildir: mailbox.Maildir, key: str) -> Mail | None:
        try:
            raw = maildir.get_bytes(key)
        except (KeyError, FileNotFoundError):
            return None
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        return Mail(
            key=key,
            subject=str(message.get("Subject", "")),
            sender=str(message.get("From", "")),
            to=str(message.get("To", "")),
            date=_date(message),
            reference=str(message.get("X-Opsdesk-Reference", "")),
            text=_body(message, "plain"),
            html=_body(message, "html"),
        )


def _delivered(key: str) -> tuple[int, int, int]:
    # A key another program wrote sorts as the oldest rather than failing the page.
    match = _DELIVERED.match(key)
    return (int(match[1]), int(match[2]), int(match[3])) if match else (0, 0, 0)


def _date(message: EmailMessage) -> datetime | None:
    try:
        header = message["Date"]
        moment = getattr(header, "datetime", None)
    except (TypeError, ValueError):
        return None
    if not isinstance(moment, datetime):
        return None
    # "-0000" (no zone known) parses without one; RFC 5322 means UTC by it.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else None
