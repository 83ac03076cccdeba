"""``/api/v1/kpis``: the KPI framework and its targets over JSON, in the OpenAPI document.

A KPI is named by its ``key`` and its ``scope``: no ``scope`` means the central KPI with
that key, ``scope=<unit code>`` a unit's own KPI (keys are unique among the KPIs that
apply at any one unit, so siblings may share one). Access follows the pages: KPIs the
caller may not see and unknown keys or units answer 404; changes without
``manage_governance`` at the place they touch answer 403; rule violations (a target
outside the central bounds, a missing translation) answer 400 with a translated
``detail`` and, for definitions, ``extra`` naming each field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from litestar import Request, Response, Router, get, put
from litestar.exceptions import (
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import Parameter

from scalemark.governance import kpi_targets, kpis
from scalemark.governance.kpi_access import KpiScope, load_kpi_scope
from scalemark.governance.kpi_rules import NUMBER_LIMIT, KpiData, KpiError
from scalemark.governance.kpi_targets import TargetError, TargetRow
from scalemark.governance.targets import Bounds, valid_period
from scalemark.i18n import gettext as _
from scalemark.identity.guards import member_required
from scalemark.org.service import UnitNode

__all__ = ["BoundsBody", "KpiIn", "KpiOut", "TargetIn", "TargetOut", "kpi_api_router"]

Level = Literal["central", "local", "campaign"]
UnitOfMeasure = Literal["count", "percent", "currency", "ratio", "score", "days"]
Direction = Literal["higher", "lower"]
OwnerRole = Literal["hq_admin", "unit_lead", "contributor", "it_owner", "stakeholder"]

ScopeParam = Parameter(
    query="scope",
    required=False,
    description="Unit code of a unit's own KPI; leave out for the central KPI.",
)
PeriodParam = Parameter(
    query="period",
    required=False,
    default="current",
    description="`current`, a year (`2027`), half (`2027-H1`), quarter (`2027-Q3`) or month.",
)


@dataclass
class TranslationBody:
    """A KPI's name and description in one language."""

    locale: str
    name: str
    description: str = ""


@dataclass
class BoundsBody:
    """Limits for local target overrides (``null``: no limit)."""

    min_value: float | None = None
    max_value: float | None = None
    max_deviation_pct: float | None = None
    """Largest distance from the central target, in percent of it."""


@dataclass
class KpiIn:
    """A KPI definition to create or replace (key and scope never change)."""

    level: Level
    unit_of_measure: UnitOfMeasure
    direction: Direction
    owner_role: OwnerRole
    translations: list[TranslationBody]
    """Central KPIs need a name in every tenant language; a unit's own KPI in the default
    language and its unit's language."""
    measurement: str = ""
    mandatory: bool = False
    bounds: BoundsBody = field(default_factory=BoundsBody)
    archived: bool = False


@dataclass
class KpiOut:
    """A KPI definition."""

    id: int
    key: str
    scope: str | None
    """Unit code of a unit's own KPI; ``null`` for central KPIs."""
    name: str
    """In the caller's language (else the tenant's default)."""
    level: str
    unit_of_measure: str
    direction: str
    owner_role: str
    measurement: str
    mandatory: bool
    archived: bool
    bounds: BoundsBody
    translations: list[TranslationBody]
    central_target: float | None
    """The central target of the ``current`` period."""
    can_edit: bool


@dataclass
class TargetIn:
    """A unit's own target; ``null`` removes it (the unit inherits again)."""

    value: float | None
    note: str = ""


@dataclass
class TargetOut:
    """The target situation of one unit for one period."""

    unit_code: str
    unit_name: str
    period: str
    own_value: float | None
    """The unit's own target (override, or the central target at the scope's top)."""
    value: float | None
    """The target that holds at the unit, own or inherited."""
    source_unit_code: str | None
    """Where the holding target was set."""
    is_central: bool
    """The unit is the top of the KPI's scope: its target is the central one."""
    allowed_min: float | None
    allowed_max: float | None
    out_of_bounds: bool
    note: str
    can_edit: bool


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _decimal(value: float | None, field_name: str) -> Decimal | None:
    if value is None:
        return None
    number = Decimal(repr(value))
    if not number.is_finite() or abs(number) >= NUMBER_LIMIT:
        raise ValidationException(
            detail=_("Enter a smaller number."), extra={field_name: _("Enter a smaller number.")}
        )
    return number


