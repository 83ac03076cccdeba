"""API v1 of the rollout plan: ``GET /api/v1/rollout`` and ``POST /api/v1/rollout``.

The caller sees the units of their part of the tree (``view``); a move needs
``manage_governance`` at the unit and follows the same rules as the board (one stage
forward with the gate met or a manual sign-off with a note; back with a note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.openapi.datastructures import ResponseSpec

from scalemark.api.errors import ApiError, api_error
from scalemark.i18n import gettext as _
from scalemark.identity.guards import principal_of
from scalemark.identity.roles import Permission
from scalemark.org import service as org_service
from scalemark.rollout import service
from scalemark.rollout.rules import STAGES, RolloutError

__all__ = ["ApiError", "MoveIn", "MoveOut", "RolloutOut", "rollout_handlers"]


@dataclass
class GateCriterionOut:
    """One criterion of a stage's gate."""

    criterion: str
    """``assessment_maturity_at_least``, ``adoption_at_least`` or ``manual_signoff``."""
    threshold: float | None


@dataclass
class StageOut:
    """A rollout stage and the gate into it."""

    number: int
    name: str
    title: str
    gate: list[GateCriterionOut]


@dataclass
class UnitStageOut:
    """A unit and its current stage."""

    unit_id: int
    code: str
    name: str
    kind: str
    stage: int
    since: datetime | None
    can_move: bool


@dataclass
class RolloutOut:
    """The stages and the caller's units."""

    stages: list[StageOut]
    units: list[UnitStageOut]


@dataclass
class MoveIn:
    """Move a unit to another stage."""

    unit_code: str
    to_stage: int
    note: str = ""
    sign_off: bool = False
    """A manual sign-off for a gate not met by data (needs a note)."""
    from_stage: int | None = None
    """The stage the caller expects the unit in; refused with 409 if it moved meanwhile."""


@dataclass
class MoveOut:
    """A move that happened."""

    unit_id: int
    code: str
    from_stage: int
    to_stage: int
    note: str
    signed_off: bool


@get("/rollout", summary="Rollout stages and the stage of each of the caller's units")
async def rollout_state(request: Request[Any, Any, Any]) -> RolloutOut:
    """Stages with their gates, and every unit the caller may see with its stage."""
    principal = principal_of(request)
    criteria = await service.gates()
    units = await service.board_units(principal.scope_paths(Permission.VIEW))
    return RolloutOut(
        stages=[
            StageOut(
                number=s.number,
                name=str(s.short),
                title=str(s.title),
                gate=[
                    GateCriterionOut(
                        criterion=g.criterion,
                        threshold=None if g.threshold is None else float(g.threshold),
                    )
                    for g in criteria
                    if g.stage == s.number
                ],
            )
            for s in STAGES
        ],
        units=[
            UnitStageOut(
                unit_id=u.id,
                code=u.code,
                name=u.name,
                kind=u.kind,
                stage=u.stage,
                since=u.since,
                can_move=principal.can(Permission.MANAGE_GOVERNANCE, u.path),
            )
            for u in units
        ],
    )


@post(
    "/rollout",
    summary="Move a unit to another rollout stage",
    status_code=200,
    responses={
        400: ResponseSpec(ApiError, description="A value breaks a rule (stage, note)."),
        403: ResponseSpec(ApiError, description="No right to move this unit."),
        404: ResponseSpec(ApiError, description="No active unit with this code."),
        409: ResponseSpec(
            ApiError, description="The gate is not met (sign off with a note), or it moved."
        ),
    },
)
async def move_unit(request: Request[Any, Any, Any], data: MoveIn) -> MoveOut:
    """Move one stage forward (gate met, or ``sign_off`` with a ``note``) or back (note)."""
    principal = principal_of(request)
    unit = await org_service.get_unit_by_code(data.unit_code)
    if unit is None or unit.archived:
        return api_error(404, _("No active unit has this code."), "unit_code")  # type: ignore[no-any-return]
    if not principal.can(Permission.MANAGE_GOVERNANCE, unit.path):
        return api_error(403, _("You may not move this unit."))  # type: ignore[no-any-return]
    try:
        decision = await service.move_unit(
            unit.id,
            data.to_stage,
            note=data.note,
            sign_off=data.sign_off,
            expected_from=data.from_stage,
        )
    except RolloutError as exc:
        status = 409 if exc.field in {"sign_off", "from_stage"} else 400
        return api_error(status, str(exc.message), exc.field)  # type: ignore[no-any-return]
    return MoveOut(
        unit_id=unit.id,
        code=unit.code,
        from_stage=decision.from_stage,
        to_stage=decision.to_stage,
        note=decision.note,
        signed_off=decision.signed_off,
    )


rollout_handlers = [rollout_state, move_unit]
"""Handlers for the v1 router."""
