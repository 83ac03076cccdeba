"""API v1 endpoints of the identity and org domains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException

from scalemark.db.tenant_context import current_tenant
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.roles import Permission
from scalemark.org import service as org_service

__all__ = ["api_v1_router"]


@dataclass
class GrantOut:
    """A role at a unit."""

    role: str
    unit_id: int


@dataclass
class MeOut:
    """The caller."""

    id: int
    email: str
    name: str
    locale: str | None
    tenant: str
    roles: list[GrantOut]


@dataclass
class UnitOut:
    """A unit of the organisation."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    depth: int
    locale: str
    timezone: str
    currency: str
    can_edit: bool


@get("/me", summary="The caller and their roles in this organisation")
async def me(request: Request[Any, Any, Any]) -> MeOut:
    """Who the token or session belongs to."""
    principal = principal_of(request)
    return MeOut(
        id=principal.user.id,
        email=principal.user.email,
        name=principal.user.name,
        locale=principal.user.locale,
        tenant=current_tenant().slug,
        roles=[GrantOut(role=g.role, unit_id=g.unit_id) for g in principal.grants],
    )


def _unit_out(node: org_service.UnitNode, can_edit: bool) -> UnitOut:
    return UnitOut(
        id=node.id,
        code=node.code,
        name=node.name,
        kind=node.kind,
        parent_id=node.parent_id,
        depth=node.depth,
        locale=node.locale,
        timezone=node.timezone,
        currency=node.currency,
        can_edit=can_edit,
    )


@get("/units", summary="The unit tree (depth first)")
async def list_units(request: Request[Any, Any, Any]) -> list[UnitOut]:
    """Every active unit; ``can_edit`` tells whether the caller may change it."""
    principal = principal_of(request)
    return [
        _unit_out(node, principal.can(Permission.EDIT_UNITS, node.path))
        for node in await org_service.whole_tree()
    ]


@get("/units/{unit_id:int}", summary="One unit")
async def get_unit(request: Request[Any, Any, Any], unit_id: int) -> UnitOut:
    """A unit by id."""
    node = await org_service.get_unit(unit_id)
    if node is None or node.archived:
        raise NotFoundException()
    return _unit_out(node, principal_of(request).can(Permission.EDIT_UNITS, node.path))


api_v1_router = Router(
    path="/api/v1", route_handlers=[me, list_units, get_unit], guards=[member_required], tags=["v1"]
)
