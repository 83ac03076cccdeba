"""Report pages: request, progress, download, sharing, and the list of reports.

- ``/assessments/{id}/reports`` (assessment runners): the request form (scope, language,
  edition, time zone) and the assessment's reports. Asking again for an unchanged report
  opens the existing one instead of rendering another.
- ``/reports/{id}`` (runners): progress (htmx polls ``/reports/{id}/status`` every second
  until ready or failed), the download, "Try again", and the report's share links.
- ``/reports/{id}/download``: runners, and signed-in people the report is shared with
  (a working link to their e-mail address); every download is logged.
- ``/reports``: every report for runners; "Shared with you" for everyone signed in.

Unknown or other tenants' ids answer 404; reports of people who may not see them 403.
The web process only writes rows and enqueues jobs; a job service that is down leaves
the report queued and the page says so.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from scalemark.assessment import rules
from scalemark.assessment import service as assessments
from scalemark.assessment.access import runner_assessment
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n import ngettext
from scalemark.i18n.locale import LOCALE_NAMES, current_locale
from scalemark.identity.guards import login_required, principal_of
from scalemark.identity.principal import Principal
from scalemark.reports import service, sharing
from scalemark.reports.branding_routes import may_brand
from scalemark.reports.presentation import (
    AUDIENCE_HINTS,
    AUDIENCE_LABELS,
    STATUS_MESSAGES,
    STEPS,
    client_ip,
    download_filename,
    report_view,
    tenant_locales,
    timezones,
)
from scalemark.reports.service import Report, ReportError
from scalemark.web.guards import tenant_only
from scalemark.web.htmx import is_partial_request, redirect

__all__ = ["ReportPages", "pdf_response", "runner_report"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
PAGE_SIZE = 50
"""Reports the list shows at first; "Show more" adds as many again."""
MAX_SHOWN = 2000


# -- access -------------------------------------------------------------------------------


def _tz(principal: Principal) -> str:
    zone = principal.user.timezone or "UTC"
    return zone if zone in timezones() else "UTC"


async def _runner_assessment(
    request: Request[Any, Any, Any], assessment_id: int
) -> assessments.Assessment:
    """The assessment for a runner: 404 unknown (and drafts to others), 403 otherwise."""
    return await runner_assessment(principal_of(request), assessment_id)


async def runner_report(principal: Principal, report_id: int) -> Report:
    """A report of this tenant for a runner: 404 unknown, 403 for everyone else."""
    report = await service.get_report(report_id)
    if report is None:
        raise NotFoundException()
    if not rules.can_run(principal):
        raise PermissionDeniedException()
    return report


def pdf_response(pdf: bytes, filename: str) -> Response[bytes]:
    """The PDF as an attachment with a safe, readable file name."""
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _html(name: str, context: dict[str, Any], status: int = 200) -> Template:
    return Template(
        template_name=name, context=context, status_code=status, media_type=MediaType.HTML
    )


# -- the request form ---------------------------------------------------------------------


async def _request_context(
    principal: Principal,
    assessment: assessments.Assessment,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    locales = await tenant_locales()
    ui = current_locale()
    defaults = {
        "scope": "",
        "locale": ui if ui in locales else locales[0],
        "audience": "board",
        "timezone": _tz(principal),
    }
    tz = _tz(principal)
    reports = await service.list_reports(assessment.id)
    stats = await sharing.download_stats([r.id for r in reports])
    return {
        "tenant": current_tenant(),
        "assessment": assessment,
        "scope_units": await assessments.scope(assessment.id),
        "locales": [(code, LOCALE_NAMES.get(code, code)) for code in locales],
        "audiences": [
            (key, AUDIENCE_LABELS[key], AUDIENCE_HINTS[key]) for key in service.AUDIENCES
        ],
        "timezones": timezones(),
        "values": {**defaults, **(values or {})},
        "errors": errors or {},
        "reports": [report_view(r, tz, stats.get(r.id)) for r in reports],
        "can_request": assessment.status != "draft",
        "status_labels": rules.STATUS_LABELS,
    }


async def _read_request(
    data: dict[str, str], assessment: assessments.Assessment
) -> tuple[dict[str, str], dict[str, str], int | None]:
    """The form's values, a message per field at fault, and the chosen scope unit."""
    values = {
        "scope": (data.get("scope") or "").strip(),
        "locale": (data.get("locale") or "").strip(),
        "audience": (data.get("audience") or "").strip(),
        "timezone": (data.get("timezone") or "").strip(),
    }
    errors: dict[str, str] = {}
    scope_unit_id: int | None = None
    if values["scope"]:
        in_scope = {u.id for u in await assessments.scope(assessment.id)}
        if not values["scope"].isdigit() or int(values["scope"]) not in in_scope:
            errors["scope"] = _(
                "Choose a unit that is part of the assessment, or the whole organisation."
            )
        else:
            scope_unit_id = int(values["scope"])
    if values["locale"] not in await tenant_locales():
        errors["locale"] = _("Choose one of the offered languages.")
    if values["audience"] not in service.AUDIENCES:
        errors["audience"] = _("Choose the board summary or the full report.")
    if values["timezone"] not in timezones():
        errors["timezone"] = _("Choose a valid time zone.")
    return values, errors, scope_unit_id


