"""Small helpers for full-page vs partial responses."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template

__all__ = ["is_partial_request", "page_or_partial", "redirect"]


def is_partial_request(request: Request) -> bool:
    """htmx asked for a fragment (boosted and history-restore requests want full pages)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def page_or_partial(
    request: Request, page: str, partial: str, context: dict[str, Any], status_code: int = 200
) -> Template:
    """Render the full page, or only the partial for an htmx request."""
    name = partial if is_partial_request(request) else page
    return Template(template_name=name, context=context, status_code=status_code)


def redirect(request: Request, path: str) -> Response[Any]:
    """A redirect htmx follows with a full page load (``HX-Redirect``)."""
    if request.headers.get("hx-request") == "true":
        return ClientRedirect(redirect_to=path)
    return Redirect(path=path, status_code=303)
