"""Rollout data: stages per unit, moves with history, gate criteria (tenant transactions).

Authorisation is the caller's job (routes and API check every unit); this module
enforces the rules of :mod:`scalemark.rollout.rules` and records every change in the
audit log together with the change itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from scalemark.assessment import results
from scalemark.db import tenant_transaction
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit
from scalemark.identity.principal import current_principal
from scalemark.rollout.rules import (
    LAST_STAGE,
    GateCriterion,
    GateResult,
    MoveDecision,
    RolloutError,
    UnitFacts,
    check_move,
    evaluate_gate,
)

__all__ = [
    "BoardUnit",
    "MoveRecord",
    "board_units",
    "gate_for",
    "gates",
    "history",
    "move_unit",
    "replace_gates",
    "stage_of_unit",
    "threshold_text",
    "unit_facts",
]


@dataclass(frozen=True)
class BoardUnit:
    """A unit with its current rollout stage."""

    id: int
    code: str
    name: str
    kind: str
    path: str
    depth: int
    parent_id: int | None
    position: int
    stage: int
    since: datetime | None
    """When it entered the stage (``None``: never moved)."""


@dataclass(frozen=True)
class MoveRecord:
    """One move in a unit's history."""

    id: int
    unit_id: int
    from_stage: int
    to_stage: int
    note: str
    signed_off: bool
    actor_label: str
    created_at: datetime


_BOARD_SQL = (
    "SELECT u.id, u.code, u.name, u.kind, u.path, u.depth, u.parent_id, u.position,"
    " coalesce(s.stage, 1) AS stage, s.updated_at AS since"
    " FROM unit u LEFT JOIN rollout_stage_current s ON s.unit_id = u.id"
    " WHERE u.archived_at IS NULL"
    " AND ($1::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($1::text[]) p"
    " WHERE starts_with(u.path, p)))"
)


def _board_unit(r: Any) -> BoardUnit:
    return BoardUnit(
        id=r["id"],
        code=r["code"],
        name=r["name"],
        kind=r["kind"],
        path=r["path"],
        depth=r["depth"],
        parent_id=r["parent_id"],
        position=r["position"],
        stage=r["stage"],
        since=r["since"],
    )


async def board_units(within_paths: Sequence[str] | None = None) -> list[BoardUnit]:
    """Active units (inside the given subtrees, if any) with their stages, by path."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            _BOARD_SQL, list(within_paths) if within_paths is not None else None
        )
    return _depth_first([_board_unit(r) for r in rows])


def _depth_first(units: list[BoardUnit]) -> list[BoardUnit]:
    """Tree order: parents before children, siblings by position then name."""
    present = {u.id for u in units}
    children: dict[int | None, list[BoardUnit]] = {}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in present else None
        children.setdefault(parent, []).append(unit)
    for group in children.values():
        group.sort(key=lambda u: (u.position, u.name), reverse=True)
    ordered: list[BoardUnit] = []
    stack = list(children.get(None, []))
    while stack:
        unit = stack.pop()
        ordered.append(unit)
        stack.extend(children.get(unit.id, []))
    return ordered


async def stage_of_unit(unit_id: int) -> int:
    """The unit's current stage (1 when it never moved)."""
    async with tenant_transaction() as conn:
        stage = await conn.fetchval(
            "SELECT stage FROM rollout_stage_current WHERE unit_id = $1", unit_id
        )
    return int(stage or 1)


async def gates() -> list[GateCriterion]:
    """Every gate criterion, by stage."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT stage, criterion, threshold FROM rollout_gate ORDER BY stage, criterion"
        )
    return [GateCriterion(r["stage"], r["criterion"], r["threshold"]) for r in rows]


def _gate_snapshot(items: Iterable[GateCriterion]) -> list[dict[str, Any]]:
    return [
        {
            "stage": g.stage,
            "criterion": g.criterion,
            "threshold": None if g.threshold is None else str(g.threshold),
        }
        for g in items
    ]


async def replace_gates(criteria: Sequence[GateCriterion]) -> list[GateCriterion]:
    """Set every stage's gate criteria at once (audited)."""
    async with tenant_transaction() as conn:
        before = await gates()
        await conn.execute("LOCK TABLE rollout_gate IN SHARE ROW EXCLUSIVE MODE")
        await conn.execute("DELETE FROM rollout_gate")
        for item in criteria:
            await conn.execute(
                "INSERT INTO rollout_gate (stage, criterion, threshold) VALUES ($1, $2, $3)",
                item.stage,
                item.criterion,
                item.threshold,
            )
        after = await gates()
        if _gate_snapshot(before) != _gate_snapshot(after):
            await audit.record(
                "rollout.gates",
                object_type="rollout_gate",
                before=_gate_snapshot(before),
                after=_gate_snapshot(after),
            )
    return after