def _status_path(report_id: int, *, existing: bool = False, offline: bool = False) -> str:
    flags = [name for name, on in (("existing", existing), ("offline", offline)) if on]
    return f"/reports/{report_id}" + ("?" + "&".join(f"{f}=1" for f in flags) if flags else "")


# -- the report page ----------------------------------------------------------------------


def _progress(report: Report, *, offline: bool) -> dict[str, Any]:
    """Steps and message of the progress block."""
    current = STEPS.index(report.status) if report.status in STEPS else len(STEPS) - 1
    steps = []
    for index, key in enumerate(STEPS):
        if report.failed:
            state = "failed" if index == len(STEPS) - 1 else "todo"
        elif index < current or report.ready:
            state = "done"
        elif index == current:
            state = "current"
        else:
            state = "todo"
        steps.append((key, state))
    if report.status == "queued" and offline:
        message = _("The report is saved and will start as soon as the job service is back.")
    else:
        message = str(STATUS_MESSAGES.get(report.status, ""))
    return {"steps": steps, "message": message, "offline": offline}


async def _report_context(
    principal: Principal,
    report: Report,
    *,
    flags: dict[str, Any] | None = None,
    share_values: dict[str, str] | None = None,
    share_errors: dict[str, str] | None = None,
    retry_error: str | None = None,
) -> dict[str, Any]:
    flags = flags or {}
    tz = _tz(principal)
    stats = await sharing.download_stats([report.id])
    return {
        "tenant": current_tenant(),
        "report": report,
        "view": report_view(report, tz, stats.get(report.id)),
        "progress": _progress(report, offline=bool(flags.get("offline"))),
        "step_labels": {
            "queued": _("Queued"),
            "collecting": _("Collecting data"),
            "rendering": _("Rendering"),
            "ready": _("Ready"),
        },
        "existing": bool(flags.get("existing")),
        "notice": flags.get("notice"),
        "shares": await sharing.list_shares(report.id),
        "share_values": share_values
        or {"emails": "", "message": "", "days": str(sharing.DEFAULT_DAYS)},
        "share_errors": share_errors or {},
        "max_days": sharing.MAX_DAYS,
        "retry_error": retry_error,
        "tz": tz,
    }


def _notice(request: Request[Any, Any, Any]) -> str | None:
    shared = request.query_params.get("shared") or ""
    if shared.isdigit():
        return ngettext(
            "The link is sent to %(num)s address.",
            "The links are sent to %(num)s addresses.",
            int(shared),
        )
    if request.query_params.get("revoked"):
        return _("The link is revoked; it no longer opens the report.")
    return None


