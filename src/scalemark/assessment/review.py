"""The consultant's review: every respondent's answers side by side, spread, validations.

A consultant (``run_assessments``) compares the answers of a unit's respondents per
question, sees where they disagree (the *spread*: highest minus lowest level) and sets a
*validated* level (or "not applicable") with a rationale. Validated levels replace the
pooled answer in the validated score only; the self-assessed score stays as answered.

Validations are possible while the assessment is open or in review; a closed assessment
refuses them. Every validation marks the unit's scores stale and is audited.
Authorisation is the caller's job (:func:`scalemark.assessment.rules.can_run`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalemark.assessment import registry, results, scoring
from scalemark.assessment.framework import Dimension, Framework, Question
from scalemark.assessment.rules import AssessmentError
from scalemark.assessment.scoring import AnswerValue
from scalemark.assessment.service import (
    SCOPE_SQL,
    Respondent,
    ScopeUnit,
    respondent_from_row,
    scope_unit_from_row,
)
from scalemark.db import tenant_transaction
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit
from scalemark.identity.principal import current_principal

__all__ = [
    "DISAGREEMENT",
    "VALIDATION_STATUSES",
    "DimensionReview",
    "GivenAnswer",
    "QuestionReview",
    "UnitOverview",
    "UnitReview",
    "Validation",
    "check_validation",
    "clear_validation",
    "review_overview",
    "unit_review",
    "validate",
]

DISAGREEMENT = 2
"""Respondents whose levels lie this many levels apart (or more) disagree."""

VALIDATION_STATUSES = frozenset({"open", "in_review"})
"""Statuses in which a consultant may validate answers."""

RATIONALE_LIMIT = 4000


@dataclass(frozen=True)
class Validation:
    """The consultant's decision on one question of one unit."""

    question_key: str
    choice: str
    """``level`` or ``na``."""
    level: int | None
    rationale: str
    validated_by: str
    """E-mail of the consultant (``''`` when the account is gone)."""
    validated_at: datetime


@dataclass(frozen=True)
class GivenAnswer:
    """One respondent's answer to one question."""

    respondent: Respondent
    choice: str | None
    """``level``, ``na``, ``dk`` or None (only a comment saved)."""
    level: int | None
    target_level: int | None
    comment: str
    evidence_url: str
    hidden: bool
    """The question was not shown to this respondent (its condition did not hold): ignored."""


@dataclass(frozen=True)
class QuestionReview:
    """One question of one unit: every respondent's answer, pooled level and spread."""

    question: Question
    answers: tuple[GivenAnswer | None, ...]
    """Per respondent of the unit (same order), None when they did not answer."""
    pooled: float | None
    """Mean of the counted levels."""
    spread: int | None
    """Highest minus lowest counted level (None with fewer than two levels)."""
    validation: Validation | None

    @property
    def disagreement(self) -> bool:
        """Respondents are at least :data:`DISAGREEMENT` levels apart."""
        return self.spread is not None and self.spread >= DISAGREEMENT


@dataclass(frozen=True)
class DimensionReview:
    """The questions of one dimension."""

    dimension: Dimension
    questions: tuple[QuestionReview, ...]


@dataclass(frozen=True)
class UnitReview:
    """A unit's answers for the review page."""

    unit: ScopeUnit
    respondents: tuple[Respondent, ...]
    dimensions: tuple[DimensionReview, ...]

    def question(self, key: str) -> QuestionReview:
        """The review of one question (KeyError when unknown)."""
        for dimension in self.dimensions:
            for item in dimension.questions:
                if item.question.key == key:
                    return item
        raise KeyError(key)


@dataclass(frozen=True)
class UnitOverview:
    """One unit on the review overview."""

    unit: ScopeUnit
    respondents: int
    answers: int
    """Answers given (level, not applicable or don't know) over all respondents."""
    questions: int
    """Questions in the framework."""
    disagreements: int
    """Questions whose respondents are :data:`DISAGREEMENT` or more levels apart."""
    validated: int