def _kpi_out(scope: KpiScope, kpi: kpis.Kpi, central: dict[int, Decimal]) -> KpiOut:
    return KpiOut(
        id=kpi.id,
        key=kpi.key,
        scope=kpi.scope_code,
        name=scope.name(kpi),
        level=kpi.level,
        unit_of_measure=kpi.unit_of_measure,
        direction=kpi.direction,
        owner_role=kpi.owner_role,
        measurement=kpi.measurement,
        mandatory=kpi.mandatory,
        archived=kpi.archived,
        bounds=BoundsBody(
            _number(kpi.bounds.min_value),
            _number(kpi.bounds.max_value),
            _number(kpi.bounds.max_deviation_pct),
        ),
        translations=[
            TranslationBody(locale, t.name, t.description) for locale, t in kpi.translations.items()
        ],
        central_target=_number(central.get(kpi.id)),
        can_edit=scope.defines(kpi),
    )


def _unit_by_code(scope: KpiScope, code: str) -> UnitNode:
    unit = next((u for u in scope.units if u.code == code.strip().upper()), None)
    if unit is None:
        raise NotFoundException()
    return unit


def _scope_unit_id(scope: KpiScope, code: str | None) -> int | None:
    """The unit a ``scope`` names (``None``: central; the HQ's code also means central)."""
    if not code:
        return None
    unit = _unit_by_code(scope, code)
    return None if unit.parent_id is None else unit.id


async def _visible(scope: KpiScope, key: str, scope_code: str | None) -> kpis.Kpi:
    kpi = await kpis.find_kpi(key.strip().lower(), _scope_unit_id(scope, scope_code))
    if kpi is None or not scope.sees(kpi):
        raise NotFoundException()
    return kpi


def _period(period: str) -> str:
    if not valid_period(period):
        raise ValidationException(
            detail=_("Use “current”, a year such as 2027 or a quarter such as 2027-Q3.")
        )
    return period


def _target_out(scope: KpiScope, row: TargetRow, period: str) -> TargetOut:
    return TargetOut(
        unit_code=row.unit.code,
        unit_name=row.unit.name,
        period=period,
        own_value=_number(row.own.value) if row.own else None,
        value=_number(row.value),
        source_unit_code=row.source.code if row.source else None,
        is_central=row.is_top,
        allowed_min=_number(row.low),
        allowed_max=_number(row.high),
        out_of_bounds=row.out_of_bounds,
        note=row.own.note if row.own else "",
        can_edit=scope.sets_target_at(row.unit),
    )


@get("/kpis", summary="KPI definitions the caller can see")
async def list_kpis(
    request: Request[Any, Any, Any],
    unit: str | None = Parameter(
        query="unit", required=False, description="Only KPIs that apply at this unit (code)."
    ),
    include_archived: bool = Parameter(query="include_archived", default=False),
) -> list[KpiOut]:
    """Central KPIs and the local additions of the caller's branches, by level."""
    scope = await load_kpi_scope(request)
    found = [k for k in await kpis.list_kpis(include_archived=include_archived) if scope.sees(k)]
    if unit is not None:
        node = _unit_by_code(scope, unit)
        if not scope.views_unit(node):
            raise PermissionDeniedException()
        found = [k for k in found if k.applies_to(node.path)]
    central = await kpi_targets.central_targets("current")
    return [_kpi_out(scope, k, central) for k in found]


@get("/kpis/{key:str}", summary="One KPI definition")
async def get_kpi(
    request: Request[Any, Any, Any], key: str, scope_code: str | None = ScopeParam
) -> KpiOut:
    """The KPI with this key (central, or the local one of ``scope``)."""
    scope = await load_kpi_scope(request)
    kpi = await _visible(scope, key, scope_code)
    return _kpi_out(scope, kpi, await kpi_targets.central_targets("current"))


