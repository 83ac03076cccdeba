"""``/governance/workflows``: approval workflows with ordered steps.

Central managers edit them; unit leads read the published workflows here. The step rows
of the form work without JavaScript: "add a step", "move up" and "remove" post the form
back and get it re-rendered with the input kept.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.response import Template

from scalemark.governance import workflows
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
from scalemark.governance.vocabulary import GovernanceError
from scalemark.governance.workflows import STEPS_MAX, StepData, Workflow, WorkflowData
from scalemark.i18n import gettext as _
from scalemark.identity.guards import requires
from scalemark.web.htmx import redirect

__all__ = ["WorkflowPages", "apply_step_action", "steps_from_form"]

_BASE = "/governance/workflows"
_FORM = "governance/_workflow_form.html"
_STEP_FIELDS = ("approver_role", "approver_level", "days", "escalation_role", "escalation_level")


def steps_from_form(form: FormMultiDict) -> list[StepData]:
    """Step rows from the repeated ``step_<field>`` form fields, in order."""
    columns = {name: [str(v) for v in form.getall(f"step_{name}", [])] for name in _STEP_FIELDS}
    rows = max((len(values) for values in columns.values()), default=0)
    return [
        StepData(
            **{
                name: (columns[name][i] if i < len(columns[name]) else "").strip()
                for name in _STEP_FIELDS
            }
        )
        for i in range(min(rows, STEPS_MAX * 2))
    ]


def apply_step_action(steps: list[StepData], action: str) -> list[StepData] | None:
    """Apply ``add_step``, ``up-<n>`` or ``remove-<n>`` (``n`` from 1); ``None`` for save."""
    name, _sep, number = action.partition("-")
    index = int(number) - 1 if number.isdigit() else -1
    if name == "add_step":
        return [*steps, StepData()] if len(steps) < STEPS_MAX else steps
    if name == "up" and 0 < index < len(steps):
        steps[index - 1], steps[index] = steps[index], steps[index - 1]
        return steps
    if name == "remove" and 0 <= index < len(steps):
        return steps[:index] + steps[index + 1 :]
    if name in {"up", "remove"}:
        return steps
    return None


def _values(form: FormMultiDict) -> WorkflowData:
    return WorkflowData(
        name=str(form.get("name") or ""),
        description=str(form.get("description") or ""),
        steps=steps_from_form(form),
    )


def _form_context(
    values: WorkflowData, *, errors: dict[str, str] | None = None, workflow: Workflow | None = None
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors or {},
        "workflow": workflow,
        "action": f"{_BASE}/{workflow.id}" if workflow else _BASE,
        "steps_max": STEPS_MAX,
    }


def _new_values() -> WorkflowData:
    return WorkflowData("", "", [StepData()])


async def _workflow(workflow_id: int) -> Workflow:
    workflow = await workflows.get_workflow(workflow_id)
    if workflow is None:
        raise NotFoundException()
    return workflow


class WorkflowPages(Controller):
    """Approval workflows: list, add, change, archive."""

    path = _BASE
    guards = [requires(MANAGE)]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="governance:workflows")
    async def list_page(self, request: Request[Any, Any, Any]) -> Template:
        """The workflows (drafts for HQ, the published ones for unit leads)."""
        scope = await scope_of(request)
        latest, items = await draft_or_published(scope, workflows.list_workflows, "workflows")
        message = {"saved": _("The workflow is saved."), "archived": _("The workflow is archived.")}
        flash = flash_message(request, message)
        return render(
            request,
            "governance/workflows.html",
            {
                "scope": scope,
                "workflows": items,
                "latest": latest,
                "message": flash,
                "new_values": _new_values(),
                "steps_max": STEPS_MAX,
            },
        )

    async def _form(
        self,
        request: Request[Any, Any, Any],
        scope: GovernanceScope,
        values: WorkflowData,
        *,
        errors: dict[str, str] | None = None,
        workflow: Workflow | None = None,
        status: int = 200,
    ) -> Template:
        return render_form(
            request,
            _FORM,
            {"scope": scope, **_form_context(values, errors=errors, workflow=workflow)},
            title=_("Change the workflow") if workflow else _("Add a workflow"),
            back=_BASE,
            status=status,
        )

    @get("/new", name="governance:workflows:new")
    async def new_form(self, request: Request[Any, Any, Any]) -> Template:
        """An empty form with one step row."""
        scope = await central_scope(request)
        return await self._form(request, scope, _new_values())

    @post("/", name="governance:workflows:create")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any] | Template:
        """Add a workflow, or apply a step action and show the form again."""
        scope = await central_scope(request)
        form = await read_form(request)
        values = _values(form)
        steps = apply_step_action(values.steps, str(form.get("action") or "save"))
        if steps is not None:
            values.steps = steps
            return await self._form(request, scope, values)
        shown = WorkflowData(values.name, values.description, list(values.steps))
        try:
            await workflows.create_workflow(values)
        except GovernanceError as exc:
            return await self._form(request, scope, shown, errors=exc.errors, status=422)
        return redirect(request, f"{_BASE}?saved=1")

    @get("/{workflow_id:int}/edit", name="governance:workflows:edit")
    async def edit_form(self, request: Request[Any, Any, Any], workflow_id: int) -> Template:
        """The form for one workflow."""
        scope = await central_scope(request)
        workflow = await _workflow(workflow_id)
        return await self._form(request, scope, workflow.data(), workflow=workflow)

    @post("/{workflow_id:int}", name="governance:workflows:update")
    async def update(
        self, request: Request[Any, Any, Any], workflow_id: int
    ) -> Response[Any] | Template:
        """Save a changed workflow, or apply a step action."""
        scope = await central_scope(request)
        workflow = await _workflow(workflow_id)
        form = await read_form(request)
        values = _values(form)
        steps = apply_step_action(values.steps, str(form.get("action") or "save"))
        if steps is not None:
            values.steps = steps
            return await self._form(request, scope, values, workflow=workflow)
        shown = WorkflowData(values.name, values.description, list(values.steps))
        try:
            await workflows.update_workflow(workflow_id, values)
        except GovernanceError as exc:
            return await self._form(
                request, scope, shown, errors=exc.errors, workflow=workflow, status=422
            )
        return redirect(request, f"{_BASE}?saved=1")

    @post("/{workflow_id:int}/archive", name="governance:workflows:archive")
    async def archive(self, request: Request[Any, Any, Any], workflow_id: int) -> Response[Any]:
        """Take a workflow out of the draft."""
        await central_scope(request)
        await _workflow(workflow_id)
        try:
            await workflows.archive_workflow(workflow_id)
        except GovernanceError as exc:
            raise NotFoundException() from exc
        return redirect(request, f"{_BASE}?archived=1")
