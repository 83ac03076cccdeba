"""``/governance/standards``: the catalogue of process and campaign standards.

Central managers edit every standard. Unit leads see the published central and inherited
standards (read-only) and edit local additions for units of their subtree; a form field
naming a unit outside it, or a central standard, answers 403.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Template

from scalemark.governance import standards
from scalemark.governance.route_support import (
    flash_message,
    parse_id,
    published_snapshot,
    read_form,
    render,
    render_form,
    scope_of,
)
from scalemark.governance.scope import MANAGE, GovernanceScope
from scalemark.governance.standards import Standard, StandardData
from scalemark.governance.vocabulary import GovernanceError
from scalemark.i18n import gettext as _
from scalemark.identity.guards import requires
from scalemark.web.htmx import redirect

__all__ = ["StandardPages"]

_BASE = "/governance/standards"
_FORM = "governance/_standard_form.html"


def _values(form: FormMultiDict) -> dict[str, Any]:
    return {
        "title": str(form.get("title") or ""),
        "description": str(form.get("description") or ""),
        "category": str(form.get("category") or ""),
        "level": str(form.get("level") or ""),
        "applies_to_kinds": [str(k) for k in form.getall("applies_to_kinds", [])],
        "owner_role": str(form.get("owner_role") or ""),
        "scope_unit_id": str(form.get("scope_unit_id") or ""),
    }


def _data(values: dict[str, Any], scope_unit_id: int | None) -> StandardData:
    return StandardData(
        title=values["title"],
        description=values["description"],
        category=values["category"],
        level=values["level"],
        applies_to_kinds=list(values["applies_to_kinds"]),
        owner_role=values["owner_role"],
        scope_unit_id=scope_unit_id,
    )


def _empty_values(scope: GovernanceScope) -> dict[str, Any]:
    first_local = scope.local_units[0].id if scope.local_units and not scope.central else ""
    return {
        "title": "",
        "description": "",
        "category": "process",
        "level": "mandatory",
        "applies_to_kinds": [],
        "owner_role": "hq_admin" if scope.central else "unit_lead",
        "scope_unit_id": str(first_local),
    }


def _form_context(
    scope: GovernanceScope,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    standard: Standard | None = None,
) -> dict[str, Any]:
    scope_units = (
        [u for u in scope.units if u.parent_id is not None] if scope.central else scope.local_units
    )
    return {
        "scope": scope,
        "values": values,
        "errors": errors or {},
        "standard": standard,
        "scope_options": [
            (str(u.id), "\u00a0\u00a0" * max(u.depth - 1, 0) + f"{u.name} ({u.code})")
            for u in scope_units
        ],
        "can_central": scope.central,
        "action": f"{_BASE}/{standard.id}" if standard else _BASE,
    }


def _inherited(scope: GovernanceScope, snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """Published central standards and those of the ancestors of a local manager's units."""
    own = {u.id for u in scope.local_units}
    above: set[int] = set()
    for unit in scope.local_units:
        above.update(u.id for u in scope.chain(unit) if u.id not in own)
    return [
        s
        for s in snapshot.get("standards") or []
        if s.get("scope_unit_id") is None or s.get("scope_unit_id") in above
    ]


