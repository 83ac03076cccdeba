"""``/assessments/{id}/review``: the consultant's review of the answers, unit by unit.

Only assessment runners (``run_assessments``) may open it: everyone else gets 403 (404
for drafts, which they may not know of); unknown ids, other tenants' ids and units
outside the scope answer 404. Validating a question posts one form per question: htmx
swaps that question's block (422 with the message and the input kept when the rationale
is missing, 409 when the assessment is closed); without JavaScript the form posts
normally and redirects back to the question.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Template

from scalemark.assessment import review, rules, service
from scalemark.assessment.rules import STATUS_LABELS, AssessmentError
from scalemark.db.tenant_context import current_tenant
from scalemark.identity.guards import member_required, principal_of
from scalemark.web.htmx import is_partial_request, redirect

__all__ = ["ReviewPages", "load_runnable"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


async def load_runnable(request: Request[Any, Any, Any], assessment_id: int) -> service.Assessment:
    """The assessment for a runner: 404 unknown (or a draft to others), 403 not a runner."""
    assessment = await service.get_assessment(assessment_id)
    principal = principal_of(request)
    if assessment is None:
        raise NotFoundException()
    if not rules.can_run(principal):
        if assessment.status == "draft":
            raise NotFoundException()
        raise PermissionDeniedException()
    return assessment


def _html(name: str, context: dict[str, Any], status: int = 200) -> Template:
    return Template(
        template_name=name, context=context, status_code=status, media_type=MediaType.HTML
    )


def _can_validate(assessment: service.Assessment) -> bool:
    return assessment.status in review.VALIDATION_STATUSES


def _base(assessment: service.Assessment) -> dict[str, Any]:
    return {
        "tenant": current_tenant(),
        "assessment": assessment,
        "status_labels": STATUS_LABELS,
        "can_validate": _can_validate(assessment),
    }


async def _unit_context(
    assessment: service.Assessment,
    unit_id: int,
    *,
    values: dict[str, dict[str, str]] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    saved: str | None = None,
) -> dict[str, Any]:
    found = await review.unit_review(assessment.id, unit_id)
    if found is None:
        raise NotFoundException()
    framework = await service.framework_of(assessment.id)
    return {
        **_base(assessment),
        "review": found,
        "unit": found.unit,
        "framework": framework,
        "values": values or {},
        "errors": errors or {},
        "saved": saved,
    }


def _choice(raw: str) -> tuple[str, int | None]:
    """The posted ``level`` field: ``1``–``5`` or ``na``."""
    raw = raw.strip()
    if raw == "na":
        return "na", None
    if raw.isdigit():
        return "level", int(raw)
    return "", None


class ReviewPages(Controller):
    """The review overview, one unit's answers side by side, and validating a question."""

    path = "/assessments/{assessment_id:int}/review"
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="assessments:review", media_type=MediaType.HTML)
    async def overview(self, request: Request[Any, Any, Any], assessment_id: int) -> Template:
        """Units in scope with respondents, answers, disagreements and validations."""
        assessment = await load_runnable(request, assessment_id)
        units = await review.review_overview(assessment.id)
        context = {
            **_base(assessment),
            "units": units,
            "disagreement": review.DISAGREEMENT,
        }
        return _html("assessment/review.html", context)

    @get("/{unit_id:int}", name="assessments:review_unit", media_type=MediaType.HTML)
    async def unit(
        self, request: Request[Any, Any, Any], assessment_id: int, unit_id: int
    ) -> Template:
        """Per dimension and question: every respondent's answer, pooled level, spread."""
        assessment = await load_runnable(request, assessment_id)
        saved = request.query_params.get("saved") or None
        context = await _unit_context(assessment, unit_id, saved=saved)
        return _html("assessment/review_unit.html", context)

    @post(
        "/{unit_id:int}/questions/{question_key:str}/clear",
        name="assessments:clear_validation",
        media_type=MediaType.HTML,
    )
    async def clear(
        self,
        request: Request[Any, Any, Any],
        assessment_id: int,
        unit_id: int,
        question_key: str,
    ) -> Any:
        """Remove a validation: the respondents' answers count again."""
        assessment = await load_runnable(request, assessment_id)
        try:
            await review.clear_validation(assessment.id, unit_id, question_key)
        except LookupError as exc:
            raise NotFoundException() from exc
        except AssessmentError as exc:
            fresh = await service.get_assessment(assessment.id) or assessment
            context = await _unit_context(
                fresh, unit_id, errors={question_key: {"form": str(exc.message)}}
            )
            if is_partial_request(request):
                context["item"] = context["review"].question(question_key)
                return _html("assessment/_review_question.html", context, 409)
            return _html("assessment/review_unit.html", context, 409)
        if is_partial_request(request):
            context = await _unit_context(assessment, unit_id)
            context["item"] = context["review"].question(question_key)
            return _html("assessment/_review_question.html", context)
        return redirect(request, f"/assessments/{assessment.id}/review/{unit_id}#q-{question_key}")

    @post(
        "/{unit_id:int}/questions/{question_key:str}",
        name="assessments:validate",
        media_type=MediaType.HTML,
    )
    async def validate(
        self,
        request: Request[Any, Any, Any],
        assessment_id: int,
        unit_id: int,
        question_key: str,
        data: Form,
    ) -> Any:
        """Set the validated level (or not applicable) of one question, with a rationale."""
        assessment = await load_runnable(request, assessment_id)
        choice, level = _choice(data.get("level") or "")
        rationale = data.get("rationale") or ""
        status = 200
        errors: dict[str, str] = {}
        try:
            await review.validate(assessment.id, unit_id, question_key, choice, level, rationale)
        except LookupError as exc:
            raise NotFoundException() from exc
        except AssessmentError as exc:
            status = 409 if exc.field == "status" else 422
            errors = {
                exc.field if exc.field in ("level", "rationale") else "form": str(exc.message)
            }
        if errors:
            fresh = await service.get_assessment(assessment.id) or assessment
            context = await _unit_context(
                fresh,
                unit_id,
                values={question_key: {"level": data.get("level") or "", "rationale": rationale}},
                errors={question_key: errors},
            )
            if is_partial_request(request):
                context["item"] = context["review"].question(question_key)
                return _html("assessment/_review_question.html", context, status)
            return _html("assessment/review_unit.html", context, status)
        if is_partial_request(request):
            context = await _unit_context(assessment, unit_id, saved=question_key)
            context["item"] = context["review"].question(question_key)
            return _html("assessment/_review_question.html", context)
        return redirect(
            request,
            f"/assessments/{assessment.id}/review/{unit_id}?saved={question_key}#q-{question_key}",
        )
