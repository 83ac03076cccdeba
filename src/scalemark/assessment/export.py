"""Every answer and score of an assessment as CSV or XLSX, headed in the reader's language.

Answers: one row per respondent and question (with comment, evidence, target level and
the validated level). Scores: one row per unit and dimension (self-assessed, validated,
target, don't-know coverage) plus the unit's overall score.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook

from scalemark.assessment import results
from scalemark.assessment.framework import Framework
from scalemark.db import tenant_transaction
from scalemark.i18n import gettext as _

__all__ = ["Table", "answer_table", "score_table", "to_csv", "to_xlsx"]


@dataclass(frozen=True)
class Table:
    """A sheet: a translated name, headers and rows of plain values."""

    name: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


def _choice_label(choice: str | None) -> str:
    if choice == "na":
        return _("Not applicable")
    if choice == "dk":
        return _("Don't know")
    return ""


async def answer_table(assessment_id: int, framework: Framework) -> Table:
    """Every respondent's answer to every question and tension field."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT u.code, u.name, r.email, r.locale, a.question_key, a.choice, a.level,"
            " a.target_level, a.position, a.comment, a.evidence_url, a.updated_at,"
            " v.choice AS v_choice, v.level AS v_level, v.rationale"
            " FROM assessment_answer a"
            " JOIN assessment_respondent r ON r.id = a.respondent_id"
            " JOIN unit u ON u.id = r.unit_id"
            " LEFT JOIN assessment_validation v ON v.assessment_id = r.assessment_id"
            " AND v.unit_id = r.unit_id AND v.question_key = a.question_key"
            " WHERE r.assessment_id = $1",
            assessment_id,
        )
    order = {q.key: i for i, q in enumerate(framework.questions())}
    fields = {f.key: f for f in framework.tension_fields}
    body: list[list[Any]] = []
    for r in sorted(rows, key=lambda r: (r["code"], r["email"], order.get(r["question_key"], -1))):
        key = r["question_key"]
        if framework.has_question(key):
            question = framework.question(key)
            section = framework.dimension(question.dimension).title.get()
            text = question.text.get()
        elif key in fields:
            section, text = _("Positioning"), fields[key].title.get()
        else:
            section, text = "", key
        validated = r["v_level"] if r["v_choice"] == "level" else _choice_label(r["v_choice"])
        body.append(
            [
                r["code"],
                r["name"],
                r["email"],
                section,
                key,
                text,
                r["level"] if r["choice"] == "level" else _choice_label(r["choice"]),
                r["target_level"],
                r["position"],
                r["comment"],
                r["evidence_url"],
                validated if r["v_choice"] else None,
                r["rationale"] or "",
                r["updated_at"].replace(tzinfo=None),
            ]
        )
    headers = [
        _("Unit code"),
        _("Unit"),
        _("Respondent"),
        _("Section"),
        _("Question key"),
        _("Question"),
        _("Answer"),
        _("Target level"),
        _("Position (0–100)"),
        _("Comment"),
        _("Evidence link"),
        _("Validated level"),
        _("Rationale"),
        _("Saved at (UTC)"),
    ]
    return Table(_("Answers"), headers, body)


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


async def score_table(assessment_id: int, framework: Framework) -> Table:
    """Each unit's own scores per dimension and overall (refreshed first)."""
    await results.refresh_scores(assessment_id)
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT u.code, u.name, s.dimension_key, s.self_score, s.validated_score,"
            " s.answered, s.dont_know, s.not_applicable, s.questions, t.level AS target"
            " FROM assessment_score s JOIN unit u ON u.id = s.unit_id"
            " LEFT JOIN assessment_target t ON t.assessment_id = s.assessment_id"
            " AND t.dimension_key = s.dimension_key"
            " WHERE s.assessment_id = $1",
            assessment_id,
        )
    order = {d.key: i for i, d in enumerate(framework.dimensions)}
    body: list[list[Any]] = []
    for r in sorted(rows, key=lambda r: (r["code"], order.get(r["dimension_key"], -1))):
        key = r["dimension_key"]
        title = framework.dimension(key).title.get() if key in order else _("Overall")
        counted = r["questions"] - r["not_applicable"]
        body.append(
            [
                r["code"],
                r["name"],
                key or "overall",
                title,
                _number(r["self_score"]),
                _number(r["validated_score"]),
                _number(r["target"]),
                r["answered"],
                r["dont_know"],
                r["not_applicable"],
                round(r["answered"] / counted, 3) if counted > 0 else None,
            ]
        )
    headers = [
        _("Unit code"),
        _("Unit"),
        _("Dimension key"),
        _("Dimension"),
        _("Self-assessed"),
        _("Validated"),
        _("Target"),
        _("Answered"),
        _("Don't know"),
        _("Not applicable"),
        _("Coverage"),
    ]
    return Table(_("Scores"), headers, body)


def to_csv(table: Table) -> bytes:
    """UTF-8 CSV with a byte-order mark, so spreadsheet programs read accents right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(["" if value is None else _safe_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _safe_cell(value: Any) -> Any:
    # A text starting with "=" would run as a formula in the reader's spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_xlsx(tables: Iterable[Table]) -> bytes:
    """One workbook, a sheet per table, with frozen, bold headers."""
    book = Workbook(write_only=True)
    for table in tables:
        sheet = book.create_sheet(title=table.name[:31])
        sheet.freeze_panes = "A2"
        sheet.append(list(table.headers))
        for row in table.rows:
            sheet.append([_safe_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
