"""Memberships: a user's role at a unit of the current tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalemark.db import shared_transaction, tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit
from scalemark.identity.principal import Principal
from scalemark.identity.roles import TENANT_ROLES, Grant, Permission, permissions_of
from scalemark.identity.users import User, UserError

__all__ = [
    "MemberRow",
    "add_membership",
    "change_membership",
    "change_membership_status",
    "get_membership",
    "grantable_roles",
    "grants_for",
    "is_assigned_consultant",
    "list_members",
    "may_manage",
    "reject_pending_membership",
    "set_membership_status",
    "update_membership",
    "user_with_grants",
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


_GRANTS_SQL = (
    "SELECT m.role, m.unit_id, u.path FROM membership m JOIN unit u ON u.id = m.unit_id"
    " WHERE m.user_id = $1 AND m.status = 'active' AND u.archived_at IS NULL"
)


async def _grants(conn: Any, user_id: int, consultant: bool) -> tuple[Grant, ...]:
    rows = await conn.fetch(_GRANTS_SQL, user_id)
    grants = [Grant(r["role"], r["unit_id"], r["path"]) for r in rows]
    if consultant:
        root = await conn.fetchrow("SELECT id, path FROM unit WHERE parent_id IS NULL")
        if root is not None:
            grants.append(Grant("consultant", root["id"], root["path"]))
    return tuple(grants)


async def grants_for(user_id: int, platform_role: str | None = None) -> tuple[Grant, ...]:
    """Effective roles of a user in the current tenant."""
    consultant = platform_role == "consultant" and await is_assigned_consultant(
        user_id, current_tenant().slug
    )
    async with tenant_transaction() as conn:
        return await _grants(conn, user_id, consultant)


async def user_with_grants(user_id: int) -> tuple[User | None, tuple[Grant, ...]]:
    """The account and its roles in the current tenant, in one tenant transaction.

    Every signed-in request asks this, so the account row is read in the same
    transaction as the memberships (the tenant role may read ``user_account``). Only an
    assigned consultant needs a second look, at the shared assignment table.
    """
    async with tenant_transaction() as conn:
        row = await conn.fetchrow("SELECT * FROM scalemark.user_account WHERE id = $1", user_id)
        if row is None:
            return None, ()
        user = User.from_row(dict(row))
        if not user.active:
            return user, ()
        if user.platform_role == "consultant":
            return user, ()  # the caller asks grants_for(), which checks the assignment
        return user, await _grants(conn, user_id, consultant=False)


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
            " (SELECT user_id, $2::varchar, $3::bigint FROM membership WHERE id = $1)",
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


_MEMBER_SELECT = (
    "SELECT m.id, m.user_id, a.email, a.name, m.role, m.unit_id, u.code,"
    " u.name AS unit_name, u.path, m.status, a.last_login_at FROM membership m"
    " JOIN unit u ON u.id = m.unit_id JOIN scalemark.user_account a ON a.id = m.user_id"
)


def _member_row(r: Any) -> MemberRow:
    return MemberRow(
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


async def list_members(within_paths: list[str] | None = None) -> list[MemberRow]:
    """Memberships, optionally only those at units inside the given subtrees."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            _MEMBER_SELECT
            + " WHERE $1::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($1::text[]) p"
            " WHERE starts_with(u.path, p)) ORDER BY a.email, u.path",
            within_paths,
        )
    return [_member_row(r) for r in rows]


