"""Publishing: snapshot diffs and unit views as plain functions; numbered versions, local
publications, the starter template and "units never see drafts" against a real schema.

Tree: HQ → DACH → DE and HQ → WEST → FR.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import use_tenant
from scalemark.governance import operating_model, publishing, raci, standards, starter, workflows
from scalemark.governance.operating_model import ModelItemData
from scalemark.governance.publishing import diff_versions, merge_local, view_for_unit
from scalemark.governance.raci import ActivityData
from scalemark.governance.standards import StandardData
from scalemark.governance.vocabulary import GovernanceError
from scalemark.governance.workflows import StepData, WorkflowData
from scalemark.i18n import use_locale
from scalemark.i18n.locale import translations_for
from support.identity import Organisation, organisation


def std(id: int, title: str, scope: int | None = None, **extra: object) -> dict[str, object]:
    return {
        "id": id,
        "scope_unit_id": scope,
        "scope_code": "",
        "scope_name": f"Unit {scope}" if scope else "",
        "category": "process",
        "title": title,
        "description": "",
        "level": "mandatory",
        "applies_to_kinds": [],
        "owner_role": "hq_admin",
        **extra,
    }


def snapshot(**parts: object) -> dict[str, object]:
    return {**publishing.empty_snapshot(), **parts}


# --------------------------------------------------------------------------- diffs


def test_diff_lists_added_changed_and_removed_items() -> None:
    a = snapshot(
        standards=[std(1, "Campaign process"), std(2, "Old rule")],
        raci=[{"id": 7, "title": "Planning", "assignments": {"hq_admin": "A"}}],
    )
    b = snapshot(
        standards=[std(1, "Campaign process", level="recommended"), std(3, "New rule")],
        raci=[{"id": 7, "title": "Planning", "assignments": {"hq_admin": "A", "unit_lead": "R"}}],
        workflows=[{"id": 4, "name": "Approval", "description": "", "steps": []}],
    )
    changes = diff_versions(a, b)
    assert [(c.part, c.action, c.title, c.fields) for c in changes] == [
        ("standards", "changed", "Campaign process", ("level",)),
        ("standards", "added", "New rule", ()),
        ("standards", "removed", "Old rule", ()),
        ("workflows", "added", "Approval", ()),
        ("raci", "changed", "Planning", ("assignments",)),
    ]
    assert changes[0].before["level"] == "mandatory" and changes[0].after["level"] == "recommended"
    assert diff_versions(b, b) == []


def test_diff_from_nothing_and_display_fields() -> None:
    b = snapshot(standards=[std(1, "Campaign process", 5)])
    assert [(c.action, c.item_id) for c in diff_versions(None, b)] == [("added", "1")]
    # A renamed unit is no governance change.
    renamed = snapshot(standards=[std(1, "Campaign process", 5, scope_name="Renamed unit")])
    assert diff_versions(b, renamed) == []


def test_diff_covers_the_kpi_part() -> None:
    kpi = {"id": 1, "key": "leads", "name": {"en": "Leads", "fr": "Prospects"}, "targets": {}}
    a = snapshot(kpis={"kpis": [kpi]})
    b = snapshot(kpis={"kpis": [{**kpi, "targets": {"2025": 10}}, {"id": 2, "key": "cpl"}]})
    with use_locale("en"):
        changes = diff_versions(a, b)
    assert [(c.part, c.action, c.title) for c in changes] == [
        ("kpis.kpis", "changed", "Leads"),
        ("kpis.kpis", "added", "cpl"),
    ]
    assert [c.action for c in diff_versions(snapshot(), a)] == ["added"]


# --------------------------------------------------------------------------- unit views


def test_a_unit_sees_central_inherited_and_own_standards_only() -> None:
    # Tree ids: HQ 1 → DACH 2 → DE 3; WEST 4 → FR 5.
    doc = snapshot(
        standards=[
            std(1, "Central"),
            std(2, "DACH rule", 2),
            std(3, "German rule", 3, applies_to_kinds=["business_unit"]),
            std(4, "French rule", 5),
        ],
        kpis={
            "kpis": [
                {"id": 1, "key": "leads", "scope_unit_id": None},
                {"id": 2, "key": "fr_only", "scope_unit_id": 5},
            ]
        },
    )
    view = view_for_unit(doc, [1, 2, 3], "country")
    assert [(s["title"], s["origin"], s["applies"]) for s in view["standards"]] == [
        ("Central", "central", True),
        ("DACH rule", "inherited", True),
        ("German rule", "local", False),
    ]
    assert [k["key"] for k in view["kpis"]["kpis"]] == ["leads"]
    assert [s["title"] for s in view_for_unit(doc, [1, 4, 5], "country")["standards"]] == [
        "Central",
        "French rule",
    ]
    assert [s["title"] for s in view_for_unit(doc, [1], "hq")["standards"]] == ["Central"]


def test_a_local_publication_only_replaces_its_units_local_standards() -> None:
    published = snapshot(
        standards=[std(1, "Central"), std(2, "FR old", 5), std(3, "DE rule", 3)],
        raci=[{"id": 1, "title": "Published row"}],
    )
    draft = snapshot(
        standards=[std(1, "Central changed"), std(4, "FR new", 5), std(3, "DE draft", 3)],
        raci=[{"id": 1, "title": "Draft row"}],
    )
    merged = merge_local(published, draft, {5})
    assert [s["title"] for s in merged["standards"]] == ["Central", "DE rule", "FR new"]
    assert merged["raci"] == [{"id": 1, "title": "Published row"}]
    assert "kpis" not in merged


def test_a_local_publication_takes_the_units_local_kpis_too() -> None:
    central = {"id": 1, "key": "leads", "scope_unit_id": None, "targets": {"2025": 10}}
    published = snapshot(kpis={"kpis": [central]})
    draft = snapshot(
        kpis={
            "kpis": [
                {**central, "targets": {"2025": 99}},  # a central draft: stays unpublished
                {"id": 2, "key": "fr_leads", "scope_unit_id": 5},
                {"id": 3, "key": "de_leads", "scope_unit_id": 3},
            ]
        }
    )
    merged = merge_local(published, draft, {5})
    assert merged["kpis"]["kpis"] == [central, {"id": 2, "key": "fr_leads", "scope_unit_id": 5}]


# --------------------------------------------------------------------------- database


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="gpub") as created:
        with use_tenant(created.tenant), use_locale("en"):
            yield created


async def define_basics(org: Organisation) -> None:
    await standards.create_standard(StandardData("Campaign process", category="campaign"))
    await standards.create_standard(
        StandardData("German legal check", scope_unit_id=org.unit_id("DE"))
    )
    await workflows.create_workflow(
        WorkflowData("Campaign approval", steps=[StepData("unit_lead", "same_unit", "3")])
    )
    await raci.create_activity(ActivityData("Campaign planning", assignments={"unit_lead": "A"}))
    await operating_model.create_item(
        ModelItemData("coordination_rhythm", "KPI review", "", "monthly", ["hq_admin"])
    )


async def test_units_never_see_drafts(org: Organisation) -> None:
    await define_basics(org)
    nothing = await publishing.published_for_unit(org.unit_id("DE"))
    assert nothing["version"] is None
    assert nothing["standards"] == [] and nothing["workflows"] == []

    first = await publishing.publish("First version")
    assert first.number == 1 and first.note == "First version"
    de = await publishing.published_for_unit(org.unit_id("DE"))
    assert de["version"]["number"] == 1
    assert de["unit"]["code"] == "DE"
    assert [s["title"] for s in de["standards"]] == ["Campaign process", "German legal check"]
    assert [w["name"] for w in de["workflows"]] == ["Campaign approval"]
    fr = await publishing.published_for_unit(org.unit_id("FR"))
    assert [s["title"] for s in fr["standards"]] == ["Campaign process"]

    # New drafts stay invisible until the next version.
    await standards.create_standard(StandardData("Draft rule"))
    await raci.create_activity(ActivityData("Draft row", assignments={"hq_admin": "A"}))
    fr = await publishing.published_for_unit(org.unit_id("FR"))
    assert "Draft rule" not in [s["title"] for s in fr["standards"]]
    assert [r["title"] for r in fr["raci"]] == ["Campaign planning"]

    second = await publishing.publish("")
    assert second.number == 2
    changes = diff_versions(first.snapshot, second.snapshot)
    assert {(c.part, c.title) for c in changes} == {
        ("standards", "Draft rule"),
        ("raci", "Draft row"),
    }
    fr = await publishing.published_for_unit(org.unit_id("FR"))
    assert "Draft rule" in [s["title"] for s in fr["standards"]]
    with pytest.raises(LookupError):
        await publishing.published_for_unit(999_999)


async def test_publishing_refuses_when_nothing_changed_and_keeps_numbers(org: Organisation) -> None:
    with pytest.raises(GovernanceError) as empty:
        await publishing.publish("nothing yet")
    assert empty.value.field == "form"
    await define_basics(org)
    await publishing.publish("v1")
    with pytest.raises(GovernanceError) as unchanged:
        await publishing.publish("again")
    assert str(unchanged.value.message) == "Nothing has changed since the last published version."
    with pytest.raises(GovernanceError) as long_note:
        await standards.create_standard(StandardData("Another"))
        await publishing.publish("x" * 2001)
    assert long_note.value.field == "note"
    assert [v.number for v in await publishing.list_versions()] == [1]
    # Archiving is a change too; published versions keep the archived item.
    first = await publishing.get_version(1)
    (central,) = [s for s in await standards.list_standards() if s.title == "Campaign process"]
    await standards.archive_standard(central.id)
    second = await publishing.publish("Archived one")
    assert {(c.action, c.title) for c in diff_versions(first.snapshot, second.snapshot)} == {
        ("removed", "Campaign process"),
        ("added", "Another"),
    }
    assert "Campaign process" in [s["title"] for s in first.snapshot["standards"]]


async def test_a_unit_lead_publishes_only_local_additions(org: Organisation) -> None:
    await standards.create_standard(StandardData("FR rule", scope_unit_id=org.unit_id("FR")))
    with pytest.raises(GovernanceError) as before_hq:
        await publishing.publish("too early", local_unit_ids={org.unit_id("FR")})
    assert "HQ has not published" in str(before_hq.value.message)

    await standards.create_standard(StandardData("Central one"))
    await publishing.publish("v1")
    await standards.create_standard(StandardData("Central draft"))
    await standards.create_standard(StandardData("FR second", scope_unit_id=org.unit_id("FR")))
    await standards.create_standard(StandardData("DE draft", scope_unit_id=org.unit_id("DE")))

    local = await publishing.publish(
        "FR additions", scope_unit_id=org.unit_id("FR"), local_unit_ids={org.unit_id("FR")}
    )
    assert local.number == 2 and local.scope_unit_id == org.unit_id("FR")
    assert local.scope_name == "France"
    titles = [s["title"] for s in local.snapshot["standards"]]
    assert "FR second" in titles and "FR rule" in titles
    assert "Central draft" not in titles and "DE draft" not in titles


async def test_the_snapshot_includes_kpis_when_the_kpi_framework_is_there(
    org: Organisation,
) -> None:
    draft = await publishing.draft_snapshot()
    assert set(draft) >= {"format", "standards", "workflows", "raci", "operating_model"}
    kpis = await publishing.kpi_part()
    if kpis is None:
        assert "kpis" not in draft
    else:
        assert draft["kpis"] == kpis


async def test_publishing_is_audited(org: Organisation) -> None:
    await define_basics(org)
    await publishing.publish("Audit me")
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            "SELECT object_id, before, after FROM audit_event WHERE action = 'governance.publish'"
        )
    assert row["object_id"] == "1"
    assert json.loads(row["before"]) == {"version": None}
    after = json.loads(row["after"])
    assert after["version"] == 1 and after["note"] == "Audit me"
    assert {"part": "standards", "action": "added", "title": "Campaign process"}.items() <= {
        **after["changes"][0]
    }.items()


async def test_starter_template_in_the_tenant_language_once(org: Organisation) -> None:
    async with tenant_transaction() as conn:
        await conn.execute("SELECT 1")
    german = org.tenant.__class__(**{**vars_of(org.tenant), "default_locale": "de"})
    with use_tenant(german):
        result = await starter.apply_starter_template()
        assert (result.standards, result.workflows, result.raci, result.operating_model) == (
            5,
            1,
            5,
            8,
        )
        again = await starter.apply_starter_template()
        assert again.total == 0
        titles = {s.title for s in await standards.list_standards()}
    de = translations_for("de")
    assert de.gettext("Campaign process") in titles
    assert de.gettext("KPI reporting") in titles
    (workflow,) = await workflows.list_workflows()
    assert workflow.name == de.gettext("Campaign approval")
    assert [s.approver_level for s in workflow.steps] == ["same_unit", "hq"]
    rows = await raci.list_activities()
    assert all(list(r.assignments.values()).count("A") == 1 for r in rows)
    version = await publishing.publish("Starter")
    assert version.number == 1


def vars_of(ref: object) -> dict[str, object]:
    from dataclasses import fields

    return {f.name: getattr(ref, f.name) for f in fields(ref)}  # type: ignore[arg-type]
