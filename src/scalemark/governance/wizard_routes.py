"""``/setup``: the setup wizard for HQ admins, and the nav hint while it is incomplete.

Routes are thin: :mod:`scalemark.governance.wizard` computes the state; units are added
through the unit editor's audited operations. Each step links to the page where its real
work happens; steps whose page does not exist yet in this installation can be skipped
(or confirmed) and come back later.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from litestar import Controller, Litestar, MediaType, Request, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.params import Body
from litestar.response import Template
from litestar.types import ASGIApp, Receive, Scope, Send

from scalemark.db.tenant_context import current_tenant, peek_tenant
from scalemark.governance import wizard
from scalemark.i18n import gettext as _
from scalemark.i18n import supported_locales
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.principal import Principal
from scalemark.org import editor, service
from scalemark.org.rules import UnitData, UnitError
from scalemark.tenancy.registry import get_tenant
from scalemark.web.htmx import is_partial_request, redirect

__all__ = ["SETUP_PENDING_KEY", "SetupNavMiddleware", "SetupPages", "hq_admin_required"]

logger = logging.getLogger("scalemark.setup")

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
SETUP_PENDING_KEY = "scalemark_setup_pending"
"""``request.scope`` key the nav reads: True while an HQ admin's setup is incomplete."""
QUICK_KINDS = ("region", "country", "business_unit")


