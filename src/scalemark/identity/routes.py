"""Sign-in, sign-out, account settings and password reset (platform and tenant hosts)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Controller, MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Template

from scalemark.db.tenant_context import peek_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n.locale import LOCALE_NAMES, supported_locales
from scalemark.identity import audit, users
from scalemark.identity.guards import login_required, principal_of
from scalemark.identity.handoff import redeem_handoff
from scalemark.identity.invitations import has_open_invitation
from scalemark.identity.memberships import grants_for
from scalemark.identity.password_links import (
    consume_password_token,
    password_link_user,
    send_reset_link,
)
from scalemark.identity.principal import Principal, acting_as
from scalemark.identity.sessions import end_session, start_session
from scalemark.identity.sso_config import has_provider
from scalemark.identity.throttle import LoginThrottle
from scalemark.org.rules import timezone_choices
from scalemark.web.htmx import redirect
from scalemark.web.middleware import SESSION_LOCALE_KEY

__all__ = ["AccountPages", "AuthPages", "safe_next"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _client_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


class AuthPages(Controller):
    """Signing in and out with e-mail and password."""

    include_in_schema = False

    @get("/login", name="auth:login")
    async def login_form(self, request: Request[Any, Any, Any]) -> Template:
        """The sign-in form."""
        return Template(
            template_name="identity/login.html",
            context={
                "error": None,
                "email": "",
                "next": safe_next(request.query_params.get("next")),
                "tenant": peek_tenant(),
                "sso_available": await has_provider(peek_tenant()),
            },
        )

    @post("/login", name="auth:login_submit", media_type=MediaType.HTML)
    async def login(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Check the password (throttled), rotate the session, go where the user wanted."""
        email = (data.get("email") or "").strip()
        password = data.get("password") or ""
        next_path = safe_next(data.get("next"))
        throttle = LoginThrottle(request.app.state.redis)
        ip = _client_ip(request)
        context = {
            "email": email,
            "next": next_path,
            "tenant": peek_tenant(),
            "sso_available": await has_provider(peek_tenant()),
        }
        wait = await throttle.retry_after(email, ip)
        if wait:
            minutes = max(1, (wait + 59) // 60)
            return Template(
                template_name="identity/login.html",
                context={
                    **context,
                    "error": _(
                        "Too many failed attempts. Please wait %(minutes)s minutes and try again.",
                        minutes=minutes,
                    ),
                },
                status_code=429,
            )
        user = await users.check_password(email, password)
        tenant = peek_tenant()
        if (
            user is not None
            and tenant is not None
            and not await grants_for(user.id, user.platform_role)
            and not await has_open_invitation(user.email)
        ):
            user = None
        if user is None:
            await throttle.failed(email, ip)
            return Template(
                template_name="identity/login.html",
                context={**context, "error": _("E-mail address or password is not correct.")},
                status_code=422,
            )
        await throttle.succeeded(email)
        start_session(request, user.id)
        if user.locale:
            request.session[SESSION_LOCALE_KEY] = user.locale
        await users.record_login(user.id)
        with acting_as(Principal(user=user, ip=ip)):
            await audit.record_here(
                "auth.login", object_type="user", object_id=user.id, after={"method": "password"}
            )
        return redirect(request, next_path)

    @post("/logout", name="auth:logout", media_type=MediaType.HTML)
    async def logout(self, request: Request[Any, Any, Any]) -> Any:
        """End the session."""
        principal = request.scope.get("user")
        if principal is not None:
            await audit.record_here("auth.logout", object_type="user", object_id=principal.user.id)
        end_session(request)
        return redirect(request, "/login")

    @get("/auth/handoff", name="auth:handoff", media_type=MediaType.HTML)
    async def handoff(self, request: Request[Any, Any, Any], token: str = "") -> Any:
        """Finish a sign-in that started on another host (single use, one minute)."""
        tenant = peek_tenant()
        if tenant is None:
            raise NotFoundException()
        granted = await redeem_handoff(request.app.state.redis, token, tenant.slug)
        user = await users.get_user(granted.user_id) if granted else None
        if granted is None or user is None or not user.active:
            return Template(
                template_name="identity/handoff_failed.html", context={}, status_code=400
            )
        grants = await grants_for(user.id, user.platform_role)
        if not grants:
            raise PermissionDeniedException()
        start_session(request, user.id)
        if user.locale:
            request.session[SESSION_LOCALE_KEY] = user.locale
        with acting_as(Principal(user=user, grants=grants, ip=_client_ip(request))):
            action = (
                "auth.consultant_access"
                if any(g.role == "consultant" for g in grants)
                else "auth.login"
            )
            await audit.record(
                action, object_type="user", object_id=user.id, after={"method": granted.method}
            )
        return redirect(request, safe_next(granted.next_path))

    @get("/password/forgot", name="auth:forgot")
    async def forgot_form(self) -> Template:
        """Ask for a reset link."""
        return Template(template_name="identity/forgot.html", context={"sent": False, "email": ""})

    @post("/password/forgot", name="auth:forgot_submit")
    async def forgot(self, request: Request[Any, Any, Any], data: Form) -> Template:
        """Send a link if the account exists; the answer is the same either way."""
        email = (data.get("email") or "").strip()
        user = await users.get_user_by_email(email)
        if user is not None and user.active:
            tenant = peek_tenant()
            await send_reset_link(
                request.app.state.redis,
                user,
                tenant_slug=tenant.slug if tenant else None,
                tenant_id=tenant.id if tenant else None,
            )
        return Template(
            template_name="identity/forgot.html", context={"sent": True, "email": email}
        )

    @get("/password/reset/{token:str}", name="auth:reset")
    async def reset_form(self, request: Request[Any, Any, Any], token: str) -> Template:
        """Choose a new password (the link works once, for an hour)."""
        valid = await self._reset_user(request, token) is not None
        return Template(
            template_name="identity/reset.html",
            context={"token": token, "valid": valid, "error": None},
            status_code=200 if valid else 410,
        )

    @post("/password/reset/{token:str}", name="auth:reset_submit", media_type=MediaType.HTML)
    async def reset(self, request: Request[Any, Any, Any], token: str, data: Form) -> Any:
        """Set the new password and sign in."""
        user_id = await self._reset_user(request, token)
        if user_id is None:
            return Template(
                template_name="identity/reset.html",
                context={"token": token, "valid": False, "error": None},
                status_code=410,
            )
        password = data.get("password") or ""
        if password != (data.get("password_confirm") or ""):
            error: object = _("The two passwords do not match.")
        else:
            try:
                await users.set_password(user_id, password)
            except users.UserError as exc:
                error = exc.message
            else:
                await consume_password_token(request.app.state.redis, token)
                start_session(request, user_id)
                await audit.record_platform("auth.password_reset", target=f"user:{user_id}")
                return redirect(request, "/")
        return Template(
            template_name="identity/reset.html",
            context={"token": token, "valid": True, "error": str(error)},
            status_code=422,
        )

    async def _reset_user(self, request: Request[Any, Any, Any], token: str) -> int | None:
        return await password_link_user(request.app.state.redis, token)


class AccountPages(Controller):
    """The signed-in user's own settings."""

    path = "/account"
    guards = [login_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="account:show")
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        """Name, language and time zone."""
        return self._page(request, saved=request.query_params.get("saved") == "1")

    @post("/", name="account:save", media_type=MediaType.HTML)
    async def save(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Save preferences; the language sticks for every later visit."""
        principal = principal_of(request)
        locale = data.get("locale") or ""
        timezone = data.get("timezone") or ""
        errors: dict[str, str] = {}
        if locale not in supported_locales():
            errors["locale"] = _("Choose a language from the list.")
        if timezone not in timezone_choices():
            errors["timezone"] = _("Choose a time zone such as Europe/Berlin.")
        if errors:
            return self._page(request, errors=errors, values=data, status=422)
        before = {
            "name": principal.user.name,
            "locale": principal.user.locale,
            "timezone": principal.user.timezone,
        }
        user = await users.update_preferences(
            principal.user.id, name=data.get("name", ""), locale=locale, timezone=timezone
        )
        request.session[SESSION_LOCALE_KEY] = locale
        await audit.record_here(
            "user.preferences",
            object_type="user",
            object_id=user.id,
            before=before,
            after={"name": user.name, "locale": user.locale, "timezone": user.timezone},
        )
        return redirect(request, "/account?saved=1")

    def _page(
        self,
        request: Request[Any, Any, Any],
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        saved: bool = False,
        status: int = 200,
    ) -> Template:
        user = principal_of(request).user
        return Template(
            template_name="identity/account.html",
            context={
                "user": user,
                "values": values
                or {"name": user.name, "locale": user.locale or "", "timezone": user.timezone},
                "errors": errors or {},
                "saved": saved,
                "locales": LOCALE_NAMES,
                "timezones": timezone_choices(),
                "tenant": peek_tenant(),
            },
            status_code=status,
        )
