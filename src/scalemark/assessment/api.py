"""``/api/v1/assessments``: list, create, read, lifecycle steps and respondents over JSON.

Access follows the pages: runners (``run_assessments``) see and change everything; anyone
else sees the assessments they answer and, once in review or closed, those whose results
they may read — never drafts. Unknown ids, other tenants' ids and drafts the caller may
not see answer 404; changes by non-runners 403. A rule broken by a value answers 422 with
a translated ``detail`` and the ``field`` at fault; a step the status does not allow, and
any change to a closed assessment, answer 409.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from litestar import Request, Response, Router, get, post
from litestar.openapi.datastructures import ResponseSpec

from scalemark.api.errors import ApiError, api_error
from scalemark.assessment import invitations, registry, rules, service, uploads
from scalemark.assessment.framework import Framework
from scalemark.assessment.rules import AssessmentError
from scalemark.assessment.setup_routes import offered_frameworks, tenant_locales
from scalemark.i18n import gettext as _
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission
from scalemark.org import service as org_service

__all__ = [
    "AssessmentIn",
    "AssessmentOut",
    "AssessmentSummaryOut",
    "RespondentIn",
    "RespondentOut",
    "StatusIn",
    "assessment_api_router",
]

Action = Literal["open", "review", "close", "reopen", "back_to_review"]


@dataclass
class AssessmentSummaryOut:
    """An assessment as the list shows it."""

    id: int
    title: str
    status: str
    """``draft``, ``open``, ``in_review`` or ``closed``."""
    framework_key: str
    framework_version: int
    cycle: int
    previous_id: int | None
    due_date: date | None
    unit_count: int
    answered_units: int
    """Units in scope with at least one answer."""
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None


@dataclass
class ScopeUnitOut:
    """A unit in scope."""

    id: int
    code: str
    name: str
    weight: float
    """Weight when scores roll up the tree."""


@dataclass
class TargetOut:
    """The target level of one dimension."""

    dimension: str
    level: float


@dataclass
class RespondentOut:
    """A person asked to answer for a unit."""

    id: int
    unit_id: int
    unit_code: str
    email: str
    locale: str
    invited_at: datetime | None
    """When the e-mail went out (``null``: not yet; it goes out when the assessment opens)."""


@dataclass
class AssessmentOut(AssessmentSummaryOut):
    """An assessment with its scope, targets and respondents."""

    scope: list[ScopeUnitOut] = field(default_factory=list)
    targets: list[TargetOut] = field(default_factory=list)
    respondents: list[RespondentOut] = field(default_factory=list)
    """Runners see every respondent; others only themselves."""
    actions: list[str] = field(default_factory=list)
    """Lifecycle steps possible now (runners only)."""


@dataclass
class AssessmentIn:
    """A new draft assessment."""

    title: str
    framework_key: str | None = None
    """A built-in framework (default: the first one)."""
    framework_version: int | None = None
    """Its version (default: the newest)."""
    unit_codes: list[str] = field(default_factory=list)
    """Units in scope by code …"""
    unit_ids: list[int] = field(default_factory=list)
    """… and/or by id."""
    due_date: date | None = None
    targets: dict[str, float] = field(default_factory=dict)
    """Target level (1–5) per dimension key; missing dimensions take the framework's."""


@dataclass
class StatusIn:
    """A lifecycle step; ``reopen`` and ``back_to_review`` need a ``reason``."""

    action: Action
    reason: str = ""


@dataclass
class RespondentIn:
    """Ask someone to answer for a unit in scope (by ``unit_code`` or ``unit_id``)."""

    email: str
    unit_code: str | None = None
    unit_id: int | None = None
    locale: str | None = None
    """Language of the e-mail and the questionnaire (default: the unit's language)."""


_REFUSED = {
    403: ResponseSpec(ApiError, description="Only people who run assessments may do this."),
    404: ResponseSpec(ApiError, description="No such assessment (or a draft you cannot see)."),
}


def _summary_fields(assessment: service.Assessment, answered: int) -> dict[str, Any]:
    return {
        "id": assessment.id,
        "title": assessment.title,
        "status": assessment.status,
        "framework_key": assessment.framework_key,
        "framework_version": assessment.framework_version,
        "cycle": assessment.cycle,
        "previous_id": assessment.previous_id,
        "due_date": assessment.due_date,
        "unit_count": assessment.unit_count,
        "answered_units": answered,
        "created_at": assessment.created_at,
        "opened_at": assessment.opened_at,
        "closed_at": assessment.closed_at,
    }


