"""``/governance``: the workspace overview, the starter template, publishing, versions,
"what changed since version N" and the published governance of a unit.

The overview, the template and publishing need ``manage_governance``; versions, changes
and the published view are for every member (stakeholders too) and only ever show
published versions — and of those, to people below the HQ, only what applies to their
units.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Template

from scalemark.governance import publishing, starter
from scalemark.governance.publishing import Change, Version
from scalemark.governance.route_support import parse_id, read_form, render, scope_of
from scalemark.governance.scope import MANAGE, GovernanceScope
from scalemark.governance.vocabulary import GovernanceError
from scalemark.i18n import gettext as _
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity.guards import member_required, requires
from scalemark.org.service import UnitNode
from scalemark.web.htmx import redirect

__all__ = ["FIELD_NAMES", "PART_NAMES", "GovernanceWorkspacePages"]

_BASE = "/governance"

PART_NAMES: dict[str, object] = {
    "standards": _l("Standards"),
    "workflows": _l("Approval workflows"),
    "raci": _l("RACI matrix"),
    "operating_model": _l("Operating model"),
    "kpis": _l("KPI framework"),
}
"""Snapshot parts in words."""

FIELD_NAMES: dict[str, object] = {
    "title": _l("Title"),
    "name": _l("Name"),
    "description": _l("Description"),
    "details": _l("Details"),
    "category": _l("Kind of standard"),
    "level": _l("Binding"),
    "applies_to_kinds": _l("Applies to"),
    "owner_role": _l("Owner"),
    "scope_unit_id": _l("Unit"),
    "steps": _l("Steps"),
    "assignments": _l("Roles"),
    "kind": _l("Part"),
    "cadence": _l("Cadence"),
    "participants": _l("Participants"),
}
"""Snapshot fields in words (for "what changed")."""


def _local_ids(scope: GovernanceScope) -> set[int]:
    return {u.id for u in scope.local_units}


def _scope_unit_id(scope: GovernanceScope) -> int | None:
    units = sorted(scope.local_units, key=lambda u: u.depth)
    return units[0].id if units else None


async def _candidate(scope: GovernanceScope) -> tuple[Version | None, dict[str, Any]]:
    if scope.central:
        return await publishing.candidate()
    return await publishing.candidate(_local_ids(scope))


def _chosen_unit(request: Request[Any, Any, Any], scope: GovernanceScope) -> UnitNode | None:
    """The unit asked for with ``?unit=`` (checked), else ``None``."""
    raw = request.query_params.get("unit")
    if raw in (None, ""):
        return None
    unit = scope.unit(parse_id(raw))
    if unit is None:
        raise NotFoundException()
    if not scope.views(unit.path):
        raise PermissionDeniedException()
    return unit


def _viewer_unit(request: Request[Any, Any, Any], scope: GovernanceScope) -> UnitNode:
    """The unit whose view a page shows: the one asked for, else the person's home unit."""
    unit = _chosen_unit(request, scope) or scope.home_unit
    if unit is None:
        raise PermissionDeniedException()
    return unit


def _for_unit(snapshot: dict[str, Any], scope: GovernanceScope, unit: UnitNode) -> dict[str, Any]:
    return publishing.view_for_unit(snapshot, [u.id for u in scope.chain(unit)], unit.kind)


def _changes_context(changes: list[Change]) -> dict[str, Any]:
    return {"changes": changes, "part_names": PART_NAMES, "field_names": FIELD_NAMES}


