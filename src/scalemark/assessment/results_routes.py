"""``/assessments/{id}/results``: scores per dimension, rolled up, with charts and gaps.

Who: assessment runners always; everyone else once the assessment is in review or
closed, and only for the units in their reach (``view``). Drafts answer 404 to
non-runners, open assessments 403. ``?unit=<id>`` selects a unit: unknown or outside the
scope 404, outside the reader's reach 403.

The page reads cached scores (stale ones are refreshed first, which costs one query when
none are), rolls them up in Python and renders each chart once. With many units the
heatmap shows the selected unit and its children (or the tops of the tree) and links
further down; the full matrix is in the API and the export.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Controller, MediaType, Request, get
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Template
from markupsafe import Markup

from scalemark.assessment import results, rules, service
from scalemark.assessment.results import Results
from scalemark.assessment.rules import STATUS_LABELS
from scalemark.charts.heatmap import heatmap_chart
from scalemark.charts.radar import RadarSeries, radar_chart
from scalemark.charts.tension import TensionAxis, TensionPoint, tension_chart
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import current_locale
from scalemark.i18n import gettext as _
from scalemark.i18n.formatting import format_decimal
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.principal import Principal

__all__ = ["ResultsPages", "Selection", "load_visible_results", "select_units"]


_TENSION_CACHE: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()
_TENSION_CACHE_SIZE = 32
_INDENT = "\u00a0\u00a0"  # two no-break spaces per level in the unit selector


def _score(value: float) -> str:
    return format_decimal(value, 1)


def _formatter() -> Callable[[float | None], str]:
    """A score formatter for one page: each distinct (rounded) value goes through Babel once."""
    seen: dict[float, str] = {}

    def show(value: float | None) -> str:
        if value is None:
            return "—"
        rounded = round(value, 2)
        text = seen.get(rounded)
        if text is None:
            text = seen[rounded] = format_decimal(rounded, 1)
        return text

    return show


def _cached_tension(axes: list[TensionAxis], points: list[TensionPoint], **options: Any) -> Markup:
    """The tension chart, drawn once per distinct content (500 units take a while to draw).

    Keyed by everything the drawing depends on, including the language, so a hit is the
    very chart that would be drawn; the least recently used entries are dropped.
    """
    key = (current_locale(), tuple(axes), tuple(points), tuple(sorted(options.items())))
    found = _TENSION_CACHE.get(key)
    if found is not None:
        _TENSION_CACHE.move_to_end(key)
        return found
    drawn = tension_chart(axes, points, **options)
    _TENSION_CACHE[key] = drawn
    while len(_TENSION_CACHE) > _TENSION_CACHE_SIZE:
        _TENSION_CACHE.popitem(last=False)
    return drawn


async def load_visible_results(
    principal: Principal, assessment_id: int
) -> tuple[service.Assessment, Results, list[int]]:
    """The assessment, its results and the unit ids the principal may see.

    404: unknown, or a draft to a non-runner; 403: nothing to see (yet) for this person.
    """
    assessment = await service.get_assessment(assessment_id)
    if assessment is None:
        raise NotFoundException()
    runner = rules.can_run(principal)
    if not runner and assessment.status == "draft":
        raise NotFoundException()
    if not runner and assessment.status not in ("in_review", "closed"):
        raise PermissionDeniedException()
    found = await results.load_results(assessment)
    visible = [
        u.id for u in found.units if rules.can_see_results(principal, assessment.status, u.path)
    ]
    if not visible:
        raise PermissionDeniedException()
    return assessment, found, visible


@dataclass(frozen=True)
class Selection:
    """What the page is about: one unit, or the tops of the reader's part of the scope."""

    unit_id: int | None
    """The selected unit; None for several tops combined."""
    unit_ids: tuple[int, ...]
    """The unit, or the tops combined."""


def select_units(found: Results, visible: list[int], raw: str | None) -> Selection:
    """The selection from ``?unit=``: 404 unknown or outside the scope, 403 out of reach."""
    if raw:
        if not raw.isdigit():
            raise NotFoundException()
        unit_id = int(raw)
        if unit_id not in found.by_id:
            raise NotFoundException()
        if unit_id not in visible:
            raise PermissionDeniedException()
        return Selection(unit_id, (unit_id,))
    tops = found.roots(visible)
    if len(tops) == 1:
        return Selection(tops[0], (tops[0],))
    return Selection(None, tuple(tops))


