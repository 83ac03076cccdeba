"""Standards: the rules as plain functions, then the service against a real tenant schema.

Tree: HQ → DACH → DE and HQ → WEST → FR.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import use_tenant
from scalemark.governance import standards
from scalemark.governance.standards import Standard, StandardData, title_conflict
from scalemark.governance.vocabulary import GovernanceError
from scalemark.i18n import use_locale
from support.identity import Organisation, organisation


def standard(id: int, title: str, scope_path: str | None = None, scope_name: str = "") -> Standard:
    return Standard(
        id=id,
        scope_unit_id=None if scope_path is None else id * 100,
        scope_code="",
        scope_name=scope_name,
        scope_path=scope_path,
        category="process",
        title=title,
        description="",
        level="mandatory",
        applies_to_kinds=(),
        owner_role="hq_admin",
    )


# --------------------------------------------------------------------------- rules


def test_validation_reports_every_bad_field_at_once() -> None:
    with use_locale("en"), pytest.raises(GovernanceError) as caught:
        standards.validate_standard(
            StandardData(
                title="   ",
                category="other",
                level="optional",
                applies_to_kinds=["country", "galaxy"],
                owner_role="boss",
            )
        )
    errors = caught.value.errors
    assert set(errors) == {"title", "category", "level", "applies_to_kinds", "owner_role"}
    assert errors["title"] == "Give the standard a title."


def test_validation_normalises_title_and_kinds() -> None:
    data = standards.validate_standard(
        StandardData(
            title="  Brand   guardrails ",
            description="  Keep the CI.\r\n",
            applies_to_kinds=["team", "country", "country", ""],
        )
    )
    assert data.title == "Brand guardrails"
    assert data.description == "Keep the CI."
    assert data.applies_to_kinds == ["country", "team"]  # tree order, no doubles


def test_overlong_title_is_refused() -> None:
    with use_locale("en"), pytest.raises(GovernanceError) as caught:
        standards.validate_standard(StandardData(title="x" * 201))
    assert "200" in caught.value.errors["title"]


def test_title_conflicts_follow_the_tree() -> None:
    central = standard(1, "Campaign process")
    dach = standard(2, "Regional review", "/1/2/", "DACH")
    de = standard(3, "German legal check", "/1/2/3/", "Germany")
    others = [central, dach, de]
    with use_locale("en"):
        # Same scope, any case.
        assert "already has this title" in title_conflict("campaign PROCESS", None, others)
        # A local addition cannot shadow (or weaken) a central standard.
        assert "central standard" in title_conflict("Campaign process", "/1/2/3/", others)
        # Nor one inherited from a unit above.
        assert "DACH" in title_conflict("Regional review", "/1/2/3/", others)
        # A unit below already uses it: the new one would apply there twice.
        assert "Germany" in title_conflict("German legal check", "/1/2/", others)
        assert "Germany" in title_conflict("German legal check", None, others)
    # Siblings and cousins may share titles; editing keeps one's own title.
    assert title_conflict("German legal check", "/1/4/5/", others) is None
    assert title_conflict("Regional review", "/1/4/", others) is None
    assert title_conflict("Campaign process", None, others, exclude_id=1) is None


# --------------------------------------------------------------------------- service


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="gstd") as created:
        with use_tenant(created.tenant), use_locale("en"):
            yield created


async def audit_rows(action: str) -> list[asyncpg.Record]:
    async with tenant_transaction() as conn:
        return list(
            await conn.fetch(
                "SELECT object_id, before, after FROM audit_event WHERE action = $1 ORDER BY id",
                action,
            )
        )


async def test_central_and_local_standards(org: Organisation) -> None:
    central = await standards.create_standard(
        StandardData("Campaign process", "Brief, plan, launch.", "campaign", "mandatory")
    )
    assert central.central and central.scope_path is None
    local = await standards.create_standard(
        StandardData(
            "German legal check",
            level="recommended",
            applies_to_kinds=["country"],
            owner_role="unit_lead",
            scope_unit_id=org.unit_id("DE"),
        )
    )
    assert (local.scope_code, local.scope_name) == ("DE", "Germany")
    assert local.applies_to_kinds == ("country",)

    everything = await standards.list_standards()
    assert [s.title for s in everything] == ["Campaign process", "German legal check"]
    west = await standards.list_standards(within=[org.units["WEST"].path])
    assert [s.title for s in west] == ["Campaign process"]
    dach = await standards.list_standards(within=[org.units["DACH"].path])
    assert [s.title for s in dach] == ["Campaign process", "German legal check"]


async def test_duplicates_and_shadowing_are_refused(org: Organisation) -> None:
    await standards.create_standard(StandardData("Campaign process"))
    with pytest.raises(GovernanceError) as same:
        await standards.create_standard(StandardData("CAMPAIGN process"))
    assert same.value.field == "title"
    with pytest.raises(GovernanceError) as shadow:
        await standards.create_standard(
            StandardData("Campaign process", level="recommended", scope_unit_id=org.unit_id("FR"))
        )
    assert "central standard" in str(shadow.value.message)
    # Siblings may each have their own local "Market check".
    await standards.create_standard(StandardData("Market check", scope_unit_id=org.unit_id("FR")))
    await standards.create_standard(StandardData("Market check", scope_unit_id=org.unit_id("DE")))
    with pytest.raises(GovernanceError):
        await standards.create_standard(
            StandardData("Market check", scope_unit_id=org.unit_id("DACH"))
        )


async def test_local_scope_must_be_a_unit_below_the_hq(org: Organisation) -> None:
    with pytest.raises(GovernanceError) as hq:
        await standards.create_standard(StandardData("X", scope_unit_id=org.unit_id("HQ")))
    assert hq.value.field == "scope_unit_id"
    with pytest.raises(GovernanceError) as unknown:
        await standards.create_standard(StandardData("X", scope_unit_id=999_999))
    assert unknown.value.field == "scope_unit_id"


async def test_update_keeps_the_scope_and_archive_frees_the_title(org: Organisation) -> None:
    local = await standards.create_standard(
        StandardData("Market check", scope_unit_id=org.unit_id("FR"))
    )
    changed = await standards.update_standard(
        local.id,
        StandardData("Market check FR", "Now with a text", scope_unit_id=None),
    )
    assert changed.scope_unit_id == org.unit_id("FR")  # a form cannot move it to central
    assert changed.title == "Market check FR"

    await standards.archive_standard(local.id)
    assert await standards.get_standard(local.id) is None
    again = await standards.create_standard(
        StandardData("Market check FR", scope_unit_id=org.unit_id("FR"))
    )
    assert again.id != local.id
    with pytest.raises(GovernanceError):
        await standards.update_standard(local.id, StandardData("Gone"))


async def test_every_change_is_audited_with_before_and_after(org: Organisation) -> None:
    created = await standards.create_standard(StandardData("Campaign process"))
    await standards.update_standard(
        created.id, StandardData("Campaign process", level="recommended")
    )
    await standards.archive_standard(created.id)
    (create,) = await audit_rows("governance.standard.create")
    assert json.loads(create["after"])["title"] == "Campaign process"
    (update,) = await audit_rows("governance.standard.update")
    assert json.loads(update["before"])["level"] == "mandatory"
    assert json.loads(update["after"])["level"] == "recommended"
    assert update["object_id"] == str(created.id)
    (archive,) = await audit_rows("governance.standard.archive")
    assert json.loads(archive["before"])["title"] == "Campaign process"
