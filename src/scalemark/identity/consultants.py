"""Consultants: platform accounts that open the client tenants they are assigned to.

Everything here touches shared tables only, so it runs in shared transactions and must
not be called inside a tenant transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from scalemark.db import shared_transaction
from scalemark.identity import audit
from scalemark.identity.provisioning import assign_consultant
from scalemark.identity.users import User, create_user, get_user

__all__ = [
    "AssignedTenant",
    "ConsultantRow",
    "assign",
    "assigned_tenant_ids",
    "create_consultant",
    "get_consultant",
    "is_assigned",
    "list_consultants",
    "unassign",
]


@dataclass(frozen=True)
class AssignedTenant:
    """A tenant a consultant may open."""

    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class ConsultantRow:
    """A consultant and the tenants assigned to them."""

    id: int
    email: str
    name: str
    status: str
    last_login_at: datetime | None
    has_password: bool
    tenants: list[AssignedTenant] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        """Name, or the e-mail when no name is known."""
        return self.name or self.email


async def list_consultants() -> list[ConsultantRow]:
    """Every consultant account with its assignments, by e-mail."""
    async with shared_transaction() as conn:
        rows = await conn.fetch(
            "SELECT u.id, u.email, u.name, u.status, u.last_login_at,"
            " u.password_hash IS NOT NULL AS has_password,"
            " coalesce(json_agg(json_build_array(t.id, t.slug, t.name) ORDER BY t.name)"
            "   FILTER (WHERE t.id IS NOT NULL), '[]')::text AS tenants"
            " FROM scalemark.user_account u"
            " LEFT JOIN scalemark.consultant_assignment a ON a.user_id = u.id"
            " LEFT JOIN scalemark.tenant t ON t.id = a.tenant_id"
            " WHERE u.platform_role = 'consultant' GROUP BY u.id ORDER BY u.email"
        )
    return [
        ConsultantRow(
            id=r["id"],
            email=r["email"],
            name=r["name"],
            status=r["status"],
            last_login_at=r["last_login_at"],
            has_password=r["has_password"],
            tenants=[AssignedTenant(*t) for t in json.loads(r["tenants"])],
        )
        for r in rows
    ]


async def get_consultant(user_id: int) -> User | None:
    """The consultant account with this id (``None`` for anyone else)."""
    user = await get_user(user_id)
    return user if user is not None and user.platform_role == "consultant" else None


async def create_consultant(email: str, name: str) -> User:
    """A new consultant account without a password (a link lets them choose one)."""
    user = await create_user(email, name=name, platform_role="consultant")
    await audit.record_platform(
        "consultant.create", target=f"user:{user.id}", after={"email": user.email, "name": name}
    )
    return user


async def assign(user_id: int, tenant_id: int) -> bool:
    """Let the consultant open the tenant (audited); False when already assigned."""
    return await assign_consultant(user_id, tenant_id)


async def unassign(user_id: int, tenant_id: int) -> bool:
    """Withdraw the assignment (audited); False when there was none."""
    async with shared_transaction() as conn:
        done = await conn.fetchval(
            "DELETE FROM scalemark.consultant_assignment WHERE user_id = $1 AND tenant_id = $2"
            " RETURNING user_id",
            user_id,
            tenant_id,
        )
    if done is not None:
        await audit.record_platform(
            "consultant.unassign", tenant_id=tenant_id, target=f"user:{user_id}"
        )
    return done is not None


async def assigned_tenant_ids(user_id: int) -> set[int]:
    """Ids of the tenants assigned to a consultant."""
    async with shared_transaction() as conn:
        rows = await conn.fetch(
            "SELECT tenant_id FROM scalemark.consultant_assignment WHERE user_id = $1", user_id
        )
    return {r["tenant_id"] for r in rows}


async def is_assigned(user_id: int, tenant_id: int) -> bool:
    """True when the consultant is assigned to the tenant."""
    return tenant_id in await assigned_tenant_ids(user_id)
