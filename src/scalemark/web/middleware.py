"""Request context: tenant from the host (outermost), locale from session and browser."""

from __future__ import annotations

from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from scalemark.db.tenant_context import peek_tenant, use_tenant
from scalemark.i18n.locale import pick_locale, set_locale, use_locale
from scalemark.settings import get_settings
from scalemark.tenancy.resolver import resolve_tenant
from scalemark.web.hosts import BadHostError, parse_host
from scalemark.web.templating import render

__all__ = ["SESSION_LOCALE_KEY", "HostTenantApp", "LocaleMiddleware"]

SESSION_LOCALE_KEY = "locale"
_HOST_AGNOSTIC = ("/healthz", "/static/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def _send_page(send: Send, status: int, template: str, **context: Any) -> None:
    body = render(template, status_code=status, **context).encode()
    start: Any = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await send(start)
    end: Any = {"type": "http.response.body", "body": body}
    await send(end)


def _platform_url(host: str | None) -> str:
    """The platform site's address, keeping the port the visitor used."""
    _, _, port = (host or "").partition(":")
    suffix = f":{port}" if port.isdigit() else ""
    return f"//{get_settings().base_domain}{suffix}/"


class HostTenantApp:
    """Wraps the whole ASGI app: resolves the tenant once per request, fails closed.

    It sits outside Litestar so that even unmatched routes (404) know their tenant and
    language.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        # Expose the wrapped Litestar app's attributes (state, openapi, …) to callers.
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        accept = _header(scope, b"accept-language")
        with use_locale(pick_locale(accept_language=accept)):
            if scope["path"].startswith(_HOST_AGNOSTIC):
                with use_tenant(None):
                    await self.app(scope, receive, send)
                return
            try:
                target = parse_host(_header(scope, b"host"), get_settings().base_domain)
            except BadHostError:
                await _send_page(send, 400, "errors/bad_host.html")
                return
            tenant = None
            if target.slug is not None:
                info = await resolve_tenant(target.slug)
                if info is None:
                    await _send_page(
                        send,
                        404,
                        "errors/unknown_tenant.html",
                        slug=target.slug,
                        platform_url=_platform_url(_header(scope, b"host")),
                    )
                    return
                tenant = info.ref
            with (
                use_tenant(tenant),
                use_locale(
                    pick_locale(
                        tenant=tenant.default_locale if tenant else None, accept_language=accept
                    )
                ),
            ):
                await self.app(scope, receive, send)


class LocaleMiddleware(ASGIMiddleware):
    """Applies the language the visitor chose (kept in the session) for this request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        session = scope.get("session") or {}
        chosen = session.get(SESSION_LOCALE_KEY) if isinstance(session, dict) else None
        tenant = peek_tenant()
        set_locale(
            pick_locale(
                user=chosen,
                tenant=tenant.default_locale if tenant else None,
                accept_language=_header(scope, b"accept-language"),
            )
        )
        await next_app(scope, receive, send)
