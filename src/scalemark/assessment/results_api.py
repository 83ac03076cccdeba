"""API v1 of review and results: scores per unit, one unit's answers, validations.

- ``GET /api/v1/assessments/{id}/results``: every unit in the caller's reach with its
  own and rolled-up scores (self-assessed and validated), coverage, targets and gaps.
  Same access as the results page: runners always; others with ``view`` once the
  assessment is in review or closed (drafts 404, open 403).
- ``GET /api/v1/assessments/{id}/review/{unit_id}``: every respondent's answers
  (runners only).
- ``PUT /api/v1/assessments/{id}/validations/{unit_id}/{question_key}``: set a validated
  level with a rationale (runners; 409 once closed, 400 for a missing rationale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Request, Router, get, put
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec

from scalemark.api.errors import ApiError, api_error
from scalemark.assessment import results, review
from scalemark.assessment.access import runner_assessment
from scalemark.assessment.results_routes import load_visible_results
from scalemark.assessment.rules import AssessmentError
from scalemark.identity.guards import member_required, principal_of

__all__ = [
    "ResultsApiError",
    "ResultsOut",
    "ReviewOut",
    "ValidationIn",
    "ValidationOut",
    "results_api_router",
]


class ScoreOut(msgspec.Struct):
    """One dimension (or the overall score) of one unit."""

    key: str
    """Dimension key; ``""`` for the overall score."""
    self_score: float | None
    """The unit's own answers pooled."""
    validated_score: float | None
    """Validated levels where set, the own answers elsewhere."""
    rolled_self_score: float | None
    """The unit with every unit below it in scope (weighted)."""
    rolled_validated_score: float | None
    coverage: float | None
    """Share of the applicable questions with a level, over the unit and those below it."""
    dont_know: int
    target: float | None
    gap: float | None
    """Target minus the rolled-up validated score when below target, else 0."""


class PositionOut(msgspec.Struct):
    """A unit's mean position on one tension field (0 = left pole, 100 = right pole)."""

    field: str
    position: float
    respondents: int


class UnitResultOut(msgspec.Struct):
    """The results of one unit in scope."""

    unit_id: int
    code: str
    name: str
    parent_id: int | None
    """The nearest ancestor in the assessment's scope."""
    weight: float
    validated_questions: int
    overall: ScoreOut
    dimensions: list[ScoreOut]
    positions: list[PositionOut]


class ResultsOut(msgspec.Struct):
    """Results of an assessment for the units in the caller's reach."""

    assessment_id: int
    title: str
    status: str
    cycle: int
    previous_id: int | None
    framework: str
    framework_version: int
    targets: dict[str, float]
    units: list[UnitResultOut]


@dataclass
class AnswerOut:
    """One respondent's answer to one question."""

    respondent: str
    """The respondent's e-mail."""
    choice: str | None
    level: int | None
    target_level: int | None
    comment: str
    evidence_url: str
    ignored: bool
    """The question was not shown to this respondent (its condition did not hold)."""


@dataclass
class ValidationOut:
    """The validated answer of one question of one unit."""

    question_key: str
    choice: str
    level: int | None
    rationale: str
    validated_by: str
    validated_at: datetime


@dataclass
class QuestionReviewOut:
    """One question of the unit under review."""

    key: str
    dimension: str
    text: str
    answers: list[AnswerOut]
    pooled: float | None
    spread: int | None
    disagreement: bool
    validation: ValidationOut | None


@dataclass
class ReviewOut:
    """A unit's answers side by side."""

    assessment_id: int
    unit_id: int
    code: str
    name: str
    respondents: list[str]
    questions: list[QuestionReviewOut]


@dataclass
class ValidationIn:
    """A validated answer: a level 1–5 or not applicable, with a rationale."""

    choice: Literal["level", "na"]
    rationale: str
    level: int | None = None


@dataclass
class ResultsApiError(ApiError):
    """A refused request: status, a translated message and the field at fault."""


def _error(status: int, detail: str, field: str | None = None) -> Any:
    return api_error(status, detail, field, body=ResultsApiError)


def _round(value: float | None) -> float | None:
    return value if value is None else round(value, 4)


def _scores(found: results.Results, unit_id: int, titles: list[str]) -> list[ScoreOut]:
    """The unit's dimensions, then its overall score (own figures and rolled up)."""
    own = found.own.figures(unit_id) if isinstance(found.own, results.OwnScores) else None
    own_self = own[0] if own is not None else None
    own_valid = own[1] if own is not None else None
    out = []
    for i, row in enumerate(found.unit_rows(unit_id, titles)):
        gap = row.gap
        out.append(
            ScoreOut(
                key=row.key,
                self_score=None if own_self is None else own_self[i],
                validated_score=None if own_valid is None else own_valid[i],
                rolled_self_score=_round(row.self_score),
                rolled_validated_score=_round(row.validated_score),
                coverage=_round(row.coverage),
                dont_know=row.dont_know,
                target=_round(row.target),
                gap=None if gap is None else round(gap, 4),
            )
        )
    return out


