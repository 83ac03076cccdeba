"""Shared plumbing of the governance pages: scope, form reading, rendering, labels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import MediaType, Request
from litestar.datastructures import FormMultiDict
from litestar.exceptions import PermissionDeniedException
from litestar.response import Template

from scalemark.db.tenant_context import current_tenant
from scalemark.governance import publishing
from scalemark.governance.scope import GovernanceScope, load_scope
from scalemark.governance.vocabulary import (
    APPROVER_LEVELS,
    APPROVER_ROLES,
    CADENCES,
    CATEGORIES,
    GOVERNANCE_ROLES,
    LEVELS,
    OPERATING_MODEL_KINDS,
    RACI_LETTERS,
    ROLE_NAMES,
    UNIT_KINDS,
)
from scalemark.identity.guards import principal_of
from scalemark.web.htmx import is_partial_request

__all__ = [
    "central_scope",
    "draft_or_published",
    "flash_message",
    "labels",
    "parse_id",
    "published_snapshot",
    "read_form",
    "render",
    "render_form",
    "require_central",
    "scope_of",
]


async def scope_of(request: Request[Any, Any, Any]) -> GovernanceScope:
    """The signed-in person's governance scope (reads the unit tree once)."""
    return await load_scope(principal_of(request))


def require_central(scope: GovernanceScope) -> None:
    """403 unless the person manages central governance."""
    if not scope.central:
        raise PermissionDeniedException()


async def central_scope(request: Request[Any, Any, Any]) -> GovernanceScope:
    """The scope of someone who manages central governance, else 403."""
    scope = await scope_of(request)
    require_central(scope)
    return scope


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The posted form with repeated fields kept (``getall``)."""
    return await request.form()


def parse_id(value: object) -> int | None:
    """A positive id from a form or query value, else ``None``."""
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def labels() -> dict[str, Any]:
    """Choices and their translated labels for templates."""
    return {
        "role_names": ROLE_NAMES,
        "governance_roles": GOVERNANCE_ROLES,
        "approver_roles": APPROVER_ROLES,
        "approver_levels": APPROVER_LEVELS,
        "categories": CATEGORIES,
        "levels": LEVELS,
        "unit_kinds": UNIT_KINDS,
        "raci_letters": RACI_LETTERS,
        "model_kinds": OPERATING_MODEL_KINDS,
        "cadences": CADENCES,
    }


def render(
    request: Request[Any, Any, Any],
    page: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> Template:
    """A full page, or ``partial`` for an htmx request; adds tenant and labels."""
    name = partial if partial and is_partial_request(request) else page
    return Template(
        template_name=name,
        context={"tenant": current_tenant(), **labels(), **context},
        status_code=status,
        media_type=MediaType.HTML,
    )


def render_form(
    request: Request[Any, Any, Any],
    form_template: str,
    context: dict[str, Any],
    *,
    title: str,
    back: str,
    status: int = 200,
) -> Template:
    """A form alone: the fragment for htmx, else a page around it."""
    return render(
        request,
        "governance/form_page.html",
        {"form_template": form_template, "page_title": title, "back": back, **context},
        partial=form_template,
        status=status,
    )


async def published_snapshot() -> tuple[publishing.Version | None, dict[str, Any]]:
    """The latest version and its snapshot (empty before the first publication)."""
    latest = await publishing.latest_version()
    return latest, latest.snapshot if latest else publishing.empty_snapshot()


async def draft_or_published(
    scope: GovernanceScope, load_draft: Callable[[], Awaitable[Any]], part: str
) -> tuple[publishing.Version | None, list[Any]]:
    """HQ works on the drafts; everyone else reads ``part`` of the latest published version."""
    if scope.central:
        return None, list(await load_draft())
    latest, snapshot = await published_snapshot()
    return latest, snapshot.get(part) or []


def flash_message(request: Request[Any, Any, Any], messages: dict[str, str]) -> str | None:
    """The confirmation named by a query flag such as ``?saved=1``."""
    return next((text for key, text in messages.items() if request.query_params.get(key)), None)
