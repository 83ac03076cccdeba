"""The maturity report as plain data: chapters, figures and texts, built without I/O.

:mod:`scalemark.reports.content` loads what a report is made from (results, answers,
rollout stages, the published KPI framework) and hands it to :func:`build_document`,
which decides everything the print templates show: which chapters there are and how
they are numbered, the key messages of the executive summary, each dimension's level
and descriptors, per-unit rows, the appendix of answers. The templates only lay it out.

Texts go through gettext here and in the templates; numbers stay numbers until the
templates format them with the locale's Babel filters.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scalemark.assessment import scoring
from scalemark.assessment.framework import LEVELS, Dimension, Framework
from scalemark.assessment.results import OVERALL, Comparison, DimensionRow, Results
from scalemark.assessment.scoring import AnswerValue
from scalemark.i18n import gettext as _

__all__ = [
    "AUDIENCES",
    "AnswerLine",
    "AnswerRecord",
    "Chapter",
    "DimensionView",
    "Document",
    "KpiLine",
    "Priority",
    "QuestionLine",
    "QuestionView",
    "ScopeFacts",
    "UnitLine",
    "UnitSheet",
    "ValidationRecord",
    "build_document",
    "chunks",
    "initials",
    "level_floor",
    "tree_order",
]

AUDIENCES = ("board", "full")
"""``board``: the compact summary; ``full``: every chapter and the answers appendix."""

TOP_PRIORITIES = {"board": 3, "full": 5}
"""Most recommendations the executive summary lists (the board summary stays on a page)."""
HEATMAP_ROWS_PER_PAGE = 26
"""An SVG cannot break across pages: longer heatmaps are split into parts of this size."""
_EPSILON = 1e-9


@dataclass(frozen=True)
class AnswerRecord:
    """One stored answer of one respondent (``choice`` None: only a comment saved)."""

    respondent_id: int
    unit_id: int
    email: str
    question_key: str
    choice: str | None
    level: int | None
    comment: str
    evidence_url: str


@dataclass(frozen=True)
class ValidationRecord:
    """The consultant's validated answer for one unit and question."""

    unit_id: int
    question_key: str
    choice: str
    level: int | None
    rationale: str


@dataclass(frozen=True)
class KpiLine:
    """A published KPI as the report lists it (labels already translated)."""

    name: str
    level: str
    unit_of_measure: str
    owner: str
    applies_to: str
    mandatory: bool


@dataclass(frozen=True)
class ScopeFacts:
    """Everything around the results: who, what, when, and the other domains' data."""

    organisation: str
    scope_name: str
    scope_is_unit: bool
    audience: str
    locale: str
    date_text: str
    status: str
    status_label: str
    scope_ids: Sequence[int]
    respondents: Mapping[int, Sequence[tuple[int, str]]]
    """Unit id → (respondent id, e-mail), sorted by e-mail."""
    answers: Sequence[AnswerRecord]
    validations: Sequence[ValidationRecord]
    stages: Mapping[int, int]
    """Unit id → rollout stage (1–5)."""
    stage_names: Mapping[int, str]
    kpis: Sequence[KpiLine] = ()
    kpi_version: int | None = None
    kpi_published: str = ""


@dataclass(frozen=True)
class Chapter:
    """A numbered heading of the document, listed in the table of contents."""

    anchor: str
    number: str
    title: str
    children: tuple[Chapter, ...] = ()


@dataclass(frozen=True)
class QuestionView:
    """One question across the scope: where the units stand and what the next level is."""

    number: str
    text: str
    mean: float | None
    """Mean counted level over the units (weighted), None when no unit has one."""
    low: float | None
    high: float | None
    units: int
    """Units with a counted level."""
    level: int | None
    """The level reached (mean rounded down)."""
    current: str
    """The question's descriptor of ``level``."""
    next_level: int | None
    next: str


