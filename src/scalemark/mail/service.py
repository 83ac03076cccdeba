"""Send mail through SMTP and keep every message in the shared outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from scalemark.db import shared_transaction
from scalemark.settings import get_settings

__all__ = ["MailMessage", "send_mail"]

logger = logging.getLogger("scalemark.mail")


@dataclass(frozen=True)
class MailMessage:
    """A plain-text message (already rendered in the recipient's language)."""

    to: str
    """Recipient address."""
    subject: str
    """Subject line."""
    body: str
    """Plain-text body."""


async def _deliver(message: MailMessage, smtp_url: str) -> None:
    parts = urlsplit(smtp_url)
    email = EmailMessage()
    email["From"] = get_settings().mail_from
    email["To"] = message.to
    email["Subject"] = message.subject
    email.set_content(message.body)
    await aiosmtplib.send(
        email,
        hostname=parts.hostname or "127.0.0.1",
        port=parts.port or 25,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        start_tls=parts.scheme == "smtp+starttls",
        use_tls=parts.scheme == "smtps",
        timeout=10,
    )


async def send_mail(message: MailMessage, *, tenant_id: int | None = None) -> str:
    """Deliver (or log) a message and record it; returns the outbox status."""
    smtp_url = get_settings().smtp_url
    status, error = "logged", None
    if smtp_url:
        try:
            await _deliver(message, smtp_url)
            status = "sent"
        except (aiosmtplib.SMTPException, OSError) as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            logger.warning("mail to %s failed: %s", message.to, error)
    else:
        logger.info("mail (no SMTP_URL) to %s: %s\n%s", message.to, message.subject, message.body)
    async with shared_transaction() as conn:
        await conn.execute(
            "INSERT INTO scalemark.mail_outbox (tenant_id, recipient, subject, body_text, status,"
            " error, sent_at) VALUES ($1, $2, $3, $4, $5, $6,"
            " CASE WHEN $5::varchar = 'sent' THEN now() END)",
            tenant_id,
            message.to,
            message.subject,
            message.body,
            status,
            error,
        )
    return status
