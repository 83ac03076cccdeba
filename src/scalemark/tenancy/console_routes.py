"""``/console`` on the platform host: consultants' and platform admins' client tenants."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from scalemark.i18n.locale import LOCALE_NAMES
from scalemark.identity import audit
from scalemark.identity.guards import platform_role_required, principal_of
from scalemark.identity.handoff import handoff_url
from scalemark.identity.roles import ROLE_LABELS
from scalemark.mail.outbox import MAIL_STATUS_LABELS
from scalemark.settings import get_settings
from scalemark.tenancy import console
from scalemark.web.htmx import page_or_partial, redirect

__all__ = ["ConsolePages", "keep_request_port"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def keep_request_port(request: Request[Any, Any, Any], url: str) -> str:
    """Point an absolute link at the port the visitor is using.

    Links are built from ``PORT``/``PUBLIC_PORT``; a development or test server on another
    port would otherwise send the browser to the wrong one. An explicit ``PUBLIC_PORT``
    (or a Host header without a port, as behind a proxy) leaves the link as it is.
    """
    if get_settings().public_port is not None:
        return url
    _, _, port = (request.headers.get("host") or "").rpartition(":")
    parts = urlsplit(url)
    if not port.isdigit() or not parts.hostname:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))


def _form_context(
    form: console.ClientForm | None = None,
    errors: dict[str, object] | None = None,
    *,
    upload_error: object | None = None,
    upload_admin_email: str = "",
    suggestion: str = "",
) -> dict[str, Any]:
    return {
        "form": form or console.ClientForm(),
        "errors": {k: str(v) for k, v in (errors or {}).items()},
        "locales": LOCALE_NAMES,
        "upload_error": str(upload_error) if upload_error is not None else None,
        "upload_admin_email": upload_admin_email,
        "suggestion": suggestion,
    }


class ConsolePages(Controller):
    """Listing, creating and opening client tenants."""

    path = "/console"
    guards = [platform_role_required("consultant", "platform_admin")]  # noqa: RUF012
    include_in_schema = False

    @get("/", name="console:list")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        """The client tenants this person may see."""
        user = principal_of(request).user
        clients = await console.list_clients(user)
        return Template(
            template_name="tenancy/console.html",
            context={
                "clients": clients,
                "may_open": {c.info.slug for c in clients if console.may_open(user, c)},
            },
        )

    @get("/new", name="console:new")
    async def new(self) -> Template:
        """The "new client" page: a short form, or a blueprint file."""
        return Template(template_name="tenancy/console_new.html", context=_form_context())

    @get("/new/slug", name="console:slug_hint")
    async def slug_hint(self, name: FromQuery[str] = "", slug: FromQuery[str] = "") -> Template:
        """The hint under the slug field: a suggestion from the name, or what is wrong."""
        slug = slug.strip().lower()
        problem = await console.slug_problem(slug) if slug else None
        return Template(
            template_name="tenancy/_console_slug_hint.html",
            context={
                "slug": slug,
                "problem": str(problem) if problem is not None else None,
                "suggestion": "" if slug else await console.free_slug(name),
            },
        )

    @post("/new", name="console:create")
    async def create(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Provision from the form; problems come back in the re-rendered form."""
        user = principal_of(request).user
        form, errors = await console.check_client_form(data)
        if not errors:
            try:
                info = await console.create_client_from_form(form, user)
            except console.ConsoleError as exc:
                errors = {exc.field: exc.message}
            else:
                return redirect(request, f"/console/clients/{info.slug}?created=1")
        return page_or_partial(
            request,
            "tenancy/console_new.html",
            "tenancy/_console_client_form.html",
            _form_context(form, errors),
            status_code=422,
        )

    @post("/upload", name="console:upload")
    async def upload(self, request: Request[Any, Any, Any]) -> Any:
        """Provision from an uploaded blueprint file (multipart)."""
        user = principal_of(request).user
        data = await request.form()
        upload = data.get("blueprint")
        admin_email = str(data.get("admin_email") or "").strip()
        content = await upload.read() if isinstance(upload, UploadFile) else b""
        try:
            blueprint = console.read_blueprint_upload(content)
            info = await console.create_client_from_blueprint(blueprint, admin_email, user)
        except console.ConsoleError as exc:
            return Template(
                template_name="tenancy/console_new.html",
                context=_form_context(
                    upload_error=exc.message if exc.field == "blueprint" else None,
                    upload_admin_email=admin_email,
                    errors={f"upload_{exc.field}": exc.message},
                ),
                status_code=422,
            )
        return redirect(request, f"/console/clients/{info.slug}?created=1")

    @get("/clients/{slug:str}", name="console:client")
    async def client(self, request: Request[Any, Any, Any], slug: FromPath[str]) -> Template:
        """One client tenant: facts, consultants, invitations and the result of creating it."""
        user = principal_of(request).user
        client = await console.find_client(user, slug)
        if client is None:
            raise NotFoundException()
        return Template(
            template_name="tenancy/console_client.html",
            context={
                "client": client,
                "invitations": await console.client_invitations(client.info),
                "may_open": console.may_open(user, client),
                "created": request.query_params.get("created") == "1",
                "mail_labels": MAIL_STATUS_LABELS,
                "state_labels": console.INVITATION_STATE_LABELS,
                "role_labels": ROLE_LABELS,
            },
        )

    @post("/clients/{slug:str}/open", name="console:open")
    async def open(self, request: Request[Any, Any, Any], slug: FromPath[str]) -> Redirect:
        """Hand the consultant's sign-in over to the tenant host (audited there)."""
        user = principal_of(request).user
        client = await console.find_client(user, slug)
        if client is None:
            raise NotFoundException()
        if not console.may_open(user, client):
            raise PermissionDeniedException()
        await audit.record_platform(
            "tenant.open", tenant_id=client.info.id, target=f"tenant:{client.info.slug}"
        )
        url = keep_request_port(request, handoff_url(user.id, slug, "/", method="console"))
        return Redirect(path=url, status_code=303)
