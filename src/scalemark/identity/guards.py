"""Route guards and object checks; every route and object is checked on the server."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from scalemark.db.tenant_context import peek_tenant
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission

__all__ = [
    "authorize",
    "login_required",
    "member_required",
    "platform_role_required",
    "principal_of",
    "requires",
]


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The signed-in principal, or 401."""
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        raise NotAuthorizedException()
    return principal


def login_required(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Anyone signed in."""
    principal_of(connection)


def member_required(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Signed in and holding a role in this tenant (tenant hosts only)."""
    if peek_tenant() is None:
        raise NotFoundException()
    if not principal_of(connection).is_member:
        raise PermissionDeniedException()


def requires(permission: Permission) -> Any:
    """Guard: the permission somewhere in this tenant (objects are checked again)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        member_required(connection, handler)
        if not principal_of(connection).can(permission):
            raise PermissionDeniedException()

    guard.__name__ = f"requires_{permission.value}"
    return guard


def platform_role_required(*roles: str) -> Any:
    """Guard for the platform site: one of the platform roles."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if peek_tenant() is not None:
            raise NotFoundException()
        if principal_of(connection).user.platform_role not in roles:
            raise PermissionDeniedException()

    return guard


def authorize(request: Request[Any, Any, Any], permission: Permission, unit_path: str) -> Principal:
    """Object check: the permission at this unit, else 403."""
    principal = principal_of(request)
    if not principal.can(permission, unit_path):
        raise PermissionDeniedException()
    return principal
