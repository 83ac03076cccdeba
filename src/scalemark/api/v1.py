"""API v1 endpoints of the identity and org domains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec

from scalemark.api.errors import ApiError, api_error
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.roles import Permission
from scalemark.org import editor as org_editor
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData, UnitError
from scalemark.rollout.api import rollout_handlers

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


@dataclass
class UnitIn:
    """A new unit below the unit with ``parent_code``; missing settings come from it."""

    code: str
    name: str
    kind: str
    parent_code: str
    locale: str | None = None
    timezone: str | None = None
    currency: str | None = None


@post(
    "/units",
    summary="Add a unit below a parent unit",
    status_code=201,
    responses={
        400: ResponseSpec(ApiError, description="A field breaks a rule; `field` names it."),
        403: ResponseSpec(ApiError, description="No right to edit units at the parent."),
        404: ResponseSpec(ApiError, description="No active unit has the parent code."),
        409: ResponseSpec(ApiError, description="Another unit already uses the code."),
    },
)
async def create_unit(request: Request[Any, Any, Any], data: UnitIn) -> UnitOut:
    """Needs ``edit_units`` at the parent; answers the new unit (201)."""
    principal = principal_of(request)
    parent = await org_service.get_unit_by_code(data.parent_code)
    if parent is None or parent.archived:
        return api_error(404, _("No active unit has this code."), "parent_code")  # type: ignore[no-any-return]
    if not principal.can(Permission.EDIT_UNITS, parent.path):
        return api_error(403, _("You may not add units there."), "parent_code")  # type: ignore[no-any-return]
    unit = UnitData(
        code=data.code,
        name=data.name,
        kind=data.kind,
        locale=data.locale or parent.locale,
        timezone=data.timezone or parent.timezone,
        currency=data.currency or parent.currency,
    )
    try:
        created = await org_editor.add_unit(unit, parent)
    except UnitError as exc:
        clash = exc.field == "code" and await org_service.get_unit_by_code(data.code.strip())
        field = "parent_code" if exc.field == "parent" else exc.field
        return api_error(409 if clash else 400, str(exc.message), field)  # type: ignore[no-any-return]
    return _unit_out(created, True)


api_v1_router = Router(
    path="/api/v1",
    route_handlers=[me, list_units, get_unit, create_unit, *rollout_handlers],
    guards=[member_required],
    tags=["v1"],
)
