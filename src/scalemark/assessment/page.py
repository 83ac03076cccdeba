"""The HTML response of the assessment pages, with what every one of their templates reads."""

from __future__ import annotations

from typing import Any

from litestar import MediaType
from litestar.response import Template

from scalemark.assessment.rules import STATUS_LABELS
from scalemark.db.tenant_context import current_tenant

__all__ = ["html_page"]


def html_page(name: str, context: dict[str, Any], status: int = 200, **headers: str) -> Template:
    """Template ``name`` with ``context``, the tenant and the status labels added."""
    return Template(
        template_name=name,
        context={"tenant": current_tenant(), "status_labels": STATUS_LABELS, **context},
        status_code=status,
        media_type=MediaType.HTML,
        headers=headers or None,
    )