async def get_membership(membership_id: int) -> MemberRow | None:
    """One membership with its person and unit."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(_MEMBER_SELECT + " WHERE m.id = $1", membership_id)
    return _member_row(row) if row else None


def grantable_roles(principal: Principal, unit_path: str) -> list[str]:
    """Roles ``principal`` may give (or take away) at the unit with this path.

    They must manage members there, and a role may carry no right they do not hold
    there themselves: a unit lead can make unit leads, contributors and stakeholders in
    their subtree, never HQ admins or IT owners.
    """
    if not principal.can(Permission.MANAGE_MEMBERS, unit_path):
        return []
    held: set[Permission] = set()
    for grant in principal.grants:
        if unit_path.startswith(grant.unit_path):
            held |= permissions_of(grant.role)
    return [role for role in TENANT_ROLES if permissions_of(role) <= held]


def may_manage(principal: Principal, role: str, unit_path: str) -> bool:
    """May ``principal`` give or change the role ``role`` at this unit."""
    return role in grantable_roles(principal, unit_path)


_LAST_ADMIN = _l(
    "This is the last active HQ admin of the organisation. Make someone else HQ admin"
    " at the headquarters first."
)


async def _keep_an_admin(
    conn: Any, current: MemberRow, *, role: str, unit_id: int, status: str
) -> None:
    """Refuse a change that leaves the headquarters without an active HQ admin."""
    root_id = await conn.fetchval("SELECT id FROM unit WHERE parent_id IS NULL")
    was_admin = (
        current.role == "hq_admin" and current.unit_id == root_id and current.status == "active"
    )
    stays_admin = role == "hq_admin" and unit_id == root_id and status == "active"
    if not was_admin or stays_admin:
        return
    # Lock every HQ admin membership first: two admins removing each other at once must
    # not both succeed.
    await conn.fetch(
        "SELECT id FROM membership WHERE role = 'hq_admin' AND unit_id = $1 FOR UPDATE", root_id
    )
    others = await conn.fetchval(
        "SELECT count(*) FROM membership WHERE role = 'hq_admin' AND unit_id = $1"
        " AND status = 'active' AND id <> $2",
        root_id,
        current.id,
    )
    if not others:
        raise UserError("status" if status != "active" else "role", _LAST_ADMIN)


def _snapshot(row: MemberRow) -> dict[str, object]:
    return {"email": row.email, "role": row.role, "unit": row.unit_code, "status": row.status}


async def change_membership(membership_id: int, *, role: str, unit_id: int) -> MemberRow:
    """Change role and unit (audited; the last HQ admin stays)."""
    async with tenant_transaction() as conn:
        before = await get_membership(membership_id)
        if before is None:
            raise UserError("membership", _l("This membership does not exist."))
        if (before.role, before.unit_id) == (role, unit_id):
            return before
        await _keep_an_admin(conn, before, role=role, unit_id=unit_id, status=before.status)
        await update_membership(membership_id, role=role, unit_id=unit_id)
        after = await get_membership(membership_id)
        assert after is not None
        await audit.record(
            "member.change",
            object_type="membership",
            object_id=membership_id,
            before=_snapshot(before),
            after=_snapshot(after),
        )
    return after


_STATUS_ACTIONS = {
    ("pending", "active"): "member.approve",
    ("disabled", "active"): "member.reactivate",
    ("active", "disabled"): "member.deactivate",
}


async def change_membership_status(membership_id: int, status: str) -> MemberRow:
    """Approve, deactivate or reactivate (audited; the last HQ admin stays)."""
    async with tenant_transaction() as conn:
        before = await get_membership(membership_id)
        if before is None:
            raise UserError("membership", _l("This membership does not exist."))
        action = _STATUS_ACTIONS.get((before.status, status))
        if action is None:
            raise UserError("status", _l("This change is not possible in the current state."))
        await _keep_an_admin(conn, before, role=before.role, unit_id=before.unit_id, status=status)
        await set_membership_status(membership_id, status)
        after = await get_membership(membership_id)
        assert after is not None
        await audit.record(
            action,
            object_type="membership",
            object_id=membership_id,
            before=_snapshot(before),
            after=_snapshot(after),
        )
    return after


async def reject_pending_membership(membership_id: int) -> MemberRow:
    """Turn down a membership waiting for approval (it is deleted; audited)."""
    async with tenant_transaction() as conn:
        before = await get_membership(membership_id)
        if before is None or before.status != "pending":
            raise UserError("status", _l("This change is not possible in the current state."))
        await conn.execute(
            "DELETE FROM membership WHERE id = $1 AND status = 'pending'", membership_id
        )
        await audit.record(
            "member.reject",
            object_type="membership",
            object_id=membership_id,
            before=_snapshot(before),
        )
    return before
