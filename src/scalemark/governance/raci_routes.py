"""``/governance/raci``: the RACI matrix (activities × roles).

Central managers edit it; unit leads read the published matrix here. Two A's in a row,
or none, come back as the form with a message that names the roles.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.response import Template

from scalemark.governance import raci
from scalemark.governance.raci import ActivityData, RaciActivity
from scalemark.governance.route_support import (
    central_scope,
    draft_or_published,
    flash_message,
    read_form,
    render,
    render_form,
    scope_of,
)
from scalemark.governance.scope import MANAGE, GovernanceScope
from scalemark.governance.vocabulary import GOVERNANCE_ROLES, GovernanceError
from scalemark.i18n import gettext as _
from scalemark.identity.guards import requires
from scalemark.web.htmx import redirect

__all__ = ["RaciPages"]

_BASE = "/governance/raci"
_FORM = "governance/_raci_form.html"


def _values(form: FormMultiDict) -> ActivityData:
    assignments = {role: str(form.get(f"role-{role}") or "") for role in GOVERNANCE_ROLES}
    extra = [k for k in form if k.startswith("role-") and k[5:] not in GOVERNANCE_ROLES]
    for key in extra:  # forged columns reach the validator, which refuses them
        assignments[key[5:]] = str(form.get(key) or "")
    return ActivityData(
        title=str(form.get("title") or ""),
        description=str(form.get("description") or ""),
        assignments=assignments,
    )


async def _activity(activity_id: int) -> RaciActivity:
    activity = await raci.get_activity(activity_id)
    if activity is None:
        raise NotFoundException()
    return activity


class RaciPages(Controller):
    """The RACI matrix: list, add, change, archive rows."""

    path = _BASE
    guards = [requires(MANAGE)]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    def _form(
        self,
        request: Request[Any, Any, Any],
        scope: GovernanceScope,
        values: ActivityData,
        *,
        errors: dict[str, str] | None = None,
        activity: RaciActivity | None = None,
        status: int = 200,
    ) -> Template:
        return render_form(
            request,
            _FORM,
            {
                "scope": scope,
                "values": values,
                "errors": errors or {},
                "activity": activity,
                "action": f"{_BASE}/{activity.id}" if activity else _BASE,
            },
            title=_("Change the activity") if activity else _("Add an activity"),
            back=_BASE,
            status=status,
        )

    @get("/", name="governance:raci")
    async def list_page(self, request: Request[Any, Any, Any]) -> Template:
        """The matrix (draft for HQ, published for unit leads) and the form for a new row."""
        scope = await scope_of(request)
        latest, rows = await draft_or_published(scope, raci.list_activities, "raci")
        message = {"saved": _("The activity is saved."), "archived": _("The activity is archived.")}
        flash = flash_message(request, message)
        return render(
            request,
            "governance/raci.html",
            {
                "scope": scope,
                "rows": rows,
                "latest": latest,
                "message": flash,
                "values": ActivityData(""),
                "errors": {},
                "activity": None,
                "action": _BASE,
            },
        )

    @get("/new", name="governance:raci:new")
    async def new_form(self, request: Request[Any, Any, Any]) -> Template:
        """An empty row form."""
        scope = await central_scope(request)
        return self._form(request, scope, ActivityData(""))

    @post("/", name="governance:raci:create")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any] | Template:
        """Add a row; exactly one A."""
        scope = await central_scope(request)
        values = _values(await read_form(request))
        shown = ActivityData(values.title, values.description, dict(values.assignments))
        try:
            await raci.create_activity(values)
        except GovernanceError as exc:
            return self._form(request, scope, shown, errors=exc.errors, status=422)
        return redirect(request, f"{_BASE}?saved=1")

    @get("/{activity_id:int}/edit", name="governance:raci:edit")
    async def edit_form(self, request: Request[Any, Any, Any], activity_id: int) -> Template:
        """The form for one row."""
        scope = await central_scope(request)
        activity = await _activity(activity_id)
        return self._form(request, scope, activity.data(), activity=activity)

    @post("/{activity_id:int}", name="governance:raci:update")
    async def update(
        self, request: Request[Any, Any, Any], activity_id: int
    ) -> Response[Any] | Template:
        """Save a changed row."""
        scope = await central_scope(request)
        activity = await _activity(activity_id)
        values = _values(await read_form(request))
        shown = ActivityData(values.title, values.description, dict(values.assignments))
        try:
            await raci.update_activity(activity_id, values)
        except GovernanceError as exc:
            return self._form(
                request, scope, shown, errors=exc.errors, activity=activity, status=422
            )
        return redirect(request, f"{_BASE}?saved=1")

    @post("/{activity_id:int}/archive", name="governance:raci:archive")
    async def archive(self, request: Request[Any, Any, Any], activity_id: int) -> Response[Any]:
        """Take a row out of the draft matrix."""
        await central_scope(request)
        await _activity(activity_id)
        try:
            await raci.archive_activity(activity_id)
        except GovernanceError as exc:
            raise NotFoundException() from exc
        return redirect(request, f"{_BASE}?archived=1")
