"""Email delivery over SMTP (aiosmtplib)."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from opsdesk.errors import EmailRejected
from opsdesk.notify.devmail import DEV_MAILBOX_HOST, uses_dev_mailbox
from opsdesk.notify.models import OutboxEntry
from opsdesk.settings import Settings


def message_id(key: str) -> str:
    """The same Message-ID for every attempt at one outbox message, so that a receiver can
    drop the copy a crash between "sent" and "recorded as sent" may produce."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@opsdesk>"


def build_message(entry: OutboxEntry, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = entry.to
    message["Subject"] = entry.subject
    message["Message-ID"] = message_id(entry.key)
    message["Date"] = formatdate(entry.created_at.timestamp(), localtime=False)
    message["X-Opsdesk-Reference"] = entry.reference
    message.set_content(entry.text)
    if entry.html:
        message.add_alternative(entry.html, subtype="html")
    return message


def sender_for(settings: Settings, template: str) -> str:
    """The address a message comes from: the desk that wrote it (its template's prefix)."""
    if template.startswith("maintenance/"):
        return settings.maintenance_mail_from
    return settings.mail_from


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host) or self.to_dev_mailbox

    @property
    def to_dev_mailbox(self) -> bool:
        """Mail goes to ``opsdesk dev``'s SMTP sink, not to anyone's inbox."""
        return uses_dev_mailbox(self.settings)

    async def send(self, entry: OutboxEntry) -> None:
        """Send one message. A permanent refusal (5xx) raises ``EmailRejected``; anything
        else (connection refused, 4xx, timeout) is left to the caller's retries."""
        s = self.settings
        message = build_message(entry, sender_for(s, entry.template))
        try:
            if self.to_dev_mailbox:
                # The sink is on loopback and offers neither TLS nor a login.
                await aiosmtplib.send(
                    message,
                    hostname=DEV_MAILBOX_HOST,
                    port=s.dev_mailbox_port,
                    start_tls=False,
                    timeout=s.smtp_timeout,
                )
                return
            password = s.smtp_password.get_secret_value() if s.smtp_password else None
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=password,
                use_tls=s.smtp_tls,
                # None: STARTTLS when the server offers it; False: never.
                start_tls=None if s.smtp_starttls and not s.smtp_tls else False,
                timeout=s.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            permanent = [r for r in exc.recipients if r.code >= 500]
            if permanent:
                raise EmailRejected(f"recipient refused: {permanent[0].message}") from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise EmailRejected(f"SMTP {exc.code}: {exc.message}") from exc
            raise