def _responses(
    framework: Framework, rows: Sequence[Any], by: str
) -> dict[Any, dict[str, AnswerValue]]:
    """Answers (not tension positions) grouped by the column ``by``."""
    grouped: dict[Any, dict[str, AnswerValue]] = defaultdict(dict)
    for row in rows:
        if not framework.has_question(row["question_key"]):
            continue
        value = AnswerValue.from_stored(row["choice"], row["level"])
        if value is not None:
            grouped[row[by]][row["question_key"]] = value
    return grouped


async def review_overview(assessment_id: int) -> list[UnitOverview]:
    """Every unit in scope with its answer counts and disagreements, in tree order.

    One row per respondent (their levels as arrays) keeps this fast for hundreds of units.
    A level counts only where its question was shown to that respondent.
    """
    async with tenant_transaction() as conn:
        framework = await registry.assessment_framework(conn, assessment_id)
        units = [
            scope_unit_from_row(r)
            for r in await conn.fetch(results.SCOPE_IN_TREE_ORDER, assessment_id)
        ]
        people = await conn.fetch(
            "SELECT r.unit_id,"
            " count(a.id) FILTER (WHERE a.choice IN ('level', 'na', 'dk')) AS answers,"
            " array_agg(a.question_key) FILTER (WHERE a.choice = 'level') AS keys,"
            " array_agg(a.level) FILTER (WHERE a.choice = 'level') AS levels"
            " FROM assessment_respondent r LEFT JOIN assessment_answer a ON a.respondent_id = r.id"
            " WHERE r.assessment_id = $1 GROUP BY r.unit_id, r.id",
            assessment_id,
        )
        checked = {
            r["unit_id"]: r["n"]
            for r in await conn.fetch(
                "SELECT unit_id, count(*) AS n FROM assessment_validation"
                " WHERE assessment_id = $1 GROUP BY unit_id",
                assessment_id,
            )
        }
    conditional = any(q.depends_on is not None for q in framework.questions())
    respondents: dict[int, int] = defaultdict(int)
    answers: dict[int, int] = defaultdict(int)
    levels: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for person in people:
        unit_id = person["unit_id"]
        respondents[unit_id] += 1
        answers[unit_id] += person["answers"]
        given = dict(zip(person["keys"] or (), person["levels"] or (), strict=True))
        shown = framework.visible(given) if conditional else None
        per_question = levels[unit_id]
        for key, level in given.items():
            if framework.has_question(key) and (shown is None or key in shown):
                per_question[key].append(level)
    total = sum(1 for _ in framework.questions())
    return [
        UnitOverview(
            unit=unit,
            respondents=respondents.get(unit.id, 0),
            answers=answers.get(unit.id, 0),
            questions=total,
            disagreements=sum(
                1
                for found in levels.get(unit.id, {}).values()
                if len(found) > 1 and max(found) - min(found) >= DISAGREEMENT
            ),
            validated=checked.get(unit.id, 0),
        )
        for unit in units
    ]


def _validation(row: Any) -> Validation:
    return Validation(
        question_key=row["question_key"],
        choice=row["choice"],
        level=row["level"],
        rationale=row["rationale"],
        validated_by=row["email"] or "",
        validated_at=row["validated_at"],
    )


_VALIDATIONS = (
    "SELECT v.question_key, v.choice, v.level, v.rationale, v.validated_at, u.email"
    " FROM assessment_validation v LEFT JOIN scalemark.user_account u ON u.id = v.validated_by"
    " WHERE v.assessment_id = $1 AND v.unit_id = $2"
)


