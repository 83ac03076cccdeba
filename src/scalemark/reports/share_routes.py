"""``/r/{token}``: a shared report for people without an account.

The landing page names the organisation, the report, its language and edition and offers
the PDF; ``/r/{token}/download`` logs each download (share, address, browser). An
expired or revoked link answers 410, an unknown one (also another tenant's) 404 — the
same friendly page either way, which never says whether the report exists. Pages speak
the visitor's language: their own choice or account, else their browser's, else the
report's.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from scalemark.db.tenant_context import current_tenant
from scalemark.i18n.locale import LOCALE_NAMES, parse_accept_language, set_locale, supported_locales
from scalemark.identity.principal import Principal
from scalemark.reports import service, sharing
from scalemark.reports.presentation import (
    AUDIENCE_LABELS,
    client_ip,
    download_filename,
    format_size,
)
from scalemark.reports.routes import pdf_response
from scalemark.reports.service import Report
from scalemark.reports.sharing import OpenedShare
from scalemark.web.guards import tenant_only

__all__ = ["SharePages"]

_PRIVATE = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
"""The token is in the address: keep it out of referrers, caches and search engines."""


def _visitor_locale(request: Request[Any, Any, Any], fallback: str | None) -> None:
    """Speak the visitor's language (chosen, account, browser), else ``fallback``."""
    session = request.scope.get("session")
    chosen = session.get("locale") if isinstance(session, dict) else None
    principal = request.scope.get("user")
    if chosen or (isinstance(principal, Principal) and principal.user.locale):
        return  # the middlewares already applied the person's own choice
    supported = supported_locales()
    for tag in parse_accept_language(request.headers.get("accept-language")):
        if tag in supported:
            set_locale(tag)
            return
    if fallback in supported:
        set_locale(fallback)


async def _usable(token: str) -> tuple[OpenedShare | None, Report | None, int]:
    """The share and its report when the link works; else the status to answer."""
    opened = await sharing.open_share(token)
    if opened is None:
        return None, None, 404
    if opened.share.state != "active":
        return opened, None, 410
    report = await service.get_report(opened.report_id)
    if report is None or not report.ready:
        return opened, None, 404
    return opened, report, 200


def _gone(status: int) -> Template:
    return Template(
        template_name="reports/pages/share_gone.html",
        context={"tenant": current_tenant(), "status_code": status},
        status_code=status,
        media_type=MediaType.HTML,
        headers=_PRIVATE,
    )


class SharePages(Controller):
    """The landing page and download of a share link (no account needed)."""

    path = "/r"
    guards = [tenant_only]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/{token:str}", name="share:show", media_type=MediaType.HTML)
    async def show(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        """Organisation, report, language and the download button."""
        opened, report, status = await _usable(token)
        _visitor_locale(request, opened.locale if opened else None)
        if report is None or opened is None:
            return _gone(status)
        return Template(
            template_name="reports/pages/share_landing.html",
            context={
                "tenant": current_tenant(),
                "token": token,
                "share": opened.share,
                "title": report.assessment_title,
                "language": LOCALE_NAMES.get(report.locale, report.locale),
                "report_locale": report.locale,
                "audience": str(AUDIENCE_LABELS.get(report.audience, report.audience)),
                "size": format_size(report.size_bytes),
                "pages": report.page_count or 0,
                "filename": download_filename(report),
            },
            media_type=MediaType.HTML,
            headers=_PRIVATE,
        )

    @get("/{token:str}/download", name="share:download")
    async def download(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Any:
        """The PDF; the download is logged with the share, address and browser."""
        opened, report, status = await _usable(token)
        _visitor_locale(request, opened.locale if opened else None)
        if report is None or opened is None:
            return _gone(status)
        pdf = await service.report_file(report.id)
        if pdf is None:
            return _gone(404)
        await sharing.record_download(
            report.id,
            share_id=opened.share.id,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        response: Response[bytes] = pdf_response(bytes(pdf), download_filename(report))
        response.headers.update(_PRIVATE)
        return response
