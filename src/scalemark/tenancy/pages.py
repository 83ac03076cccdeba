"""Platform site pages."""

from __future__ import annotations

from litestar import Request
from litestar.response import Template

__all__ = ["landing_page"]


async def landing_page(request: Request) -> Template:
    """The platform's landing page."""
    return Template(template_name="tenancy/landing.html", context={})
