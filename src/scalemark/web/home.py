"""``/``: the platform landing page or, on a tenant host, the organisation home."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.response import Template

from scalemark.db.tenant_context import peek_tenant
from scalemark.identity.guards import principal_of
from scalemark.org.routes import tenant_home
from scalemark.tenancy.pages import landing_page

__all__ = ["home"]


@get("/", name="home", include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template:
    """One path, two sites: dispatch on the host's tenant."""
    if peek_tenant() is None:
        return await landing_page(request)
    if not principal_of(request).is_member:
        raise PermissionDeniedException()
    return await tenant_home(request)
