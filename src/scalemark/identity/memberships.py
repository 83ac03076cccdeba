"""Memberships: a user's role at a unit of the current tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scalemark.db import shared_transaction, tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity.roles import TENANT_ROLES, Grant
from scalemark.identity.users import UserError

__all__ = [
    "MemberRow",
    "add_membership",
    "grants_for",
    "is_assigned_consultant",
    "list_members",
    "set_membership_status",
    "update_membership",
]


async def is_assigned_consultant(user_id: int, tenant_slug: str) -> bool:
    """A consultant assigned to this tenant (shared table)."""
    async with shared_transaction() as conn:
        return bool(
            await conn.fetchval(
                "SELECT 1 FROM scalemark.consultant_assignment a"
                " JOIN scalemark.tenant t ON t.id = a.tenant_id"
                " JOIN scalemark.user_account u ON u.id = a.user_id"
                " WHERE a.user_id = $1 AND t.slug = $2 AND u.platform_role = 'consultant'",
                user_id,
                tenant_slug,
            )
        )


async def grants_for(user_id: int, platform_role: str | None = None) -> tuple[Grant, ...]:
    """Effective roles of a user in the current tenant."""
    consultant = platform_role == "consultant" and await is_assigned_consultant(
        user_id, current_tenant().slug
    )
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT m.role, m.unit_id, u.path FROM membership m JOIN unit u ON u.id = m.unit_id"
            " WHERE m.user_id = $1 AND m.status = 'active' AND u.archived_at IS NULL",
            user_id,
        )
        grants = [Grant(r["role"], r["unit_id"], r["path"]) for r in rows]
        if consultant:
            root = await conn.fetchrow("SELECT id, path FROM unit WHERE parent_id IS NULL")
            if root is not None:
                grants.append(Grant("consultant", root["id"], root["path"]))
    return tuple(grants)


def _check_role(role: str) -> None:
    if role not in TENANT_ROLES:
        raise UserError("role", _l("Choose a role from the list."))


async def add_membership(user_id: int, role: str, unit_id: int, *, status: str = "active") -> int:
    """Give a role at a unit (idempotent: an existing one is reactivated)."""
    _check_role(role)
    async with tenant_transaction() as conn:
        if not await conn.fetchval("SELECT 1 FROM unit WHERE id = $1", unit_id):
            raise UserError("unit", _l("Choose an existing unit."))
        membership_id = await conn.fetchval(
            "INSERT INTO membership (user_id, role, unit_id, status) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (user_id, role, unit_id) DO UPDATE SET status = EXCLUDED.status,"
            " updated_at = now() RETURNING id",
            user_id,
            role,
            unit_id,
            status,
        )
    return int(membership_id)


async def update_membership(membership_id: int, *, role: str, unit_id: int) -> None:
    """Change role and unit of a membership."""
    _check_role(role)
    async with tenant_transaction() as conn:
        if not await conn.fetchval("SELECT 1 FROM unit WHERE id = $1", unit_id):
            raise UserError("unit", _l("Choose an existing unit."))
        clash = await conn.fetchval(
            "SELECT 1 FROM membership WHERE id <> $1 AND (user_id, role, unit_id) ="
            " (SELECT user_id, $2, $3 FROM membership WHERE id = $1)",
            membership_id,
            role,
            unit_id,
        )
        if clash:
            raise UserError("role", _l("This person already has this role at this unit."))
        await conn.execute(
            "UPDATE membership SET role = $2, unit_id = $3, updated_at = now() WHERE id = $1",
            membership_id,
            role,
            unit_id,
        )


async def set_membership_status(membership_id: int, status: str) -> None:
    """Activate, approve or deactivate a membership."""
    if status not in {"active", "pending", "disabled"}:
        raise UserError("status", _l("Unknown status."))
    async with tenant_transaction() as conn:
        await conn.execute(
            "UPDATE membership SET status = $2, updated_at = now() WHERE id = $1",
            membership_id,
            status,
        )


@dataclass(frozen=True)
class MemberRow:
    """A membership as the members page lists it."""

    id: int
    user_id: int
    email: str
    name: str
    role: str
    unit_id: int
    unit_code: str
    unit_name: str
    unit_path: str
    status: str
    last_login_at: datetime | None


async def list_members(within_paths: list[str] | None = None) -> list[MemberRow]:
    """Memberships, optionally only those at units inside the given subtrees."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT m.id, m.user_id, a.email, a.name, m.role, m.unit_id, u.code,"
            " u.name AS unit_name, u.path, m.status, a.last_login_at FROM membership m"
            " JOIN unit u ON u.id = m.unit_id JOIN scalemark.user_account a ON a.id = m.user_id"
            " WHERE $1::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($1::text[]) p"
            " WHERE starts_with(u.path, p)) ORDER BY a.email, u.path",
            within_paths,
        )
    return [
        MemberRow(
            id=r["id"],
            user_id=r["user_id"],
            email=r["email"],
            name=r["name"],
            role=r["role"],
            unit_id=r["unit_id"],
            unit_code=r["code"],
            unit_name=r["unit_name"],
            unit_path=r["path"],
            status=r["status"],
            last_login_at=r["last_login_at"],
        )
        for r in rows
    ]
