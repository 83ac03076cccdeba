"""``/``: the platform landing page or, on a tenant host, the organisation home."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from scalemark.db.tenant_context import peek_tenant
from scalemark.org.routes import tenant_home
from scalemark.tenancy.pages import landing_page

__all__ = ["home"]


@get("/", name="home", include_in_schema=False)
async def home(request: Request) -> Template:
    """One path, two sites: dispatch on the host's tenant."""
    if peek_tenant() is None:
        return await landing_page(request)
    return await tenant_home(request)