async def unit_review(assessment_id: int, unit_id: int) -> UnitReview | None:
    """Side-by-side answers of one unit in scope; None when the unit is not in scope."""
    async with tenant_transaction() as conn:
        framework = await registry.assessment_framework(conn, assessment_id)
        row = await conn.fetchrow(SCOPE_SQL + " AND au.unit_id = $2", assessment_id, unit_id)
        if row is None:
            return None
        unit = scope_unit_from_row(row)
        people = await conn.fetch(
            "SELECT id, assessment_id, unit_id, email, locale, invited_at"
            " FROM assessment_respondent WHERE assessment_id = $1 AND unit_id = $2"
            " ORDER BY email",
            assessment_id,
            unit_id,
        )
        rows = await conn.fetch(
            "SELECT a.respondent_id, a.question_key, a.choice, a.level, a.target_level,"
            " a.comment, a.evidence_url FROM assessment_answer a"
            " JOIN assessment_respondent r ON r.id = a.respondent_id"
            " WHERE r.assessment_id = $1 AND r.unit_id = $2"
            " AND (a.choice IS NULL OR a.choice <> 'position')",
            assessment_id,
            unit_id,
        )
        validations = {
            r["question_key"]: _validation(r)
            for r in await conn.fetch(_VALIDATIONS, assessment_id, unit_id)
        }
    respondents = tuple(respondent_from_row(p) for p in people)
    by_respondent = _responses(framework, rows, "respondent_id")
    responses = [by_respondent.get(p.id, {}) for p in respondents]
    shown_to = [
        framework.visible({k: v.counted_level for k, v in response.items()})
        for response in responses
    ]
    raw: dict[tuple[int, str], Any] = {(r["respondent_id"], r["question_key"]): r for r in rows}
    scored = scoring.score_questions(framework, responses) if responses else {}
    dimensions = []
    for dimension in framework.dimensions:
        items = []
        for question in dimension.questions:
            answers: list[GivenAnswer | None] = []
            for person, shown in zip(respondents, shown_to, strict=True):
                given = raw.get((person.id, question.key))
                answers.append(
                    None
                    if given is None
                    else GivenAnswer(
                        respondent=person,
                        choice=given["choice"],
                        level=given["level"],
                        target_level=given["target_level"],
                        comment=given["comment"],
                        evidence_url=given["evidence_url"],
                        hidden=question.key not in shown,
                    )
                )
            score = scored.get(question.key)
            items.append(
                QuestionReview(
                    question=question,
                    answers=tuple(answers),
                    pooled=score.pooled if score else None,
                    spread=score.spread if score else None,
                    validation=validations.get(question.key),
                )
            )
        dimensions.append(DimensionReview(dimension, tuple(items)))
    return UnitReview(unit, respondents, tuple(dimensions))


def check_validation(
    question: Question, choice: str, level: int | None, rationale: str
) -> tuple[str, int | None, str]:
    """The validated ``(choice, level, rationale)`` cleaned, or :class:`AssessmentError`."""
    if choice == "level":
        if level not in (1, 2, 3, 4, 5):
            raise AssessmentError("level", _l("Choose a level from 1 to 5, or not applicable."))
    elif choice == "na":
        if not question.allow_not_applicable:
            raise AssessmentError("level", _l("This question cannot be marked as not applicable."))
        level = None
    else:
        raise AssessmentError("level", _l("Choose a level from 1 to 5, or not applicable."))
    text = rationale.strip()
    if not text:
        raise AssessmentError("rationale", _l("Please give a rationale for the validated level."))
    if len(text) > RATIONALE_LIMIT:
        raise AssessmentError(
            "rationale", _l("The rationale is too long (4,000 characters at most).")
        )
    return choice, level, text


