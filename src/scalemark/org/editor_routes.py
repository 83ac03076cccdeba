"""``/units/manage`` and ``/units/kinds``: the unit tree editor (thin controllers).

Every id a request names, in the URL or in a form field, is loaded and checked on the
server: unknown ids answer 404, units outside the editor's subtree 403, and nothing
changes. Mistakes a person can make (duplicate code, a cycle, archiving the
headquarters) come back as the form with a message (422), the input kept.
htmx requests get the editor's workspace or panel; everything works as full pages too.

Big trees: the units table shows the levels that fit in a row budget
(:mod:`scalemark.org.tree_view`), the branch of the unit being edited open; deeper units
come with "Show its N sub-units" (htmx loads the rows, without JavaScript the link opens
the table at that unit) and a search finds units at any depth.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Template
from markupsafe import Markup, escape

from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n import ngettext, supported_locales, use_locale
from scalemark.identity.guards import principal_of, requires
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission
from scalemark.org import editor, service
from scalemark.org.rules import UNIT_KINDS, UnitData, UnitError, timezone_choices
from scalemark.org.service import UnitNode
from scalemark.org.tree_view import ROW_BUDGET, TreeWindow, tree_window
from scalemark.tenancy.registry import get_tenant
from scalemark.web.htmx import is_partial_request, page_or_partial, redirect

__all__ = ["UnitEditorPages"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
EDIT = Permission.EDIT_UNITS
CURRENCIES = (
    "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "TRY",
    "JPY", "CNY", "INR", "AUD", "CAD", "BRL", "MXN", "ZAR",
)  # fmt: skip
"""Suggestions for the currency field (any ISO 4217 code is accepted)."""
_UNIT_FIELDS = ("code", "name", "kind", "locale", "timezone", "currency")
QUERY_MAX = 100
"""Longest search text."""
_ACTIONS = {
    "unit.create": "created",
    "unit.update": "changed",
    "unit.move": "moved",
    "unit.archive": "archived",
    "unit.restore": "restored",
}


@dataclass
class Editor:
    """The signed-in editor's view of the tree, loaded once per request."""

    principal: Principal
    every: list[UnitNode]
    """Every unit, archived ones too, depth first."""
    mine: list[UnitNode] = field(default_factory=list)
    """Units the editor may edit."""

    def __post_init__(self) -> None:
        self.mine = editor.editable_units(self.principal, self.every)
        self.by_id = {u.id: u for u in self.every}

    @cached_property
    def active(self) -> list[UnitNode]:
        """Editable units in the tree."""
        return [u for u in self.mine if not u.archived]

    @cached_property
    def archived(self) -> list[UnitNode]:
        """Editable units that are archived."""
        return [u for u in self.mine if u.archived]

    @property
    def root(self) -> UnitNode | None:
        """The headquarters."""
        return next((u for u in self.every if u.parent_id is None), None)

    @property
    def is_hq(self) -> bool:
        """May edit the whole tree (and the names of unit kinds)."""
        root = self.root
        return root is not None and self.principal.can(EDIT, root.path)

    def unit(self, unit_id: int) -> UnitNode:
        """A unit the editor may edit: 404 when unknown, 403 outside the subtree."""
        unit = self.by_id.get(unit_id)
        if unit is None:
            raise NotFoundException()
        if not self.principal.can(EDIT, unit.path):
            raise PermissionDeniedException()
        return unit

    def form_unit(self, raw: str | None, name: str, errors: dict[str, str]) -> UnitNode | None:
        """A unit named by a form field (a parent): the same checks, plus 'pick one'."""
        text = (raw or "").strip()
        if not text.isdigit():
            errors[name] = _("Choose a unit from the list.")
            return None
        unit = self.unit(int(text))
        if unit.archived:
            errors[name] = _("Choose a unit that is not archived.")
            return None
        return unit

    def sub_units(self, unit: UnitNode) -> int:
        """Active units below ``unit``."""
        return sum(
            1
            for u in self.every
            if u.id != unit.id and u.path.startswith(unit.path) and not u.archived
        )

    def parent_of(self, unit: UnitNode) -> UnitNode | None:
        """The unit's parent."""
        return self.by_id.get(unit.parent_id) if unit.parent_id is not None else None

    def active_unit(self, raw: object) -> UnitNode:
        """A unit of the tree named in a URL: 404 when unknown or archived, 403 outside."""
        text = str(raw or "").strip()
        unit = self.unit(int(text)) if text.isdigit() else None
        if unit is None or unit.archived:
            raise NotFoundException()
        return unit

    def children(self, unit: UnitNode) -> list[UnitNode]:
        """The active sub-units right below ``unit``, in tree order."""
        return [u for u in self.active if u.parent_id == unit.id]

    def path_label(self, unit: UnitNode) -> str:
        """The names of the units above ``unit``: ``HQ › Region › Country``."""
        names = []
        parent = self.parent_of(unit)
        while parent is not None:
            names.append(parent.name)
            parent = self.parent_of(parent)
        return " › ".join(reversed(names))


