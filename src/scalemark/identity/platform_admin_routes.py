"""Platform admin pages on the platform host: consultants and the mail outbox."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from scalemark.i18n import gettext as _
from scalemark.identity import consultants
from scalemark.identity.guards import platform_role_required
from scalemark.identity.password_links import send_welcome_link
from scalemark.identity.roles import ROLE_LABELS
from scalemark.identity.users import UserError
from scalemark.mail.outbox import MAIL_STATUS_LABELS, get_message, list_messages
from scalemark.tenancy.registry import list_tenants
from scalemark.web.htmx import redirect

__all__ = ["ConsultantAdminPages", "OutboxPages"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
_platform_admin = platform_role_required("platform_admin")
_NOTICES = {"created", "assigned", "unassigned", "link"}


def _done(request: Request[Any, Any, Any], notice: str, email: str) -> Any:
    """Back to the list with a notice about what happened to whom."""
    return redirect(request, "/admin/consultants?" + urlencode({"done": notice, "email": email}))


class ConsultantAdminPages(Controller):
    """Create consultants and assign them to client tenants."""

    path = "/admin/consultants"
    guards = [_platform_admin]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        notice = request.query_params.get("done")
        return Template(
            template_name="identity/admin_consultants.html",
            context={
                "consultants": await consultants.list_consultants(),
                "tenants": await list_tenants(),
                "values": values or {},
                "errors": errors or {},
                "notice": notice if notice in _NOTICES else None,
                "notice_email": request.query_params.get("email", ""),
            },
            status_code=status,
        )

    @get("/", name="admin:consultants")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        """Consultants, their client tenants, and the form for a new one."""
        return await self._page(request)

    @post("/", name="admin:consultant_create")
    async def create(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Create the account and mail a link to choose a password."""
        email, name = (data.get("email") or "").strip(), (data.get("name") or "").strip()
        try:
            user = await consultants.create_consultant(email, name)
        except UserError as exc:
            return await self._page(
                request,
                values={"email": email, "name": name},
                errors={exc.field: str(exc.message)},
                status=422,
            )
        await send_welcome_link(
            request.app.state.redis, user, role_label=str(ROLE_LABELS["consultant"])
        )
        return _done(request, "created", user.email)

    @post("/{user_id:int}/assign", name="admin:consultant_assign")
    async def assign(
        self, request: Request[Any, Any, Any], user_id: FromPath[int], data: Form
    ) -> Any:
        """Let the consultant open a tenant."""
        user = await consultants.get_consultant(user_id)
        tenant_id = data.get("tenant_id") or ""
        tenants = {t.id: t for t in await list_tenants()}
        if user is None or not tenant_id.isdigit() or int(tenant_id) not in tenants:
            raise NotFoundException()
        await consultants.assign(user.id, int(tenant_id))
        return _done(request, "assigned", user.email)

    @post("/{user_id:int}/unassign/{tenant_id:int}", name="admin:consultant_unassign")
    async def unassign(
        self, request: Request[Any, Any, Any], user_id: FromPath[int], tenant_id: FromPath[int]
    ) -> Any:
        """Withdraw an assignment."""
        user = await consultants.get_consultant(user_id)
        if user is None:
            raise NotFoundException()
        await consultants.unassign(user.id, tenant_id)
        return _done(request, "unassigned", user.email)

    @post("/{user_id:int}/password-link", name="admin:consultant_link")
    async def password_link(self, request: Request[Any, Any, Any], user_id: FromPath[int]) -> Any:
        """Mail a fresh set-password link (e.g. when the first one expired)."""
        user = await consultants.get_consultant(user_id)
        if user is None:
            raise NotFoundException()
        await send_welcome_link(
            request.app.state.redis, user, role_label=str(ROLE_LABELS["consultant"])
        )
        return _done(request, "link", user.email)


class OutboxPages(Controller):
    """Every e-mail the platform sent or, without SMTP, only logged."""

    path = "/admin/outbox"
    guards = [_platform_admin]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False
    page_size = 50

    @get("/", name="admin:outbox")
    async def index(self, before: FromQuery[int | None] = None, q: FromQuery[str] = "") -> Template:
        """Newest first, 50 per page, filterable by recipient."""
        messages = await list_messages(
            limit=self.page_size + 1, before_id=before, recipient=q.strip() or None
        )
        more = len(messages) > self.page_size
        messages = messages[: self.page_size]
        return Template(
            template_name="identity/admin_outbox.html",
            context={
                "messages": messages,
                "older": messages[-1].id if more and messages else None,
                "q": q.strip(),
                "paged": before is not None,
                "status_labels": MAIL_STATUS_LABELS,
            },
        )

    @get("/{message_id:int}", name="admin:outbox_message")
    async def show(self, message_id: FromPath[int]) -> Template:
        """One message with its full text."""
        message = await get_message(message_id)
        if message is None:
            raise NotFoundException()
        return Template(
            template_name="identity/admin_outbox_message.html",
            context={
                "message": message,
                "status_labels": MAIL_STATUS_LABELS,
                "title": _("E-mail to %(recipient)s", recipient=message.recipient),
            },
        )
