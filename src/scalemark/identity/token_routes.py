"""``/tokens``: API tokens of the organisation.

Who may do what (decided here, shown on the page):

- every member creates, lists and revokes their *own* tokens; a token acts with its
  owner's rights, so it never gives more than the person has;
- people holding ``manage_tokens`` at the headquarters (HQ admins, IT / platform owners
  there) also see and revoke everyone's tokens of the organisation — tokens are not tied
  to a unit, so a grant lower in the tree does not reach other people's tokens;
- nobody creates a token for someone else (``scalemark tokens create`` is the operator's
  way to do that).

The secret is shown once, in the answer to the form; only its hash is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Template

from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.identity import audit, tokens
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission
from scalemark.org import service as org_service
from scalemark.web.htmx import is_partial_request, redirect

__all__ = ["TokenPages", "manages_all_tokens"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
NAME_MAX = 100
_NO_STORE = {"Cache-Control": "no-store"}


async def manages_all_tokens(principal: Principal) -> bool:
    """``manage_tokens`` at the headquarters: everyone's tokens, not only one's own."""
    root = await org_service.root_unit()
    return root is not None and principal.can(Permission.MANAGE_TOKENS, root.path)


async def _render(
    request: Request[Any, Any, Any],
    *,
    secret: str | None = None,
    name: str = "",
    error: str | None = None,
    message: str | None = None,
    status: int = 200,
) -> Template:
    principal = principal_of(request)
    admin = await manages_all_tokens(principal)
    tenant = current_tenant()
    context = {
        "tenant": tenant,
        "tokens": await tokens.list_tokens(tenant.id, None if admin else principal.user.id),
        "admin": admin,
        "current_user": principal.user,
        "tz": principal.user.timezone,
        "secret": secret,
        "name": name,
        "error": error,
        "message": message,
    }
    partial = is_partial_request(request)
    return Template(
        template_name="identity/tokens_panel.html" if partial else "identity/tokens.html",
        context=context,
        status_code=status,
        media_type=MediaType.HTML,
        headers=_NO_STORE,
    )


class TokenPages(Controller):
    """Creating, listing and revoking API tokens."""

    path = "/tokens"
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="tokens:list", media_type=MediaType.HTML)
    async def list_page(self, request: Request[Any, Any, Any]) -> Template:
        """The tokens the signed-in person may see."""
        revoked = request.query_params.get("revoked") == "1"
        return await _render(request, message=_("The token is revoked.") if revoked else None)

    @post("/", name="tokens:create", media_type=MediaType.HTML)
    async def create(self, request: Request[Any, Any, Any], data: Form) -> Template:
        """A new token for the signed-in person, shown once."""
        principal = principal_of(request)
        name = " ".join((data.get("name") or "").split())
        if not name:
            return await _render(request, error=_("Give the token a name."), status=422)
        if len(name) > NAME_MAX:
            return await _render(
                request,
                name=name,
                error=_("Use at most %(count)s characters.", count=NAME_MAX),
                status=422,
            )
        tenant = current_tenant()
        token_id, secret = await tokens.create_token(tenant.id, principal.user.id, name)
        await audit.record(
            "token.create",
            object_type="token",
            object_id=token_id,
            after={"name": name, "prefix": secret[:12], "owner": principal.user.email},
        )
        return await _render(request, secret=secret, status=201)

    @post("/{token_id:int}/revoke", name="tokens:revoke", media_type=MediaType.HTML)
    async def revoke(self, request: Request[Any, Any, Any], token_id: int) -> Any:
        """Revoke one's own token (or anyone's, for token managers)."""
        principal = principal_of(request)
        tenant = current_tenant()
        admin = await manages_all_tokens(principal)
        info = await tokens.get_token(tenant.id, token_id)
        if info is None or (not admin and info.user_id != principal.user.id):
            raise NotFoundException()
        owner_only = None if admin else principal.user.id
        if not await tokens.revoke_token(tenant.id, token_id, owner_only):
            return await _render(request, error=_("This token is revoked already."), status=422)
        details = {"name": info.name, "prefix": info.prefix, "owner": info.email}
        await audit.record(
            "token.revoke",
            object_type="token",
            object_id=token_id,
            before={**details, "revoked": False},
            after={**details, "revoked": True},
        )
        if is_partial_request(request):
            return await _render(request, message=_("The token is revoked."))
        return redirect(request, "/tokens?revoked=1")