async def _visible_ids(principal: Principal, found: list[service.Assessment]) -> set[int]:
    """Ids of the assessments a non-runner may see: answered by them, or results."""
    shown = [a for a in found if a.status != "draft"]
    paths = await service.scope_paths([a.id for a in shown])
    units = {u.id: u.path for u in await org_service.whole_tree()}
    mine = await service.respondents_for_email(principal.user.email)
    visible = set()
    for assessment in shown:
        answers = any(
            r.assessment_id == assessment.id
            and principal.can(Permission.VIEW, units.get(r.unit_id, "\0"))
            for r in mine
        )
        reads = any(
            rules.can_see_results(principal, assessment.status, p)
            for p in paths.get(assessment.id, [])
        )
        if answers or reads:
            visible.add(assessment.id)
    return visible


async def _readable(principal: Principal, assessment_id: int) -> service.Assessment | None:
    """The assessment if the caller may read it, else None (answered as 404)."""
    assessment = await service.get_assessment(assessment_id)
    if assessment is None:
        return None
    if rules.can_run(principal):
        return assessment
    return assessment if assessment.id in await _visible_ids(principal, [assessment]) else None


async def _runnable(principal: Principal, assessment_id: int) -> service.Assessment | Response:
    """The assessment for a change by a runner, or the error response (404 or 403)."""
    assessment = await service.get_assessment(assessment_id)
    refusal = rules.runner_refusal(principal, assessment.status if assessment else None)
    if assessment is None or refusal == 404:
        return api_error(404, _("There is no such assessment."))  # type: ignore[no-any-return]
    if refusal == 403:
        return api_error(403, _("Only people who run assessments may change them."))  # type: ignore[no-any-return]
    return assessment


async def _detail(principal: Principal, assessment: service.Assessment) -> AssessmentOut:
    units = await service.scope(assessment.id)
    codes = {u.id: u.code for u in units}
    people = await service.respondents(assessment.id)
    runner = rules.can_run(principal)
    if not runner:
        people = [p for p in people if p.email.lower() == principal.user.email.lower()]
    answered = await service.answered_units([assessment.id])
    goals = await service.targets(assessment.id)
    return AssessmentOut(
        **_summary_fields(assessment, answered.get(assessment.id, 0)),
        scope=[ScopeUnitOut(u.id, u.code, u.name, u.weight) for u in units],
        targets=[TargetOut(k, v) for k, v in sorted(goals.items())],
        respondents=[
            RespondentOut(
                p.id, p.unit_id, codes.get(p.unit_id, ""), p.email, p.locale, p.invited_at
            )
            for p in people
        ],
        actions=[m.action for m in rules.moves_from(assessment.status)] if runner else [],
    )


async def _framework(key: str | None, version: int | None) -> Framework | None:
    frameworks = await offered_frameworks()
    if not frameworks:
        return None
    wanted = key or frameworks[0].key
    if version is None:
        return registry.newest_version(frameworks, wanted)
    return next((f for f in frameworks if (f.key, f.version) == (wanted, version)), None)


@get("/", summary="Assessments the caller may see, newest first")
async def list_assessments(request: Request[Any, Any, Any]) -> list[AssessmentSummaryOut]:
    """Runners: every assessment. Others: those they answer and results they may read."""
    principal = principal_of(request)
    found = await service.list_assessments()
    if not rules.can_run(principal):
        visible = await _visible_ids(principal, found)
        found = [a for a in found if a.id in visible]
    answered = await service.answered_units([a.id for a in found])
    return [AssessmentSummaryOut(**_summary_fields(a, answered.get(a.id, 0))) for a in found]


@post(
    "/",
    summary="Create a draft assessment",
    status_code=201,
    responses={
        403: _REFUSED[403],
        422: ResponseSpec(ApiError, description="A value breaks a rule (title, units, targets)."),
    },
)
async def create_assessment(request: Request[Any, Any, Any], data: AssessmentIn) -> AssessmentOut:
    """A draft over the given units; targets default to the framework's."""
    principal = principal_of(request)
    if not rules.can_run(principal):
        return api_error(403, _("Only people who run assessments may change them."))  # type: ignore[no-any-return]
    framework = await _framework(data.framework_key, data.framework_version)
    if framework is None:
        return api_error(422, _("Choose a framework from the list."), "framework_key")  # type: ignore[no-any-return]
    unit_ids = list(data.unit_ids)
    for code in data.unit_codes:
        unit = await org_service.get_unit_by_code(code)
        if unit is None or unit.archived:
            return api_error(  # type: ignore[no-any-return]
                422, _("No active unit has the code %(code)s.", code=code), "unit_codes"
            )
        unit_ids.append(unit.id)
    try:
        due = (
            rules.parse_due_date(data.due_date.isoformat(), today=date.today())
            if (data.due_date)
            else None
        )
        created = await service.create_assessment(
            service.AssessmentSetup(
                title=data.title,
                unit_ids=list(dict.fromkeys(unit_ids)),
                due_date=due,
                targets=data.targets,
            ),
            framework,
            await uploads.offered_source(framework),
        )
    except AssessmentError as exc:
        return api_error(422, str(exc.message), exc.field)  # type: ignore[no-any-return]
    return await _detail(principal, created)


