"""Approval workflow definitions: validation and step handling as plain functions, then the
service against a real tenant schema."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.datastructures import FormMultiDict

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import use_tenant
from scalemark.governance import workflows
from scalemark.governance.vocabulary import GovernanceError
from scalemark.governance.workflow_routes import apply_step_action, steps_from_form
from scalemark.governance.workflows import StepData, WorkflowData
from scalemark.i18n import use_locale
from support.identity import Organisation, organisation


def step(
    role: str = "unit_lead", level: str = "same_unit", days: str = "3", **extra: str
) -> StepData:
    return StepData(approver_role=role, approver_level=level, days=days, **extra)


def errors_of(data: WorkflowData) -> dict[str, str]:
    with use_locale("en"), pytest.raises(GovernanceError) as caught:
        workflows.validate_workflow(data)
    return caught.value.errors


# --------------------------------------------------------------------------- rules


def test_a_workflow_needs_a_name_and_at_least_one_step() -> None:
    errors = errors_of(WorkflowData("  ", steps=[StepData(), StepData()]))
    assert errors == {
        "name": "Give the workflow a name.",
        "steps": "Add at least one approval step.",
    }


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("-2", "Enter a time limit of 1 to 365 days."),
        ("0", "Enter a time limit of 1 to 365 days."),
        ("366", "Enter a time limit of 1 to 365 days."),
        ("three", "Enter the time limit as a whole number of days."),
        ("2.5", "Enter the time limit as a whole number of days."),
        ("", "Enter the time limit as a whole number of days."),
    ],
)
def test_day_limits_are_whole_positive_numbers(days: str, message: str) -> None:
    errors = errors_of(WorkflowData("Approval", steps=[step(), step(days=days)]))
    assert errors == {"step-2-days": message}


def test_step_fields_are_checked_and_named_by_row() -> None:
    errors = errors_of(
        WorkflowData(
            "Approval",
            steps=[
                StepData(),  # blank rows are skipped, but keep their number
                step(role="stakeholder", level="moon"),
                step(escalation_role="hq_admin"),
                step(escalation_level="hq"),
            ],
        )
    )
    assert set(errors) == {
        "step-2-approver_role",
        "step-2-approver_level",
        "step-3-escalation_level",
        "step-4-escalation_role",
    }


def test_valid_workflow_drops_blank_rows_and_normalises_days() -> None:
    data = workflows.validate_workflow(
        WorkflowData(
            " Campaign   approval ",
            steps=[
                StepData(),
                step(days=" 05 "),
                step("hq_admin", "hq", "7", escalation_role="hq_admin", escalation_level="hq"),
            ],
        )
    )
    assert data.name == "Campaign approval"
    assert [s.days for s in data.steps] == ["5", "7"]
    assert data.steps[1].snapshot(2) == {
        "position": 2,
        "approver_role": "hq_admin",
        "approver_level": "hq",
        "days_limit": 7,
        "escalation_role": "hq_admin",
        "escalation_level": "hq",
    }


def test_too_many_steps() -> None:
    errors = errors_of(WorkflowData("Long", steps=[step() for _ in range(11)]))
    assert errors == {"steps": "A workflow has at most 10 steps."}


def test_steps_come_from_repeated_form_fields() -> None:
    form = FormMultiDict(
        [
            ("step_approver_role", "unit_lead"),
            ("step_approver_level", "same_unit"),
            ("step_days", "3"),
            ("step_escalation_role", ""),
            ("step_escalation_level", ""),
            ("step_approver_role", "hq_admin"),
            ("step_approver_level", "hq"),
            ("step_days", " 5 "),
            ("step_escalation_role", "hq_admin"),
            ("step_escalation_level", "hq"),
        ]
    )
    steps = steps_from_form(form)
    assert [(s.approver_role, s.days, s.escalation_level) for s in steps] == [
        ("unit_lead", "3", ""),
        ("hq_admin", "5", "hq"),
    ]
    assert steps_from_form(FormMultiDict([])) == []


def test_step_actions_add_move_and_remove() -> None:
    a, b = step("unit_lead"), step("hq_admin")
    assert apply_step_action([a, b], "save") is None
    assert apply_step_action([a], "add_step") == [a, StepData()]
    assert apply_step_action([a, b], "up-2") == [b, a]
    assert apply_step_action([a, b], "up-1") == [a, b]
    assert apply_step_action([a, b], "remove-1") == [b]
    assert apply_step_action([a, b], "remove-9") == [a, b]
    assert apply_step_action([a] * 10, "add_step") == [a] * 10


# --------------------------------------------------------------------------- service


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="gwf") as created:
        with use_tenant(created.tenant), use_locale("en"):
            yield created


async def test_workflow_lifecycle_keeps_step_order(org: Organisation) -> None:
    created = await workflows.create_workflow(
        WorkflowData(
            "Campaign approval",
            "Two steps",
            [
                step(),
                step("hq_admin", "hq", "5", escalation_role="hq_admin", escalation_level="hq"),
            ],
        )
    )
    assert [s.approver_role for s in created.steps] == ["unit_lead", "hq_admin"]
    assert created.snapshot()["steps"][1]["days_limit"] == 5

    reordered = await workflows.update_workflow(
        created.id, WorkflowData("Campaign approval", "", list(reversed(created.data().steps)))
    )
    assert [s.approver_role for s in reordered.steps] == ["hq_admin", "unit_lead"]
    async with tenant_transaction() as conn:
        positions = await conn.fetch(
            "SELECT position, approver_role FROM approval_step WHERE workflow_id = $1"
            " ORDER BY position",
            created.id,
        )
    assert [(r["position"], r["approver_role"]) for r in positions] == [
        (1, "hq_admin"),
        (2, "unit_lead"),
    ]

    await workflows.archive_workflow(created.id)
    assert await workflows.list_workflows() == []
    # The name is free again once archived.
    await workflows.create_workflow(WorkflowData("campaign APPROVAL", steps=[step()]))


async def test_duplicate_names_and_bad_steps_are_refused(org: Organisation) -> None:
    await workflows.create_workflow(WorkflowData("Campaign approval", steps=[step()]))
    with pytest.raises(GovernanceError) as duplicate:
        await workflows.create_workflow(WorkflowData("campaign approval", steps=[step()]))
    assert duplicate.value.errors == {"name": "Another workflow already has this name."}
    with pytest.raises(GovernanceError) as negative:
        await workflows.create_workflow(WorkflowData("Other", steps=[step(days="-1")]))
    assert set(negative.value.errors) == {"step-1-days"}
    assert len(await workflows.list_workflows()) == 1


async def test_database_refuses_what_the_rules_refuse(org: Organisation) -> None:
    created = await workflows.create_workflow(WorkflowData("Approval", steps=[step()]))
    with pytest.raises(asyncpg.CheckViolationError):
        async with tenant_transaction() as conn:
            await conn.execute(
                "UPDATE approval_step SET days_limit = -3 WHERE workflow_id = $1", created.id
            )


async def test_workflow_changes_are_audited(org: Organisation) -> None:
    created = await workflows.create_workflow(WorkflowData("Approval", steps=[step()]))
    await workflows.update_workflow(created.id, WorkflowData("Approval", steps=[step(days="9")]))
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            "SELECT before, after FROM audit_event WHERE action = 'governance.workflow.update'"
        )
    assert json.loads(row["before"])["steps"][0]["days_limit"] == 3
    assert json.loads(row["after"])["steps"][0]["days_limit"] == 9