class GovernanceWorkspacePages(Controller):
    """Overview, template, publishing, versions, changes and the published view."""

    path = _BASE
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="governance:overview", guards=[requires(MANAGE)])
    async def overview(self, request: Request[Any, Any, Any]) -> Template:
        """The parts with their draft counts, the published state and the versions."""
        scope = await scope_of(request)
        latest, candidate = await _candidate(scope)
        pending = publishing.diff_versions(latest.snapshot if latest else None, candidate)
        own = _local_ids(scope)
        counts = {
            "central_standards": sum(
                1 for s in candidate["standards"] if s.get("scope_unit_id") is None
            ),
            "local_standards": sum(
                1
                for s in candidate["standards"]
                if s.get("scope_unit_id") is not None
                and (scope.central or s.get("scope_unit_id") in own)
            ),
            "workflows": len(candidate["workflows"]),
            "raci": len(candidate["raci"]),
            "operating_model": len(candidate["operating_model"]),
        }
        empty = not any(candidate[p] for p in publishing.PARTS)
        flash = (
            _("The Scalemark template was added.") if request.query_params.get("template") else None
        )
        return render(
            request,
            "governance/overview.html",
            {
                "scope": scope,
                "latest": latest,
                "pending": pending,
                "counts": counts,
                "offer_template": scope.central and empty,
                "versions": await publishing.list_versions(10),
                "message": flash,
                "kpis": candidate.get("kpis"),
            },
        )

    @post("/template", name="governance:template", guards=[requires(MANAGE)])
    async def template(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Add the Scalemark starter set as drafts (HQ only; existing titles are skipped)."""
        scope = await scope_of(request)
        if not scope.central:
            raise PermissionDeniedException()
        await starter.apply_starter_template()
        return redirect(request, f"{_BASE}?template=1")

    async def _publish_page(
        self,
        request: Request[Any, Any, Any],
        scope: GovernanceScope,
        *,
        note: str = "",
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        latest, candidate = await _candidate(scope)
        changes = publishing.diff_versions(latest.snapshot if latest else None, candidate)
        return render(
            request,
            "governance/publish.html",
            {
                "scope": scope,
                "latest": latest,
                "note": note,
                "errors": errors or {},
                "next_number": (latest.number if latest else 0) + 1,
                **_changes_context(changes),
            },
            partial="governance/_publish_form.html",
            status=status,
        )

    @get("/publish", name="governance:publish_form", guards=[requires(MANAGE)])
    async def publish_form(self, request: Request[Any, Any, Any]) -> Template:
        """What publishing now would change, and the note."""
        return await self._publish_page(request, await scope_of(request))

    @post("/publish", name="governance:publish", guards=[requires(MANAGE)])
    async def publish(self, request: Request[Any, Any, Any]) -> Response[Any] | Template:
        """Publish the drafts (HQ: everything; unit leads: their local additions)."""
        scope = await scope_of(request)
        note = str((await read_form(request)).get("note") or "")
        try:
            if scope.central:
                version = await publishing.publish(note)
            else:
                if not scope.local_units:
                    raise PermissionDeniedException()
                version = await publishing.publish(
                    note, scope_unit_id=_scope_unit_id(scope), local_unit_ids=_local_ids(scope)
                )
        except GovernanceError as exc:
            return await self._publish_page(
                request, scope, note=note, errors=exc.errors, status=422
            )
        return redirect(request, f"{_BASE}/versions/{version.number}?published=1")

    @get("/versions/{number:int}", name="governance:version")
    async def version(self, request: Request[Any, Any, Any], number: int) -> Template:
        """One published version: all of it at the HQ, else what applies to a unit."""
        scope = await scope_of(request)
        found = await publishing.get_version(number)
        if found is None:
            raise NotFoundException()
        unit = _chosen_unit(request, scope)
        if unit is None and not scope.sees_everything:
            unit = _viewer_unit(request, scope)
        view = _for_unit(found.snapshot, scope, unit) if unit else found.snapshot
        return render(
            request,
            "governance/version.html",
            {
                "scope": scope,
                "version": found,
                "view": view,
                "unit": unit,
                "units": scope.viewable_units,
                "published_now": bool(request.query_params.get("published")),
                "latest_number": (await publishing.latest_version() or found).number,
                "field_names": FIELD_NAMES,
            },
        )

    @get("/changes", name="governance:changes")
    async def changes(self, request: Request[Any, Any, Any]) -> Template:
        """What changed since version N (up to the latest), for the viewer's unit."""
        scope = await scope_of(request)
        unit = _chosen_unit(request, scope)
        if unit is None and not scope.sees_everything:
            unit = _viewer_unit(request, scope)
        versions = await publishing.list_versions(200)
        raw = request.query_params.get("since")
        since = parse_id(raw) if raw not in (None, "") else None
        error = None
        changes: list[Change] | None = None
        latest = await publishing.latest_version()
        if raw not in (None, ""):
            base = await publishing.get_version(since) if since is not None else None
            if base is None or latest is None:
                error = _("Choose a published version.")
            else:
                before, after = base.snapshot, latest.snapshot
                if unit is not None:
                    before = _for_unit(before, scope, unit)
                    after = _for_unit(after, scope, unit)
                changes = publishing.diff_versions(before, after)
        return render(
            request,
            "governance/changes.html",
            {
                "scope": scope,
                "versions": versions,
                "latest": latest,
                "since": since,
                "since_raw": raw or "",
                "error": error,
                "unit": unit,
                "units": scope.viewable_units,
                "result": changes,
                **_changes_context(changes or []),
            },
            partial="governance/_changes_result.html",
            status=422 if error else 200,
        )

    @get("/published", name="governance:published")
    async def published(self, request: Request[Any, Any, Any]) -> Template:
        """The published governance that applies to one of the viewer's units."""
        scope = await scope_of(request)
        unit = _viewer_unit(request, scope)
        latest = await publishing.latest_version()
        snapshot = latest.snapshot if latest else publishing.empty_snapshot()
        view = _for_unit(snapshot, scope, unit)
        return render(
            request,
            "governance/published.html",
            {
                "scope": scope,
                "view": view,
                "unit": unit,
                "units": scope.viewable_units,
                "version": latest,
                "field_names": FIELD_NAMES,
            },
        )
