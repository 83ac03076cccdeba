"""API v1 of PDF reports (bearer token or session, like every ``/api/v1`` route).

- ``POST /api/v1/assessments/{id}/reports``: ask for a report (runners). 202 with the
  report and its status URL; an unchanged report asked for again is returned as it is
  (200 once ready). When the job service is down the report is stored and starts later.
- ``GET /api/v1/reports``: every report (runners) and those shared with the caller.
- ``GET /api/v1/reports/{id}``: one report's status.
- ``GET /api/v1/reports/{id}/file``: the PDF once ready (409 before); logged.

Unknown or other tenants' ids: 404; a report the caller may not see: 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from litestar import Request, Response, Router, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from scalemark.api.errors import ApiError, api_error
from scalemark.assessment import rules
from scalemark.assessment import service as assessments
from scalemark.i18n import gettext as _
from scalemark.i18n.locale import current_locale
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.principal import Principal
from scalemark.reports import service, sharing
from scalemark.reports.presentation import client_ip, download_filename, tenant_locales, timezones
from scalemark.reports.routes import pdf_response
from scalemark.reports.service import Report, ReportError

__all__ = ["ReportIn", "ReportOut", "ReportsApiError", "SubmissionOut", "reports_api_router"]


@dataclass
class ReportsApiError(ApiError):
    """A refused request: status, a translated message and the field at fault."""


@dataclass
class ReportIn:
    """What report to make."""

    audience: Literal["board", "full"] = "board"
    """``board``: the summary; ``full``: every chapter and the answers appendix."""
    scope_unit_id: int | None = None
    """A unit of the assessment (its subtree); none: the whole organisation."""
    locale: str | None = None
    """One of the organisation's languages; default: the caller's, else the organisation's."""
    timezone: str | None = None
    """IANA time zone for dates in the report; default: the caller's."""


@dataclass
class ReportOut:
    """A report and its progress."""

    id: int
    assessment_id: int
    assessment_title: str
    scope_unit_id: int | None
    scope_unit_name: str | None
    locale: str
    timezone: str
    audience: str
    status: str
    """``queued``, ``collecting``, ``rendering``, ``ready`` or ``failed``."""
    error: str
    """The reason when ``failed`` (in the report's language)."""
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    page_count: int | None
    size_bytes: int | None
    status_url: str
    file_url: str | None
    """Where the PDF is, once ready."""
    filename: str


@dataclass
class SubmissionOut:
    """The answer to a report request."""

    report: ReportOut
    created: bool
    """False: the same report (unchanged inputs) existed already and is returned."""
    enqueued: bool
    """False: the job service did not answer; the report is stored and starts later."""
    message: str


def _out(report: Report) -> ReportOut:
    return ReportOut(
        id=report.id,
        assessment_id=report.assessment_id,
        assessment_title=report.assessment_title,
        scope_unit_id=report.scope_unit_id,
        scope_unit_name=report.scope_unit_name,
        locale=report.locale,
        timezone=report.timezone,
        audience=report.audience,
        status=report.status,
        error=report.error,
        requested_by=report.requested_label,
        requested_at=report.requested_at,
        started_at=report.started_at,
        finished_at=report.finished_at,
        page_count=report.page_count,
        size_bytes=report.size_bytes,
        status_url=f"/api/v1/reports/{report.id}",
        file_url=f"/api/v1/reports/{report.id}/file" if report.ready else None,
        filename=download_filename(report),
    )


def _error(status: int, detail: str, field: str | None = None) -> Any:
    return api_error(status, detail, field, body=ReportsApiError)


async def _visible(principal: Principal, report_id: int) -> Report | Any:
    """The report, or the error answer (404 unknown, 403 not the caller's to see)."""
    report = await service.get_report(report_id)
    if report is None:
        return _error(404, _("There is no report with this id."))
    if rules.can_run(principal):
        return report
    if report.id in await sharing.shared_report_ids(principal.user.email):
        return report
    return _error(403, _("You may not see this report."))