def hq_admin_required(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: an HQ admin at the headquarters of this tenant."""
    member_required(connection, handler)
    if not wizard.is_hq_admin(principal_of(connection)):
        raise PermissionDeniedException()


def _available_paths(app: Litestar) -> set[str]:
    return {route.path for route in app.routes}


def _html(name: str, context: dict[str, Any], status: int = 200, **headers: str) -> Template:
    return Template(
        template_name=name,
        context=context,
        status_code=status,
        media_type=MediaType.HTML,
        headers=headers or None,
    )


async def _units_context(
    principal: Principal,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    units = await service.whole_tree()
    root = next((u for u in units if u.parent_id is None), None)
    parents = [u for u in units if u.depth <= 1 and principal.can(editor.EDIT, u.path)]
    defaults = {
        "kind": "region",
        "parent_id": str(root.id) if root else "",
        "code": "",
        "name": "",
        "locale": root.locale if root else current_tenant().default_locale,
        "currency": root.currency if root else "EUR",
    }
    return {
        "units": [u for u in units if u.depth <= 2],
        "unit_total": len(units),
        "parents": parents,
        "quick_kinds": QUICK_KINDS,
        "kinds": await editor.kind_labels(),
        "locales": supported_locales(),
        "unit_values": {**defaults, **(values or {})},
        "unit_errors": errors or {},
        "unit_message": message,
    }


async def _step_context(request: Request[Any, Any, Any], key: str, **extra: Any) -> dict[str, Any]:
    state = await wizard.load_state(_available_paths(request.app))
    step_state = state.get(key)
    before, after = state.neighbours(key)
    context: dict[str, Any] = {
        "tenant": current_tenant(),
        "state": state,
        "current": step_state,
        "previous_step": before,
        "next_step": after,
        "errors": {},
        "message": None,
    }
    if key == "basics":
        info = await get_tenant(current_tenant().slug)
        context["default_locale"] = info.default_locale if info else current_tenant().default_locale
        context["locales"] = supported_locales()
    if key == "units":
        context.update(await _units_context(principal_of(request)))
    context.update(extra)
    return context


def _message(request: Request[Any, Any, Any]) -> str | None:
    flag = request.query_params.get("done") or ""
    return {
        "confirmed": _("The step is marked as done."),
        "skipped": _("The step is skipped for now. You can come back to it any time."),
        "reopened": _("The step is open again."),
        "saved": _("Saved."),
    }.get(flag)


class SetupPages(Controller):
    """The setup wizard: overview and one page per step."""

    path = "/setup"
    guards = [hq_admin_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="setup:overview", media_type=MediaType.HTML)
    async def overview(self, request: Request[Any, Any, Any]) -> Template:
        """Progress and every step with its state; resume where it was left."""
        state = await wizard.load_state(_available_paths(request.app))
        return _html(
            "governance/wizard.html",
            {"tenant": current_tenant(), "state": state, "message": _message(request)},
        )

    @get("/{key:str}", name="setup:step", media_type=MediaType.HTML)
    async def step(self, request: Request[Any, Any, Any], key: str) -> Template:
        """One step: what it is about, where to do it, and done / skip."""
        if wizard.step_by_key(key) is None:
            raise NotFoundException()
        context = await _step_context(request, key, message=_message(request))
        return _html("governance/wizard_step.html", context)

    @post("/{key:str}", name="setup:act", media_type=MediaType.HTML)
    async def act(self, request: Request[Any, Any, Any], key: str, data: Form) -> Any:
        """Confirm, skip or reopen a step; save the language; quick-add a unit."""
        if wizard.step_by_key(key) is None:
            raise NotFoundException()
        action = data.get("action") or ""
        if action in ("confirm", "skip", "reopen"):
            choice = {"confirm": "confirmed", "skip": "skipped", "reopen": None}[action]
            await wizard.set_choice(key, choice)
            if action == "reopen":
                return redirect(request, f"/setup/{key}?done=reopened")
            state = await wizard.load_state(_available_paths(request.app))
            following = state.current
            target = f"/setup/{following.step.key}" if following else "/setup"
            return redirect(request, f"{target}?done={choice}")
        if action == "language" and key == "basics":
            return await self._language(request, data)
        if action == "add_unit" and key == "units":
            return await self._add_unit(request, data)
        raise NotFoundException()

    async def _language(self, request: Request[Any, Any, Any], data: dict[str, str]) -> Any:
        locale = data.get("default_locale") or ""
        try:
            await wizard.set_default_locale(locale)
        except wizard.SetupError as exc:
            context = await _step_context(
                request, "basics", errors={exc.field: str(exc.message)}, default_locale=locale
            )
            return _html("governance/wizard_step.html", context, 422)
        await wizard.set_choice("basics", "confirmed")
        state = await wizard.load_state(_available_paths(request.app))
        following = state.current
        target = f"/setup/{following.step.key}" if following else "/setup"
        return redirect(request, f"{target}?done=confirmed")

    async def _add_unit(self, request: Request[Any, Any, Any], data: dict[str, str]) -> Any:
        principal = principal_of(request)
        errors: dict[str, str] = {}
        kind = data.get("kind") or ""
        if kind not in QUICK_KINDS:
            errors["kind"] = _("Choose a kind of unit from the list.")
        parent = None
        raw = (data.get("parent_id") or "").strip()
        if not raw.isdigit():
            errors["parent_id"] = _("Choose a unit from the list.")
        else:
            parent = await service.get_unit(int(raw))
            if parent is None:
                raise NotFoundException()
            if not principal.can(editor.EDIT, parent.path):
                raise PermissionDeniedException()
            if parent.archived:
                errors["parent_id"] = _("Choose a unit that is not archived.")
        created = None
        if parent is not None and not errors:
            unit = UnitData(
                code=data.get("code") or "",
                name=data.get("name") or "",
                kind=kind,
                locale=data.get("locale") or parent.locale,
                timezone=parent.timezone,
                currency=data.get("currency") or parent.currency,
            )
            try:
                created = await editor.add_unit(unit, parent)
            except UnitError as exc:
                errors[{"parent": "parent_id", "unit": "form"}.get(exc.field, exc.field)] = str(
                    exc.message
                )
        wizard.forget_cached()
        if created is None:
            if is_partial_request(request):
                context = await _units_context(principal, values=dict(data), errors=errors)
                return _html(
                    "governance/wizard_units.html",
                    {"tenant": current_tenant(), **context},
                    422,
                )
            context = await _step_context(
                request,
                "units",
                **await _units_context(principal, values=dict(data), errors=errors),
            )
            return _html("governance/wizard_step.html", context, 422)
        message = _("%(name)s is added.", name=created.name)
        if is_partial_request(request):
            keep = {"kind": kind, "parent_id": str(parent.id) if parent else ""}
            context = await _units_context(principal, values=keep, message=message)
            return _html("governance/wizard_units.html", {"tenant": current_tenant(), **context})
        return redirect(request, "/setup/units?done=saved")


class SetupNavMiddleware(ASGIMiddleware):
    """Tells the nav (``scope[SETUP_PENDING_KEY]``) whether to offer "Set up".

    Only for HQ admins on full-page GETs of a tenant host; the state is cached a few
    seconds per process, and a failure here never breaks the page.
    """

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = ("^/api/", "^/static/", "^/healthz")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("user")
        headers = dict(scope.get("headers", []))
        if (
            scope.get("method") == "GET"
            and peek_tenant() is not None
            and isinstance(principal, Principal)
            and wizard.is_hq_admin(principal)
            and not (
                headers.get(b"hx-request") == b"true" and headers.get(b"hx-boosted") != b"true"
            )
        ):
            try:
                paths = _available_paths(Litestar.from_scope(scope))
                fresh = scope["path"].startswith("/setup")
                scope[SETUP_PENDING_KEY] = await wizard.pending_cached(paths, fresh=fresh)  # type: ignore[literal-required]
            except Exception:  # the nav hint is optional; the page must still load
                logger.exception("setup state unavailable")
        await next_app(scope, receive, send)