@put("/kpis/{key:str}", summary="Create or replace a KPI definition")
async def put_kpi(
    request: Request[Any, Any, Any], key: str, data: KpiIn, scope_code: str | None = ScopeParam
) -> Response[KpiOut]:
    """Creates the KPI (201) or replaces its definition (200).

    Central KPIs need ``manage_governance`` at the HQ; a unit's own KPI (``scope``) needs
    it at that unit.
    """
    scope = await load_kpi_scope(request)
    scope_unit_id = _scope_unit_id(scope, scope_code)
    scope_unit = scope.unit(scope_unit_id)
    existing = await kpis.find_kpi(key.strip().lower(), scope_unit_id)
    if existing is not None and not scope.sees(existing):
        raise NotFoundException()
    if existing is not None:
        allowed = scope.defines(existing)
    elif scope_unit is None:
        allowed = scope.central
    else:
        allowed = scope.sets_target_at(scope_unit)
    if not allowed:
        raise PermissionDeniedException()
    definition = KpiData(
        key=key,
        level=data.level,
        unit_of_measure=data.unit_of_measure,
        direction=data.direction,
        owner_role=data.owner_role,
        measurement=data.measurement,
        mandatory=data.mandatory,
        bounds=Bounds(
            _decimal(data.bounds.min_value, "min_value"),
            _decimal(data.bounds.max_value, "max_value"),
            _decimal(data.bounds.max_deviation_pct, "max_deviation_pct"),
        ),
        names={t.locale: t.name for t in data.translations},
        descriptions={t.locale: t.description for t in data.translations},
    )
    try:
        if existing is None:
            kpi = await kpis.create_kpi(
                definition, scope_unit_id=scope_unit_id, locales=scope.locales
            )
        else:
            kpi = await kpis.update_kpi(existing.id, definition, locales=scope.locales)
        if kpi.archived != data.archived:
            kpi = await kpis.set_archived(kpi.id, data.archived)
    except KpiError as exc:
        raise ValidationException(detail=next(iter(exc.errors.values())), extra=exc.errors) from exc
    central = await kpi_targets.central_targets("current")
    return Response(_kpi_out(scope, kpi, central), status_code=201 if existing is None else 200)


@get("/kpis/{key:str}/targets", summary="Targets per unit for one KPI and period")
async def list_targets(
    request: Request[Any, Any, Any],
    key: str,
    scope_code: str | None = ScopeParam,
    period: str = PeriodParam,
) -> list[TargetOut]:
    """Every unit in the KPI's scope that the caller may see, depth first."""
    scope = await load_kpi_scope(request)
    kpi = await _visible(scope, key, scope_code)
    period = _period(period)
    table = await kpi_targets.target_table(kpi, period, scope.views_unit)
    return [_target_out(scope, row, period) for row in table.rows]


@put("/kpis/{key:str}/targets/{unit_code:str}", summary="Set or remove a unit's own target")
async def put_target(
    request: Request[Any, Any, Any],
    key: str,
    unit_code: str,
    data: TargetIn,
    scope_code: str | None = ScopeParam,
    period: str = PeriodParam,
) -> TargetOut:
    """Needs ``manage_governance`` at the unit; overrides must fit the central bounds."""
    scope = await load_kpi_scope(request)
    kpi = await _visible(scope, key, scope_code)
    period = _period(period)
    unit = _unit_by_code(scope, unit_code)
    if not kpi.applies_to(unit.path):
        raise NotFoundException()
    if not scope.sets_target_at(unit):
        raise PermissionDeniedException()
    value = _decimal(data.value, "value")
    try:
        if value is None:
            await kpi_targets.clear_target(kpi, unit, period)
        else:
            await kpi_targets.set_target(kpi, unit, period, value, data.note, scope.fmt(kpi))
    except TargetError as exc:
        raise ValidationException(detail=exc.message, extra={exc.field: exc.message}) from exc
    table = await kpi_targets.target_table(kpi, period, lambda u: u.id == unit.id)
    return _target_out(scope, table.rows[0], period)


kpi_api_router = Router(
    path="/api/v1",
    route_handlers=[list_kpis, get_kpi, put_kpi, list_targets, put_target],
    guards=[member_required],
    tags=["kpis"],
)
"""Mounted by the composition root next to the other ``/api/v1`` routers."""