@dataclass(frozen=True)
class UnitList:
    """The rows of the units table: a window on the tree, or what a search found."""

    rows: list[UnitNode]
    base: int
    """Depth of the rows that are not indented."""
    hidden: dict[int, int]
    """Unit id → sub-units not shown yet ("Show its N sub-units")."""
    view: TreeWindow[UnitNode] | None = None
    """The tree window (``None`` for search results)."""
    query: str = ""
    """The search text (``''``: no search)."""
    found: int = 0
    """How many units match the search (more than :data:`ROW_BUDGET` are not listed)."""
    paths: dict[int, str] = field(default_factory=dict)
    """Search results: unit id → the names of the units above it."""

    @property
    def indent(self) -> dict[int, int]:
        """Unit id → indentation level (search results are not indented)."""
        if self.query:
            return {u.id: 0 for u in self.rows}
        return {u.id: u.depth - self.base for u in self.rows}


def _query(request: Request[Any, Any, Any]) -> str:
    return " ".join((request.query_params.get("q") or "").split())[:QUERY_MAX]


def unit_list(
    ed: Editor,
    *,
    focus: UnitNode | None = None,
    reveal: UnitNode | None = None,
    query: str = "",
) -> UnitList:
    """The units table: the top levels of the editor's tree (or a focus unit's branch)
    that fit in the row budget, with the branch down to ``reveal`` open; or, with a
    ``query``, the first units anywhere in the editor's part whose name or code has it.
    """
    if query:
        needle = query.casefold()
        found = [u for u in ed.active if needle in u.name.casefold() or needle in u.code.casefold()]
        shown = found[:ROW_BUDGET]
        paths = {u.id: ed.path_label(u) for u in shown}
        return UnitList(shown, 0, {}, query=query, found=len(found), paths=paths)
    view = tree_window(ed.active, lambda u: u, focus=focus, reveal=reveal)
    return UnitList(view.rows, view.base_depth, view.hidden, view=view)


def parent_choices(ed: Editor, selected: object) -> list[UnitNode]:
    """Parents the add form offers: the top levels of the tree (as the units table shows
    them) and the branch down to the chosen parent. Deeper units are chosen with "Add
    below" in their row, so a big tree does not make a select of every unit."""
    raw = str(selected or "")
    chosen = ed.by_id.get(int(raw)) if raw.isdigit() else None
    return tree_window(ed.active, lambda u: u, reveal=chosen).rows


def children_list(ed: Editor, unit: UnitNode, indent: int) -> UnitList:
    """A unit's row again and its sub-units' rows below it (loaded into the table)."""
    children = ed.children(unit)
    hidden = {u.id: u.child_count for u in children if u.child_count}
    return UnitList([unit, *children], unit.depth - indent, hidden)


