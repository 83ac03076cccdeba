"""Authentication: who is asking, from the session or an API bearer token."""

from __future__ import annotations

from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from scalemark.db.tenant_context import peek_tenant
from scalemark.i18n.locale import pick_locale, set_locale
from scalemark.identity.memberships import grants_for, user_with_grants
from scalemark.identity.principal import Principal, acting_as
from scalemark.identity.roles import Grant
from scalemark.identity.sessions import SESSION_USER_KEY
from scalemark.identity.tokens import resolve_token
from scalemark.identity.users import get_user

__all__ = ["AuthenticationMiddleware"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _client_ip(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


async def _principal_for(scope: Scope) -> Principal | None:
    tenant = peek_tenant()
    authorization = _header(scope, b"authorization") or ""
    via = "session"
    user_id: Any = None
    if authorization.lower().startswith("bearer ") and scope["path"].startswith("/api/"):
        if tenant is None:
            return None
        user_id = await resolve_token(authorization[7:].strip(), tenant.slug)
        via = "token"
    elif scope["path"].startswith("/api/") and scope.get("method") not in _SAFE_METHODS:
        # CSRF checks skip /api/: changes there need a bearer token, never the cookie.
        return None
    else:
        session = scope.get("session")
        if isinstance(session, dict):
            user_id = session.get(SESSION_USER_KEY)
    if not isinstance(user_id, int):
        return None
    grants: tuple[Grant, ...] = ()
    if tenant is None:
        user = await get_user(user_id)
    else:
        user, grants = await user_with_grants(user_id)
    if user is None or not user.active:
        return None
    if tenant is not None and user.platform_role == "consultant":
        grants = await grants_for(user.id, user.platform_role)
    return Principal(user=user, grants=grants, via=via, ip=_client_ip(scope))


class AuthenticationMiddleware(ASGIMiddleware):
    """Sets ``scope["user"]`` (a :class:`Principal` or ``None``) and the user's language."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = await _principal_for(scope)
        scope["user"] = principal
        scope["auth"] = principal.via if principal else None
        if principal is not None and principal.user.locale:
            session = scope.get("session")
            chosen = session.get("locale") if isinstance(session, dict) else None
            tenant = peek_tenant()
            set_locale(
                pick_locale(
                    user=chosen or principal.user.locale,
                    tenant=tenant.default_locale if tenant else None,
                    accept_language=_header(scope, b"accept-language"),
                )
            )
        with acting_as(principal):
            await next_app(scope, receive, send)