def _radar(
    found: Results, selection: Selection, summary: results.Summary, visible: set[int]
) -> Any:
    axes = [d.title.get() for d in found.framework.dimensions]
    series = [
        RadarSeries(_("Self-assessed"), [r.self_score for r in summary.dimensions], "current"),
        RadarSeries(_("Validated"), [r.validated_score for r in summary.dimensions], "current"),
        RadarSeries(_("Target"), [r.target for r in summary.dimensions], "target"),
    ]
    parent = found.parents.get(selection.unit_id) if selection.unit_id is not None else None
    if parent is not None and parent in visible:
        above = found.summary([parent])
        series.append(
            RadarSeries(
                _("%(unit)s (parent unit)", unit=found.by_id[parent].name),
                [r.validated_score for r in above.dimensions],
                "parent",
            )
        )
    return radar_chart(
        axes,
        series,
        title=_("Scores per dimension"),
        description=_("Self-assessed and validated scores against the target, from 1 to 5."),
        chart_id="radar-chart",
        value_format=_score,
    )


def _heatmap(found: Results, rows: list[int], assessment_id: int) -> Any:
    labels = []
    for unit_id in rows:
        unit = found.by_id[unit_id]
        labels.append(f"{unit.name} ({unit.code})")
    return heatmap_chart(
        labels,
        [d.title.get() for d in found.framework.dimensions],
        found.heatmap_values(rows),
        title=_("Validated scores per unit and dimension"),
        description=_("Scores from 1 to 5, each unit with the units below it."),
        chart_id="heatmap-chart",
        value_format=_score,
        row_links=[f"/assessments/{assessment_id}/results?unit={u}" for u in rows],
    )


def _tension(found: Results, visible: list[int], selection: Selection) -> Any:
    fields = found.framework.tension_fields
    if not fields:
        return None
    axes = [TensionAxis(f.title.get(), f.left.get(), f.right.get()) for f in fields]
    # Only a single selected unit stands out; several tops combined highlight nothing.
    chosen = {selection.unit_id} if selection.unit_id is not None else set()
    points = [
        TensionPoint(found.by_id[unit_id].name, positions, unit_id in chosen)
        for unit_id, positions in found.tension_positions(visible)
    ]
    return _cached_tension(
        axes,
        points,
        title=_("Where the units stand in the tension fields"),
        description=_("Positions from 0 (left pole) to 100 (right pole), averaged per unit."),
        chart_id="tension-chart",
        # Narrower than the default: on a phone the chart shrinks less, its text stays legible.
        width=480,
    )


def results_context(
    principal: Principal,
    assessment: service.Assessment,
    found: Results,
    visible: list[int],
    selection: Selection,
) -> dict[str, Any]:
    """Everything the results page shows for the selection."""
    shown = set(visible)
    show = _formatter()
    summary = found.summary(list(selection.unit_ids))
    rows, partial = found.heatmap_rows(visible, selection.unit_id)
    fields = found.framework.tension_fields
    position_rows = [
        (found.by_id[u], [found.positions.get(u, {}).get(f.key) for f in fields])
        for u in rows
        if found.positions.get(u)
    ]
    return {
        "tenant": current_tenant(),
        "assessment": assessment,
        "status_labels": STATUS_LABELS,
        "framework": found.framework,
        "can_run": rules.can_run(principal),
        "provisional": assessment.status in ("draft", "open"),
        "unit_options": _unit_options(found, shown),
        "selection": selection,
        "selected": found.by_id.get(selection.unit_id) if selection.unit_id else None,
        "tops": [found.by_id[u] for u in selection.unit_ids],
        "summary": summary,
        "radar": _radar(found, selection, summary, shown),
        "heatmap": _heatmap(found, rows, assessment.id),
        "heatmap_rows": [found.by_id[u] for u in rows],
        "heatmap_table": [[show(v) for v in values] for values in found.heatmap_values(rows)],
        "heatmap_partial": partial,
        "visible_count": len(visible),
        "tension": _tension(found, visible, selection),
        "has_positions": any(found.positions.get(u) for u in visible),
        "tension_fields": fields,
        "position_rows": position_rows,
        "gaps": found.gap_list(summary),
        "comparison": found.comparison(list(selection.unit_ids), rows),
        "previous": found.previous,
        "validations": sum(found.validations.get(u, 0) for u in visible),
    }


def _unit_options(found: Results, shown: set[int]) -> list[tuple[int, str]]:
    """``(id, label)`` of the units one may select, indented by depth below the top one."""
    units = [u for u in found.units if u.id in shown]
    top = min((u.depth for u in units), default=0)
    return [(u.id, f"{_INDENT * (u.depth - top)}{u.name} ({u.code})") for u in units]


class ResultsPages(Controller):
    """The results of one assessment for the reader's part of the organisation."""

    path = "/assessments/{assessment_id:int}/results"
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="assessments:results", media_type=MediaType.HTML)
    async def results_page(self, request: Request[Any, Any, Any], assessment_id: int) -> Template:
        """Overall and per dimension, radar, heatmap, tension fields, gaps, last cycle."""
        principal = principal_of(request)
        assessment, found, visible = await load_visible_results(principal, assessment_id)
        selection = select_units(found, visible, request.query_params.get("unit"))
        context = results_context(principal, assessment, found, visible, selection)
        return Template(
            template_name="assessment/results.html",
            context=context,
            media_type=MediaType.HTML,
        )
