"""Friendly, translated error pages; htmx requests get a fragment in the message area."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from asyncpg.exceptions import DataError, NumericValueOutOfRangeError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from scalemark.i18n import gettext as _
from scalemark.settings import get_settings
from scalemark.web.templating import render

__all__ = ["exception_handlers"]

logger = logging.getLogger("scalemark.errors")


def _titles(status: int) -> tuple[str, str]:
    """Title and explanation for a status code, in the request's language."""
    known = {
        400: (_("Bad request"), _("The request could not be understood.")),
        401: (_("Please sign in"), _("You need to sign in to see this page.")),
        403: (_("Access denied"), _("You do not have the rights to see or change this.")),
        404: (_("Page not found"), _("There is nothing at this address.")),
        405: (_("Not allowed"), _("This action is not available here.")),
        413: (_("Too large"), _("What you sent is larger than allowed.")),
        422: (_("Please check your input"), _("Some of the values you entered are not valid.")),
        429: (_("Too many requests"), _("Please wait a moment and try again.")),
        503: (_("Temporarily unavailable"), _("A service we depend on is not answering.")),
    }
    return known.get(
        status,
        (_("Something went wrong"), _("We could not finish this request. Please try again.")),
    )


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, detail: str | None = None) -> Response:
    """Render the error for the kind of client that asked (API, htmx or full page)."""
    title, text = _titles(status)
    if _is_api(request):
        return Response(
            {"status_code": status, "title": title, "detail": detail or text},
            status_code=status,
            media_type=MediaType.JSON,
        )
    is_htmx = request.headers.get("hx-request") == "true"
    is_boosted = request.headers.get("hx-boosted") == "true"
    if is_htmx and not is_boosted and request.headers.get("hx-history-restore-request") != "true":
        body = render(
            "errors/fragment.html", title=title, text=text, status_code=status, request=request
        )
        return Response(
            body,
            status_code=status,
            media_type=MediaType.HTML,
            headers={"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"},
        )
    body = render("errors/page.html", title=title, text=text, status_code=status, request=request)
    return Response(body, status_code=status, media_type=MediaType.HTML)


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    """4xx (and explicit 5xx) raised by handlers, guards or the router."""
    if isinstance(exc, ValidationException) and _is_api(request):
        return Response(
            {"status_code": 400, "detail": exc.detail, "extra": exc.extra},
            status_code=400,
            media_type=MediaType.JSON,
        )
    status = 401 if isinstance(exc, NotAuthorizedException) else exc.status_code
    if status == 401 and not _is_api(request):
        return login_redirect(request)
    return error_response(request, status)


def login_redirect(request: Request) -> Response:
    """Send the visitor to the sign-in page and back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login?" + urlencode({"next": target})
    if request.headers.get("hx-request") == "true":
        return Response(b"", status_code=200, headers={"HX-Redirect": location})
    return Response(b"", status_code=303, headers={"Location": location})


def internal_error_handler(request: Request, exc: Exception) -> Response:
    """Anything unexpected: log it, show a calm page, never a traceback."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if get_settings().debug:
        raise exc
    return error_response(request, HTTP_500_INTERNAL_SERVER_ERROR)


def service_down_handler(request: Request, exc: Exception) -> Response:
    """Redis (sessions, queue) not answering: say so plainly instead of failing hard."""
    logger.warning("service unavailable on %s: %s", request.url.path, exc)
    response = error_response(request, HTTP_503_SERVICE_UNAVAILABLE)
    response.headers["Retry-After"] = "10"
    return response


def out_of_range_handler(request: Request, exc: Exception) -> Response:
    """An id beyond the database's integer range (``/assessments/99999999999999999999``).

    asyncpg refuses to encode it (or PostgreSQL to compare it); no row can have such an
    id, so it is simply not found. Validated form input never reaches the database out of
    range, so nothing else lands here.
    """
    if not isinstance(exc, NumericValueOutOfRangeError | OverflowError) and (
        "out of int" not in str(exc)
    ):
        return internal_error_handler(request, exc)
    logger.warning("out-of-range value on %s: %s", request.url.path, exc)
    return error_response(request, HTTP_404_NOT_FOUND)


exception_handlers = {
    HTTPException: http_exception_handler,
    DataError: out_of_range_handler,
    OverflowError: out_of_range_handler,
    RedisConnectionError: service_down_handler,
    RedisTimeoutError: service_down_handler,
    OSError: service_down_handler,
    Exception: internal_error_handler,
}
