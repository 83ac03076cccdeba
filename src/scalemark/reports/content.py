"""The report's content: load everything a maturity report shows and render its print HTML.

:func:`build_html` runs in the worker, inside the tenant context and the report's locale.
It reads the assessment's results (:func:`scalemark.assessment.results.load_results`),
the answers and validations of the units in scope, their rollout stages, the published
KPI framework and the tenant's branding, builds the document
(:func:`scalemark.reports.document.build_document`), draws the same SVG charts the
results pages show, and renders ``templates/reports/document.html``.

Contract with the renderer (:mod:`scalemark.reports.render`): the HTML links its
stylesheet as ``reports/print.css`` relative to the ``static/`` directory (render with
``base_url`` = :data:`STATIC_BASE_URL`); the print CSS loads its fonts from
``static/reports/fonts/``. The logo is ``<img src="resource:logo">``, returned in the
resources as ``{"logo": (bytes, media type)}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import dates
from markupsafe import Markup

from scalemark import PROJECT_ROOT
from scalemark.assessment import results, service
from scalemark.assessment.results import Results
from scalemark.assessment.rules import STATUS_LABELS
from scalemark.charts.heatmap import heatmap_chart
from scalemark.charts.radar import RadarSeries, radar_chart
from scalemark.charts.tension import TensionAxis, TensionPoint, tension_chart
from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import current_locale, use_locale
from scalemark.i18n import gettext as _
from scalemark.i18n.formatting import format_decimal
from scalemark.reports.branding import Branding, get_branding
from scalemark.reports.document import (
    HEATMAP_ROWS_PER_PAGE,
    AnswerRecord,
    Document,
    KpiLine,
    ScopeFacts,
    ValidationRecord,
    build_document,
    chunks,
    tree_order,
)
from scalemark.rollout.rules import STAGES
from scalemark.web.templating import get_environment

__all__ = [
    "DEFAULT_ACCENT",
    "LOGO_RESOURCE",
    "STATIC_BASE_URL",
    "STYLESHEET",
    "TEMPLATE",
    "ReportSpec",
    "build_html",
    "collect",
    "css_string",
    "page_counter_css",
    "render_document",
]

TEMPLATE = "reports/document.html"
STYLESHEET = "reports/print.css"
"""The print stylesheet, relative to ``static/``."""
STATIC_BASE_URL = (PROJECT_ROOT / "static").as_uri() + "/"
"""Base URL to render the HTML with: relative links resolve to files under ``static/``."""
LOGO_RESOURCE = "logo"
"""Name of the logo among the resources (``resource:logo`` in the HTML)."""
DEFAULT_ACCENT = "#123f6d"
"""A deep blue: white text on it and it as text on white both exceed 4.5:1."""


class ReportSpec(Protocol):
    """What :func:`build_html` needs of a report row."""

    assessment_id: int
    scope_unit_id: int | None
    locale: str
    timezone: str
    audience: str


# -- CSS helpers -----------------------------------------------------------------------------


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string, safe inside a ``<style>`` element."""
    escaped = []
    for char in str(text):
        if char in '"\\':
            escaped.append("\\" + char)
        elif char in "<>&\n\r\f" or ord(char) < 0x20:
            escaped.append(f"\\{ord(char):x} ")
        else:
            escaped.append(char)
    return Markup('"' + "".join(escaped) + '"')  # noqa: S704 - every special char escaped


_PAGE_PLACEHOLDER = re.compile(r"%\((page|pages)\)s")


def page_counter_css(template: str) -> Markup:
    """A CSS ``content`` value from a translated "Page %(page)s of %(pages)s".

    The words stay where the translation puts them; each placeholder becomes the
    matching page counter (``counter(page)``, ``counter(pages)``).
    """
    parts: list[str] = []
    position = 0
    for match in _PAGE_PLACEHOLDER.finditer(template):
        if match.start() > position:
            parts.append(css_string(template[position : match.start()]))
        parts.append(f"counter({match.group(1)})")
        position = match.end()
    if position < len(template):
        parts.append(css_string(template[position:]))
    return Markup(" ".join(parts) or '""')  # noqa: S704 - built from css_string pieces