@dataclass(frozen=True)
class DimensionView:
    """A dimension with its figures, level, recommendation and questions."""

    number: str
    anchor: str
    key: str
    title: str
    description: str
    row: DimensionRow
    level: int | None
    level_name: str
    recommendation: str
    change: float | None
    questions: tuple[QuestionView, ...]
    highest: tuple[tuple[str, float], ...]
    lowest: tuple[tuple[str, float], ...]

    @property
    def gap(self) -> float | None:
        """Validated score below target (0 when met, None without data)."""
        return self.row.gap


@dataclass(frozen=True)
class Priority:
    """A recommendation of the executive summary: a dimension, its gap and what to do."""

    dimension: DimensionView
    gap: float | None
    """None when no target is missed (then the weakest dimensions are listed)."""


@dataclass(frozen=True)
class UnitLine:
    """A row of the unit comparison table (scores with the unit's subtree)."""

    id: int
    name: str
    code: str
    indent: int
    overall: float | None
    scores: tuple[float | None, ...]
    """Validated score per dimension, framework order."""
    coverage: float | None
    respondents: int
    stage: int | None
    stage_name: str
    change: float | None


@dataclass(frozen=True)
class AnswerLine:
    """One respondent's answer in the appendix."""

    initials: str
    value: str
    """The level as a figure, or a word for not applicable / don't know / no choice."""
    comment: str
    evidence_url: str


@dataclass(frozen=True)
class QuestionLine:
    """One question of one unit in the appendix."""

    number: str
    text: str
    answers: tuple[AnswerLine, ...]
    validated: str
    """The validated value ('' when not validated)."""
    rationale: str

    @property
    def has_notes(self) -> bool:
        """A comment, a link or a rationale to print under the levels."""
        return bool(self.rationale) or any(a.comment or a.evidence_url for a in self.answers)


@dataclass(frozen=True)
class UnitSheet:
    """A unit's answers in the appendix."""

    name: str
    code: str
    legend: tuple[tuple[str, str], ...]
    """(initials, e-mail) of the unit's respondents."""
    dimensions: tuple[tuple[str, str, tuple[QuestionLine, ...]], ...]
    """(number, title, questions with answers)."""


@dataclass
class Document:
    """Everything the print templates show."""

    facts: ScopeFacts
    framework_label: str
    assessment_title: str
    cycle: int
    provisional: bool
    chapters: list[Chapter]
    overall: DimensionRow
    overall_level: int | None
    overall_level_name: str
    overall_change: float | None
    comparison: Comparison | None
    level_names: dict[int, str]
    level_distribution: list[tuple[int, str, int]]
    """(level, name, units whose own validated overall score reaches it)."""
    dimensions: list[DimensionView]
    strongest: DimensionView | None
    weakest: DimensionView | None
    priorities: list[Priority]
    all_targets_met: bool
    units_in_scope: int
    units_answered: int
    respondent_count: int
    answer_count: int
    validation_count: int
    dont_know: int
    units: list[UnitLine]
    stage_counts: list[tuple[int, str, int]]
    tension_fields: int
    unit_sheets: list[UnitSheet] = field(default_factory=list)
    unanswered_units: list[str] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)
    """Rendered SVG charts by name (filled in by the caller)."""

    @property
    def full(self) -> bool:
        """The full report (every chapter and the appendix)."""
        return self.facts.audience == "full"

    def chapter(self, anchor: str) -> Chapter | None:
        """The chapter with this anchor, None when the document leaves it out."""
        for chapter in self.chapters:
            if chapter.anchor == anchor:
                return chapter
        return None


# -- small rules ---------------------------------------------------------------------------


def level_floor(score: float | None) -> int | None:
    """The maturity level a score has reached (rounded down, 1–5); None without a score."""
    if score is None or not math.isfinite(score):
        return None
    return min(5, max(1, math.floor(score + _EPSILON)))


_SEPARATORS = re.compile(r"[._\-+]+")


