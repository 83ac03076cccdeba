"""``/settings/branding``: the logo and accent colour reports carry (HQ admins only).

Only people with ``manage_governance`` at the root unit (HQ admins, assigned consultants)
see or change the branding; other members get 403. Mistakes re-render the page with 422,
the message next to the field and the typed colour kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Template

from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.roles import Permission
from scalemark.org import service as org_service
from scalemark.reports import branding
from scalemark.reports.branding import BrandingError
from scalemark.reports.content import DEFAULT_ACCENT
from scalemark.web.htmx import redirect

__all__ = ["BrandingPages", "may_brand"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
UPLOAD_LIMIT = 8 * 1024 * 1024
"""Bodies up to this size are read, so a too-large logo gets a message instead of a 413."""

_NOTICES = {
    "logo": lambda: _("The logo is saved."),
    "removed": lambda: _("The logo is removed."),
    "colour": lambda: _("The accent colour is saved."),
}


async def may_brand(request: Request[Any, Any, Any]) -> bool:
    """``manage_governance`` at the root unit."""
    root = await org_service.root_unit()
    return root is not None and principal_of(request).can(Permission.MANAGE_GOVERNANCE, root.path)


async def _check(request: Request[Any, Any, Any]) -> None:
    if not await may_brand(request):
        raise PermissionDeniedException()


async def _page(
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    found = await branding.get_branding()
    return Template(
        template_name="reports/pages/branding.html",
        context={
            "tenant": current_tenant(),
            "branding": found,
            "version": int(found.updated_at.timestamp()) if found.updated_at else 0,
            "values": values or {"accent_colour": found.accent_colour or ""},
            "errors": errors or {},
            "notice": notice,
            "default_colour": DEFAULT_ACCENT,
        },
        status_code=status,
        media_type=MediaType.HTML,
    )


class BrandingPages(Controller):
    """Logo upload, preview and removal; the accent colour."""

    path = "/settings/branding"
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="branding:show", media_type=MediaType.HTML)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        """The current logo and colour with their forms."""
        await _check(request)
        notice = _NOTICES.get(request.query_params.get("saved") or "")
        return await _page(notice=notice() if notice else None)

    @get("/logo", name="branding:logo")
    async def logo(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The stored logo, for the preview (never run as a page: SVGs get a strict CSP)."""
        await _check(request)
        found = await branding.get_branding()
        if not found.has_logo:
            raise NotFoundException()
        return Response(
            found.logo or b"",
            media_type=found.logo_media_type or "application/octet-stream",
            headers={
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, max-age=3600",
            },
        )

    @post("/logo", name="branding:upload", request_max_body_size=UPLOAD_LIMIT)
    async def upload(self, request: Request[Any, Any, Any]) -> Any:
        """Check and store an uploaded logo (multipart field ``logo``)."""
        await _check(request)
        form = await request.form()
        upload = form.get("logo")
        content = await upload.read() if isinstance(upload, UploadFile) else b""
        try:
            await branding.save_logo(content)
        except BrandingError as exc:
            return await _page(errors={exc.field: str(exc.message)}, status=422)
        return redirect(request, "/settings/branding?saved=logo")

    @post("/logo/remove", name="branding:remove_logo")
    async def remove(self, request: Request[Any, Any, Any]) -> Any:
        """Remove the logo."""
        await _check(request)
        await branding.remove_logo()
        return redirect(request, "/settings/branding?saved=removed")

    @post("/colour", name="branding:colour")
    async def colour(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Check and store the accent colour (empty: the default)."""
        await _check(request)
        raw = data.get("accent_colour") or ""
        try:
            await branding.save_accent(raw)
        except BrandingError as exc:
            return await _page(
                values={"accent_colour": raw}, errors={exc.field: str(exc.message)}, status=422
            )
        return redirect(request, "/settings/branding?saved=colour")