def unit_options(units: Iterable[UnitNode], selected: object = None) -> Markup:
    """``<option>`` elements for a unit select, indented by depth.

    Built in Python: a tree of 500 units makes 500 options, per select, per page.
    """
    chosen = str(selected or "")
    return Markup(  # noqa: S704 - names and codes are escaped
        "".join(
            f'<option value="{u.id}"{" selected" if str(u.id) == chosen else ""}>'
            f"{'&nbsp;&nbsp;' * u.depth}{escape(u.name)} ({escape(u.code)})</option>"
            for u in units
        )
    )


@lru_cache(maxsize=1)
def _datalists() -> Markup:
    """Suggestions for the time zone and currency fields (the same for every page)."""
    zones = "".join(f'<option value="{escape(tz)}"></option>' for tz in timezone_choices())
    money = "".join(f'<option value="{code}"></option>' for code in CURRENCIES)
    return Markup(  # noqa: S704 - fixed, escaped values
        f'<datalist id="timezones">{zones}</datalist><datalist id="currencies">{money}</datalist>'
    )


async def _editor(request: Request[Any, Any, Any]) -> Editor:
    return Editor(principal_of(request), await service.whole_tree(include_archived=True))


def _current_id(request: Request[Any, Any, Any]) -> int | None:
    """The unit open in the editor's panel, from htmx's ``HX-Current-URL``."""
    found = re.search(r"/units/manage/(\d+)(?:[?#]|$)", request.headers.get("hx-current-url", ""))
    return int(found[1]) if found else None


def _unit_data(form: dict[str, str]) -> UnitData:
    return UnitData(
        code=form.get("code") or "",
        name=form.get("name") or "",
        kind=form.get("kind") or "",
        locale=form.get("locale") or "",
        timezone=form.get("timezone") or "",
        currency=form.get("currency") or "",
    )


def _values_of(unit: UnitNode) -> dict[str, str]:
    return {name: str(getattr(unit, name)) for name in _UNIT_FIELDS}


def _error(exc: UnitError, parent_field: str = "parent_id") -> dict[str, str]:
    name = {"parent": parent_field, "unit": "form"}.get(exc.field, exc.field)
    return {name: str(exc.message)}


def _changes(entry: editor.UnitChange) -> list[tuple[str, Any, Any]]:
    before, after = entry.before or {}, entry.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    keys = [k for k in ("code", "name", "kind", "parent", "locale", "timezone", "currency")]
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


async def _context(
    ed: Editor,
    *,
    unit: UnitNode | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    move_values: dict[str, str] | None = None,
    message: str | None = None,
    parent_id: int | None = None,
    focus: UnitNode | None = None,
    reveal: UnitNode | None = None,
    query: str = "",
) -> dict[str, Any]:
    root = ed.root
    defaults = ed.parent_of(unit) if unit else (ed.by_id.get(parent_id or 0) or root)
    reveal = reveal or unit or ed.by_id.get(parent_id or 0)
    if values is None:
        if unit is not None:
            values = _values_of(unit)
        else:
            base = defaults or root
            values = {
                "code": "",
                "name": "",
                "kind": "country",
                "locale": base.locale if base else "en",
                "timezone": base.timezone if base else "UTC",
                "currency": base.currency if base else "EUR",
                "parent_id": str(parent_id or (root.id if root else "")),
            }
    locales = list(supported_locales())
    if values.get("locale") and values["locale"] not in locales:
        locales.append(values["locale"])
    history = await editor.unit_history(unit.id) if unit is not None else []
    return {
        "tenant": current_tenant(),
        "ed": ed,
        "unit": unit,
        "units": unit_list(ed, focus=focus, reveal=reveal, query=query),
        "current_id": unit.id if unit else None,
        "autofocus_id": None,
        "values": values,
        "errors": errors or {},
        "move_values": move_values or {},
        "message": message,
        "kinds": await editor.kind_labels(),
        "locales": locales,
        "unit_options": unit_options,
        "parent_choices": [] if unit else parent_choices(ed, values.get("parent_id")),
        "datalists": _datalists(),
        "targets": editor.move_targets(ed.principal, unit, ed.every) if unit else [],
        "can_archive": bool(unit and editor.can_archive(ed.principal, unit)),
        "history": [(entry, _changes(entry)) for entry in history],
        "history_actions": _ACTIONS,
        "field_labels": {
            "code": _("Code"),
            "name": _("Name"),
            "kind": _("Kind"),
            "parent": _("Parent unit"),
            "locale": _("Language"),
            "timezone": _("Time zone"),
            "currency": _("Currency"),
        },
    }


