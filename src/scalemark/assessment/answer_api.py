"""API v1 of answering: a respondent's own answers for one unit, read and saved one by one.

``GET /api/v1/assessments/{id}/units/{unit_id}/answers`` lists every question and tension
field with the caller's stored answer (``revision`` 0: none yet); people who run
assessments may read any respondent's answers with ``?respondent=<e-mail>``.
``PUT …/answers/{question_key}`` saves one answer based on the ``revision`` the caller
read: 409 when someone saved it since (the body carries the stored answer), or when the
assessment is not open; 422 with ``extra`` naming each field at fault. Access follows the
pages: unknown ids 404, not a respondent of the unit 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import MediaType, Request, Response, Router, get, put
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from scalemark.api.errors import ApiError, api_error
from scalemark.assessment import answers
from scalemark.assessment.answers import Answer, Seat
from scalemark.assessment.framework import Framework
from scalemark.assessment.rules import can_run
from scalemark.db import tenant_transaction
from scalemark.i18n import gettext as _
from scalemark.identity.guards import member_required, principal_of

__all__ = [
    "AnswerIn",
    "AnswerOut",
    "AnswerSheetOut",
    "ConflictOut",
    "FieldErrorsOut",
    "answer_api_router",
]


@dataclass
class AnswerOut:
    """One question (or tension field) with the respondent's stored answer."""

    question_key: str
    kind: str
    """``question`` or ``tension_field``."""
    dimension: str | None
    """The question's dimension (None for tension fields)."""
    choice: str | None
    """``level``, ``na``, ``dk``, ``position`` or null (not answered)."""
    level: int | None
    target_level: int | None
    position: int | None
    comment: str
    evidence_url: str
    revision: int
    """Send this back with the next save; 0: nothing stored yet."""
    updated_at: datetime | None
    visible: bool
    """False when the question's condition does not hold (its answer does not count)."""


@dataclass
class ProgressOut:
    """Answered out of shown questions (and positioned tension fields)."""

    answered: int
    total: int


@dataclass
class AnswerSheetOut:
    """A respondent's answers for one unit."""

    assessment_id: int
    unit_id: int
    respondent: str
    status: str
    can_change: bool
    progress: ProgressOut
    answers: list[AnswerOut]


@dataclass
class AnswerIn:
    """One answer; ``revision`` is the one read before (0 when there was none)."""

    revision: int
    choice: str | None = None
    """``level`` (with ``level``), ``na``, ``dk``, ``position`` (with ``position``) or null."""
    level: int | None = None
    target_level: int | None = None
    position: int | None = None
    comment: str = ""
    evidence_url: str = ""
    """An ``http://`` or ``https://`` link, or empty."""


@dataclass
class ConflictOut:
    """A refused save: someone saved since ``revision`` (or the assessment is not open)."""

    status_code: int
    detail: str
    current: AnswerOut | None = None
    """The stored answer that stays (on a conflict)."""


@dataclass
class FieldErrorsOut:
    """Invalid input: a message per field."""

    status_code: int
    detail: str
    extra: dict[str, str]


def _json(body: Any, status: int) -> Any:
    return Response(body, status_code=status, media_type=MediaType.JSON)


def _out(framework: Framework, key: str, answer: Answer | None, visible: set[str]) -> AnswerOut:
    stored = answer or Answer(key)
    is_question = framework.has_question(key)
    return AnswerOut(
        question_key=key,
        kind="question" if is_question else "tension_field",
        dimension=framework.question(key).dimension if is_question else None,
        choice=stored.choice,
        level=stored.level,
        target_level=stored.target_level,
        position=stored.position,
        comment=stored.comment,
        evidence_url=stored.evidence_url,
        revision=stored.revision,
        updated_at=stored.updated_at,
        visible=not is_question or key in visible,
    )


async def _seat(request: Request[Any, Any, Any], assessment_id: int, unit_id: int) -> Any:
    """The caller's seat, or an error response (404/403)."""
    try:
        return await answers.seat_for(principal_of(request), assessment_id, unit_id)
    except LookupError:
        return api_error(404, _("There is no such assessment or unit."))
    except PermissionError:
        return api_error(403, _("You are not a respondent for this unit."))


