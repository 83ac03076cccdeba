"""Share links: a report mailed to stakeholders, opened without an account.

A share is one e-mail address and one random token; only the token's SHA-256 is stored
(``report_share.token_hash``), the link ``https://<tenant host>/r/<token>`` exists only in
the mail. A link works until it expires (1–90 days, 14 by default) or is revoked; every
download, through a link or signed in, is a ``report_download`` row. Shares and
revocations are audited.

The mail goes out in the recipient's language when they have an account with one, else in
the report's language. Tokens live in the tenant's schema, so a token of another tenant is
simply unknown here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n.formatting import format_date
from scalemark.i18n.locale import use_locale
from scalemark.identity import audit
from scalemark.identity.principal import current_principal
from scalemark.identity.users import UserError, get_user_by_email, normalise_email
from scalemark.mail import MailMessage, send_mail
from scalemark.settings import get_settings

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "MAX_MESSAGE",
    "MAX_RECIPIENTS",
    "DownloadStats",
    "OpenedShare",
    "Share",
    "ShareRequest",
    "create_shares",
    "download_stats",
    "list_shares",
    "open_share",
    "parse_share_form",
    "record_download",
    "revoke_share",
    "share_link",
    "shared_report_ids",
    "token_digest",
]

DEFAULT_DAYS = 14
"""A link works this many days unless the sender chooses otherwise."""
MAX_DAYS = 90
"""Longest lifetime of a link."""
MAX_MESSAGE = 2000
"""Longest personal message (the table's check allows the same)."""
MAX_RECIPIENTS = 50
"""Addresses in one share request."""

_SEPARATORS = re.compile(r"[\s,;]+")


def token_digest(token: str) -> str:
    """What the table stores of a token (hex SHA-256, as invitations do)."""
    return hashlib.sha256(token.encode()).hexdigest()


def share_link(token: str) -> str:
    """The absolute link of a token on the current tenant's host."""
    return get_settings().public_url(current_tenant().slug, f"/r/{token}")


# -- the form -----------------------------------------------------------------------------


@dataclass
class ShareRequest:
    """A share form read and checked; ``errors`` holds a message per field at fault."""

    emails: list[str] = field(default_factory=list)
    message: str = ""
    days: int = DEFAULT_DAYS
    errors: dict[str, str] = field(default_factory=dict)


def parse_share_form(emails: str, message: str, days: str) -> ShareRequest:
    """Addresses (separated by commas, semicolons, spaces or lines), message and lifetime."""
    found = ShareRequest(message=(message or "").strip())
    addresses: list[str] = []
    for raw in _SEPARATORS.split(emails or ""):
        if not raw:
            continue
        try:
            addresses.append(normalise_email(raw))
        except UserError:
            found.errors["emails"] = _("“%(value)s” is not a valid e-mail address.", value=raw)
            break
    found.emails = list(dict.fromkeys(addresses))
    if not found.emails and "emails" not in found.errors:
        found.errors["emails"] = _("Enter at least one e-mail address.")
    elif len(found.emails) > MAX_RECIPIENTS:
        found.errors["emails"] = _(
            "Share with at most %(count)s addresses at once.", count=MAX_RECIPIENTS
        )
    if len(found.message) > MAX_MESSAGE:
        found.errors["message"] = _("The message is too long (2,000 characters at most).")
    text = (days or "").strip()
    if not text:
        found.days = DEFAULT_DAYS
    elif not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        found.errors["days"] = _("Choose how long the link works: 1 to 90 days.")
    else:
        found.days = int(text)
    return found


# -- shares -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """A link sent to one address, with how often it was used."""

    id: int
    report_id: int
    email: str
    message: str
    expires_at: datetime
    revoked_at: datetime | None
    created_label: str
    created_at: datetime
    downloads: int = 0
    last_download_at: datetime | None = None

    @property
    def state(self) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active"


_SHARE_COLUMNS = (
    "s.id, s.report_id, s.email, s.message, s.expires_at, s.revoked_at, s.created_label,"
    " s.created_at"
)


def _share(row: Any) -> Share:
    return Share(
        id=row["id"],
        report_id=row["report_id"],
        email=row["email"],
        message=row["message"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        created_label=row["created_label"],
        created_at=row["created_at"],
        downloads=row.get("downloads") or 0,
        last_download_at=row.get("last_download_at"),
    )


@dataclass(frozen=True)
class _Outgoing:
    email: str
    token: str
    expires_at: datetime


async def _recipient_locale(email: str, fallback: str) -> str:
    """The account's language when the address has an account with one, else ``fallback``."""
    user = await get_user_by_email(email)
    return user.locale if user is not None and user.locale else fallback


async def create_shares(
    report_id: int, request: ShareRequest, *, title: str, locale: str
) -> list[Share]:
    """A link per address of ``request``; each is audited and mailed.

    ``title`` (the report's title) and ``locale`` (its language) go into the mails; the
    caller has checked that the report exists and may be shared.
    """
    principal = current_principal()
    label = principal.user.email if principal else "system"
    outgoing: list[_Outgoing] = []
    created: list[Share] = []
    async with tenant_transaction() as conn:
        for email in request.emails:
            token = secrets.token_urlsafe(32)
            row = await conn.fetchrow(
                "INSERT INTO report_share AS s (report_id, email, token_hash, message,"
                " expires_at, created_by, created_label) VALUES ($1, $2, $3, $4,"
                " now() + make_interval(days => $5), $6, $7)"
                f" RETURNING {_SHARE_COLUMNS}",
                report_id,
                email,
                token_digest(token),
                request.message,
                request.days,
                principal.user.id if principal else None,
                label,
            )
            await audit.record(
                "report.share",
                object_type="report",
                object_id=report_id,
                after={
                    "share_id": row["id"],
                    "email": email,
                    "expires_at": row["expires_at"],
                    "message": bool(request.message),
                },
            )
            created.append(_share(row))
            outgoing.append(_Outgoing(email, token, row["expires_at"]))
    # Mail after the commit: a slow SMTP server must not hold the transaction open, and a
    # link must never reach anyone before its row exists.
    for item in outgoing:
        await _mail_link(item, request.message, title=title, locale=locale, sender=principal)
    return created


async def _mail_link(item: _Outgoing, message: str, *, title: str, locale: str, sender: Any) -> str:
    tenant = current_tenant()
    who = (sender.user.display_name if sender else "") or tenant.name
    with use_locale(await _recipient_locale(item.email, locale)):
        note = _("Message from %(name)s:", name=who) + "\n\n" + message + "\n\n" if message else ""
        body = _(
            "Hello,\n\n%(name)s shares the report “%(title)s” of %(org)s with you.\n\n"
            "%(note)sOpen and download it here (no account needed) until %(date)s:\n\n"
            "%(link)s\n\nThe link is personal; please do not forward it.",
            name=who,
            title=title,
            org=tenant.name,
            note=note,
            date=format_date(item.expires_at, "long"),
            link=share_link(item.token),
        )
        return await send_mail(
            MailMessage(
                to=item.email,
                subject=_("%(org)s: report “%(title)s”", org=tenant.name, title=title),
                body=body,
            ),
            tenant_id=tenant.id or None,
        )


async def list_shares(report_id: int) -> list[Share]:
    """A report's shares, newest first, each with its downloads."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            f"SELECT {_SHARE_COLUMNS}, count(d.id) AS downloads,"
            " max(d.created_at) AS last_download_at FROM report_share s"
            " LEFT JOIN report_download d ON d.share_id = s.id"
            " WHERE s.report_id = $1 GROUP BY s.id ORDER BY s.id DESC",
            report_id,
        )
    return [_share(r) for r in rows]


async def revoke_share(report_id: int, share_id: int) -> Share | None:
    """Make a link stop working (None: no such share of this report); audited once."""
    async with tenant_transaction() as conn:
        current = await conn.fetchrow(
            "SELECT revoked_at FROM report_share WHERE id = $1 AND report_id = $2 FOR UPDATE",
            share_id,
            report_id,
        )
        if current is None:
            return None
        row = await conn.fetchrow(
            "UPDATE report_share AS s SET revoked_at = coalesce(s.revoked_at, now())"
            f" WHERE s.id = $1 RETURNING {_SHARE_COLUMNS}",
            share_id,
        )
        if current["revoked_at"] is None:
            await audit.record(
                "report.share.revoke",
                object_type="report",
                object_id=report_id,
                before={"share_id": share_id, "email": row["email"]},
                after={"revoked_at": row["revoked_at"]},
            )
    return _share(row)


@dataclass(frozen=True)
class OpenedShare:
    """A share found by its token: the share and the report it opens."""

    share: Share
    report_id: int
    locale: str
    status: str


async def open_share(token: str) -> OpenedShare | None:
    """The share behind a link token, in any state (None: unknown here)."""
    if not token or len(token) > 200:
        return None
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            f"SELECT {_SHARE_COLUMNS}, r.locale, r.status FROM report_share s"
            " JOIN report r ON r.id = s.report_id WHERE s.token_hash = $1",
            token_digest(token),
        )
    if row is None:
        return None
    return OpenedShare(_share(row), row["report_id"], row["locale"], row["status"])


async def shared_report_ids(email: str) -> list[int]:
    """Reports with a working link (not revoked, not expired) for this address."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT report_id FROM report_share WHERE lower(email) = lower($1)"
            " AND revoked_at IS NULL AND expires_at > now() ORDER BY report_id DESC",
            email,
        )
    return [r["report_id"] for r in rows]


# -- downloads ----------------------------------------------------------------------------


async def record_download(
    report_id: int,
    *,
    share_id: int | None = None,
    user_id: int | None = None,
    ip: str | None = None,
    user_agent: str = "",
) -> None:
    """Log one download (through a link: ``share_id``; signed in: ``user_id``)."""
    async with tenant_transaction() as conn:
        await conn.execute(
            "INSERT INTO report_download (report_id, share_id, user_id, ip, user_agent)"
            " VALUES ($1, $2, $3, $4, $5)",
            report_id,
            share_id,
            user_id,
            (ip or "")[:64] or None,
            (user_agent or "")[:400],
        )


@dataclass(frozen=True)
class DownloadStats:
    """How often a report was downloaded, and when last."""

    count: int = 0
    last_at: datetime | None = None


async def download_stats(report_ids: Sequence[int]) -> dict[int, DownloadStats]:
    """Downloads per report (reports never downloaded are missing)."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT report_id, count(*) AS n, max(created_at) AS last_at FROM report_download"
            " WHERE report_id = ANY($1::bigint[]) GROUP BY report_id",
            list(report_ids),
        )
    return {r["report_id"]: DownloadStats(r["n"], r["last_at"]) for r in rows}