@get("/{assessment_id:int}", summary="One assessment", responses={404: _REFUSED[404]})
async def get_assessment(request: Request[Any, Any, Any], assessment_id: int) -> AssessmentOut:
    """Scope, targets, status and respondents (others see only themselves)."""
    principal = principal_of(request)
    assessment = await _readable(principal, assessment_id)
    if assessment is None:
        return api_error(404, _("There is no such assessment."))  # type: ignore[no-any-return]
    return await _detail(principal, assessment)


@post(
    "/{assessment_id:int}/status",
    summary="Take a lifecycle step",
    status_code=200,
    responses={
        **_REFUSED,
        409: ResponseSpec(ApiError, description="The step is not possible from this status."),
        422: ResponseSpec(ApiError, description="Reopening without a reason."),
    },
)
async def change_status(
    request: Request[Any, Any, Any], assessment_id: int, data: StatusIn
) -> AssessmentOut:
    """Open (respondents are mailed), review, close, reopen or go back to review."""
    principal = principal_of(request)
    found = await _runnable(principal, assessment_id)
    if isinstance(found, Response):
        return found  # type: ignore[return-value]
    try:
        changed = await invitations.apply_action(assessment_id, data.action, data.reason)
    except AssessmentError as exc:
        status = 422 if exc.field == "reason" else 409
        return api_error(status, str(exc.message), exc.field)  # type: ignore[no-any-return]
    return await _detail(principal, changed)


@post(
    "/{assessment_id:int}/respondents",
    summary="Add a respondent for a unit in scope",
    status_code=201,
    responses={
        **_REFUSED,
        409: ResponseSpec(ApiError, description="The assessment is in review or closed."),
        422: ResponseSpec(ApiError, description="Bad e-mail, language or unit."),
    },
)
async def add_respondent(
    request: Request[Any, Any, Any], assessment_id: int, data: RespondentIn
) -> RespondentOut:
    """While draft (mailed when it opens) or open (mailed at once)."""
    principal = principal_of(request)
    found = await _runnable(principal, assessment_id)
    if isinstance(found, Response):
        return found  # type: ignore[return-value]
    assessment = found
    if assessment.status not in rules.EDITABLE_STATUSES:
        return api_error(  # type: ignore[no-any-return]
            409,
            _("Respondents can only be added while the assessment is a draft or open."),
            "status",
        )
    units = await service.scope(assessment_id)
    unit = next(
        (
            u
            for u in units
            if (data.unit_id is not None and u.id == data.unit_id)
            or (data.unit_code is not None and u.code == data.unit_code.strip().upper())
        ),
        None,
    )
    if unit is None:
        return api_error(422, _("This unit is not part of the assessment."), "unit")  # type: ignore[no-any-return]
    locales = await tenant_locales()
    locale = data.locale or (unit.locale if unit.locale in locales else locales[0])
    if locale not in locales:
        return api_error(422, _("Choose a language from the list."), "locale")  # type: ignore[no-any-return]
    try:
        added = await service.add_respondent(assessment_id, unit.id, data.email, locale)
    except AssessmentError as exc:
        return api_error(409 if exc.field == "status" else 422, str(exc.message), exc.field)  # type: ignore[no-any-return]
    if assessment.status == "open":
        await invitations.invite_respondent(assessment, added.id)
    fresh = await service.get_respondent(assessment_id, added.id)
    person = fresh or added
    return RespondentOut(
        person.id, person.unit_id, unit.code, person.email, person.locale, person.invited_at
    )


assessment_api_router = Router(
    path="/api/v1/assessments",
    route_handlers=[
        list_assessments,
        create_assessment,
        get_assessment,
        change_status,
        add_respondent,
    ],
    guards=[member_required],
    tags=["assessments"],
)
"""The assessments API, mounted by the app."""