class ReportPages(Controller):
    """Requesting reports, watching their progress, downloading and sharing them."""

    path = "/"
    guards = [tenant_only, login_required]  # noqa: RUF012 - Litestar reads this
    include_in_schema = False

    @get("/assessments/{assessment_id:int}/reports", name="reports:new", media_type=MediaType.HTML)
    async def new(self, request: Request[Any, Any, Any], assessment_id: FromPath[int]) -> Template:
        """The request form and the assessment's reports."""
        assessment = await _runner_assessment(request, assessment_id)
        context = await _request_context(principal_of(request), assessment)
        return _html("reports/pages/request.html", context)

    @post(
        "/assessments/{assessment_id:int}/reports",
        name="reports:request",
        media_type=MediaType.HTML,
    )
    async def request_report(
        self, request: Request[Any, Any, Any], assessment_id: FromPath[int], data: Form
    ) -> Any:
        """Ask for a report; an unchanged one already made (or on its way) is reused."""
        principal = principal_of(request)
        assessment = await _runner_assessment(request, assessment_id)
        values, errors, scope_unit_id = await _read_request(data, assessment)
        if not errors:
            try:
                submitted = await service.submit_report(
                    assessment.id,
                    scope_unit_id,
                    values["locale"],
                    values["timezone"],
                    values["audience"],
                )
            except ReportError as exc:
                errors[exc.field if exc.field in values else "form"] = str(exc.message)
            except LookupError:
                raise NotFoundException() from None
            else:
                return redirect(
                    request,
                    _status_path(
                        submitted.report.id,
                        existing=not submitted.created,
                        offline=not submitted.enqueued,
                    ),
                )
        context = await _request_context(principal, assessment, values=values, errors=errors)
        return _html("reports/pages/request.html", context, 422)

    @get("/reports", name="reports:list", media_type=MediaType.HTML)
    async def list_all(self, request: Request[Any, Any, Any]) -> Template:
        """All reports (runners) and the reports shared with the signed-in person.

        The newest :data:`PAGE_SIZE` first; ``?shown=N`` shows N (a "Show more" link).
        """
        principal = principal_of(request)
        tz = _tz(principal)
        runner = rules.can_run(principal)
        raw = request.query_params.get("shown") or ""
        wanted = min(int(raw), MAX_SHOWN) if raw.isdigit() and int(raw) > 0 else PAGE_SIZE
        # One more than shown tells whether there are more.
        everything = await service.list_reports(limit=wanted + 1) if runner else []
        more = len(everything) > wanted
        everything = everything[:wanted]
        shared_ids = await sharing.shared_report_ids(principal.user.email)
        shared = await service.list_reports(ids=shared_ids) if shared_ids else []
        shown = everything + shared
        stats = await sharing.download_stats([r.id for r in shown])
        return _html(
            "reports/pages/list.html",
            {
                "tenant": current_tenant(),
                "runner": runner,
                "reports": [report_view(r, tz, stats.get(r.id)) for r in everything],
                "shared": [report_view(r, tz) for r in shared if r.ready],
                "may_brand": principal.is_member and await may_brand(request),
                "more_url": f"/reports?shown={wanted + PAGE_SIZE}" if more else None,
            },
        )

    @get("/reports/{report_id:int}", name="reports:show", media_type=MediaType.HTML)
    async def show(self, request: Request[Any, Any, Any], report_id: FromPath[int]) -> Template:
        """Progress, download, retry and sharing of one report."""
        principal = principal_of(request)
        report = await runner_report(principal, report_id)
        flags = {
            "existing": request.query_params.get("existing") == "1",
            "offline": request.query_params.get("offline") == "1",
            "notice": _notice(request),
        }
        context = await _report_context(principal, report, flags=flags)
        return _html("reports/pages/report.html", context)

    @get("/reports/{report_id:int}/status", name="reports:status", media_type=MediaType.HTML)
    async def status(self, request: Request[Any, Any, Any], report_id: FromPath[int]) -> Any:
        """The progress block (htmx polls it); 204 while the state is the one shown."""
        principal = principal_of(request)
        report = await runner_report(principal, report_id)
        if not is_partial_request(request):
            return Redirect(path=f"/reports/{report.id}", status_code=303)
        if request.query_params.get("seen") == report.status:
            return Response(b"", status_code=204)
        flags = {"offline": request.query_params.get("offline") == "1"}
        context = await _report_context(principal, report, flags=flags)
        context["oob"] = True
        return _html("reports/pages/_progress.html", context)

    @get("/reports/{report_id:int}/download", name="reports:download")
    async def download(self, request: Request[Any, Any, Any], report_id: FromPath[int]) -> Any:
        """The PDF for runners and for signed-in people it is shared with; logged."""
        principal = principal_of(request)
        report = await service.get_report(report_id)
        if report is None:
            raise NotFoundException()
        runner = rules.can_run(principal)
        if not runner and report.id not in await sharing.shared_report_ids(principal.user.email):
            raise PermissionDeniedException()
        pdf = await service.report_file(report.id) if report.ready else None
        if pdf is None:
            if runner:
                return Redirect(path=f"/reports/{report.id}", status_code=303)
            raise NotFoundException()
        await sharing.record_download(
            report.id,
            user_id=principal.user.id,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        return pdf_response(bytes(pdf), download_filename(report))

    @post("/reports/{report_id:int}/retry", name="reports:retry", media_type=MediaType.HTML)
    async def retry(self, request: Request[Any, Any, Any], report_id: FromPath[int]) -> Any:
        """Make a failed report again (a new row with the same choices)."""
        principal = principal_of(request)
        report = await runner_report(principal, report_id)
        if not report.failed:
            return redirect(request, f"/reports/{report.id}")
        try:
            submitted = await service.submit_report(
                report.assessment_id,
                report.scope_unit_id,
                report.locale,
                report.timezone,
                report.audience,
            )
        except ReportError as exc:
            context = await _report_context(principal, report, retry_error=str(exc.message))
            return _html("reports/pages/report.html", context, 422)
        except LookupError:
            raise NotFoundException() from None
        return redirect(
            request,
            _status_path(
                submitted.report.id, existing=not submitted.created, offline=not submitted.enqueued
            ),
        )

    @post("/reports/{report_id:int}/shares", name="reports:share", media_type=MediaType.HTML)
    async def share(
        self, request: Request[Any, Any, Any], report_id: FromPath[int], data: Form
    ) -> Any:
        """Send share links to one or more addresses."""
        principal = principal_of(request)
        report = await runner_report(principal, report_id)
        values = {
            "emails": data.get("emails") or "",
            "message": data.get("message") or "",
            "days": data.get("days") or "",
        }
        found = sharing.parse_share_form(values["emails"], values["message"], values["days"])
        if not report.ready:
            found.errors["form"] = _("The report can be shared once it is ready.")
        if found.errors:
            context = await _report_context(
                principal, report, share_values=values, share_errors=found.errors
            )
            return _html("reports/pages/report.html", context, 422)
        await sharing.create_shares(
            report.id, found, title=report.assessment_title, locale=report.locale
        )
        return redirect(request, f"/reports/{report.id}?shared={len(found.emails)}#shares")

    @post(
        "/reports/{report_id:int}/shares/{share_id:int}/revoke",
        name="reports:revoke",
        media_type=MediaType.HTML,
    )
    async def revoke(
        self, request: Request[Any, Any, Any], report_id: FromPath[int], share_id: FromPath[int]
    ) -> Any:
        """Stop a share link from working."""
        principal = principal_of(request)
        report = await runner_report(principal, report_id)
        if await sharing.revoke_share(report.id, share_id) is None:
            raise NotFoundException()
        return redirect(request, f"/reports/{report.id}?revoked=1#shares")