def _mix(colour: str, share: float) -> str:
    """``colour`` mixed with white: ``share`` 1 keeps it, 0 gives white."""
    channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(255 - (255 - c) * share) for c in channels]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _palette(branding: Branding) -> dict[str, str]:
    accent = branding.accent_colour or DEFAULT_ACCENT
    return {
        "accent": accent,
        "accent_soft": _mix(accent, 0.22),
        "accent_tint": _mix(accent, 0.08),
    }


# -- loading ---------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def _scope(found: Results, scope_unit_id: int | None) -> tuple[list[int], str, bool]:
    """Units in scope (tree order), the scope's name and whether it is one unit's subtree."""
    if scope_unit_id is None:
        return [u.id for u in found.units], current_tenant().name, False
    async with tenant_transaction() as conn:
        row = await conn.fetchrow("SELECT name, path FROM unit WHERE id = $1", scope_unit_id)
    if row is None:
        raise LookupError(scope_unit_id)
    path = row["path"]
    ids = [u.id for u in found.units if u.path.startswith(path)]
    return ids, row["name"], True


async def _answers(
    assessment_id: int, unit_ids: Sequence[int]
) -> tuple[dict[int, list[tuple[int, str]]], list[AnswerRecord], list[ValidationRecord]]:
    """Respondents, their answers (no tension positions) and validations of the units."""
    async with tenant_transaction() as conn:
        people = await conn.fetch(
            "SELECT id, unit_id, email FROM assessment_respondent"
            " WHERE assessment_id = $1 AND unit_id = ANY($2::bigint[]) ORDER BY unit_id, email",
            assessment_id,
            list(unit_ids),
        )
        rows = await conn.fetch(
            "SELECT r.id AS respondent_id, r.unit_id, r.email, a.question_key, a.choice,"
            " a.level, a.comment, a.evidence_url FROM assessment_respondent r"
            " JOIN assessment_answer a ON a.respondent_id = r.id"
            " WHERE r.assessment_id = $1 AND r.unit_id = ANY($2::bigint[])"
            " AND (a.choice IS NULL OR a.choice <> 'position')",
            assessment_id,
            list(unit_ids),
        )
        checks = await conn.fetch(
            "SELECT unit_id, question_key, choice, level, rationale FROM assessment_validation"
            " WHERE assessment_id = $1 AND unit_id = ANY($2::bigint[])",
            assessment_id,
            list(unit_ids),
        )
    respondents: dict[int, list[tuple[int, str]]] = {}
    for person in people:
        respondents.setdefault(person["unit_id"], []).append((person["id"], person["email"]))
    answers = [
        AnswerRecord(
            respondent_id=r["respondent_id"],
            unit_id=r["unit_id"],
            email=r["email"],
            question_key=r["question_key"],
            choice=r["choice"],
            level=r["level"],
            comment=r["comment"] or "",
            evidence_url=r["evidence_url"] or "",
        )
        for r in rows
    ]
    validations = [
        ValidationRecord(
            unit_id=r["unit_id"],
            question_key=r["question_key"],
            choice=r["choice"],
            level=r["level"],
            rationale=r["rationale"] or "",
        )
        for r in checks
    ]
    return respondents, answers, validations