async def _page(
    request: Request[Any, Any, Any],
    scope: GovernanceScope,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    latest = None
    if scope.central:
        drafts = await standards.list_standards()
        fixed: list[Any] = [s for s in drafts if s.central]
    else:
        drafts = await standards.list_standards(within=scope.manage_paths)
        latest, snapshot = await published_snapshot()
        fixed = _inherited(scope, snapshot)
    message = {"saved": _("The standard is saved."), "archived": _("The standard is archived.")}
    flash = flash_message(request, message)
    return render(
        request,
        "governance/standards.html",
        {
            "scope": scope,
            "central_standards": fixed,
            "local_standards": [s for s in drafts if not s.central],
            "latest": latest,
            "message": flash,
            **_form_context(scope, values=values or _empty_values(scope), errors=errors),
        },
        status=status,
    )


async def _editable(scope: GovernanceScope, standard_id: int) -> Standard:
    standard = await standards.get_standard(standard_id)
    if standard is None:
        raise NotFoundException()
    if not scope.manages(standard.scope_path):
        raise PermissionDeniedException()
    return standard


def _scope_unit(scope: GovernanceScope, raw: str) -> tuple[int | None, dict[str, str]]:
    """The unit a new standard is for; forged choices answer 403."""
    if not raw:
        if not scope.central:
            raise PermissionDeniedException()
        return None, {}
    unit = scope.unit(parse_id(raw))
    if unit is None:
        return None, {"scope_unit_id": _("Choose a unit from the list.")}
    if not scope.manages(unit.path):
        raise PermissionDeniedException()
    if unit.parent_id is None:
        return None, {}
    return unit.id, {}


class StandardPages(Controller):
    """Standards: list, add, change, archive."""

    path = _BASE
    guards = [requires(MANAGE)]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="governance:standards")
    async def list_page(self, request: Request[Any, Any, Any]) -> Template:
        """The catalogue and the form for a new standard."""
        scope = await scope_of(request)
        return await _page(request, scope)

    @get("/new", name="governance:standards:new")
    async def new_form(self, request: Request[Any, Any, Any]) -> Template:
        """An empty form (a fragment for htmx)."""
        scope = await scope_of(request)
        if not scope.central and not scope.local_units:
            raise PermissionDeniedException()
        return render_form(
            request,
            _FORM,
            _form_context(scope, values=_empty_values(scope)),
            title=_("Add a standard"),
            back=_BASE,
        )

    @post("/", name="governance:standards:create")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any] | Template:
        """Add a central standard or a local addition."""
        scope = await scope_of(request)
        values = _values(await read_form(request))
        unit_id, errors = _scope_unit(scope, values["scope_unit_id"])
        if not errors:
            try:
                await standards.create_standard(_data(values, unit_id))
            except GovernanceError as exc:
                errors = exc.errors
        if errors:
            return render_form(
                request,
                _FORM,
                _form_context(scope, values=values, errors=errors),
                title=_("Add a standard"),
                back=_BASE,
                status=422,
            )
        return redirect(request, f"{_BASE}?saved=1")

    @get("/{standard_id:int}/edit", name="governance:standards:edit")
    async def edit_form(self, request: Request[Any, Any, Any], standard_id: int) -> Template:
        """The form for one standard."""
        scope = await scope_of(request)
        standard = await _editable(scope, standard_id)
        return render_form(
            request,
            _FORM,
            _form_context(scope, values=standard.values(), standard=standard),
            title=_("Change the standard"),
            back=_BASE,
        )

    @post("/{standard_id:int}", name="governance:standards:update")
    async def update(
        self, request: Request[Any, Any, Any], standard_id: int
    ) -> Response[Any] | Template:
        """Save a changed standard."""
        scope = await scope_of(request)
        standard = await _editable(scope, standard_id)
        values = _values(await read_form(request))
        values["scope_unit_id"] = standard.values()["scope_unit_id"]
        try:
            await standards.update_standard(standard_id, _data(values, standard.scope_unit_id))
        except GovernanceError as exc:
            return render_form(
                request,
                _FORM,
                _form_context(scope, values=values, errors=exc.errors, standard=standard),
                title=_("Change the standard"),
                back=_BASE,
                status=422,
            )
        return redirect(request, f"{_BASE}?saved=1")

    @post("/{standard_id:int}/archive", name="governance:standards:archive")
    async def archive(self, request: Request[Any, Any, Any], standard_id: int) -> Response[Any]:
        """Take a standard out of the draft."""
        scope = await scope_of(request)
        await _editable(scope, standard_id)
        try:
            await standards.archive_standard(standard_id)
        except GovernanceError as exc:
            raise NotFoundException() from exc
        return redirect(request, f"{_BASE}?archived=1")