@get(
    "/assessments/{assessment_id:int}/results",
    summary="Results per unit: self-assessed and validated, rolled up, coverage and gaps",
    responses={
        403: ResponseSpec(ResultsApiError, description="No results to see (yet) for the caller."),
        404: ResponseSpec(ResultsApiError, description="No such assessment (or a draft)."),
    },
)
async def get_results(request: Request[Any, Any, Any], assessment_id: int) -> ResultsOut:
    """Every unit in the caller's reach, in tree order."""
    principal = principal_of(request)
    assessment, found, visible = await load_visible_results(principal, assessment_id)
    titles = [d.title.get() for d in found.framework.dimensions]
    units = []
    for unit_id in visible:
        unit = found.by_id[unit_id]
        *dimensions, overall = _scores(found, unit_id, titles)
        units.append(
            UnitResultOut(
                unit_id=unit.id,
                code=unit.code,
                name=unit.name,
                parent_id=found.parents.get(unit.id),
                weight=unit.weight,
                validated_questions=found.validations.get(unit.id, 0),
                overall=overall,
                dimensions=dimensions,
                positions=[
                    PositionOut(field=key, position=position, respondents=count)
                    for key, (position, count) in found.positions.get(unit.id, {}).items()
                ],
            )
        )
    return ResultsOut(
        assessment_id=assessment.id,
        title=assessment.title,
        status=assessment.status,
        cycle=assessment.cycle,
        previous_id=assessment.previous_id,
        framework=assessment.framework_key,
        framework_version=assessment.framework_version,
        targets=found.targets,
        units=units,
    )


async def _runner_assessment(request: Request[Any, Any, Any], assessment_id: int) -> Any:
    return await runner_assessment(principal_of(request), assessment_id)


def _validation_out(found: review.Validation) -> ValidationOut:
    return ValidationOut(
        question_key=found.question_key,
        choice=found.choice,
        level=found.level,
        rationale=found.rationale,
        validated_by=found.validated_by,
        validated_at=found.validated_at,
    )


@get(
    "/assessments/{assessment_id:int}/review/{unit_id:int}",
    summary="One unit's answers side by side, with pooled levels, spread and validations",
    responses={
        403: ResponseSpec(ResultsApiError, description="Only assessment runners review answers."),
        404: ResponseSpec(
            ResultsApiError, description="No such assessment, or the unit is not in it."
        ),
    },
)
async def get_review(
    request: Request[Any, Any, Any], assessment_id: int, unit_id: int
) -> ReviewOut:
    """Every respondent's answer per question (runners only)."""
    assessment = await _runner_assessment(request, assessment_id)
    found = await review.unit_review(assessment.id, unit_id)
    if found is None:
        raise NotFoundException()
    questions = []
    for block in found.dimensions:
        for item in block.questions:
            questions.append(
                QuestionReviewOut(
                    key=item.question.key,
                    dimension=block.dimension.key,
                    text=item.question.text.get(),
                    answers=[
                        AnswerOut(
                            respondent=a.respondent.email,
                            choice=a.choice,
                            level=a.level,
                            target_level=a.target_level,
                            comment=a.comment,
                            evidence_url=a.evidence_url,
                            ignored=a.hidden,
                        )
                        for a in item.answers
                        if a is not None
                    ],
                    pooled=_round(item.pooled),
                    spread=item.spread,
                    disagreement=item.disagreement,
                    validation=None
                    if item.validation is None
                    else _validation_out(item.validation),
                )
            )
    return ReviewOut(
        assessment_id=assessment.id,
        unit_id=found.unit.id,
        code=found.unit.code,
        name=found.unit.name,
        respondents=[p.email for p in found.respondents],
        questions=questions,
    )


@put(
    "/assessments/{assessment_id:int}/validations/{unit_id:int}/{question_key:str}",
    summary="Set the validated level (or not applicable) of one question, with a rationale",
    responses={
        400: ResponseSpec(ResultsApiError, description="Missing rationale or a level outside 1–5."),
        403: ResponseSpec(ResultsApiError, description="Only assessment runners validate answers."),
        404: ResponseSpec(
            ResultsApiError, description="No such assessment, unit in scope or question."
        ),
        409: ResponseSpec(
            ResultsApiError, description="The assessment is closed (or still a draft)."
        ),
    },
)
async def put_validation(
    request: Request[Any, Any, Any],
    assessment_id: int,
    unit_id: int,
    question_key: str,
    data: ValidationIn,
) -> ValidationOut:
    """Replaces the validated answer; the unit's scores are recomputed on the next read."""
    assessment = await _runner_assessment(request, assessment_id)
    try:
        saved = await review.validate(
            assessment.id, unit_id, question_key, data.choice, data.level, data.rationale
        )
    except LookupError as exc:
        raise NotFoundException() from exc
    except AssessmentError as exc:
        status = 409 if exc.field == "status" else 400
        return _error(status, str(exc.message), exc.field)  # type: ignore[no-any-return]
    return _validation_out(saved)


results_api_router = Router(
    path="/api/v1",
    route_handlers=[get_results, get_review, put_validation],
    guards=[member_required],
    tags=["assessments"],
)
"""Mounted by the composition root next to the other ``/api/v1`` routers."""
