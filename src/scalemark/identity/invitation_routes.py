"""``/invite/{token}`` on a tenant host: see an invitation and join the organisation.

Signed in with the invited address: "Accept" joins. Not signed in and no account yet:
name and password create the account, accept and sign in (a fresh session id). An
account exists: sign in first (``/login?next=/invite/<token>``; the sign-in form lets
people with an open invitation in), then accept.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.identity import audit, invitations, users
from scalemark.identity.guards import principal_of
from scalemark.identity.invitations import InvitationView
from scalemark.identity.principal import Principal, acting_as
from scalemark.identity.roles import ROLE_LABELS
from scalemark.identity.sessions import start_session
from scalemark.identity.users import UserError
from scalemark.web.guards import tenant_only
from scalemark.web.htmx import redirect

__all__ = ["InvitationPages"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
_PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
"""The token is in the address: keep it out of referrers and caches."""


def _page(
    request: Request[Any, Any, Any],
    token: str,
    invitation: InvitationView | None,
    state: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Template:
    principal = request.scope.get("user")
    return Template(
        template_name="identity/invite.html",
        context={
            "tenant": current_tenant(),
            "token": token,
            "invitation": invitation,
            "state": state,
            "role_label": ROLE_LABELS.get(invitation.role, "") if invitation else "",
            "signed_in_as": principal.user.email if isinstance(principal, Principal) else None,
            "login_url": "/login?" + urlencode({"next": f"/invite/{token}"}),
            "errors": errors or {},
            "values": values or {},
            "tz": principal.user.timezone if isinstance(principal, Principal) else "UTC",
        },
        status_code=status,
        media_type=MediaType.HTML,
        headers=_PRIVATE,
    )


async def _state(request: Request[Any, Any, Any], invitation: InvitationView | None) -> str:
    """What the visitor can do with this invitation."""
    if invitation is None:
        return "missing"
    if invitation.state != "open":
        return invitation.state
    principal = request.scope.get("user")
    if isinstance(principal, Principal):
        return "accept" if principal.user.email == invitation.email else "other_user"
    return "sign_in" if await users.get_user_by_email(invitation.email) else "register"


def _status(state: str) -> int:
    return {"missing": 404, "expired": 410, "revoked": 410, "accepted": 410}.get(state, 200)


class InvitationPages(Controller):
    """Opening and accepting an invitation link."""

    path = "/invite"
    guards = [tenant_only]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/{token:str}", name="invite:show", media_type=MediaType.HTML)
    async def show(self, request: Request[Any, Any, Any], token: str) -> Template:
        """The invitation: organisation, role and unit, and the next step."""
        invitation = await invitations.find_invitation(token)
        state = await _state(request, invitation)
        return _page(request, token, invitation, state, status=_status(state))

    @post("/{token:str}/accept", name="invite:accept", media_type=MediaType.HTML)
    async def accept(self, request: Request[Any, Any, Any], token: str) -> Any:
        """Join with the signed-in account (its e-mail must be the invited one)."""
        principal = principal_of(request)
        try:
            await invitations.accept_invitation(token, principal.user.id, principal.user.email)
        except UserError as exc:
            invitation = await invitations.find_invitation(token)
            state = await _state(request, invitation)
            return _page(
                request, token, invitation, state, status=422, errors={"form": str(exc.message)}
            )
        return redirect(request, "/")

    @post("/{token:str}/register", name="invite:register", media_type=MediaType.HTML)
    async def register(self, request: Request[Any, Any, Any], token: str, data: Form) -> Any:
        """Create the account with the invited address, join, and sign in."""
        invitation = await invitations.find_invitation(token)
        state = await _state(request, invitation)
        if state != "register" or invitation is None:
            status = _status(state)
            return _page(request, token, invitation, state, status=409 if status == 200 else status)
        name = (data.get("name") or "").strip()
        password = data.get("password") or ""
        errors: dict[str, str] = {}
        try:
            users.validate_password(password)
        except UserError as exc:
            errors["password"] = str(exc.message)
        if password != (data.get("password_confirm") or ""):
            errors["password_confirm"] = _("The two passwords do not match.")
        if not errors:
            try:
                user = await users.create_user(invitation.email, name=name, password=password)
            except UserError as exc:
                errors["form"] = str(exc.message)
        if errors:
            return _page(
                request, token, invitation, state, status=422, errors=errors, values={"name": name}
            )
        ip = request.client.host if request.client else None
        with acting_as(Principal(user=user, ip=ip)):
            try:
                await invitations.accept_invitation(token, user.id, user.email)
            except UserError as exc:
                return _page(
                    request,
                    token,
                    invitation,
                    "sign_in",
                    status=409,
                    errors={"form": str(exc.message)},
                )
            await audit.record(
                "auth.login", object_type="user", object_id=user.id, after={"method": "invitation"}
            )
        start_session(request, user.id)
        await users.record_login(user.id)
        return redirect(request, "/")