async def _stages(unit_ids: Sequence[int]) -> dict[int, int]:
    """Current rollout stage of each unit (1 when it never moved)."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT unit_id, stage FROM rollout_stage_current WHERE unit_id = ANY($1::bigint[])",
            list(unit_ids),
        )
    found = {r["unit_id"]: int(r["stage"]) for r in rows}
    return {unit_id: found.get(unit_id, 1) for unit_id in unit_ids}


def _pick(texts: Any, fallbacks: Sequence[str]) -> str:
    """A text from a locale → text mapping: the first fallback present, else any."""
    if not isinstance(texts, dict) or not texts:
        return ""
    for locale in fallbacks:
        if texts.get(locale):
            return str(texts[locale])
    return str(next(iter(texts.values())))


async def _kpis(
    found: Results, scope_ids: Sequence[int], scope_unit_id: int | None
) -> tuple[list[KpiLine], int | None, str]:
    """The published KPIs that hold in the scope, the version number and its date."""
    from scalemark.governance.kpi_rules import LEVELS, UNITS_OF_MEASURE
    from scalemark.governance.publishing import latest_version
    from scalemark.identity.roles import ROLE_LABELS

    version = await latest_version()
    if version is None:
        return [], None, ""
    part = version.snapshot.get("kpis")
    items = part.get("kpis", []) if isinstance(part, dict) else []
    wanted = set(scope_ids)
    if scope_unit_id is not None:
        async with tenant_transaction() as conn:
            path = await conn.fetchval("SELECT path FROM unit WHERE id = $1", scope_unit_id)
        # Local additions of the scope's ancestors hold in it too.
        wanted |= {int(p) for p in str(path or "").strip("/").split("/") if p}
    order = [current_locale(), current_tenant().default_locale, "en"]
    lines = []
    for item in items:
        if not isinstance(item, dict):
            continue
        owner = item.get("scope_unit_id")
        if scope_unit_id is not None and owner is not None and owner not in wanted:
            continue
        level = str(item.get("level", ""))
        measure = str(item.get("unit_of_measure", ""))
        role = str(item.get("owner_role", ""))
        lines.append(
            KpiLine(
                name=_pick(item.get("name"), order) or str(item.get("key", "")),
                level=str(LEVELS.get(level, level)),
                unit_of_measure=str(UNITS_OF_MEASURE.get(measure, measure)),
                owner=str(ROLE_LABELS.get(role, role)),
                applies_to=str(item.get("scope_name") or "") if owner is not None else "",
                mandatory=bool(item.get("mandatory")),
            )
        )
    return (
        lines,
        version.number,
        dates.format_date(version.published_at, format="long", locale=current_locale()),
    )


async def collect(report: ReportSpec) -> tuple[Document, Branding]:
    """Load and build the report's document (charts included) and the branding."""
    assessment = await service.get_assessment(report.assessment_id)
    if assessment is None:
        raise LookupError(report.assessment_id)
    found = await results.load_results(assessment)
    scope_ids, scope_name, scope_is_unit = await _scope(found, report.scope_unit_id)
    scope_ids = tree_order(found, scope_ids)
    respondents, answers, validations = await _answers(assessment.id, scope_ids)
    stages = await _stages(scope_ids)
    kpis, kpi_version, kpi_published = await _kpis(found, scope_ids, report.scope_unit_id)
    branding = await get_branding()

    today = datetime.now(_zone(report.timezone))
    facts = ScopeFacts(
        organisation=current_tenant().name,
        scope_name=scope_name,
        scope_is_unit=scope_is_unit,
        audience=report.audience if report.audience in ("board", "full") else "full",
        locale=current_locale(),
        date_text=dates.format_date(today.date(), format="long", locale=current_locale()),
        status=assessment.status,
        status_label=str(STATUS_LABELS.get(assessment.status, assessment.status)),
        scope_ids=scope_ids,
        respondents=respondents,
        answers=answers,
        validations=validations,
        stages=stages,
        stage_names={s.number: str(s.short) for s in STAGES},
        kpis=kpis,
        kpi_version=kpi_version,
        kpi_published=kpi_published,
    )
    tops = found.roots(scope_ids) or list(scope_ids[:1])
    document = build_document(found, facts, tops)
    document.charts = _charts(found, document, tops, report.scope_unit_id)
    return document, branding


# -- charts ----------------------------------------------------------------------------------


def _score(value: float) -> str:
    return format_decimal(value, 1)


