"""Approval workflows: named, with ordered steps (who approves where, within how many days,
and whom it escalates to when the time runs out). Campaign templates and other sign-offs
use them later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from scalemark.db import tenant_transaction
from scalemark.governance.vocabulary import (
    APPROVER_LEVELS,
    APPROVER_ROLES,
    TEXT_MAX,
    TITLE_MAX,
    GovernanceError,
    GovernanceErrors,
    clean_text,
    storable_id,
)
from scalemark.i18n import gettext as _
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit

__all__ = [
    "DAYS_MAX",
    "STEPS_MAX",
    "StepData",
    "Workflow",
    "WorkflowData",
    "archive_workflow",
    "create_workflow",
    "get_workflow",
    "list_workflows",
    "parse_days",
    "update_workflow",
    "validate_workflow",
]

DAYS_MAX = 365
"""Longest time limit of a step, in days."""
STEPS_MAX = 10
"""Most steps in one workflow."""


@dataclass
class StepData:
    """One approval step as entered (``days`` stays text until validated)."""

    approver_role: str = ""
    approver_level: str = ""
    days: str = ""
    escalation_role: str = ""
    escalation_level: str = ""

    @property
    def blank(self) -> bool:
        """Nothing entered in this row (such rows are ignored)."""
        return not (
            self.approver_role
            or self.approver_level
            or self.days.strip()
            or self.escalation_role
            or self.escalation_level
        )

    @property
    def days_limit(self) -> int:
        """The validated time limit."""
        return int(self.days)

    def snapshot(self, position: int) -> dict[str, Any]:
        """The step in a published version."""
        return {
            "position": position,
            "approver_role": self.approver_role,
            "approver_level": self.approver_level,
            "days_limit": self.days_limit,
            "escalation_role": self.escalation_role or None,
            "escalation_level": self.escalation_level or None,
        }


@dataclass
class WorkflowData:
    """The editable fields of a workflow; ``steps`` in order."""

    name: str
    description: str = ""
    steps: list[StepData] = field(default_factory=list)


@dataclass(frozen=True)
class Workflow:
    """A workflow and its steps."""

    id: int
    name: str
    description: str
    steps: tuple[StepData, ...]

    def snapshot(self) -> dict[str, Any]:
        """The workflow in a published version."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "steps": [s.snapshot(i) for i, s in enumerate(self.steps, start=1)],
        }

    def data(self) -> WorkflowData:
        """Editable copy for the form."""
        return WorkflowData(
            self.name, self.description, [StepData(**asdict(s)) for s in self.steps]
        )


def parse_days(value: str) -> int | None:
    """A whole number of days from a form field, or ``None``."""
    text = value.strip()
    if not text or not text.lstrip("-+").isdigit():
        return None
    return int(text)


def validate_workflow(data: WorkflowData) -> WorkflowData:
    """Normalise and check; raises :class:`GovernanceErrors` naming every bad field.

    Blank step rows are dropped; a workflow needs at least one step. Step fields are named
    ``step-<n>-<field>`` (``n`` counts from 1 over the rows as entered).
    """
    data.name = " ".join(clean_text(data.name, TITLE_MAX).split())
    data.description = clean_text(data.description)
    errors: dict[str, str] = {}
    if not data.name:
        errors["name"] = _("Give the workflow a name.")
    elif len(data.name) > TITLE_MAX:
        errors["name"] = _("Use at most %(max)s characters for the name.", max=TITLE_MAX)
    if len(data.description) > TEXT_MAX:
        errors["description"] = _("Use at most %(max)s characters.", max=TEXT_MAX)
    kept: list[StepData] = []
    for number, step in enumerate(data.steps, start=1):
        if step.blank:
            continue
        kept.append(step)
        prefix = f"step-{number}-"
        if step.approver_role not in APPROVER_ROLES:
            errors[prefix + "approver_role"] = _("Choose the role that approves.")
        if step.approver_level not in APPROVER_LEVELS:
            errors[prefix + "approver_level"] = _("Choose where the approver sits.")
        days = parse_days(step.days)
        if days is None:
            errors[prefix + "days"] = _("Enter the time limit as a whole number of days.")
        elif not 1 <= days <= DAYS_MAX:
            errors[prefix + "days"] = _("Enter a time limit of 1 to %(max)s days.", max=DAYS_MAX)
        else:
            step.days = str(days)
        if step.escalation_role and step.escalation_role not in APPROVER_ROLES:
            errors[prefix + "escalation_role"] = _("Choose a role from the list.")
        if step.escalation_level and step.escalation_level not in APPROVER_LEVELS:
            errors[prefix + "escalation_level"] = _("Choose a unit level from the list.")
        if bool(step.escalation_role) != bool(step.escalation_level):
            field_name = "escalation_level" if step.escalation_role else "escalation_role"
            errors.setdefault(
                prefix + field_name,
                _("Choose both the role and the unit level the step escalates to."),
            )
    if not kept:
        errors["steps"] = _("Add at least one approval step.")
    elif len(kept) > STEPS_MAX:
        errors["steps"] = _("A workflow has at most %(max)s steps.", max=STEPS_MAX)
    if errors:
        raise GovernanceErrors(errors)
    data.steps = kept
    return data


