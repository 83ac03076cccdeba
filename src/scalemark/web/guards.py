"""Guards that pin a route to the platform site or to tenant hosts."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler

from scalemark.db.tenant_context import peek_tenant

__all__ = ["platform_only", "tenant_only"]


def tenant_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """404 unless the request came to a tenant host."""
    if peek_tenant() is None:
        raise NotFoundException()


def platform_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """404 unless the request came to the platform host."""
    if peek_tenant() is not None:
        raise NotFoundException()