def _upper_levels(found: Results, scope_ids: Sequence[int], limit: int) -> list[int]:
    """The tops of the scope and as many whole levels below them as fit in ``limit`` rows."""
    shown = set(scope_ids)
    chosen = set(found.roots(shown))
    level = list(chosen)
    while level:
        below = [c for u in level for c in found.scope_children(u) if c in shown]
        if not below or len(chosen) + len(below) > limit:
            break
        chosen.update(below)
        level = below
    return [u for u in scope_ids if u in chosen]


def _charts(
    found: Results, document: Document, tops: Sequence[int], scope_unit_id: int | None
) -> dict[str, Any]:
    """The radar, the heatmap (in page-sized parts) and the tension-field chart."""
    axes = [view.title for view in document.dimensions]
    scores = [view.row for view in document.dimensions]
    charts: dict[str, Any] = {
        "radar": radar_chart(
            axes,
            [
                RadarSeries(_("Self-assessed"), [r.self_score for r in scores], "parent"),
                RadarSeries(_("Validated"), [r.validated_score for r in scores], "current"),
                RadarSeries(_("Target"), [r.target for r in scores], "target"),
            ],
            title=_("Scores per dimension"),
            description=_("Self-assessed and validated scores against the target, from 1 to 5."),
            chart_id="report-radar",
            value_format=_score,
            size=460,
        )
    }
    scope_ids = list(document.facts.scope_ids)
    rows = scope_ids if document.full else _upper_levels(found, scope_ids, HEATMAP_ROWS_PER_PAGE)
    parts = chunks(rows, HEATMAP_ROWS_PER_PAGE)
    charts["heatmap_partial"] = len(rows) < len(scope_ids)
    charts["heatmap_rows"] = len(rows)
    charts["heatmap"] = [
        heatmap_chart(
            [f"{found.by_id[u].name} ({found.by_id[u].code})" for u in part],
            axes,
            found.heatmap_values(part),
            title=_("Validated scores per unit and dimension"),
            description=_("Scores from 1 to 5, each unit with the units below it."),
            chart_id=f"report-heatmap-{index}",
            value_format=_score,
        )
        for index, part in enumerate(parts, start=1)
    ]
    fields = found.framework.tension_fields
    points = [
        TensionPoint(found.by_id[unit_id].name, positions, unit_id == scope_unit_id)
        for unit_id, positions in found.tension_positions(scope_ids)
    ]
    charts["tension"] = (
        tension_chart(
            [TensionAxis(f.title.get(), f.left.get(), f.right.get()) for f in fields],
            points,
            title=_("Where the units stand in the tension fields"),
            description=_("Positions from 0 (left pole) to 100 (right pole), averaged per unit."),
            chart_id="report-tension",
            width=640,
        )
        if fields
        else None
    )
    charts["positioned"] = len(points)
    return charts


# -- rendering -------------------------------------------------------------------------------


def render_document(document: Document, branding: Branding) -> str:
    """The print HTML of ``document`` in the current locale."""
    template = get_environment().get_template(TEMPLATE)
    return template.render(
        doc=document,
        palette=_palette(branding),
        has_logo=branding.has_logo,
        logo_src=f"resource:{LOGO_RESOURCE}",
        stylesheet=STYLESHEET,
        page_counter=page_counter_css(_("Page %(page)s of %(pages)s")),
        css_string=css_string,
        lang=current_locale(),
    )


async def build_html(report: ReportSpec) -> tuple[str, dict[str, tuple[bytes, str]]]:
    """The report's print HTML and its named resources (the logo, when there is one).

    Runs in the worker inside the tenant context; reads in short tenant transactions.
    Raises ``LookupError`` when the assessment or the scope unit does not exist.
    """
    with use_locale(report.locale):
        document, branding = await collect(report)
        html = render_document(document, branding)
    resources: dict[str, tuple[bytes, str]] = {}
    if branding.has_logo and branding.logo is not None and branding.logo_media_type:
        resources[LOGO_RESOURCE] = (branding.logo, branding.logo_media_type)
    return html, resources
