"""The JSON body and response every ``/api/v1`` endpoint answers a refused request with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Response

__all__ = ["ApiError", "api_error"]


@dataclass
class ApiError:
    """A refused request: status, a translated message and the field at fault."""

    status_code: int
    detail: str
    field: str | None = None


def api_error(
    status: int, detail: str, field: str | None = None, *, body: type[ApiError] = ApiError
) -> Any:
    """A JSON response with status ``status`` and an :class:`ApiError` body.

    ``body`` names a subclass when an API documents its errors under its own schema name.
    Typed ``Any`` so that handlers can return it in place of their declared result.
    """
    return Response(
        body(status_code=status, detail=detail, field=field),
        status_code=status,
        media_type=MediaType.JSON,
    )
