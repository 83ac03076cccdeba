"""The audit log: tenant events in the tenant schema, platform events in the shared one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalemark.db import shared_transaction, tenant_transaction
from scalemark.db.tenant_context import peek_tenant
from scalemark.identity.principal import current_principal

__all__ = ["AuditEntry", "list_events", "record", "record_here", "record_platform"]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, ensure_ascii=False)


def _actor() -> tuple[int | None, str, str | None]:
    principal = current_principal()
    if principal is None:
        return None, "system", None
    return principal.user.id, principal.user.email, principal.ip


async def record(
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
    before: Any = None,
    after: Any = None,
) -> None:
    """Append an event to the current tenant's log (inside its transaction)."""
    actor_id, label, ip = _actor()
    async with tenant_transaction() as conn:
        await conn.execute(
            "INSERT INTO audit_event (actor_id, actor_label, action, object_type, object_id,"
            " before, after, ip) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)",
            actor_id,
            label,
            action,
            object_type,
            str(object_id),
            _json(before),
            _json(after),
            ip,
        )


async def record_platform(
    action: str,
    *,
    tenant_id: int | None = None,
    target: str = "",
    before: Any = None,
    after: Any = None,
) -> None:
    """Append a platform-level event (sign-ins on the platform site, consultant changes)."""
    actor_id, label, ip = _actor()
    async with shared_transaction() as conn:
        await conn.execute(
            "INSERT INTO scalemark.platform_event (actor_id, actor_label, action, tenant_id,"
            " target, before, after, ip) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)",
            actor_id,
            label,
            action,
            tenant_id,
            target,
            _json(before),
            _json(after),
            ip,
        )


async def record_here(action: str, **details: Any) -> None:
    """Record in the tenant log on a tenant host, else in the platform log."""
    if peek_tenant() is not None:
        await record(action, **details)
    else:
        target = f"{details.get('object_type', '')}:{details.get('object_id', '')}".strip(":")
        await record_platform(
            action, target=target, before=details.get("before"), after=details.get("after")
        )


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log page."""

    id: int
    created_at: datetime
    actor_label: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    ip: str | None


async def list_events(
    *,
    action: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """Newest first, optionally filtered by action prefix and actor e-mail fragment."""
    clauses: list[str] = ["TRUE"]
    args: list[object] = []
    if action:
        args.append(action + "%")
        clauses.append(f"action LIKE ${len(args)}")
    if actor:
        args.append("%" + actor.lower() + "%")
        clauses.append(f"lower(actor_label) LIKE ${len(args)}")
    if before_id:
        args.append(before_id)
        clauses.append(f"id < ${len(args)}")
    args.append(max(1, min(limit, 500)))
    sql = (
        "SELECT id, created_at, actor_label, action, object_type, object_id, before, after, ip"
        f" FROM audit_event WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ${len(args)}"
    )
    async with tenant_transaction() as conn:
        rows = await conn.fetch(sql, *args)
    return [
        AuditEntry(
            id=r["id"],
            created_at=r["created_at"],
            actor_label=r["actor_label"],
            action=r["action"],
            object_type=r["object_type"],
            object_id=r["object_id"],
            before=json.loads(r["before"]) if r["before"] else None,
            after=json.loads(r["after"]) if r["after"] else None,
            ip=r["ip"],
        )
        for r in rows
    ]
