"""``/governance/kpis``: the KPI framework pages (list, define, edit, targets, chart).

Every object is checked on the server: KPIs of units outside the reader's part of the
tree and unknown ids answer 404; visible KPIs that the reader may not change answer 403
on a write; a unit in a target form that the reader does not manage answers 403.
Mistakes a person can make come back in the form with messages (422), input kept.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from babel import numbers
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Template

from scalemark.charts.bar import bar_chart
from scalemark.db.tenant_context import current_tenant
from scalemark.governance import kpi_starter, kpi_targets, kpis
from scalemark.governance.kpi_access import KpiScope, load_kpi_scope
from scalemark.governance.kpi_rules import (
    DIRECTIONS,
    LEVEL_HINTS,
    LEVELS,
    OWNER_ROLES,
    UNITS_OF_MEASURE,
    KpiData,
    KpiError,
    parse_number,
    validate_kpi,
)
from scalemark.governance.kpi_targets import TargetError, TargetRow, TargetTable
from scalemark.governance.targets import Bounds, format_share, valid_period
from scalemark.i18n import LOCALE_NAMES, current_locale, ngettext
from scalemark.i18n import gettext as _
from scalemark.i18n.formatting import format_decimal
from scalemark.identity.guards import member_required
from scalemark.identity.roles import ROLE_LABELS
from scalemark.org.service import UnitNode
from scalemark.org.tree_view import TreeWindow, tree_window
from scalemark.web.htmx import is_partial_request, redirect

__all__ = ["KpiPages"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
BASE = "/governance/kpis"
CHART_LIMIT = 30
"""Most bars in a targets chart."""
_BOUND_FIELDS = ("min_value", "max_value", "max_deviation_pct")


async def _visible_kpi(scope: KpiScope, kpi_id: int) -> kpis.Kpi:
    kpi = await kpis.get_kpi(kpi_id)
    if kpi is None or not scope.sees(kpi):
        raise NotFoundException()
    return kpi


def _html(name: str, context: dict[str, Any], status: int = 200) -> Template:
    return Template(
        template_name=name, context=context, status_code=status, media_type=MediaType.HTML
    )


def _input_number(value: Decimal | None) -> str:
    """A stored number as a person would type it in their locale (no grouping)."""
    if value is None:
        return ""
    return numbers.format_decimal(value, format="0.######", locale=current_locale())


def _common(scope: KpiScope) -> dict[str, Any]:
    return {
        "tenant": current_tenant(),
        "scope": scope,
        "levels": LEVELS,
        "level_hints": LEVEL_HINTS,
        "units_of_measure": UNITS_OF_MEASURE,
        "directions": DIRECTIONS,
        "owner_roles": OWNER_ROLES,
        "role_labels": ROLE_LABELS,
        "locale_names": LOCALE_NAMES,
        "share": format_share,
    }


# --- definitions --------------------------------------------------------------------------


def _values_of(kpi: kpis.Kpi) -> dict[str, str]:
    values = {
        "key": kpi.key,
        "level": kpi.level,
        "unit_of_measure": kpi.unit_of_measure,
        "direction": kpi.direction,
        "owner_role": kpi.owner_role,
        "measurement": kpi.measurement,
        "mandatory": "1" if kpi.mandatory else "",
        "scope": str(kpi.scope_unit_id or ""),
        "min_value": _input_number(kpi.bounds.min_value),
        "max_value": _input_number(kpi.bounds.max_value),
        "max_deviation_pct": _input_number(kpi.bounds.max_deviation_pct),
    }
    for locale, translation in kpi.translations.items():
        values[f"name-{locale}"] = translation.name
        values[f"description-{locale}"] = translation.description
    return values


def _read_form(scope: KpiScope, form: dict[str, str]) -> tuple[KpiData, dict[str, str]]:
    """The form as definition data, plus errors of numbers that do not parse."""
    errors: dict[str, str] = {}
    parsed: dict[str, Decimal | None] = {}
    for name in _BOUND_FIELDS:
        try:
            parsed[name] = parse_number(form.get(name))
        except ValueError:
            parsed[name] = None
            errors[name] = _("Enter a number such as %(example)s.", example=format_decimal(12.5))
    data = KpiData(
        key=form.get("key", ""),
        level=form.get("level", ""),
        unit_of_measure=form.get("unit_of_measure", ""),
        direction=form.get("direction", ""),
        owner_role=form.get("owner_role", ""),
        measurement=form.get("measurement", ""),
        mandatory=form.get("mandatory") in ("1", "on", "true"),
        bounds=Bounds(**parsed),
        names={loc: form.get(f"name-{loc}", "") for loc in scope.locales},
        descriptions={loc: form.get(f"description-{loc}", "") for loc in scope.locales},
    )
    return data, errors


def _rule_errors(scope: KpiScope, data: KpiData, unit: UnitNode | None) -> dict[str, str]:
    """The definition's other mistakes, to show them together with unreadable numbers."""
    try:
        validate_kpi(
            data,
            tenant_locales=scope.locales,
            scope_locale=unit.locale if unit else None,
            is_local=unit is not None,
        )
    except KpiError as exc:
        return exc.errors
    return {}


