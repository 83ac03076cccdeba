"""The governance workspace over HTTP against a live server, with real sign-ins.

Who may read and change what (URL, form field, API), drafts staying invisible to units,
translated validation messages with the input kept, and never a 500.

Tree: HQ → DACH → DE and HQ → WEST → FR.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import use_tenant
from scalemark.governance import publishing, raci, standards, workflows
from scalemark.governance.raci import ActivityData
from scalemark.governance.standards import StandardData
from scalemark.governance.workflows import StepData, WorkflowData
from scalemark.i18n import use_locale
from support.accounts import Credentials
from support.identity import Organisation, WebClient, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)

FORBIDDEN, NOT_FOUND = 403, 404


@dataclass
class People:
    admin: Credentials
    lead_fr: Credentials
    lead_de: Credentials
    contributor_fr: Credentials
    stakeholder: Credentials


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="giso") as created:
        yield created


@pytest.fixture
async def other_org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="giso-b") as created:
        yield created


@pytest.fixture
async def people(org: Organisation) -> People:
    return People(
        admin=await person(org, "admin", "hq_admin", "HQ"),
        lead_fr=await person(org, "lead-fr", "unit_lead", "FR"),
        lead_de=await person(org, "lead-de", "unit_lead", "DE"),
        contributor_fr=await person(org, "contrib-fr", "contributor", "FR"),
        stakeholder=await person(org, "board", "stakeholder", "HQ"),
    )


async def client_for(server: LiveServer, org: Organisation, who: Credentials) -> WebClient:
    client = WebClient(server, org.slug)
    await client.signed_in(who)
    return client


async def seed_published(org: Organisation) -> dict[str, int]:
    """A published version 1 with one item of each part, then a central draft."""
    with use_tenant(org.tenant), use_locale("en"):
        central = await standards.create_standard(StandardData("Campaign process"))
        workflow = await workflows.create_workflow(
            WorkflowData("Campaign approval", steps=[StepData("unit_lead", "same_unit", "3")])
        )
        row = await raci.create_activity(
            ActivityData("Campaign planning", assignments={"hq_admin": "A", "unit_lead": "R"})
        )
        await publishing.publish("First")
        draft = await standards.create_standard(StandardData("Secret central draft"))
    return {"central": central.id, "workflow": workflow.id, "raci": row.id, "draft": draft.id}


def ids_in(html: str) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', html))


# --------------------------------------------------------------------------- HQ admin


async def test_hq_admin_defines_publishes_and_everything_is_audited(
    server: LiveServer, org: Organisation, people: People
) -> None:
    async with await client_for(server, org, people.admin) as admin:
        for path in (
            "/governance",
            "/governance/standards",
            "/governance/workflows",
            "/governance/raci",
            "/governance/operating-model",
            "/governance/publish",
            "/governance/published",
            "/governance/changes",
            "/governance/standards/new",
            "/governance/workflows/new",
            "/governance/raci/new",
            "/governance/operating-model/new?kind=coordination_rhythm",
        ):
            page = await admin.get(path)
            assert page.status_code == 200, (path, page.text[:500])
            assert page.headers["content-type"].startswith("text/html")
        assert "apply-template" in ids_in((await admin.get("/governance")).text)

        created = await admin.post(
            "/governance/standards",
            {
                "scope_unit_id": "",
                "title": "Campaign process",
                "description": "Brief, plan, launch.",
                "category": "campaign",
                "level": "mandatory",
                "applies_to_kinds": ["country", "business_unit"],
                "owner_role": "hq_admin",
            },
        )
        assert created.status_code == 303, created.text[:500]
        assert created.headers["location"] == "/governance/standards?saved=1"
        workflow = await admin.post(
            "/governance/workflows",
            {
                "name": "Campaign approval",
                "description": "",
                "step_approver_role": ["unit_lead", "hq_admin"],
                "step_approver_level": ["same_unit", "hq"],
                "step_days": ["3", "5"],
                "step_escalation_role": ["unit_lead", ""],
                "step_escalation_level": ["parent", ""],
                "action": "save",
            },
        )
        assert workflow.status_code == 303, workflow.text[:800]
        row = await admin.post(
            "/governance/raci",
            {"title": "Campaign planning", "role-hq_admin": "A", "role-unit_lead": "R"},
        )
        assert row.status_code == 303, row.text[:800]
        item = await admin.post(
            "/governance/operating-model",
            {
                "kind": "coordination_rhythm",
                "title": "KPI review",
                "cadence": "monthly",
                "participants": ["hq_admin", "unit_lead"],
            },
        )
        assert item.status_code == 303, item.text[:800]

        preview = await admin.get("/governance/publish")
        assert preview.text.count('data-testid="change"') == 4
        published = await admin.post("/governance/publish", {"note": "First version"})
        assert published.status_code == 303
        assert published.headers["location"] == "/governance/versions/1?published=1"
        version = await admin.get("/governance/versions/1?published=1")
        assert version.status_code == 200
        assert "Campaign process" in version.text and "KPI review" in version.text

        # The standard's edit changes level; the audit log has before and after.
        with use_tenant(org.tenant):
            (std,) = await standards.list_standards()
        edited = await admin.post(
            f"/governance/standards/{std.id}",
            {
                "title": "Campaign process",
                "category": "campaign",
                "level": "recommended",
                "owner_role": "hq_admin",
            },
            htmx=True,
        )
        assert edited.status_code in (200, 201) and edited.headers.get("hx-redirect")
        again = await admin.post("/governance/publish", {"note": ""})
        assert again.headers["location"] == "/governance/versions/2?published=1"
        changes = await admin.get("/governance/changes?since=1")
        assert changes.status_code == 200
        assert 'data-action="changed" data-title="Campaign process"' in changes.text
        api = await admin.get("/api/v1/governance")
        assert api.status_code == 200
        body = api.json()
        assert body["version"]["number"] == 2 and body["unit"] is None
        assert body["standards"][0]["level"] == "recommended"
        assert body["workflows"][0]["steps"][0]["escalation_level"] == "parent"
        assert body["raci"][0]["assignments"] == {"hq_admin": "A", "unit_lead": "R"}

    async with tenant_transaction(org.tenant) as conn:
        rows = await conn.fetch(
            "SELECT action, actor_label, before, after FROM audit_event"
            " WHERE action LIKE 'governance.%' ORDER BY id"
        )
    actions = [r["action"] for r in rows]
    assert actions == [
        "governance.standard.create",
        "governance.workflow.create",
        "governance.raci.create",
        "governance.operating_model.create",
        "governance.publish",
        "governance.standard.update",
        "governance.publish",
    ]
    assert {r["actor_label"] for r in rows} == {people.admin.email}
    update = rows[5]
    assert json.loads(update["before"])["level"] == "mandatory"
    assert json.loads(update["after"])["level"] == "recommended"


async def test_starter_template_button(
    server: LiveServer, org: Organisation, people: People
) -> None:
    async with await client_for(server, org, people.admin) as admin:
        response = await admin.post("/governance/template", {})
        assert response.status_code == 303
        overview = await admin.get("/governance?template=1")
        assert "overview-message" in ids_in(overview.text)
        assert "apply-template" not in ids_in(overview.text)
        raci_page = await admin.get("/governance/raci")
        for title in ("Campaign planning", "Localisation of content", "KPI reporting"):
            assert f'data-title="{title}"' in raci_page.text
    async with await client_for(server, org, people.lead_fr) as lead:
        assert (await lead.post("/governance/template", {})).status_code == FORBIDDEN


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("htmx", [False, True])
async def test_two_accountable_roles_come_back_with_the_input_kept(
    server: LiveServer, org: Organisation, people: People, htmx: bool
) -> None:
    async with await client_for(server, org, people.admin) as admin:
        response = await admin.post(
            "/governance/raci",
            {
                "title": "Campaign approval",
                "description": "Kept text",
                "role-hq_admin": "A",
                "role-unit_lead": "A",
                "role-contributor": "I",
            },
            htmx=htmx,
        )
    assert response.status_code == 422
    assert "raci-assignments-error" in ids_in(response.text)
    assert "Only one role can be accountable (A) for “Campaign approval”" in response.text
    assert 'value="Campaign approval"' in response.text and "Kept text" in response.text
    assert response.text.count('value="A" selected') == 2
    assert ("<html" in response.text) is not htmx  # htmx gets the form alone


async def test_validation_messages_for_each_part(
    server: LiveServer, org: Organisation, people: People
) -> None:
    async with await client_for(server, org, people.admin) as admin:
        nothing = await admin.post("/governance/publish", {"note": "Too early"})
        assert nothing.status_code == 422
        assert "publish-error" in ids_in(nothing.text) and "Too early" in nothing.text

        empty_steps = await admin.post(
            "/governance/workflows",
            {
                "name": "No steps",
                "step_approver_role": [""],
                "step_approver_level": [""],
                "step_days": [""],
                "step_escalation_role": [""],
                "step_escalation_level": [""],
            },
        )
        assert empty_steps.status_code == 422
        assert "Add at least one approval step." in empty_steps.text
        assert 'value="No steps"' in empty_steps.text

        negative = await admin.post(
            "/governance/workflows",
            {
                "name": "Negative",
                "step_approver_role": ["unit_lead"],
                "step_approver_level": ["parent"],
                "step_days": ["-4"],
                "step_escalation_role": [""],
                "step_escalation_level": [""],
            },
            htmx=True,
        )
        assert negative.status_code == 422
        assert "step-1-days-error" in ids_in(negative.text)
        assert "Enter a time limit of 1 to 365 days." in negative.text
        assert 'value="-4"' in negative.text

        added = await admin.post(
            "/governance/workflows",
            {
                "name": "Keep me",
                "step_approver_role": ["unit_lead"],
                "step_approver_level": ["parent"],
                "step_days": ["2"],
                "step_escalation_role": [""],
                "step_escalation_level": [""],
                "action": "add_step",
            },
            htmx=True,
        )
        assert added.status_code == 200
        assert "workflow-step-2" in ids_in(added.text) and 'value="Keep me"' in added.text

        for _ in range(2):
            std = await admin.post(
                "/governance/standards",
                {
                    "title": "Twice",
                    "level": "mandatory",
                    "category": "process",
                    "owner_role": "hq_admin",
                },
            )
        assert std.status_code == 422
        assert "Another standard here already has this title." in std.text

        rhythm = await admin.post(
            "/governance/operating-model",
            {"kind": "coordination_rhythm", "title": "Weekly sync", "cadence": ""},
        )
        assert rhythm.status_code == 422
        assert "Choose how often the meeting takes place." in rhythm.text
        assert "Choose at least one role that takes part." in rhythm.text

        bad_since = await admin.get("/governance/changes?since=abc")
        assert bad_since.status_code == 422
        assert "Choose a published version." in bad_since.text


async def test_messages_follow_the_users_language(
    server: LiveServer, org: Organisation, people: People
) -> None:
    from scalemark.i18n.locale import translations_for

    async with await client_for(server, org, people.admin) as admin:
        switched = await admin.post("/locale", {"locale": "fr", "next": "/governance/raci"})
        assert switched.status_code == 303
        response = await admin.post("/governance/raci", {"title": "", "role-hq_admin": "R"})
    assert response.status_code == 422
    assert '<html lang="fr">' in response.text
    expected = translations_for("fr").gettext("Give the activity a name.")
    assert expected in response.text


# --------------------------------------------------------------------------- unit leads


async def test_unit_lead_sees_published_central_and_adds_local_only(
    server: LiveServer, org: Organisation, people: People
) -> None:
    ids = await seed_published(org)
    async with await client_for(server, org, people.lead_fr) as lead:
        page = await lead.get("/governance/standards")
        assert page.status_code == 200
        assert 'data-title="Campaign process"' in page.text
        assert "Secret central draft" not in page.text  # drafts are not for units
        assert "standards-published-note" in ids_in(page.text)
        for path in ("/governance/workflows", "/governance/raci", "/governance/operating-model"):
            part = await lead.get(path)
            assert part.status_code == 200 and "Secret central draft" not in part.text
        assert 'data-title="Campaign planning"' in (await lead.get("/governance/raci")).text

        # Local additions for FR (its own subtree) work ...
        local = await lead.post(
            "/governance/standards",
            {
                "scope_unit_id": str(org.unit_id("FR")),
                "title": "French legal notice",
                "level": "mandatory",
                "category": "campaign",
                "owner_role": "unit_lead",
            },
        )
        assert local.status_code == 303, local.text[:500]
        # ... but never central ones, never for Germany, never shadowing a central one.
        base = {
            "title": "Sneaky",
            "level": "recommended",
            "category": "process",
            "owner_role": "unit_lead",
        }
        assert (
            await lead.post("/governance/standards", {**base, "scope_unit_id": ""})
        ).status_code == FORBIDDEN
        forged = await lead.post(
            "/governance/standards", {**base, "scope_unit_id": str(org.unit_id("DE"))}
        )
        assert forged.status_code == FORBIDDEN
        shadow = await lead.post(
            "/governance/standards",
            {**base, "title": "campaign process", "scope_unit_id": str(org.unit_id("FR"))},
        )
        assert shadow.status_code == 422
        assert "A central standard with this title already applies." in shadow.text

        # Central items cannot be changed or archived, by URL or form.
        central = ids["central"]
        assert (await lead.get(f"/governance/standards/{central}/edit")).status_code == FORBIDDEN
        weaker = {**base, "title": "Campaign process", "level": "recommended"}
        assert (
            await lead.post(f"/governance/standards/{central}", weaker)
        ).status_code == FORBIDDEN
        assert (
            await lead.post(f"/governance/standards/{central}/archive", {})
        ).status_code == FORBIDDEN
        for path in (
            "/governance/workflows",
            f"/governance/workflows/{ids['workflow']}",
            f"/governance/workflows/{ids['workflow']}/archive",
            "/governance/raci",
            f"/governance/raci/{ids['raci']}",
            "/governance/operating-model",
        ):
            assert (await lead.post(path, {"title": "x", "name": "x"})).status_code == FORBIDDEN, (
                path
            )
        for path in (
            "/governance/workflows/new",
            f"/governance/workflows/{ids['workflow']}/edit",
            f"/governance/raci/{ids['raci']}/edit",
        ):
            assert (await lead.get(path)).status_code == FORBIDDEN, path

        # Publishing as a unit lead publishes only FR's local additions.
        preview = await lead.get("/governance/publish")
        assert preview.status_code == 200
        assert 'data-title="French legal notice"' in preview.text
        assert "Secret central draft" not in preview.text
        published = await lead.post("/governance/publish", {"note": "FR additions"})
        assert published.status_code == 303
        mine = await lead.get("/governance/published")
        assert 'data-title="French legal notice"' in mine.text
        assert "Secret central draft" not in mine.text

    with use_tenant(org.tenant):
        (fr_standard,) = [
            s for s in await standards.list_standards() if s.title == "French legal notice"
        ]
    async with await client_for(server, org, people.lead_de) as lead_de:
        de_view = await lead_de.get("/governance/published")
        assert "French legal notice" not in de_view.text
        assert 'data-title="Campaign process"' in de_view.text
        de_api = (await lead_de.get("/api/v1/governance")).json()
        assert de_api["unit"]["code"] == "DE"
        assert "French legal notice" not in json.dumps(de_api)
        # A German lead cannot read France's view or touch its local standard.
        assert (
            await lead_de.get(f"/governance/published?unit={org.unit_id('FR')}")
        ).status_code == FORBIDDEN
        assert (
            await lead_de.get(f"/api/v1/governance?unit_id={org.unit_id('FR')}")
        ).status_code == FORBIDDEN
        assert (
            await lead_de.get(f"/governance/standards/{fr_standard.id}/edit")
        ).status_code == FORBIDDEN
        assert (
            await lead_de.post(f"/governance/standards/{fr_standard.id}/archive", {})
        ).status_code == FORBIDDEN
        assert "French legal notice" not in (await lead_de.get("/governance/standards")).text
        version = await lead_de.get("/governance/versions/2")
        assert version.status_code == 200 and "French legal notice" not in version.text
        changes = await lead_de.get("/governance/changes?since=1")
        assert changes.status_code == 200 and "French legal notice" not in changes.text


# --------------------------------------------------------------------------- readers


async def test_members_without_governance_rights_only_read_the_published_version(
    server: LiveServer, org: Organisation, people: People
) -> None:
    ids = await seed_published(org)
    async with await client_for(server, org, people.contributor_fr) as contributor:
        for path in (
            "/governance",
            "/governance/standards",
            "/governance/workflows",
            "/governance/raci",
            "/governance/operating-model",
            "/governance/publish",
            f"/governance/standards/{ids['central']}/edit",
        ):
            assert (await contributor.get(path)).status_code == FORBIDDEN, path
        for path in (
            "/governance/standards",
            f"/governance/standards/{ids['central']}",
            f"/governance/standards/{ids['central']}/archive",
            "/governance/publish",
            "/governance/template",
        ):
            assert (await contributor.post(path, {"title": "x"})).status_code == FORBIDDEN, path
        page = await contributor.get("/governance/published")
        assert page.status_code == 200
        assert 'data-title="Campaign process"' in page.text
        assert "Secret central draft" not in page.text
        nav = await contributor.get("/")
        assert (
            'href="/governance/published"' in nav.text
            and 'data-testid="nav-governance"' in nav.text
        )
        assert (
            await contributor.get(f"/governance/published?unit={org.unit_id('DE')}")
        ).status_code == FORBIDDEN
        assert (await contributor.get("/governance/published?unit=999999")).status_code == NOT_FOUND
        assert (await contributor.get("/governance/versions/1")).status_code == 200
        assert (await contributor.get("/governance/versions/9")).status_code == NOT_FOUND

    async with await client_for(server, org, people.stakeholder) as board:
        page = await board.get("/governance/published")
        assert page.status_code == 200 and "Secret central draft" not in page.text
        api = await board.get("/api/v1/governance")
        assert api.status_code == 200
        body = api.json()
        assert body["version"]["number"] == 1 and body["unit"] is None
        assert [s["title"] for s in body["standards"]] == ["Campaign process"]
        assert (await board.get("/governance")).status_code == FORBIDDEN


async def test_anonymous_visitors_are_sent_to_sign_in(
    server: LiveServer, org: Organisation
) -> None:
    async with WebClient(server, org.slug) as anonymous:
        page = await anonymous.get("/governance/published")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert (await anonymous.get("/api/v1/governance")).status_code == 401
        posted = await anonymous.post("/governance/standards", {"title": "x"})
        assert posted.status_code in (303, 401)


# --------------------------------------------------------------------------- other tenants


async def test_another_tenant_cannot_read_or_change_anything(
    server: LiveServer, org: Organisation, other_org: Organisation, people: People
) -> None:
    ids = await seed_published(org)
    outsider = await person(other_org, "other-admin", "hq_admin", "HQ")

    # Signed in at their own organisation: ids of the first one do not exist there.
    async with await client_for(server, other_org, outsider) as other:
        assert (
            await other.get(f"/governance/standards/{ids['central']}/edit")
        ).status_code == NOT_FOUND
        assert (
            await other.post(f"/governance/standards/{ids['central']}/archive", {})
        ).status_code == NOT_FOUND
        assert (await other.get(f"/governance/raci/{ids['raci']}/edit")).status_code == NOT_FOUND
        assert (await other.get("/governance/versions/1")).status_code == NOT_FOUND
        # Unit ids are per organisation: the same number names the outsider's own unit,
        # and whatever they do lands in their own schema.
        forged = await other.post(
            "/governance/standards",
            {
                "title": "Into the other tenant",
                "scope_unit_id": str(org.unit_id("FR")),
                "level": "mandatory",
                "category": "process",
                "owner_role": "hq_admin",
            },
        )
        assert forged.status_code in (303, 403, 422)
        assert (await other.get("/api/v1/governance?unit_id=999999")).status_code == NOT_FOUND
        body = (await other.get("/api/v1/governance")).json()
        assert body["version"] is None and body["standards"] == []
        assert "Campaign process" not in (await other.get("/governance/standards")).text

    # On the first organisation's host the outsider is no member.
    async with WebClient(server, org.slug) as other_here:
        await other_here.sign_in(outsider)
        for path in ("/governance", "/governance/published", "/governance/versions/1"):
            response = await other_here.get(path)
            assert response.status_code in (303, 403), path
            assert "Campaign process" not in response.text
        assert (await other_here.get("/api/v1/governance")).status_code in (401, 403)
        posted = await other_here.post(f"/governance/standards/{ids['central']}/archive", {})
        assert posted.status_code in (303, 403)

    with use_tenant(org.tenant):
        assert await standards.get_standard(ids["central"]) is not None
        assert "Into the other tenant" not in [s.title for s in await standards.list_standards()]


async def test_odd_ids_and_values_never_end_in_a_500(
    server: LiveServer, org: Organisation, people: People
) -> None:
    huge = "9" * 25
    async with await client_for(server, org, people.admin) as admin:
        for path in (
            f"/governance/standards/{huge}/edit",
            f"/governance/workflows/{2**63}/edit",
            f"/governance/raci/{2**40}/edit",
            f"/governance/operating-model/{huge}/edit",
            f"/governance/versions/{2**31}",
            "/governance/versions/0",
            f"/governance/published?unit={huge}",
            "/governance/published?unit=abc",
        ):
            assert (await admin.get(path)).status_code == NOT_FOUND, path
        assert (await admin.post(f"/governance/raci/{huge}", {"title": "x"})).status_code == 404
        assert (await admin.get(f"/governance/changes?since={huge}")).status_code == 422
        assert (await admin.get(f"/api/v1/governance?unit_id={2**40}")).status_code == 404
        forged = await admin.post(
            "/governance/standards",
            {"title": "x", "scope_unit_id": huge, "level": "mandatory", "owner_role": "hq_admin"},
        )
        assert forged.status_code == 422 and "Choose a unit from the list." in forged.text
        long_note = await admin.post("/governance/publish", {"note": "n" * 3000})
        assert long_note.status_code == 422
