"""KPI targets per unit and period: the tree table, setting and clearing overrides.

The target at the top of a KPI's scope (the HQ for central KPIs, the unit itself for a
local addition) is the *central target*; units below inherit the nearest target above
them and may override it within the KPI's bounds (:mod:`scalemark.governance.targets`).
Every function runs in the current tenant's transaction; changes are audited. Callers
check who may set a target where (``manage_governance`` at that unit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from scalemark.db import tenant_transaction
from scalemark.governance.kpis import Kpi, json_number
from scalemark.governance.targets import (
    Bounds,
    allowed_range,
    check_override,
    effective_target,
    valid_period,
)
from scalemark.i18n import gettext as _
from scalemark.i18n.formatting import format_number
from scalemark.identity import audit
from scalemark.identity.principal import current_principal
from scalemark.org import service as org_service
from scalemark.org.service import UnitNode

__all__ = [
    "Target",
    "TargetError",
    "TargetRow",
    "TargetTable",
    "central_targets",
    "clear_target",
    "scope_units",
    "set_target",
    "target_table",
]

NOTE_MAX = 500
"""Longest note on a target."""


class TargetError(ValueError):
    """A target that breaks a rule; ``field`` is ``value``, ``note`` or ``period``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Target:
    """A target set at one unit for one period."""

    unit_id: int
    period: str
    value: Decimal
    note: str
    set_by: int | None
    updated_at: datetime

    def as_record(self) -> dict[str, Any]:
        """Plain values for the audit log."""
        return {"value": json_number(self.value), "note": self.note, "period": self.period}


@dataclass(frozen=True)
class TargetRow:
    """One unit of the target tree: its own target, what holds there and where it comes from."""

    unit: UnitNode
    own: Target | None
    """The unit's own target (an override, or the central target at the scope's top)."""
    value: Decimal | None
    """The target that holds at the unit (own or inherited)."""
    source: UnitNode | None
    """The unit the holding target was set at."""
    is_top: bool
    """The unit is the top of the KPI's scope (its target is the central one)."""
    low: Decimal | None
    """Lowest allowed override (``None``: no limit)."""
    high: Decimal | None
    """Highest allowed override."""
    out_of_bounds: bool
    """The unit's own override no longer fits the current bounds (they changed)."""
    depth: int
    """Indentation below the scope's top."""


@dataclass(frozen=True)
class TargetTable:
    """The targets of one KPI and period for the units someone may see."""

    kpi: Kpi
    period: str
    top: UnitNode | None
    central_value: Decimal | None
    rows: list[TargetRow]


def _target(row: Any) -> Target:
    return Target(
        unit_id=row["unit_id"],
        period=row["period"],
        value=row["value"],
        note=row["note"],
        set_by=row["set_by"],
        updated_at=row["updated_at"],
    )


async def scope_units(kpi: Kpi, tree: list[UnitNode] | None = None) -> list[UnitNode]:
    """Active units the KPI applies to, depth first (its scope's top first).

    ``tree``: the whole active tree in depth-first order, when the caller has it already.
    """
    if tree is not None:
        return [u for u in tree if kpi.applies_to(u.path)]
    if kpi.scope_unit_id is None:
        return await org_service.whole_tree()
    return await org_service.subtree(kpi.scope_unit_id)


async def _targets(kpi_id: int, period: str) -> dict[int, Target]:
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT unit_id, period, value, note, set_by, updated_at FROM kpi_target"
            " WHERE kpi_id = $1 AND period = $2",
            kpi_id,
            period,
        )
    return {r["unit_id"]: _target(r) for r in rows}


async def target_table(
    kpi: Kpi,
    period: str,
    visible: Callable[[UnitNode], bool] = lambda _unit: True,
    tree: list[UnitNode] | None = None,
) -> TargetTable:
    """Every unit in the KPI's scope that ``visible`` lets through, with its targets.

    ``tree``: the whole active tree (depth first), to save reading it again.
    """
    units = await scope_units(kpi, tree)
    own = await _targets(kpi.id, period)
    top = units[0] if units else None
    by_path = {u.path: u for u in units}
    set_paths = {u.path: own[u.id].value for u in units if u.id in own}
    central_value = own[top.id].value if top and top.id in own else None
    low, high = allowed_range(central_value, kpi.bounds)
    rows: list[TargetRow] = []
    for unit in units:
        if not visible(unit):
            continue
        value, source_path = effective_target(unit.path, set_paths)
        mine = own.get(unit.id)
        is_top = top is not None and unit.id == top.id
        out = False
        if mine is not None:
            bounds = Bounds(kpi.bounds.min_value, kpi.bounds.max_value) if is_top else kpi.bounds
            out = check_override(central_value, mine.value, bounds) is not None
        rows.append(
            TargetRow(
                unit=unit,
                own=mine,
                value=value,
                source=by_path.get(source_path) if source_path else None,
                is_top=is_top,
                low=kpi.bounds.min_value if is_top else low,
                high=kpi.bounds.max_value if is_top else high,
                out_of_bounds=out,
                depth=unit.depth - (top.depth if top else 0),
            )
        )
    return TargetTable(kpi=kpi, period=period, top=top, central_value=central_value, rows=rows)


