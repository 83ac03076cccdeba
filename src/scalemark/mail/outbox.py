"""Reading the shared mail outbox (every message sent, logged or failed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scalemark.db import shared_transaction
from scalemark.i18n import lazy_gettext as _l

__all__ = ["MAIL_STATUS_LABELS", "OutboxMessage", "get_message", "list_messages"]

MAIL_STATUS_LABELS: dict[str | None, object] = {
    "queued": _l("Queued"),
    "sent": _l("Sent"),
    "logged": _l("Logged (no SMTP)"),
    "failed": _l("Failed"),
}
"""Translated outbox states."""

_SELECT = (
    "SELECT o.id, o.tenant_id, t.slug AS tenant_slug, t.name AS tenant_name, o.recipient,"
    " o.subject, o.body_text, o.status, o.error, o.created_at, o.sent_at"
    " FROM scalemark.mail_outbox o LEFT JOIN scalemark.tenant t ON t.id = o.tenant_id"
)


@dataclass(frozen=True)
class OutboxMessage:
    """One message of the outbox."""

    id: int
    tenant_id: int | None
    tenant_slug: str | None
    tenant_name: str | None
    recipient: str
    subject: str
    body_text: str
    status: str
    """``queued``, ``sent``, ``logged`` (no SMTP configured) or ``failed``."""
    error: str | None
    created_at: datetime
    sent_at: datetime | None


def _message(row: dict) -> OutboxMessage:
    return OutboxMessage(**{k: row[k] for k in OutboxMessage.__dataclass_fields__})


async def list_messages(
    *, limit: int = 50, before_id: int | None = None, recipient: str | None = None
) -> list[OutboxMessage]:
    """Newest first; ``before_id`` pages back, ``recipient`` filters by address fragment."""
    async with shared_transaction() as conn:
        rows = await conn.fetch(
            _SELECT + " WHERE ($1::bigint IS NULL OR o.id < $1)"
            " AND ($2::text IS NULL OR o.recipient ILIKE '%' || $2 || '%')"
            " ORDER BY o.id DESC LIMIT $3",
            before_id,
            recipient or None,
            max(1, min(limit, 200)),
        )
    return [_message(r) for r in rows]


async def get_message(message_id: int) -> OutboxMessage | None:
    """One message by id."""
    async with shared_transaction() as conn:
        row = await conn.fetchrow(_SELECT + " WHERE o.id = $1", message_id)
    return _message(row) if row else None
