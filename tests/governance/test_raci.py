"""RACI validation: exactly one A per activity, in the rules, the service and the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import use_tenant
from scalemark.governance import raci
from scalemark.governance.raci import ActivityData, accountable_problem
from scalemark.governance.vocabulary import GovernanceError
from scalemark.i18n import use_locale
from support.identity import Organisation, organisation


def errors_of(data: ActivityData) -> dict[str, str]:
    with use_locale("en"), pytest.raises(GovernanceError) as caught:
        raci.validate_activity(data)
    return caught.value.errors


# --------------------------------------------------------------------------- rules


def test_exactly_one_accountable_role() -> None:
    with use_locale("en"):
        assert accountable_problem("Planning", {"hq_admin": "A", "unit_lead": "R"}) is None
        none = accountable_problem("Planning", {"unit_lead": "R"})
        assert none == "Choose the one role that is accountable (A) for this activity."
        two = accountable_problem("Planning", {"hq_admin": "A", "unit_lead": "A", "it_owner": "C"})
    assert two is not None
    assert "“Planning”" in two and "2" in two
    assert "HQ admin" in two and "Unit lead" in two and "IT / platform owner" not in two


def test_two_as_in_a_row_are_reported_with_the_roles() -> None:
    errors = errors_of(
        ActivityData("Campaign approval", assignments={"hq_admin": "A", "unit_lead": "a"})
    )
    assert set(errors) == {"assignments"}
    assert "HQ admin, Unit lead" in errors["assignments"]


def test_letters_and_roles_are_checked() -> None:
    errors = errors_of(
        ActivityData("", assignments={"hq_admin": "A", "unit_lead": "X", "ceo": "R"})
    )
    assert errors["title"] == "Give the activity a name."
    assert errors["role-unit_lead"] == "Choose R, A, C, I or nothing."
    assert errors["assignments"] == "Choose letters only for the roles of the matrix."


def test_valid_row_is_normalised() -> None:
    data = raci.validate_activity(
        ActivityData(
            "  KPI   reporting ",
            assignments={"stakeholder": "i", "hq_admin": " A ", "unit_lead": "r", "it_owner": ""},
        )
    )
    assert data.title == "KPI reporting"
    assert data.assignments == {"hq_admin": "A", "unit_lead": "R", "stakeholder": "I"}


# --------------------------------------------------------------------------- service


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="graci") as created:
        with use_tenant(created.tenant), use_locale("en"):
            yield created


async def test_rows_are_saved_changed_and_archived(org: Organisation) -> None:
    row = await raci.create_activity(
        ActivityData("Campaign planning", assignments={"unit_lead": "A", "contributor": "R"})
    )
    assert row.letter("unit_lead") == "A" and row.letter("hq_admin") == ""
    changed = await raci.update_activity(
        row.id,
        ActivityData(
            "Campaign planning", assignments={"hq_admin": "A", "unit_lead": "R", "stakeholder": "I"}
        ),
    )
    assert changed.assignments == {"hq_admin": "A", "unit_lead": "R", "stakeholder": "I"}
    with pytest.raises(GovernanceError) as two:
        await raci.update_activity(
            row.id,
            ActivityData("Campaign planning", assignments={"hq_admin": "A", "unit_lead": "A"}),
        )
    assert two.value.field == "assignments"
    assert (await raci.get_activity(row.id)).assignments == changed.assignments

    with pytest.raises(GovernanceError) as duplicate:
        await raci.create_activity(ActivityData("campaign PLANNING", assignments={"hq_admin": "A"}))
    assert duplicate.value.field == "title"

    await raci.archive_activity(row.id)
    assert await raci.list_activities() == []
    async with tenant_transaction() as conn:
        audit = await conn.fetch(
            "SELECT action, before, after FROM audit_event WHERE action LIKE 'governance.raci.%'"
            " ORDER BY id"
        )
    assert [a["action"] for a in audit] == [
        "governance.raci.create",
        "governance.raci.update",
        "governance.raci.archive",
    ]
    assert json.loads(audit[1]["before"])["assignments"] == {"unit_lead": "A", "contributor": "R"}


async def test_database_allows_at_most_one_a(org: Organisation) -> None:
    row = await raci.create_activity(ActivityData("Approval", assignments={"hq_admin": "A"}))
    with pytest.raises(asyncpg.UniqueViolationError):
        async with tenant_transaction() as conn:
            await conn.execute(
                "INSERT INTO raci_assignment (activity_id, role, letter)"
                " VALUES ($1, 'unit_lead', 'A')",
                row.id,
            )


async def test_database_needs_at_least_one_a_when_the_transaction_ends(
    org: Organisation, db_pool: asyncpg.Pool
) -> None:
    row = await raci.create_activity(ActivityData("Approval", assignments={"hq_admin": "A"}))

    async def commit(sql: str, *args: object) -> None:
        # A plain asyncpg transaction: the deferred trigger fires at COMMIT.
        async with db_pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('search_path', $1, true)", org.tenant.schema)
            await conn.execute(sql, *args)

    with pytest.raises(asyncpg.CheckViolationError):
        await commit("UPDATE raci_assignment SET letter = 'R' WHERE activity_id = $1", row.id)
    with pytest.raises(asyncpg.CheckViolationError):
        await commit("INSERT INTO raci_activity (title) VALUES ('No one answers')")
    # Archived rows are exempt; the row above is unchanged.
    await commit("INSERT INTO raci_activity (title, archived_at) VALUES ('Old row', now())")
    assert (await raci.get_activity(row.id)).assignments == {"hq_admin": "A"}


async def test_service_checks_the_database_rule_before_commit(org: Organisation) -> None:
    """Even past the rules (a race, a bug), the trigger fires inside the service's block."""
    row = await raci.create_activity(ActivityData("Approval", assignments={"hq_admin": "A"}))
    with pytest.raises(asyncpg.CheckViolationError):
        async with tenant_transaction() as conn:
            await conn.execute("DELETE FROM raci_assignment WHERE activity_id = $1", row.id)
            await conn.execute(raci._CHECK_NOW)
    # The session goes on normally afterwards (nothing leaked, nothing changed).
    assert (await raci.get_activity(row.id)).assignments == {"hq_admin": "A"}