async def _load(conn: Any, where: str, *args: Any) -> list[Workflow]:
    rows = await conn.fetch(
        f"SELECT id, name, description FROM approval_workflow WHERE archived_at IS NULL{where}"
        " ORDER BY lower(name)",
        *args,
    )
    if not rows:
        return []
    steps = await conn.fetch(
        "SELECT workflow_id, approver_role, approver_level, days_limit, escalation_role,"
        " escalation_level FROM approval_step WHERE workflow_id = ANY($1::bigint[])"
        " ORDER BY workflow_id, position",
        [r["id"] for r in rows],
    )
    by_workflow: dict[int, list[StepData]] = {}
    for s in steps:
        by_workflow.setdefault(s["workflow_id"], []).append(
            StepData(
                approver_role=s["approver_role"],
                approver_level=s["approver_level"],
                days=str(s["days_limit"]),
                escalation_role=s["escalation_role"] or "",
                escalation_level=s["escalation_level"] or "",
            )
        )
    return [
        Workflow(r["id"], r["name"], r["description"], tuple(by_workflow.get(r["id"], [])))
        for r in rows
    ]


async def list_workflows() -> list[Workflow]:
    """Active workflows by name."""
    async with tenant_transaction() as conn:
        return await _load(conn, "")


async def get_workflow(workflow_id: int) -> Workflow | None:
    """An active workflow by id."""
    if not storable_id(workflow_id):
        return None
    async with tenant_transaction() as conn:
        found = await _load(conn, " AND id = $1", workflow_id)
    return found[0] if found else None


async def _check_name(conn: Any, name: str, exclude_id: int | None) -> None:
    clash = await conn.fetchval(
        "SELECT 1 FROM approval_workflow WHERE archived_at IS NULL AND lower(name) = lower($1)"
        " AND id IS DISTINCT FROM $2",
        name,
        exclude_id,
    )
    if clash:
        raise GovernanceError("name", _l("Another workflow already has this name."))


async def _write_steps(conn: Any, workflow_id: int, steps: list[StepData]) -> None:
    await conn.execute("DELETE FROM approval_step WHERE workflow_id = $1", workflow_id)
    await conn.executemany(
        "INSERT INTO approval_step (workflow_id, position, approver_role, approver_level,"
        " days_limit, escalation_role, escalation_level) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            (
                workflow_id,
                position,
                s.approver_role,
                s.approver_level,
                s.days_limit,
                s.escalation_role or None,
                s.escalation_level or None,
            )
            for position, s in enumerate(steps, start=1)
        ],
    )


async def create_workflow(data: WorkflowData) -> Workflow:
    """Add a workflow with its steps; checked and audited."""
    validate_workflow(data)
    try:
        async with tenant_transaction() as conn:
            await _check_name(conn, data.name, None)
            workflow_id = await conn.fetchval(
                "INSERT INTO approval_workflow (name, description) VALUES ($1, $2) RETURNING id",
                data.name,
                data.description,
            )
            await _write_steps(conn, workflow_id, data.steps)
            created = await get_workflow(workflow_id)
            assert created is not None
            await audit.record(
                "governance.workflow.create",
                object_type="approval_workflow",
                object_id=workflow_id,
                after=created.snapshot(),
            )
    except asyncpg.UniqueViolationError as exc:
        raise GovernanceError("name", _l("Another workflow already has this name.")) from exc
    return created


async def update_workflow(workflow_id: int, data: WorkflowData) -> Workflow:
    """Replace a workflow's name, description and steps."""
    validate_workflow(data)
    try:
        async with tenant_transaction() as conn:
            before = await get_workflow(workflow_id)
            if before is None:
                raise GovernanceError("form", _l("This workflow no longer exists."))
            await _check_name(conn, data.name, workflow_id)
            await conn.execute(
                "UPDATE approval_workflow SET name = $2, description = $3, updated_at = now()"
                " WHERE id = $1",
                workflow_id,
                data.name,
                data.description,
            )
            await _write_steps(conn, workflow_id, data.steps)
            after = await get_workflow(workflow_id)
            assert after is not None
            await audit.record(
                "governance.workflow.update",
                object_type="approval_workflow",
                object_id=workflow_id,
                before=before.snapshot(),
                after=after.snapshot(),
            )
    except asyncpg.UniqueViolationError as exc:
        raise GovernanceError("name", _l("Another workflow already has this name.")) from exc
    return after


async def archive_workflow(workflow_id: int) -> Workflow:
    """Take a workflow out of the draft (published versions keep it)."""
    async with tenant_transaction() as conn:
        before = await get_workflow(workflow_id)
        if before is None:
            raise GovernanceError("form", _l("This workflow no longer exists."))
        await conn.execute(
            "UPDATE approval_workflow SET archived_at = now(), updated_at = now() WHERE id = $1",
            workflow_id,
        )
        await audit.record(
            "governance.workflow.archive",
            object_type="approval_workflow",
            object_id=workflow_id,
            before=before.snapshot(),
        )
    return before