@get(
    "/assessments/{assessment_id:int}/units/{unit_id:int}/answers",
    summary="A respondent's answers for one unit",
    responses={
        403: ResponseSpec(ApiError, description="Not a respondent of this unit."),
        404: ResponseSpec(ApiError, description="No such assessment, unit or respondent."),
    },
)
async def list_answers(
    request: Request[Any, Any, Any],
    assessment_id: int,
    unit_id: int,
    respondent: str | None = Parameter(
        query="respondent",
        required=False,
        description="E-mail of another respondent (only for people who run assessments).",
    ),
) -> AnswerSheetOut:
    """Every question and tension field with the stored answer, in questionnaire order."""
    principal = principal_of(request)
    other = (respondent or "").strip().lower()
    if other and other != principal.user.email.lower():
        if not can_run(principal):
            return api_error(403, _("Only people who run assessments see others' answers."))  # type: ignore[no-any-return]
        try:
            seat: Seat = await answers.respondent_seat(assessment_id, unit_id, other)
        except LookupError:
            return api_error(404, _("This person is not a respondent for this unit."), "respondent")  # type: ignore[no-any-return]
    else:
        found = await _seat(request, assessment_id, unit_id)
        if not isinstance(found, Seat):
            return found  # type: ignore[no-any-return]
        seat = found
    framework = await answers.seat_framework(seat)
    stored = await answers.load_answers(seat)
    progress = answers.progress(framework, seat.sheet)
    visible = set(progress.visible)
    keys = [f.key for f in framework.tension_fields] + [q.key for q in framework.questions()]
    return AnswerSheetOut(
        assessment_id=assessment_id,
        unit_id=unit_id,
        respondent=seat.email,
        status=seat.status,
        can_change=seat.can_change,
        progress=ProgressOut(progress.overall.answered, progress.overall.total),
        answers=[_out(framework, key, stored.get(key), visible) for key in keys],
    )


@put(
    "/assessments/{assessment_id:int}/units/{unit_id:int}/answers/{question_key:str}",
    summary="Save one of the caller's answers",
    status_code=200,
    responses={
        403: ResponseSpec(ApiError, description="Not a respondent of this unit."),
        404: ResponseSpec(ApiError, description="No such assessment, unit or question."),
        409: ResponseSpec(
            ConflictOut,
            description="Saved by someone else since `revision` (`current` is the stored "
            "answer), or the assessment is not open.",
        ),
        422: ResponseSpec(FieldErrorsOut, description="Invalid input; `extra` names each field."),
    },
)
async def put_answer(
    request: Request[Any, Any, Any],
    assessment_id: int,
    unit_id: int,
    question_key: str,
    data: AnswerIn,
) -> AnswerOut:
    """Store the answer if nobody saved it since ``revision``; answers the new revision."""
    async with tenant_transaction():
        found = await _seat(request, assessment_id, unit_id)
        if not isinstance(found, Seat):
            return found  # type: ignore[no-any-return]
        seat = found
        framework = await answers.seat_framework(seat)
        if not framework.has_question(question_key) and not any(
            f.key == question_key for f in framework.tension_fields
        ):
            return api_error(404, _("The framework has no question with this key."), "question_key")  # type: ignore[no-any-return]
        if not seat.can_change:
            message = answers.AnswersClosed(seat.status).message
            return _json(ConflictOut(409, message), 409)  # type: ignore[no-any-return]
        try:
            entry = answers.answer_input(
                framework,
                question_key,
                choice=data.choice,
                level=data.level,
                target_level=data.target_level,
                position=data.position,
                comment=data.comment,
                evidence_url=data.evidence_url,
            )
        except answers.AnswerError as exc:
            detail = next(iter(exc.errors.values()))
            return _json(FieldErrorsOut(422, detail, exc.errors), 422)  # type: ignore[no-any-return]
        result = await answers.save_answer(seat, question_key, entry, max(0, data.revision))
    sheet = result.sheet or seat.sheet
    visible = answers.visible_questions(framework, sheet)
    out = _out(framework, question_key, result.answer, visible)
    if result.conflict:
        detail = _(
            "Someone saved this answer since revision %(revision)s; yours is not saved.",
            revision=data.revision,
        )
        return _json(ConflictOut(409, detail, out), 409)  # type: ignore[no-any-return]
    return out


def _invalid_body(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """A body that does not decode (wrong types, missing ``revision``): 422 with fields."""
    extra: dict[str, str] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or "body")
            extra[key] = str(item.get("message") or _("This value is not valid."))
    detail = _("Some of the values are not valid.")
    return Response(
        FieldErrorsOut(422, detail, extra or {"body": detail}),
        status_code=422,
        media_type=MediaType.JSON,
    )


answer_api_router = Router(
    path="/api/v1",
    route_handlers=[list_answers, put_answer],
    guards=[member_required],
    tags=["assessments"],
    exception_handlers={ValidationException: _invalid_body},
)
"""Mounted by the composition root next to the other ``/api/v1`` routers."""
