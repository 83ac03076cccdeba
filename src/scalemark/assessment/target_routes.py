"""``/governance/maturity-targets``: HQ sets the target maturity per framework dimension.

Part of the governance setup (it sits in the governance navigation), kept in the
assessment domain because it speaks the frameworks' language.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from scalemark.assessment import maturity_targets, registry
from scalemark.assessment.framework import Framework
from scalemark.assessment.setup_routes import offered_frameworks
from scalemark.governance.route_support import central_scope, flash_message, read_form, render
from scalemark.i18n import gettext as _
from scalemark.identity.guards import member_required

__all__ = ["MaturityTargetPages"]


def _page(request: Request[Any, Any, Any], context: dict[str, Any], status: int = 200) -> Template:
    return render(request, "assessment/maturity_targets.html", context, status=status)


class MaturityTargetPages(Controller):
    """HQ's default target levels for new assessments."""

    path = "/governance/maturity-targets"
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="governance:maturity-targets", media_type=MediaType.HTML)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        """The targets per dimension of every framework."""
        scope = await central_scope(request)
        frameworks = registry.newest_versions(await offered_frameworks())
        values = {f.key: await _current(f) for f in frameworks}
        return _page(
            request,
            {
                "scope": scope,
                "frameworks": frameworks,
                "values": values,
                "errors": {},
                "message": flash_message(request, {"saved": _("Targets saved.")}),
            },
        )

    @post(
        "/{framework_key:str}", name="governance:maturity-targets-save", media_type=MediaType.HTML
    )
    async def save(self, request: Request[Any, Any, Any], framework_key: str) -> Any:
        """Save one framework's targets; mistakes come back with the input kept."""
        scope = await central_scope(request)
        frameworks = registry.newest_versions(await offered_frameworks())
        framework = next((f for f in frameworks if f.key == framework_key), None)
        if framework is None:
            raise NotFoundException()
        form = await read_form(request)
        raw = {d.key: str(form.get(f"target_{d.key}") or "") for d in framework.dimensions}
        levels, errors = maturity_targets.parse_targets(framework, raw)
        if errors:
            values = {f.key: await _current(f) for f in frameworks}
            values[framework.key] = raw
            return _page(
                request,
                {
                    "scope": scope,
                    "frameworks": frameworks,
                    "values": values,
                    "errors": {framework.key: errors},
                    "message": None,
                },
                status=422,
            )
        await maturity_targets.save_targets(framework, levels)
        return Redirect(path="/governance/maturity-targets?saved=1", status_code=303)


async def _current(framework: Framework) -> dict[str, str]:
    return {k: f"{v:g}" for k, v in (await maturity_targets.targets_for(framework.key)).items()}