def _form_scope(scope: KpiScope, form: dict[str, str]) -> tuple[int | None, dict[str, str]]:
    """The scope chosen in a new-KPI form; forged units (never offered) answer 403."""
    raw = (form.get("scope") or "").strip()
    if not raw:
        if not scope.central:
            return None, {"scope": _("Choose the unit this KPI is for.")}
        return None, {}
    try:
        unit = scope.unit(int(raw))
    except ValueError:
        unit = None
    if unit is None:
        return None, {"scope": _("Choose a unit from the list.")}
    if unit.parent_id is None:
        if not scope.central:
            raise PermissionDeniedException()
        return None, {}
    if not scope.sets_target_at(unit):
        raise PermissionDeniedException()
    return unit.id, {}


def _edit_page(
    request: Request[Any, Any, Any],
    scope: KpiScope,
    *,
    kpi: kpis.Kpi | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    message: str | None = None,
) -> Template:
    context = {
        **_common(scope),
        "kpi": kpi,
        "values": values,
        "errors": errors or {},
        "editable": kpi is None or scope.defines(kpi),
        "message": message,
        "scope_units": scope.local_units,
    }
    if is_partial_request(request) and status == 422:
        return _html("governance/kpi_form.html", context, status)
    return _html("governance/kpi_edit.html", context, status)


def _new_values(scope: KpiScope) -> dict[str, str]:
    first_local = scope.local_units[0].id if scope.local_units else ""
    return {
        "level": "central" if scope.central else "local",
        "unit_of_measure": "count",
        "direction": "higher",
        "owner_role": "hq_admin" if scope.central else "unit_lead",
        "scope": "" if scope.central else str(first_local),
    }


# --- targets ------------------------------------------------------------------------------


def _period(request: Request[Any, Any, Any], form: dict[str, str] | None = None) -> str:
    raw = ((form or {}).get("period") or request.query_params.get("period") or "current").strip()
    return raw if valid_period(raw) else "current"


TargetView = TreeWindow[TargetRow]
"""The part of the target tree on screen: large organisations have hundreds of units, so
the table shows the levels below its focus that fit in the row budget and lets people open
deeper branches one at a time (:mod:`scalemark.org.tree_view`)."""


def _view(table: TargetTable, focus: UnitNode | None) -> TargetView:
    return tree_window(table.rows, lambda row: row.unit, focus=focus)


def _focus(table: TargetTable, raw: str | None) -> UnitNode | None:
    """The unit a ``unit`` parameter names; unknown, out of scope or unseen ones: 404."""
    if not raw:
        return None
    try:
        unit_id = int(raw)
    except ValueError:
        raise NotFoundException() from None
    unit = next((r.unit for r in table.rows if r.unit.id == unit_id), None)
    if unit is None:
        raise NotFoundException()
    return unit


def _target_context(scope: KpiScope, table: TargetTable, view: TargetView) -> dict[str, Any]:
    kpi = table.kpi
    return {
        **_common(scope),
        "kpi": kpi,
        "table": table,
        "view": view,
        "period": table.period,
        "fmt": scope.fmt(kpi),
        "input_number": _input_number,
        "row_errors": {},
        "row_values": {},
        "saved_unit": None,
        "chart": None,
        "period_suggestions": _period_suggestions(),
        "base_depth": min((row.depth for row in view.rows), default=0),
    }


def _period_suggestions() -> list[str]:
    year = date.today().year
    return [
        "current",
        str(year),
        str(year + 1),
        *(f"{year}-Q{q}" for q in range(1, 5)),
        *(f"{year + 1}-Q{q}" for q in range(1, 5)),
    ]


async def _target_table(scope: KpiScope, kpi: kpis.Kpi, period: str) -> TargetTable:
    return await kpi_targets.target_table(kpi, period, scope.views_unit, scope.units)


def _chart(scope: KpiScope, kpi: kpis.Kpi, rows: list[TargetRow]) -> Any:
    fmt = scope.fmt(kpi)
    bars = [
        (row.unit.name, float(row.value)) for row in rows[:CHART_LIMIT] if row.value is not None
    ]
    if not bars:
        return None
    return bar_chart(
        bars,
        title=_("Targets per unit: %(name)s", name=scope.name(kpi)),
        description="; ".join(
            _("%(unit)s: %(value)s", unit=label, value=fmt(Decimal(str(value))))
            for label, value in bars
        ),
        chart_id=f"kpi-chart-{kpi.id}",
        value_format=lambda v: fmt(Decimal(str(v))),
        max_value=max(abs(v) for _label, v in bars) * 1.35 or 1.0,
    )