async def _validatable(conn: Any, assessment_id: int, unit_id: int, question_key: str) -> Framework:
    """The framework, when this question of this unit may be validated now (else raise).

    LookupError: unknown assessment, unit not in scope or unknown question.
    AssessmentError (``status``): the assessment is closed or still a draft.
    """
    status = await conn.fetchval(
        "SELECT status FROM assessment WHERE id = $1 FOR SHARE", assessment_id
    )
    if status is None:
        raise LookupError(assessment_id)
    in_scope = await conn.fetchval(
        "SELECT 1 FROM assessment_unit WHERE assessment_id = $1 AND unit_id = $2",
        assessment_id,
        unit_id,
    )
    framework = await registry.assessment_framework(conn, assessment_id)
    if not in_scope or not framework.has_question(question_key):
        raise LookupError(question_key)
    if status == "closed":
        raise AssessmentError(
            "status", _l("The assessment is closed: reopen the review to change validations.")
        )
    if status not in VALIDATION_STATUSES:
        raise AssessmentError("status", _l("Answers can be validated once the assessment is open."))
    return framework


async def clear_validation(assessment_id: int, unit_id: int, question_key: str) -> bool:
    """Remove the validated answer of one question: the respondents' answers count again.

    Raises like :func:`validate`; returns False when there was no validation.
    """
    async with tenant_transaction() as conn:
        await _validatable(conn, assessment_id, unit_id, question_key)
        before = await conn.fetchrow(
            "DELETE FROM assessment_validation"
            " WHERE assessment_id = $1 AND unit_id = $2 AND question_key = $3"
            " RETURNING choice, level, rationale",
            assessment_id,
            unit_id,
            question_key,
        )
        if before is None:
            return False
        await conn.execute(
            "UPDATE assessment_unit SET scores_stale = true"
            " WHERE assessment_id = $1 AND unit_id = $2",
            assessment_id,
            unit_id,
        )
        await audit.record(
            "assessment.validation.remove",
            object_type="assessment",
            object_id=assessment_id,
            before={"unit_id": unit_id, "question": question_key, **dict(before)},
        )
    return True


async def validate(
    assessment_id: int,
    unit_id: int,
    question_key: str,
    choice: str,
    level: int | None,
    rationale: str,
) -> Validation:
    """Set the validated answer of one question of one unit (with a rationale).

    LookupError: unknown assessment, unit not in scope or unknown question.
    AssessmentError with ``field == "status"``: the assessment is not open or in review
    (closed assessments refuse every change); other fields: the input breaks a rule.
    """
    async with tenant_transaction() as conn:
        framework = await _validatable(conn, assessment_id, unit_id, question_key)
        choice, level, text = check_validation(
            framework.question(question_key), choice, level, rationale
        )
        before = await conn.fetchrow(
            "SELECT choice, level, rationale FROM assessment_validation"
            " WHERE assessment_id = $1 AND unit_id = $2 AND question_key = $3",
            assessment_id,
            unit_id,
            question_key,
        )
        principal = current_principal()
        await conn.execute(
            "INSERT INTO assessment_validation (assessment_id, unit_id, question_key, choice,"
            " level, rationale, validated_by) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (assessment_id, unit_id, question_key) DO UPDATE SET"
            " choice = EXCLUDED.choice, level = EXCLUDED.level, rationale = EXCLUDED.rationale,"
            " validated_by = EXCLUDED.validated_by, validated_at = now()",
            assessment_id,
            unit_id,
            question_key,
            choice,
            level,
            text,
            principal.user.id if principal else None,
        )
        await conn.execute(
            "UPDATE assessment_unit SET scores_stale = true"
            " WHERE assessment_id = $1 AND unit_id = $2",
            assessment_id,
            unit_id,
        )
        await audit.record(
            "assessment.validate",
            object_type="assessment",
            object_id=assessment_id,
            before=None
            if before is None
            else {"unit_id": unit_id, "question": question_key, **dict(before)},
            after={
                "unit_id": unit_id,
                "question": question_key,
                "choice": choice,
                "level": level,
                "rationale": text,
            },
        )
        saved = await conn.fetchrow(
            _VALIDATIONS + " AND v.question_key = $3", assessment_id, unit_id, question_key
        )
    return _validation(saved)