def initials(emails: Sequence[str]) -> list[str]:
    """Short, unique labels for e-mail addresses: ``anna.berg@x`` → ``AB``, ``anna@x`` → ``AN``.

    Duplicates get a number (``AB``, ``AB2``) so each label names one person.
    """
    labels: list[str] = []
    seen: dict[str, int] = {}
    for email in emails:
        local = email.split("@", 1)[0]
        parts = [p for p in _SEPARATORS.split(local) if p]
        if len(parts) >= 2:
            label = (parts[0][0] + parts[1][0]).upper()
        else:
            label = (local[:2] or "?").upper()
        count = seen.get(label, 0) + 1
        seen[label] = count
        labels.append(label if count == 1 else f"{label}{count}")
    return labels


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` in parts of at most ``size``, as even as possible (40 by 26: 20 + 20)."""
    if not items:
        return []
    parts = math.ceil(len(items) / size)
    base, extra = divmod(len(items), parts)
    out: list[list[Any]] = []
    start = 0
    for index in range(parts):
        end = start + base + (1 if index < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def tree_order(found: Results, unit_ids: Sequence[int]) -> list[int]:
    """``unit_ids`` depth-first: each unit before the units below it, siblings by name."""
    chosen = set(unit_ids)
    children: dict[int | None, list[int]] = defaultdict(list)
    for unit_id in unit_ids:
        parent = found.parents.get(unit_id)
        children[parent if parent in chosen else None].append(unit_id)
    for group in children.values():
        group.sort(key=lambda u: (found.by_id[u].name.casefold(), found.by_id[u].code))
    ordered: list[int] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        unit_id = stack.pop()
        ordered.append(unit_id)
        stack.extend(reversed(children.get(unit_id, [])))
    return ordered


def _weighted_mean(pairs: Sequence[tuple[float, float]]) -> float | None:
    total = math.fsum(w for w, _ in pairs)
    if not pairs or total <= 0:
        return None
    return math.fsum(w * v for w, v in pairs) / total


# -- question statistics -------------------------------------------------------------------


def _responses(
    framework: Framework, answers: Sequence[AnswerRecord]
) -> dict[int, dict[int, dict[str, AnswerValue]]]:
    """Unit id → respondent id → question key → answer (levels, n/a, don't know)."""
    grouped: dict[int, dict[int, dict[str, AnswerValue]]] = defaultdict(dict)
    for record in answers:
        if not framework.has_question(record.question_key):
            continue
        value = AnswerValue.from_stored(record.choice, record.level)
        if value is not None:
            grouped[record.unit_id].setdefault(record.respondent_id, {})[record.question_key] = (
                value
            )
    return grouped


def _validated(
    framework: Framework, validations: Sequence[ValidationRecord]
) -> dict[int, dict[str, AnswerValue]]:
    checked: dict[int, dict[str, AnswerValue]] = defaultdict(dict)
    for record in validations:
        value = AnswerValue.from_stored(record.choice, record.level)
        if value is not None and framework.has_question(record.question_key):
            checked[record.unit_id][record.question_key] = value
    return checked


def _question_levels(
    found: Results,
    scope_ids: Sequence[int],
    responses: Mapping[int, Mapping[int, Mapping[str, AnswerValue]]],
    validated: Mapping[int, Mapping[str, AnswerValue]],
) -> dict[str, list[tuple[float, float]]]:
    """Question key → (unit weight, the unit's counted level) over the units in scope."""
    levels: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for unit_id in scope_ids:
        people = list(responses.get(unit_id, {}).values())
        checks = validated.get(unit_id, {})
        if not people and not checks:
            continue
        scored = scoring.score_questions(found.framework, people, checks)
        weight = found.by_id[unit_id].weight
        for key, item in scored.items():
            if item.level is not None:
                levels[key].append((weight, item.level))
    return levels


def _question_view(
    number: str, question: Any, values: Sequence[tuple[float, float]]
) -> QuestionView:
    mean = _weighted_mean(values)
    level = level_floor(mean)
    next_level = level + 1 if level is not None and level < max(LEVELS) else None
    figures = [v for _, v in values]
    return QuestionView(
        number=number,
        text=question.text.get(),
        mean=mean,
        low=min(figures) if figures else None,
        high=max(figures) if figures else None,
        units=len(figures),
        level=level,
        current=question.levels[level].get() if level is not None else "",
        next_level=next_level,
        next=question.levels[next_level].get() if next_level is not None else "",
    )


# -- building ------------------------------------------------------------------------------


def _dimension_views(
    found: Results,
    facts: ScopeFacts,
    tops: Sequence[int],
    chapter_number: str,
    question_levels: Mapping[str, Sequence[tuple[float, float]]],
    comparison: Comparison | None,
) -> list[DimensionView]:
    summary = found.summary(list(tops))
    changes = {row.key: row.change for row in comparison.dimensions} if comparison else {}
    # Only units that answered something stand for "highest" and "lowest".
    leaves = [u for u in facts.scope_ids if found.own.get(u)]
    views = []
    for index, (dimension, row) in enumerate(
        zip(found.framework.dimensions, summary.dimensions, strict=True), start=1
    ):
        number = f"{chapter_number}.{index}"
        level = level_floor(row.validated_score)
        ranked = _ranked_units(found, leaves, dimension.key)
        views.append(
            DimensionView(
                number=number,
                anchor=f"dimension-{dimension.key}",
                key=dimension.key,
                title=row.title,
                description=dimension.description.get(),
                row=row,
                level=level,
                level_name=found.framework.level_names[level].get() if level else "",
                recommendation=_recommendation(dimension, row.validated_score),
                change=changes.get(dimension.key),
                questions=tuple(
                    _question_view(f"{number}.{i}", question, question_levels.get(question.key, ()))
                    for i, question in enumerate(dimension.questions, start=1)
                ),
                highest=tuple(ranked[:3]),
                lowest=tuple(reversed(ranked[-3:])) if len(ranked) > 3 else (),
            )
        )
    return views


def _ranked_units(found: Results, units: Sequence[int], key: str) -> list[tuple[str, float]]:
    """Units by their own validated score in a dimension, highest first."""
    scored = []
    for unit_id in units:
        cell = found.own.get(unit_id, {}).get(key)
        if cell is not None and cell.validated_score is not None:
            scored.append((found.by_id[unit_id].name, cell.validated_score))
    return sorted(scored, key=lambda item: (-item[1], item[0]))


def _recommendation(dimension: Dimension, score: float | None) -> str:
    if score is None:
        return ""
    return dimension.recommendation(score).get()


def _priorities(views: Sequence[DimensionView], limit: int) -> tuple[list[Priority], bool]:
    """The largest gaps first; with every target met, the weakest dimensions."""
    missed = [v for v in views if v.gap is not None and v.gap > _EPSILON]
    if missed:
        missed.sort(key=lambda v: (-(v.gap or 0.0), v.number))
        return [Priority(v, v.gap) for v in missed[:limit]], False
    scored = [v for v in views if v.row.validated_score is not None]
    scored.sort(key=lambda v: (v.row.validated_score or 0.0, v.number))
    return [Priority(v, None) for v in scored[:3]], bool(scored)


def _unit_lines(found: Results, facts: ScopeFacts, comparison: Comparison | None) -> list[UnitLine]:
    keys = found.dimension_keys
    changes = {int(row.key): row.change for row in comparison.units} if comparison else {}
    base = min((found.by_id[u].depth for u in facts.scope_ids), default=0)
    lines = []
    for unit in (found.by_id[u] for u in facts.scope_ids):
        answered = found.rolled_answered[OVERALL].get(unit.id, 0)
        applicable = found.rolled_applicable[OVERALL].get(unit.id, 0)
        stage = facts.stages.get(unit.id)
        lines.append(
            UnitLine(
                id=unit.id,
                name=unit.name,
                code=unit.code,
                indent=max(0, unit.depth - base),
                overall=found.rolled_validated[OVERALL].get(unit.id),
                scores=tuple(found.rolled_validated[k].get(unit.id) for k in keys),
                coverage=answered / applicable if applicable else None,
                respondents=len(facts.respondents.get(unit.id, ())),
                stage=stage,
                stage_name=facts.stage_names.get(stage, "") if stage else "",
                change=changes.get(unit.id),
            )
        )
    return lines


def _answer_value(choice: str | None, level: int | None) -> str:
    if choice == "level" and level is not None:
        return str(level)
    if choice == "na":
        return _("n/a")
    if choice == "dk":
        return _("don't know")
    return "–"


def _unit_sheets(
    found: Results, facts: ScopeFacts, views: Sequence[DimensionView]
) -> tuple[list[UnitSheet], list[str]]:
    """The appendix: per unit, every question someone answered or the consultant validated."""
    framework = found.framework
    by_unit: dict[int, dict[tuple[int, str], AnswerRecord]] = defaultdict(dict)
    for record in facts.answers:
        by_unit[record.unit_id][(record.respondent_id, record.question_key)] = record
    checks: dict[int, dict[str, ValidationRecord]] = defaultdict(dict)
    for check in facts.validations:
        checks[check.unit_id][check.question_key] = check
    numbers = {d.key: v.number for d, v in zip(framework.dimensions, views, strict=True)}

    sheets: list[UnitSheet] = []
    silent: list[str] = []
    for unit in (found.by_id[u] for u in facts.scope_ids):
        people = list(facts.respondents.get(unit.id, ()))
        given = by_unit.get(unit.id, {})
        validated = checks.get(unit.id, {})
        if not given and not validated:
            silent.append(unit.name)
            continue
        labels = initials([email for _, email in people])
        # A question hidden for a respondent (its condition failed) ignores their answer.
        shown = {
            person: framework.visible(
                {
                    key: r.level if r.choice == "level" else None
                    for (pid, key), r in given.items()
                    if pid == person
                }
            )
            for person, _email in people
        }
        dimensions = []
        for dimension in framework.dimensions:
            lines = []
            for index, question in enumerate(dimension.questions, start=1):
                answers = []
                for (person, _email), label in zip(people, labels, strict=True):
                    answer = given.get((person, question.key))
                    if answer is None or question.key not in shown[person]:
                        continue
                    answers.append(
                        AnswerLine(
                            initials=label,
                            value=_answer_value(answer.choice, answer.level),
                            comment=answer.comment.strip(),
                            evidence_url=answer.evidence_url.strip(),
                        )
                    )
                decision = validated.get(question.key)
                if not answers and decision is None:
                    continue
                lines.append(
                    QuestionLine(
                        number=f"{numbers[dimension.key]}.{index}",
                        text=question.text.get(),
                        answers=tuple(answers),
                        validated=(
                            _answer_value(decision.choice, decision.level) if decision else ""
                        ),
                        rationale=decision.rationale.strip() if decision else "",
                    )
                )
            if lines:
                dimensions.append((numbers[dimension.key], dimension.title.get(), tuple(lines)))
        sheets.append(
            UnitSheet(
                name=unit.name,
                code=unit.code,
                legend=tuple(zip(labels, [email for _, email in people], strict=True)),
                dimensions=tuple(dimensions),
            )
        )
    return sheets, silent


def _chapters(
    full: bool, views: Sequence[DimensionView], has_tension: bool, has_units: bool
) -> list[Chapter]:
    """The chapters in order, numbered; dimension views must be numbered to match."""
    plan: list[tuple[str, str]] = [
        ("summary", _("Executive summary")),
        ("profile", _("Maturity profile")),
    ]
    if has_units:
        plan.append(("heatmap", _("Units at a glance")))
    if has_tension:
        plan.append(("tension", _("Tension fields")))
    plan.append(
        ("dimensions", _("Dimensions in detail") if full else _("Next steps per dimension"))
    )
    if full and has_units:
        plan.append(("units", _("Units compared")))
    plan.append(("rollout", _("Rollout and KPI framework")))
    plan.append(("method", _("Method and definitions")))
    chapters = []
    for index, (anchor, title) in enumerate(plan, start=1):
        children: tuple[Chapter, ...] = ()
        if anchor == "dimensions" and full:
            children = tuple(Chapter(v.anchor, v.number, v.title) for v in views)
        chapters.append(Chapter(anchor, str(index), title, children))
    if full:
        chapters.append(Chapter("appendix", "A", _("Appendix: answers by unit")))
    return chapters


def _dimension_chapter_number(has_tension: bool, has_units: bool) -> str:
    """The number ``_chapters`` gives the dimensions chapter (after summary, profile, …)."""
    return str(3 + int(has_units) + int(has_tension))


def build_document(found: Results, facts: ScopeFacts, tops: Sequence[int]) -> Document:
    """The whole report for the units ``facts.scope_ids`` (``tops``: their roots)."""
    full = facts.audience == "full"
    framework = found.framework
    comparison = found.comparison(list(tops), [u for u in facts.scope_ids])
    has_units = len(facts.scope_ids) > 1
    has_tension = bool(framework.tension_fields)
    responses = _responses(framework, facts.answers)
    validated = _validated(framework, facts.validations)
    question_levels = _question_levels(found, facts.scope_ids, responses, validated)
    views = _dimension_views(
        found,
        facts,
        tops,
        _dimension_chapter_number(has_tension, has_units),
        question_levels,
        comparison,
    )
    summary = found.summary(list(tops))
    scored = [v for v in views if v.row.validated_score is not None]
    strongest = max(scored, key=lambda v: v.row.validated_score or 0.0, default=None)
    weakest = min(scored, key=lambda v: v.row.validated_score or 0.0, default=None)
    priorities, all_met = _priorities(views, TOP_PRIORITIES[facts.audience])
    level_names = {level: framework.level_names[level].get() for level in LEVELS}

    distribution: dict[int, int] = dict.fromkeys(LEVELS, 0)
    answered_units = 0
    for unit_id in facts.scope_ids:
        cell = found.own.get(unit_id, {}).get(OVERALL)
        if cell is None or cell.validated_score is None:
            continue
        answered_units += 1
        reached = level_floor(cell.validated_score)
        if reached is not None:
            distribution[reached] += 1

    stage_totals: dict[int, int] = dict.fromkeys(sorted(facts.stage_names), 0)
    for unit_id in facts.scope_ids:
        stage = facts.stages.get(unit_id)
        if stage in stage_totals:
            stage_totals[stage] += 1

    overall_level = level_floor(summary.overall.validated_score)
    document = Document(
        facts=facts,
        framework_label=framework.label,
        assessment_title=found.assessment.title,
        cycle=found.assessment.cycle,
        provisional=found.assessment.status in ("draft", "open"),
        chapters=_chapters(full, views, has_tension, has_units),
        overall=summary.overall,
        overall_level=overall_level,
        overall_level_name=level_names[overall_level] if overall_level else "",
        overall_change=comparison.overall.change if comparison else None,
        comparison=comparison,
        level_names=level_names,
        level_distribution=[(lvl, level_names[lvl], distribution[lvl]) for lvl in LEVELS],
        dimensions=views,
        strongest=strongest,
        weakest=weakest if weakest is not strongest else None,
        priorities=priorities,
        all_targets_met=all_met,
        units_in_scope=len(facts.scope_ids),
        units_answered=answered_units,
        respondent_count=sum(len(p) for u, p in facts.respondents.items()),
        answer_count=sum(1 for a in facts.answers if a.choice in ("level", "na", "dk")),
        validation_count=len(facts.validations),
        dont_know=summary.overall.dont_know,
        units=_unit_lines(found, facts, comparison),
        stage_counts=[(s, facts.stage_names[s], n) for s, n in stage_totals.items()],
        tension_fields=len(framework.tension_fields),
    )
    if full:
        document.unit_sheets, document.unanswered_units = _unit_sheets(found, facts, views)
    return document
