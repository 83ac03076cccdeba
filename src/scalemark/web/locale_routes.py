"""The language switcher: stores the choice in the session."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from scalemark.i18n.locale import supported_locales
from scalemark.web.htmx import redirect
from scalemark.web.middleware import SESSION_LOCALE_KEY

__all__ = ["switch_locale"]


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


@post("/locale", name="locale:switch", include_in_schema=False)
async def switch_locale(
    request: Request,
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """Remember the chosen language and return to the page the visitor was on."""
    locale = data.get("locale", "")
    if locale in supported_locales():
        request.session[SESSION_LOCALE_KEY] = locale
        principal = request.scope.get("user")
        if principal is not None:
            # Signed-in users keep their choice on every device.
            from scalemark.identity.users import update_preferences

            await update_preferences(principal.user.id, locale=locale)
    return redirect(request, _safe_next(data.get("next")))