async def central_targets(period: str = "current") -> dict[int, Decimal]:
    """KPI id → its central target for the period (set at the top of its scope)."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT t.kpi_id, t.value FROM kpi_target t JOIN kpi_definition d ON d.id = t.kpi_id"
            " WHERE t.period = $1 AND t.unit_id = coalesce(d.scope_unit_id,"
            " (SELECT id FROM unit WHERE parent_id IS NULL))",
            period,
        )
    return {r["kpi_id"]: r["value"] for r in rows}


def _check_period(period: str) -> None:
    if not valid_period(period):
        raise TargetError(
            "period", _("Use “current”, a year such as 2027 or a quarter such as 2027-Q3.")
        )


async def _top_unit_id(conn: Any, kpi: Kpi) -> int | None:
    if kpi.scope_unit_id is not None:
        return kpi.scope_unit_id
    top: int | None = await conn.fetchval("SELECT id FROM unit WHERE parent_id IS NULL")
    return top


def _in_scope(kpi: Kpi, unit: UnitNode) -> bool:
    return not unit.archived and kpi.applies_to(unit.path)


async def set_target(
    kpi: Kpi,
    unit: UnitNode,
    period: str,
    value: Decimal,
    note: str = "",
    fmt: Callable[[Decimal], str] = format_number,
) -> Target:
    """Set the unit's target; overrides below the scope's top must fit the bounds.

    Raises :class:`TargetError` (translated message) when they do not, or for a bad
    period or note; :class:`LookupError` when the unit is outside the KPI's scope.
    """
    _check_period(period)
    note = (note or "").replace("\r\n", "\n").strip()
    if len(note) > NOTE_MAX:
        raise TargetError("note", _("Keep the note to %(max)s characters.", max=NOTE_MAX))
    if kpi.archived:
        raise TargetError("value", _("This KPI is archived; restore it to change its targets."))
    if not _in_scope(kpi, unit):
        raise LookupError(unit.code)
    principal = current_principal()
    async with tenant_transaction() as conn:
        # One writer per KPI and period at a time: the central target and the overrides
        # checked against it cannot change under each other.
        await conn.execute("SELECT 1 FROM kpi_definition WHERE id = $1 FOR UPDATE", kpi.id)
        top_id = await _top_unit_id(conn, kpi)
        if unit.id == top_id:
            error = check_override(
                None, value, Bounds(kpi.bounds.min_value, kpi.bounds.max_value), fmt
            )
        else:
            central = await conn.fetchval(
                "SELECT value FROM kpi_target WHERE kpi_id = $1 AND unit_id = $2 AND period = $3",
                kpi.id,
                top_id,
                period,
            )
            error = check_override(central, value, kpi.bounds, fmt)
        if error:
            raise TargetError("value", error)
        before = await conn.fetchrow(
            "SELECT unit_id, period, value, note, set_by, updated_at FROM kpi_target"
            " WHERE kpi_id = $1 AND unit_id = $2 AND period = $3",
            kpi.id,
            unit.id,
            period,
        )
        row = await conn.fetchrow(
            "INSERT INTO kpi_target (kpi_id, unit_id, period, value, note, set_by)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kpi_id, unit_id, period) DO UPDATE"
            " SET value = EXCLUDED.value, note = EXCLUDED.note, set_by = EXCLUDED.set_by,"
            " updated_at = now()"
            " RETURNING unit_id, period, value, note, set_by, updated_at",
            kpi.id,
            unit.id,
            period,
            value,
            note,
            principal.user.id if principal else None,
        )
        target = _target(row)
        old = _target(before) if before else None
        if old is None or old.as_record() != target.as_record():
            await audit.record(
                "kpi_target.set",
                object_type="kpi_target",
                object_id=f"{kpi.key}@{unit.code}/{period}",
                before=old.as_record() if old else None,
                after=target.as_record(),
            )
    return target


async def clear_target(kpi: Kpi, unit: UnitNode, period: str) -> bool:
    """Remove the unit's own target (it inherits again); False if it had none."""
    _check_period(period)
    if not _in_scope(kpi, unit):
        raise LookupError(unit.code)
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            "DELETE FROM kpi_target WHERE kpi_id = $1 AND unit_id = $2 AND period = $3"
            " RETURNING unit_id, period, value, note, set_by, updated_at",
            kpi.id,
            unit.id,
            period,
        )
        if row is None:
            return False
        await audit.record(
            "kpi_target.clear",
            object_type="kpi_target",
            object_id=f"{kpi.key}@{unit.code}/{period}",
            before=_target(row).as_record(),
            after=None,
        )
    return True