@post(
    "/assessments/{assessment_id:int}/reports",
    summary="Request a PDF report of an assessment",
    status_code=202,
    responses={
        200: ResponseSpec(SubmissionOut, description="The same report exists and is ready."),
        400: ResponseSpec(ReportsApiError, description="A value breaks a rule (scope, language…)."),
        403: ResponseSpec(ReportsApiError, description="Only assessment runners request reports."),
        404: ResponseSpec(ReportsApiError, description="No such assessment."),
        409: ResponseSpec(ReportsApiError, description="The assessment is still a draft."),
    },
)
async def request_report(
    request: Request[Any, Any, Any], assessment_id: FromPath[int], data: ReportIn
) -> Response[SubmissionOut]:
    """Stored and queued (202); poll ``status_url`` until ``ready``, then get ``file_url``.

    Asking again with unchanged inputs returns the existing report instead of a new one.
    """
    principal = principal_of(request)
    assessment = await assessments.get_assessment(assessment_id)
    refusal = rules.runner_refusal(principal, assessment.status if assessment else None)
    if assessment is None or refusal == 404:
        return _error(404, _("There is no assessment with this id."))  # type: ignore[no-any-return]
    if refusal == 403:
        return _error(403, _("Only assessment runners request reports."))  # type: ignore[no-any-return]
    locales = await tenant_locales()
    locale = data.locale or (current_locale() if current_locale() in locales else locales[0])
    if locale not in locales:
        return _error(400, _("Choose one of the offered languages."), "locale")  # type: ignore[no-any-return]
    zone = data.timezone or principal.user.timezone or "UTC"
    if zone not in timezones():
        return _error(400, _("Choose a valid time zone."), "timezone")  # type: ignore[no-any-return]
    try:
        submitted = await service.submit_report(
            assessment.id, data.scope_unit_id, locale, zone, data.audience
        )
    except ReportError as exc:
        status = 409 if exc.field == "assessment" else 400
        return _error(status, str(exc.message), exc.field)  # type: ignore[no-any-return]
    except LookupError:
        return _error(404, _("There is no assessment with this id."))  # type: ignore[no-any-return]
    report = submitted.report
    if not submitted.enqueued:
        message = _("The report is saved and will start as soon as the job service is back.")
    elif not submitted.created:
        message = _("This report is up to date — here it is.")
    else:
        message = _("The report is being made.")
    body = SubmissionOut(_out(report), submitted.created, submitted.enqueued, message)
    return Response(
        body,
        status_code=200 if report.ready else 202,
        headers={"Location": f"/api/v1/reports/{report.id}"},
    )


@get("/reports", summary="Reports: all of them for runners, else those shared with the caller")
async def list_reports(request: Request[Any, Any, Any]) -> list[ReportOut]:
    """Newest first (at most 200 of all reports, plus those shared with the caller)."""
    principal = principal_of(request)
    found = await service.list_reports(limit=200) if rules.can_run(principal) else []
    known = {r.id for r in found}
    shared_ids = [
        i for i in await sharing.shared_report_ids(principal.user.email) if i not in known
    ]
    if shared_ids:
        found += [r for r in await service.list_reports(ids=shared_ids) if r.ready]
    return [_out(r) for r in found]


@get(
    "/reports/{report_id:int}",
    summary="One report's status",
    responses={
        403: ResponseSpec(ReportsApiError, description="Not the caller's to see."),
        404: ResponseSpec(ReportsApiError, description="No such report."),
    },
)
async def get_report(request: Request[Any, Any, Any], report_id: FromPath[int]) -> ReportOut:
    """Status, and once ready the file's size, page count and address."""
    found = await _visible(principal_of(request), report_id)
    if not isinstance(found, Report):
        return found  # type: ignore[no-any-return]
    return _out(found)


@get(
    "/reports/{report_id:int}/file",
    summary="The PDF of a ready report",
    media_type="application/pdf",
    responses={
        403: ResponseSpec(ReportsApiError, description="Not the caller's to see."),
        404: ResponseSpec(ReportsApiError, description="No such report."),
        409: ResponseSpec(ReportsApiError, description="The report is not ready (yet)."),
    },
)
async def get_report_file(
    request: Request[Any, Any, Any], report_id: FromPath[int]
) -> Response[bytes]:
    """The PDF (``Content-Disposition`` names it); every download is logged."""
    principal = principal_of(request)
    found = await _visible(principal, report_id)
    if not isinstance(found, Report):
        return found  # type: ignore[no-any-return]
    pdf = await service.report_file(found.id) if found.ready else None
    if pdf is None:
        return _error(  # type: ignore[no-any-return]
            409,
            _("The report is not ready: its status is %(status)s.", status=found.status),
            "status",
        )
    await sharing.record_download(
        found.id,
        user_id=principal.user.id,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    return pdf_response(bytes(pdf), download_filename(found))


reports_api_router = Router(
    path="/api/v1",
    route_handlers=[request_report, list_reports, get_report, get_report_file],
    guards=[member_required],
    tags=["reports"],
)
"""Mounted by the composition root next to the other ``/api/v1`` routers."""
