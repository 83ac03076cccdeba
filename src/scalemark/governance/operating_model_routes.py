"""``/governance/operating-model``: decision paths, escalation levels, coordination rhythms.

Central managers edit them; unit leads read the published operating model here.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.response import Template

from scalemark.governance import operating_model
from scalemark.governance.operating_model import ModelItem, ModelItemData
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
from scalemark.governance.vocabulary import OPERATING_MODEL_KINDS, GovernanceError
from scalemark.i18n import gettext as _
from scalemark.identity.guards import requires
from scalemark.web.htmx import redirect

__all__ = ["OperatingModelPages"]

_BASE = "/governance/operating-model"
_FORM = "governance/_model_form.html"


def _values(form: FormMultiDict, kind: str | None = None) -> dict[str, Any]:
    return {
        "kind": kind or str(form.get("kind") or ""),
        "title": str(form.get("title") or ""),
        "details": str(form.get("details") or ""),
        "cadence": str(form.get("cadence") or ""),
        "participants": [str(p) for p in form.getall("participants", [])],
    }


def _data(values: dict[str, Any]) -> ModelItemData:
    return ModelItemData(
        kind=values["kind"],
        title=values["title"],
        details=values["details"],
        cadence=values["cadence"],
        participants=list(values["participants"]),
    )


def _new_values(kind: str = "") -> dict[str, Any]:
    kind = kind if kind in OPERATING_MODEL_KINDS else "decision_path"
    return {"kind": kind, "title": "", "details": "", "cadence": "", "participants": []}


async def _item(item_id: int) -> ModelItem:
    item = await operating_model.get_item(item_id)
    if item is None:
        raise NotFoundException()
    return item


def _grouped(items: list[Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {kind: [] for kind in OPERATING_MODEL_KINDS}
    for item in items:
        groups.setdefault(item["kind"] if isinstance(item, dict) else item.kind, []).append(item)
    return groups


class OperatingModelPages(Controller):
    """The operating model: list, add, change, archive items."""

    path = _BASE
    guards = [requires(MANAGE)]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    def _form(
        self,
        request: Request[Any, Any, Any],
        scope: GovernanceScope,
        values: dict[str, Any],
        *,
        errors: dict[str, str] | None = None,
        item: ModelItem | None = None,
        status: int = 200,
    ) -> Template:
        return render_form(
            request,
            _FORM,
            {
                "scope": scope,
                "values": values,
                "errors": errors or {},
                "item": item,
                "action": f"{_BASE}/{item.id}" if item else _BASE,
            },
            title=_("Change the item") if item else _("Add to the operating model"),
            back=_BASE,
            status=status,
        )

    @get("/", name="governance:operating_model")
    async def list_page(self, request: Request[Any, Any, Any]) -> Template:
        """The three parts of the operating model and the form for a new item."""
        scope = await scope_of(request)
        latest, items = await draft_or_published(
            scope, operating_model.list_items, "operating_model"
        )
        message = {"saved": _("The item is saved."), "archived": _("The item is archived.")}
        flash = flash_message(request, message)
        return render(
            request,
            "governance/operating_model.html",
            {
                "scope": scope,
                "groups": _grouped(items),
                "latest": latest,
                "message": flash,
                "values": _new_values(str(request.query_params.get("kind") or "")),
                "errors": {},
                "item": None,
                "action": _BASE,
            },
        )

    @get("/new", name="governance:operating_model:new")
    async def new_form(self, request: Request[Any, Any, Any]) -> Template:
        """An empty form (``?kind=`` preselects the part)."""
        scope = await central_scope(request)
        return self._form(request, scope, _new_values(str(request.query_params.get("kind") or "")))

    @post("/", name="governance:operating_model:create")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any] | Template:
        """Add an item."""
        scope = await central_scope(request)
        values = _values(await read_form(request))
        try:
            await operating_model.create_item(_data(values))
        except GovernanceError as exc:
            return self._form(request, scope, values, errors=exc.errors, status=422)
        return redirect(request, f"{_BASE}?saved=1")

    @get("/{item_id:int}/edit", name="governance:operating_model:edit")
    async def edit_form(self, request: Request[Any, Any, Any], item_id: int) -> Template:
        """The form for one item."""
        scope = await central_scope(request)
        item = await _item(item_id)
        return self._form(request, scope, item.values(), item=item)

    @post("/{item_id:int}", name="governance:operating_model:update")
    async def update(
        self, request: Request[Any, Any, Any], item_id: int
    ) -> Response[Any] | Template:
        """Save a changed item (its kind stays)."""
        scope = await central_scope(request)
        item = await _item(item_id)
        values = _values(await read_form(request), kind=item.kind)
        try:
            await operating_model.update_item(item_id, _data(values))
        except GovernanceError as exc:
            return self._form(request, scope, values, errors=exc.errors, item=item, status=422)
        return redirect(request, f"{_BASE}?saved=1")

    @post("/{item_id:int}/archive", name="governance:operating_model:archive")
    async def archive(self, request: Request[Any, Any, Any], item_id: int) -> Response[Any]:
        """Take an item out of the draft."""
        await central_scope(request)
        await _item(item_id)
        try:
            await operating_model.archive_item(item_id)
        except GovernanceError as exc:
            raise NotFoundException() from exc
        return redirect(request, f"{_BASE}?archived=1")
