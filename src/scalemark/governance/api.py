"""``GET /api/v1/governance``: the published governance (never drafts), in the OpenAPI.

Without ``unit_id`` people who may see the whole organisation (a role at the HQ) get the
whole latest version; everyone else gets what applies to their highest unit. With
``unit_id`` the caller gets what applies to that unit, if they may see it (403 otherwise,
404 for unknown units).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Parameter

from scalemark.governance import publishing
from scalemark.governance.scope import load_scope
from scalemark.identity.guards import member_required, principal_of

__all__ = ["GovernanceOut", "governance_api_router"]


@dataclass
class VersionOut:
    """A published version."""

    number: int
    published_at: datetime
    published_by: str
    note: str


@dataclass
class UnitRefOut:
    """The unit a view was made for."""

    id: int
    code: str
    name: str
    kind: str


@dataclass
class StandardOut:
    """A process or campaign standard."""

    id: int
    scope_unit_id: int | None
    """``null`` for central standards, else the unit that added it for its subtree."""
    scope_code: str
    category: str
    """``process`` or ``campaign``."""
    title: str
    description: str
    level: str
    """``mandatory`` or ``recommended``."""
    applies_to_kinds: list[str]
    """Unit kinds it applies to; empty means all units."""
    owner_role: str
    origin: str | None
    """In a unit view: ``central``, ``inherited`` or ``local``."""
    applies: bool | None
    """In a unit view: whether it applies to the unit's kind."""


@dataclass
class StepOut:
    """One approval step."""

    position: int
    approver_role: str
    approver_level: str
    days_limit: int
    escalation_role: str | None
    escalation_level: str | None


@dataclass
class WorkflowOut:
    """An approval workflow."""

    id: int
    name: str
    description: str
    steps: list[StepOut]


@dataclass
class RaciOut:
    """A row of the RACI matrix: role → R, A, C or I."""

    id: int
    title: str
    description: str
    assignments: dict[str, str]


@dataclass
class ModelItemOut:
    """A decision path, escalation level or coordination rhythm."""

    id: int
    kind: str
    title: str
    details: str
    cadence: str | None
    participants: list[str]


@dataclass
class GovernanceOut:
    """The published governance (of the organisation or of one unit)."""

    version: VersionOut | None
    unit: UnitRefOut | None
    standards: list[StandardOut]
    workflows: list[WorkflowOut]
    raci: list[RaciOut]
    operating_model: list[ModelItemOut]
    kpis: dict[str, Any] | None


def _out(document: dict[str, Any], version: publishing.Version | None, unit: Any) -> GovernanceOut:
    return GovernanceOut(
        version=VersionOut(version.number, version.published_at, version.published_by, version.note)
        if version
        else None,
        unit=UnitRefOut(unit.id, unit.code, unit.name, unit.kind) if unit else None,
        standards=[
            StandardOut(
                id=s["id"],
                scope_unit_id=s.get("scope_unit_id"),
                scope_code=s.get("scope_code", ""),
                category=s.get("category", "process"),
                title=s["title"],
                description=s.get("description", ""),
                level=s["level"],
                applies_to_kinds=list(s.get("applies_to_kinds") or []),
                owner_role=s["owner_role"],
                origin=s.get("origin"),
                applies=s.get("applies"),
            )
            for s in document.get("standards") or []
        ],
        workflows=[
            WorkflowOut(
                id=w["id"],
                name=w["name"],
                description=w.get("description", ""),
                steps=[StepOut(**step) for step in w.get("steps") or []],
            )
            for w in document.get("workflows") or []
        ],
        raci=[
            RaciOut(a["id"], a["title"], a.get("description", ""), dict(a["assignments"]))
            for a in document.get("raci") or []
        ],
        operating_model=[
            ModelItemOut(
                id=i["id"],
                kind=i["kind"],
                title=i["title"],
                details=i.get("details", ""),
                cadence=i.get("cadence"),
                participants=list(i.get("participants") or []),
            )
            for i in document.get("operating_model") or []
        ],
        kpis=document.get("kpis"),
    )


@get(
    "/governance",
    summary="The published governance",
    description=(
        "The latest published version: the whole organisation for people with a role at"
        " the headquarters, otherwise (or with `unit_id`) what applies to one unit: central"
        " items, local additions of its ancestors and its own. Drafts are never included."
    ),
)
async def published_governance(
    request: Request[Any, Any, Any],
    unit_id: int | None = Parameter(
        query="unit_id", default=None, required=False, description="Show what applies to this unit"
    ),
) -> GovernanceOut:
    """The published governance for the caller or one of their units."""
    scope = await load_scope(principal_of(request))
    latest = await publishing.latest_version()
    if unit_id is None and scope.sees_everything:
        return _out(latest.snapshot if latest else publishing.empty_snapshot(), latest, None)
    unit = scope.unit(unit_id) if unit_id is not None else scope.home_unit
    if unit is None:
        raise NotFoundException() if unit_id is not None else PermissionDeniedException()
    if not scope.views(unit.path):
        raise PermissionDeniedException()
    snapshot = latest.snapshot if latest else publishing.empty_snapshot()
    view = publishing.view_for_unit(snapshot, [u.id for u in scope.chain(unit)], unit.kind)
    return _out(view, latest, unit)


governance_api_router = Router(
    path="/api/v1",
    route_handlers=[published_governance],
    guards=[member_required],
    tags=["governance"],
)
"""Mounted next to the other ``/api/v1`` routers in ``app.py``."""