def _targets_page(
    request: Request[Any, Any, Any],
    scope: KpiScope,
    table: TargetTable,
    view: TargetView,
    *,
    unit_id: int | None = None,
    error: str | None = None,
    typed: tuple[str, str] | None = None,
    status: int = 200,
) -> Template:
    """The targets page, or only its panel (facts, table, chart) for htmx.

    After a change every row is drawn again: inherited values below the changed unit and
    the chart follow it at once.
    """
    context = _target_context(scope, table, view)
    context["chart"] = _chart(scope, table.kpi, view.rows)
    if unit_id is not None:
        context["saved_unit"] = None if error else unit_id
        if error:
            context["row_errors"] = {unit_id: error}
            context["row_values"] = {unit_id: typed or ("", "")}
    if is_partial_request(request):
        return _html("governance/kpi_targets_panel.html", context, status)
    return _html("governance/kpi_targets.html", context, status)


def _targets_url(kpi: kpis.Kpi, period: str, focus: UnitNode | None, **extra: object) -> str:
    query = {"period": period, **({"unit": focus.id} if focus else {}), **extra}
    return f"{BASE}/{kpi.id}/targets?{urlencode(query)}"


class KpiPages(Controller):
    """The KPI framework: definitions on three levels, targets per unit."""

    path = BASE
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="kpis:list", media_type=MediaType.HTML)
    async def list_page(self, request: Request[Any, Any, Any]) -> Template:
        """KPIs the reader can see, grouped by level, with their central targets."""
        scope = await load_kpi_scope(request)
        archived = request.query_params.get("archived") == "1"
        every = await kpis.list_kpis(include_archived=archived)
        visible = [k for k in every if scope.sees(k) and (k.archived or not archived)]
        central = await kpi_targets.central_targets("current")
        groups = [(level, [k for k in visible if k.level == level]) for level in LEVELS]
        installed = request.query_params.get("installed")
        message = None
        if installed is not None and installed.isdigit():
            message = ngettext(
                "%(num)s KPI from the Scalemark template was added.",
                "%(num)s KPIs from the Scalemark template were added.",
                int(installed),
            )
        return _html(
            "governance/kpi_list.html",
            {
                **_common(scope),
                "groups": groups,
                "central_targets": central,
                "message": message,
                "empty": not visible,
                "archived": archived,
            },
        )

    @post("/starter", name="kpis:starter", media_type=MediaType.HTML)
    async def starter(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Create the Scalemark starter set (central managers only; keys in use are kept)."""
        scope = await load_kpi_scope(request)
        if not scope.central:
            raise PermissionDeniedException()
        created = await kpi_starter.install_starter_set(scope.locales)
        return redirect(request, f"{BASE}?installed={len(created)}")

    @get("/new", name="kpis:new", media_type=MediaType.HTML)
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        """The form for a new KPI (central, or local for a unit the person manages)."""
        scope = await load_kpi_scope(request)
        if not scope.may_define:
            raise PermissionDeniedException()
        return _edit_page(request, scope, kpi=None, values=_new_values(scope))

    @post("/new", name="kpis:create", media_type=MediaType.HTML)
    async def create(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Define a KPI; mistakes come back in the form (422)."""
        scope = await load_kpi_scope(request)
        if not scope.may_define:
            raise PermissionDeniedException()
        scope_unit_id, errors = _form_scope(scope, data)
        kpi_data, number_errors = _read_form(scope, data)
        errors.update(number_errors)
        if errors:
            unit = scope.unit(scope_unit_id)
            errors = {**_rule_errors(scope, kpi_data, unit), **errors}
        else:
            try:
                created = await kpis.create_kpi(
                    kpi_data, scope_unit_id=scope_unit_id, locales=scope.locales
                )
            except KpiError as exc:
                errors = exc.errors
            else:
                return redirect(request, f"{BASE}/{created.id}?saved=1")
        return _edit_page(request, scope, kpi=None, values=data, errors=errors, status=422)

    @get("/{kpi_id:int}", name="kpis:edit", media_type=MediaType.HTML)
    async def edit(self, request: Request[Any, Any, Any], kpi_id: int) -> Template:
        """A KPI's definition: a form for those who may change it, else read only."""
        scope = await load_kpi_scope(request)
        kpi = await _visible_kpi(scope, kpi_id)
        message = _("The KPI is saved.") if request.query_params.get("saved") == "1" else None
        return _edit_page(request, scope, kpi=kpi, values=_values_of(kpi), message=message)

    @post("/{kpi_id:int}", name="kpis:update", media_type=MediaType.HTML)
    async def update(self, request: Request[Any, Any, Any], kpi_id: int, data: Form) -> Any:
        """Save a definition; key and scope stay."""
        scope = await load_kpi_scope(request)
        kpi = await _visible_kpi(scope, kpi_id)
        if not scope.defines(kpi):
            raise PermissionDeniedException()
        kpi_data, errors = _read_form(scope, data)
        kpi_data.key = kpi.key
        if errors:
            errors = {**_rule_errors(scope, kpi_data, scope.unit(kpi.scope_unit_id)), **errors}
        else:
            try:
                await kpis.update_kpi(kpi.id, kpi_data, locales=scope.locales)
            except KpiError as exc:
                errors = exc.errors
            else:
                return redirect(request, f"{BASE}/{kpi.id}?saved=1")
        values = {**data, "key": kpi.key, "scope": str(kpi.scope_unit_id or "")}
        return _edit_page(request, scope, kpi=kpi, values=values, errors=errors, status=422)

    @post("/{kpi_id:int}/archive", name="kpis:archive", media_type=MediaType.HTML)
    async def archive(self, request: Request[Any, Any, Any], kpi_id: int, data: Form) -> Any:
        """Archive (``archived=1``) or restore (``archived=0``) a KPI."""
        scope = await load_kpi_scope(request)
        kpi = await _visible_kpi(scope, kpi_id)
        if not scope.defines(kpi):
            raise PermissionDeniedException()
        try:
            await kpis.set_archived(kpi.id, data.get("archived") != "0")
        except KpiError as exc:
            values = _values_of(kpi)
            return _edit_page(request, scope, kpi=kpi, values=values, errors=exc.errors, status=422)
        return redirect(request, f"{BASE}/{kpi.id}?saved=1")

    @get("/{kpi_id:int}/targets", name="kpis:targets", media_type=MediaType.HTML)
    async def targets(self, request: Request[Any, Any, Any], kpi_id: int) -> Template:
        """Targets per unit as an indented tree, for one period."""
        scope = await load_kpi_scope(request)
        kpi = await _visible_kpi(scope, kpi_id)
        table = await _target_table(scope, kpi, _period(request))
        view = _view(table, _focus(table, request.query_params.get("unit")))
        saved = request.query_params.get("saved")
        unit_id = int(saved) if saved and saved.isdigit() else None
        return _targets_page(request, scope, table, view, unit_id=unit_id)

    @post("/{kpi_id:int}/targets", name="kpis:set_target", media_type=MediaType.HTML)
    async def set_target(self, request: Request[Any, Any, Any], kpi_id: int, data: Form) -> Any:
        """Set (``action=save``) or clear (``action=clear``) one unit's target."""
        scope = await load_kpi_scope(request)
        kpi = await _visible_kpi(scope, kpi_id)
        try:
            unit = scope.unit(int(data.get("unit_id") or ""))
        except ValueError:
            unit = None
        if unit is None or not kpi.applies_to(unit.path):
            raise NotFoundException()
        if not scope.sets_target_at(unit):
            raise PermissionDeniedException()
        period = _period(request, data)
        raw_value, note = data.get("value", ""), data.get("note", "")
        error: str | None = None
        if data.get("action") == "clear":
            await kpi_targets.clear_target(kpi, unit, period)
        else:
            try:
                value = parse_number(raw_value)
            except ValueError:
                value = None
                error = _("Enter a number such as %(example)s.", example=format_decimal(12.5))
            if value is None and error is None:
                error = _("Enter a target, or choose “Inherit” to use the one from above.")
            if value is not None:
                try:
                    await kpi_targets.set_target(kpi, unit, period, value, note, scope.fmt(kpi))
                except TargetError as exc:
                    error = exc.message
        table = await _target_table(scope, kpi, period)
        if not any(r.unit.id == unit.id for r in table.rows):
            raise NotFoundException()  # a unit one may manage but not see does not exist
        try:
            focus = _focus(table, data.get("focus"))
        except NotFoundException:
            focus = None
        if not error and not is_partial_request(request):
            return redirect(request, _targets_url(kpi, period, focus, saved=unit.id))
        return _targets_page(
            request,
            scope,
            table,
            _view(table, focus),
            unit_id=unit.id,
            error=error,
            typed=(raw_value, note),
            status=422 if error else 200,
        )

    @get("/{kpi_id:int}/chart", name="kpis:chart", media_type="image/svg+xml")
    async def chart(self, request: Request[Any, Any, Any], kpi_id: int) -> Response[Any]:
        """The targets chart alone, as an SVG document (for reports and downloads)."""
        scope = await load_kpi_scope(request)
        kpi = await _visible_kpi(scope, kpi_id)
        table = await _target_table(scope, kpi, _period(request))
        view = _view(table, _focus(table, request.query_params.get("unit")))
        svg = _chart(scope, kpi, view.rows)
        if svg is None:
            raise NotFoundException()
        return Response(str(svg), media_type="image/svg+xml")