async def unit_facts(unit_ids: Iterable[int]) -> dict[int, UnitFacts]:
    """Assessment maturity (and, once measured, adoption) per unit, for gate checks.

    Maturity is the unit's overall score in the most recently closed assessment that
    scored it: the validated score where the consultant validated, else self-assessed.
    Adoption metrics do not exist yet, so adoption criteria still need a sign-off.
    """
    wanted = list(dict.fromkeys(unit_ids))
    async with tenant_transaction() as conn:
        stale = await conn.fetch(
            "SELECT DISTINCT au.assessment_id FROM assessment_unit au"
            " JOIN assessment a ON a.id = au.assessment_id"
            " WHERE a.status = 'closed' AND au.scores_stale AND au.unit_id = ANY($1::bigint[])",
            wanted,
        )
        for row in stale:
            await results.refresh_scores(row["assessment_id"])
        rows = await conn.fetch(
            "SELECT DISTINCT ON (s.unit_id) s.unit_id,"
            " coalesce(s.validated_score, s.self_score) AS maturity"
            " FROM assessment_score s JOIN assessment a ON a.id = s.assessment_id"
            " WHERE a.status = 'closed' AND s.dimension_key = ''"
            " AND s.unit_id = ANY($1::bigint[])"
            " AND coalesce(s.validated_score, s.self_score) IS NOT NULL"
            " ORDER BY s.unit_id, a.closed_at DESC, a.id DESC",
            wanted,
        )
    maturity = {r["unit_id"]: float(r["maturity"]) for r in rows}
    return {unit_id: UnitFacts(maturity=maturity.get(unit_id)) for unit_id in wanted}


async def gate_for(unit_id: int, stage: int) -> GateResult | None:
    """The gate into ``stage`` evaluated for a unit (``None`` beyond the last stage)."""
    if stage > LAST_STAGE:
        return None
    facts = (await unit_facts([unit_id]))[unit_id]
    return evaluate_gate(stage, await gates(), facts)


async def move_unit(
    unit_id: int,
    to_stage: int,
    *,
    note: str,
    sign_off: bool,
    expected_from: int | None = None,
) -> MoveDecision:
    """Move a unit to another stage after the rules allow it (history and audit kept).

    ``expected_from`` is the stage the person saw; when someone else moved the unit
    meanwhile the move is refused instead of silently skipping a gate.
    """
    principal = current_principal()
    actor_id = principal.user.id if principal else None
    actor_label = principal.user.email if principal else "system"
    async with tenant_transaction() as conn:
        unit = await conn.fetchrow(
            "SELECT id, code FROM unit WHERE id = $1 AND archived_at IS NULL FOR SHARE", unit_id
        )
        if unit is None:
            raise RolloutError("unit", _l("This unit does not exist or is archived."))
        await conn.execute(
            "INSERT INTO rollout_stage_current (unit_id, stage) VALUES ($1, 1)"
            " ON CONFLICT (unit_id) DO NOTHING",
            unit_id,
        )
        current = await conn.fetchval(
            "SELECT stage FROM rollout_stage_current WHERE unit_id = $1 FOR UPDATE", unit_id
        )
        if expected_from is not None and expected_from != current:
            raise RolloutError(
                "from_stage",
                _l("Someone moved this unit meanwhile. Look at its stage again and retry."),
            )
        gate = await gate_for(unit_id, to_stage) if to_stage == current + 1 else None
        decision = check_move(current, to_stage, gate, note=note, sign_off=sign_off)
        await conn.execute(
            "UPDATE rollout_stage_current SET stage = $2, updated_at = now() WHERE unit_id = $1",
            unit_id,
            decision.to_stage,
        )
        await conn.execute(
            "INSERT INTO rollout_move (unit_id, from_stage, to_stage, note, signed_off,"
            " actor_id, actor_label) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            unit_id,
            decision.from_stage,
            decision.to_stage,
            decision.note,
            decision.signed_off,
            actor_id,
            actor_label,
        )
        await audit.record(
            "rollout.move",
            object_type="unit",
            object_id=unit_id,
            before={"code": unit["code"], "stage": decision.from_stage},
            after={
                "code": unit["code"],
                "stage": decision.to_stage,
                "note": decision.note,
                "signed_off": decision.signed_off,
                "gate": None if gate is None else [r.status.value for r in gate.results],
            },
        )
    return decision


async def history(unit_id: int, limit: int = 50) -> list[MoveRecord]:
    """A unit's moves, newest first."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT id, unit_id, from_stage, to_stage, note, signed_off, actor_label, created_at"
            " FROM rollout_move WHERE unit_id = $1 ORDER BY id DESC LIMIT $2",
            unit_id,
            limit,
        )
    return [
        MoveRecord(
            id=r["id"],
            unit_id=r["unit_id"],
            from_stage=r["from_stage"],
            to_stage=r["to_stage"],
            note=r["note"],
            signed_off=r["signed_off"],
            actor_label=r["actor_label"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


def threshold_text(value: Decimal | None) -> str:
    """A threshold for a form field (``''`` when unset)."""
    if value is None:
        return ""
    return format(value.normalize(), "f")