def _html(name: str, context: dict[str, Any], status: int = 200, **headers: str) -> Template:
    return Template(
        template_name=name,
        context=context,
        status_code=status,
        media_type=MediaType.HTML,
        headers=headers or None,
    )


def _panel_error(request: Request[Any, Any, Any], panel: str, context: dict[str, Any]) -> Template:
    """422: the panel with messages (htmx: swapped into the panel), else the whole page."""
    if is_partial_request(request):
        return _html(
            panel, context, 422, **{"HX-Retarget": "#unit-panel", "HX-Reswap": "innerHTML"}
        )
    return _html("org/editor.html", context, 422)


def _message(request: Request[Any, Any, Any]) -> str | None:
    query = request.query_params
    if query.get("added"):
        return _("The unit is added.")
    if query.get("saved"):
        return _("The changes are saved.")
    if query.get("moved"):
        return _("The unit is moved.")
    if query.get("archived"):
        return _("The unit is archived.")
    if query.get("restored"):
        return _("The unit is restored.")
    return None


class UnitEditorPages(Controller):
    """Adding, changing, moving, archiving and restoring units; names of unit kinds."""

    path = "/units"
    guards = [requires(EDIT)]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/manage", name="units:manage", media_type=MediaType.HTML)
    async def manage(self, request: Request[Any, Any, Any]) -> Template:
        """The editor: an add form and the units the signed-in person may edit.

        The units table shows the top levels of the tree; ``?unit=ID`` starts it at a unit
        (404 unknown or archived, 403 outside the editor's part) and ``?q=text`` lists
        the units whose name or code contains the text, however deep they are.
        """
        ed = await _editor(request)
        query = request.query_params
        parent = query.get("parent")
        parent_id = ed.unit(int(parent)).id if parent and parent.isdigit() else None
        focus = ed.active_unit(query.get("unit")) if query.get("unit") else None
        added = query.get("added") or ""
        context = await _context(
            ed,
            parent_id=parent_id or (focus.id if focus else None),
            message=_message(request),
            focus=focus,
            reveal=ed.by_id.get(int(added)) if added.isdigit() else None,
            query=_query(request),
        )
        return _html("org/editor.html", context)

    @get("/manage/{unit_id:int}/children", name="units:manage_children", media_type=MediaType.HTML)
    async def children(self, request: Request[Any, Any, Any], unit_id: int) -> Template:
        """A unit's sub-units: for htmx its row and theirs (``?indent=`` its indentation),
        otherwise the editor with the units table starting at the unit."""
        ed = await _editor(request)
        unit = ed.active_unit(unit_id)
        context = await _context(ed, focus=unit, parent_id=unit.id)
        if is_partial_request(request):
            indent = request.query_params.get("indent") or ""
            rows = children_list(ed, unit, min(int(indent), 50) if indent.isdigit() else 0)
            context["units"] = rows
            context["current_id"] = _current_id(request)
            context["autofocus_id"] = rows.rows[1].id if len(rows.rows) > 1 else None
        return page_or_partial(request, "org/editor.html", "org/editor_rows.html", context)

    @get("/manage/new", name="units:new", media_type=MediaType.HTML)
    async def new(self, request: Request[Any, Any, Any]) -> Any:
        """The add form (for htmx: the panel only), optionally below a given parent."""
        ed = await _editor(request)
        parent = request.query_params.get("parent") or ""
        parent_id = ed.unit(int(parent)).id if parent.isdigit() else None
        context = await _context(ed, parent_id=parent_id)
        if is_partial_request(request):
            return _html("org/editor_add.html", context)
        return _html("org/editor.html", context)

    @post("/manage", name="units:add", media_type=MediaType.HTML)
    async def add(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Add a unit below a parent in the editor's subtree."""
        ed = await _editor(request)
        errors: dict[str, str] = {}
        parent = ed.form_unit(data.get("parent_id"), "parent_id", errors)
        created = None
        if parent is not None and not errors:
            try:
                created = await editor.add_unit(_unit_data(data), parent)
            except UnitError as exc:
                errors = _error(exc)
        if created is None:
            context = await _context(ed, values=dict(data), errors=errors)
            return _panel_error(request, "org/editor_add.html", context)
        if is_partial_request(request):
            fresh = await _editor(request)
            context = await _context(
                fresh,
                parent_id=parent.id if parent else None,
                message=_("%(name)s is added.", name=created.name),
                reveal=fresh.by_id.get(created.id),
            )
            return _html("org/editor_workspace.html", context)
        return redirect(request, f"/units/manage?added={created.id}")

    @get("/manage/{unit_id:int}", name="units:edit", media_type=MediaType.HTML)
    async def edit(self, request: Request[Any, Any, Any], unit_id: int) -> Template:
        """One unit: its fields, where it sits, archiving and its history."""
        ed = await _editor(request)
        unit = ed.unit(unit_id)
        context = await _context(ed, unit=unit, message=_message(request))
        if is_partial_request(request):
            return _html("org/editor_unit.html", context)
        return _html("org/editor.html", context)

    @post("/manage/{unit_id:int}", name="units:save", media_type=MediaType.HTML)
    async def save(self, request: Request[Any, Any, Any], unit_id: int, data: Form) -> Any:
        """Save a unit's code, name, kind, language, time zone and currency."""
        ed = await _editor(request)
        unit = ed.unit(unit_id)
        if unit.archived:
            context = await _context(
                ed, unit=unit, errors={"form": _("Restore the unit before changing it.")}
            )
            return _panel_error(request, "org/editor_unit.html", context)
        try:
            await editor.edit_unit(unit, _unit_data(data))
        except UnitError as exc:
            context = await _context(ed, unit=unit, values=dict(data), errors=_error(exc))
            return _panel_error(request, "org/editor_unit.html", context)
        return await self._done(request, unit_id, "saved", _("The changes are saved."))

    @post("/manage/{unit_id:int}/move", name="units:move", media_type=MediaType.HTML)
    async def move(self, request: Request[Any, Any, Any], unit_id: int, data: Form) -> Any:
        """Put a unit (with its sub-units) under another parent."""
        ed = await _editor(request)
        unit = ed.unit(unit_id)
        errors: dict[str, str] = {}
        target = ed.form_unit(data.get("new_parent_id"), "new_parent_id", errors)
        if target is not None and not errors:
            try:
                await editor.move_unit(unit, target)
            except UnitError as exc:
                errors = _error(exc, "new_parent_id" if unit.parent_id is not None else "form")
        if errors:
            context = await _context(ed, unit=unit, errors=errors, move_values=dict(data))
            return _panel_error(request, "org/editor_unit.html", context)
        return await self._done(request, unit_id, "moved", _("The unit is moved."))

    @post("/manage/{unit_id:int}/archive", name="units:archive", media_type=MediaType.HTML)
    async def archive(self, request: Request[Any, Any, Any], unit_id: int) -> Any:
        """Archive a unit and its sub-units; their history stays."""
        return await self._archive(request, unit_id, archived=True)

    @post("/manage/{unit_id:int}/restore", name="units:restore", media_type=MediaType.HTML)
    async def restore(self, request: Request[Any, Any, Any], unit_id: int) -> Any:
        """Bring an archived unit and its sub-units back."""
        return await self._archive(request, unit_id, archived=False)

    async def _archive(
        self, request: Request[Any, Any, Any], unit_id: int, *, archived: bool
    ) -> Any:
        ed = await _editor(request)
        unit = ed.unit(unit_id)
        try:
            if unit.parent_id is not None and not editor.can_archive(ed.principal, unit):
                raise PermissionDeniedException()
            if archived:
                count = await editor.archive_unit(unit)
            else:
                count = await editor.restore_unit(unit)
        except UnitError as exc:
            context = await _context(ed, unit=unit, errors={"archive": str(exc.message)})
            return _panel_error(request, "org/editor_unit.html", context)
        below = count - 1
        if archived and below:
            text = ngettext(
                "%(name)s and %(num)s sub-unit are archived.",
                "%(name)s and %(num)s sub-units are archived.",
                below,
                name=unit.name,
            )
        elif archived:
            text = _("%(name)s is archived.", name=unit.name)
        elif below:
            text = ngettext(
                "%(name)s and %(num)s sub-unit are restored.",
                "%(name)s and %(num)s sub-units are restored.",
                below,
                name=unit.name,
            )
        else:
            text = _("%(name)s is restored.", name=unit.name)
        return await self._done(request, unit_id, "archived" if archived else "restored", text)

    async def _done(
        self, request: Request[Any, Any, Any], unit_id: int, flag: str, text: str
    ) -> Any:
        if not is_partial_request(request):
            return redirect(request, f"/units/manage/{unit_id}?{flag}=1")
        fresh = await _editor(request)
        context = await _context(fresh, unit=fresh.by_id.get(unit_id), message=text)
        return _html("org/editor_workspace.html", context)

    # ----------------------------------------------------------------- kind labels

    @get("/kinds", name="units:kinds", media_type=MediaType.HTML)
    async def kinds(self, request: Request[Any, Any, Any]) -> Template:
        """The organisation's own names for unit kinds, per language (HQ only)."""
        ed = await _editor(request)
        if not ed.is_hq:
            raise PermissionDeniedException()
        saved = await editor.kind_label_rows()
        values = {f"label_{k}_{loc}": v for (k, loc), v in saved.items()}
        message = _("The names are saved.") if request.query_params.get("saved") else None
        return _html("org/editor_kinds.html", await _kinds_context(values, {}, message))

    @post("/kinds", name="units:kinds_save", media_type=MediaType.HTML)
    async def kinds_save(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Save the names; a blank field brings back the built-in name."""
        ed = await _editor(request)
        if not ed.is_hq:
            raise PermissionDeniedException()
        locales = await _tenant_locales()
        _saved, errors = await editor.save_kind_labels(data, locales)
        if errors:
            context = await _kinds_context(dict(data), {k: str(v) for k, v in errors.items()})
            return _html("org/editor_kinds.html", context, 422)
        return redirect(request, "/units/kinds?saved=1")


async def _tenant_locales() -> list[str]:
    tenant = current_tenant()
    info = await get_tenant(tenant.slug)
    ordered = [tenant.default_locale, *(info.locales if info else [])]
    return [code for i, code in enumerate(ordered) if code and code not in ordered[:i]]


async def _kinds_context(
    values: dict[str, str], errors: dict[str, str], message: str | None = None
) -> dict[str, Any]:
    locales = await _tenant_locales()
    builtin: dict[tuple[str, str], str] = {}
    for code in locales:
        with use_locale(code):
            for kind, label in UNIT_KINDS.items():
                builtin[(kind, code)] = str(label)
    return {
        "tenant": current_tenant(),
        "kind_codes": list(UNIT_KINDS),
        "kind_names": {kind: str(label) for kind, label in UNIT_KINDS.items()},
        "label_locales": locales,
        "builtin": builtin,
        "values": values,
        "errors": errors,
        "message": message,
    }
