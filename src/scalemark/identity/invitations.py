"""Invitations: an e-mail link that lets a person join the tenant with a role at a unit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n.locale import use_locale
from scalemark.identity import audit
from scalemark.identity.memberships import add_membership
from scalemark.identity.roles import ROLE_LABELS, TENANT_ROLES
from scalemark.identity.users import UserError, normalise_email
from scalemark.mail import MailMessage, send_mail
from scalemark.settings import get_settings

__all__ = [
    "INVITATION_DAYS",
    "InvitationView",
    "accept_invitation",
    "create_invitation",
    "find_invitation",
    "get_invitation",
    "has_open_invitation",
    "list_invitations",
    "revoke_invitation",
]

INVITATION_DAYS = 7


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class InvitationView:
    """An invitation as pages show it."""

    id: int
    email: str
    role: str
    unit_id: int
    unit_name: str
    unit_path: str
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        """``accepted``, ``revoked``, ``expired`` or ``open``."""
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= datetime.now(UTC):
            return "expired"
        return "open"


_SELECT = (
    "SELECT i.id, i.email, i.role, i.unit_id, u.name AS unit_name, u.path, i.expires_at,"
    " i.accepted_at, i.revoked_at FROM invitation i JOIN unit u ON u.id = i.unit_id"
)


def _view(row: dict) -> InvitationView:
    return InvitationView(
        id=row["id"],
        email=row["email"],
        role=row["role"],
        unit_id=row["unit_id"],
        unit_name=row["unit_name"],
        unit_path=row["path"],
        expires_at=row["expires_at"],
        accepted_at=row["accepted_at"],
        revoked_at=row["revoked_at"],
    )


async def create_invitation(
    email: str, role: str, unit_id: int, *, invited_by: int | None, locale: str | None = None
) -> tuple[InvitationView, str]:
    """Store an invitation and mail the link (in ``locale``); returns it and the token."""
    address = normalise_email(email)
    if role not in TENANT_ROLES:
        raise UserError("role", _l("Choose a role from the list."))
    token = secrets.token_urlsafe(32)
    tenant = current_tenant()
    async with tenant_transaction() as conn:
        unit = await conn.fetchrow("SELECT id, name, locale FROM unit WHERE id = $1", unit_id)
        if unit is None:
            raise UserError("unit", _l("Choose an existing unit."))
        invitation_id = await conn.fetchval(
            "INSERT INTO invitation (email, role, unit_id, token_hash, invited_by, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6)) RETURNING id",
            address,
            role,
            unit_id,
            _digest(token),
            invited_by,
            INVITATION_DAYS,
        )
        row = await conn.fetchrow(_SELECT + " WHERE i.id = $1", invitation_id)
        await audit.record(
            "member.invite",
            object_type="invitation",
            object_id=invitation_id,
            after={"email": address, "role": role, "unit": unit["name"]},
        )
        link = get_settings().public_url(tenant.slug, f"/invite/{token}")
        with use_locale(locale or unit["locale"] or tenant.default_locale):
            await send_mail(
                MailMessage(
                    to=address,
                    subject=_("You are invited to %(org)s on Scalemark", org=tenant.name),
                    body=_(
                        "Hello,\n\nyou are invited to join %(org)s on Scalemark as %(role)s"
                        " for %(unit)s. Accept the invitation within %(days)s days:\n\n%(link)s\n",
                        org=tenant.name,
                        role=str(ROLE_LABELS[role]),
                        unit=unit["name"],
                        days=INVITATION_DAYS,
                        link=link,
                    ),
                ),
                tenant_id=tenant.id,
            )
    return _view(row), token


async def find_invitation(token: str) -> InvitationView | None:
    """The invitation behind a link token (any state)."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(_SELECT + " WHERE i.token_hash = $1", _digest(token))
    return _view(row) if row else None


async def accept_invitation(token: str, user_id: int, user_email: str) -> InvitationView:
    """Turn an open invitation into a membership; the e-mail must match the account."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            _SELECT + " WHERE i.token_hash = $1 FOR UPDATE OF i", _digest(token)
        )
        if row is None:
            raise UserError("token", _l("This invitation does not exist."))
        invitation = _view(row)
        if invitation.state != "open":
            raise UserError("token", _l("This invitation has expired or was already used."))
        if invitation.email != user_email.lower():
            raise UserError("email", _l("This invitation was sent to another e-mail address."))
        await add_membership(user_id, invitation.role, invitation.unit_id)
        await conn.execute("UPDATE invitation SET accepted_at = now() WHERE id = $1", invitation.id)
        await audit.record(
            "member.join",
            object_type="user",
            object_id=user_id,
            after={"role": invitation.role, "unit_id": invitation.unit_id, "via": "invitation"},
        )
    return invitation


async def list_invitations(within_paths: list[str] | None = None) -> list[InvitationView]:
    """Invitations of the tenant, newest first, optionally within subtrees."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            _SELECT + " WHERE $1::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($1::text[]) p"
            " WHERE starts_with(u.path, p)) ORDER BY i.id DESC LIMIT 200",
            within_paths,
        )
    return [_view(r) for r in rows]


async def revoke_invitation(invitation_id: int) -> bool:
    """Withdraw an open invitation (audited); False when it was not open."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(_SELECT + " WHERE i.id = $1 FOR UPDATE OF i", invitation_id)
        if row is None or _view(row).state != "open":
            return False
        await conn.execute("UPDATE invitation SET revoked_at = now() WHERE id = $1", invitation_id)
        details = {"email": row["email"], "role": row["role"], "unit": row["unit_name"]}
        await audit.record(
            "member.invite_revoke",
            object_type="invitation",
            object_id=invitation_id,
            before={**details, "state": "open"},
            after={**details, "state": "revoked"},
        )
    return True


async def get_invitation(invitation_id: int) -> InvitationView | None:
    """One invitation by id (any state)."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(_SELECT + " WHERE i.id = $1", invitation_id)
    return _view(row) if row else None


async def has_open_invitation(email: str) -> bool:
    """Someone invited to this tenant who has not accepted yet (they may sign in to do so)."""
    async with tenant_transaction() as conn:
        return bool(
            await conn.fetchval(
                "SELECT 1 FROM invitation WHERE email = $1 AND accepted_at IS NULL"
                " AND revoked_at IS NULL AND expires_at > now() LIMIT 1",
                email.strip().lower(),
            )
        )


def expires_after() -> timedelta:
    """How long invitation links work."""
    return timedelta(days=INVITATION_DAYS)
