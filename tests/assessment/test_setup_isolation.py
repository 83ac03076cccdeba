"""Who may reach the setup pages and API: other tenants' ids, non-runners, tampered forms.

Two tenants with the same tree (HQ > EU > DE, FR, IT). Ids are per tenant schema, so the
other tenant gets extra assessments and units: the ids used from it do not exist here.
"""

from __future__ import annotations

import asyncpg
import pytest

from scalemark.assessment import service
from scalemark.db import tenant_transaction
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData
from support.assessment_pages import api_client, org_of, signed_in
from support.assessments import AssessmentWorld, assessment_world, mini_framework
from support.identity import person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


async def other_tenant(make_tenant, here: AssessmentWorld) -> tuple[int, int, int]:
    """Another tenant's assessment, respondent and unit, with ids unknown ``here``."""
    there = await assessment_world(make_tenant, prefix="oth")
    framework, source = mini_framework()
    async with tenant_transaction(there.tenant):
        for n in range(3):
            extra = await org_service.create_unit(UnitData(f"X{n}", f"Extra {n}", "country"), "EU")
            latest = await service.create_assessment(
                service.AssessmentSetup(title=f"Other {n}", unit_ids=[extra.id]), framework, source
            )
            person = await service.add_respondent(latest.id, extra.id, f"p{n}@x.example", "en")
    async with tenant_transaction(here.tenant):
        assert await service.get_assessment(latest.id) is None
        assert await org_service.get_unit(extra.id) is None
    return latest.id, person.id, extra.id


def routes(assessment_id: int, respondent_id: int, unit_id: int) -> list[tuple[str, str, dict]]:
    base = f"/assessments/{assessment_id}"
    return [
        ("GET", base, {}),
        ("POST", f"{base}/setup", {"title": "x", "unit_ids": [str(unit_id)]}),
        ("POST", f"{base}/status", {"action": "open"}),
        ("POST", f"{base}/respondents", {"unit_id": str(unit_id), "email": "a@b.example"}),
        ("POST", f"{base}/respondents/{respondent_id}/remove", {}),
        ("POST", f"{base}/next-cycle", {"title": "x"}),
    ]


async def test_other_tenants_ids_answer_404_everywhere(server: LiveServer, make_tenant) -> None:
    here = await assessment_world(make_tenant)
    foreign_id, foreign_respondent, foreign_unit = await other_tenant(make_tenant, here)
    admin = await person(org_of(here), "admin", "hq_admin")
    async with await signed_in(server, here, admin) as client:
        for method, path, form in routes(foreign_id, foreign_respondent, foreign_unit):
            response = await (client.get(path) if method == "GET" else client.post(path, form))
            assert response.status_code == 404, (method, path, response.status_code)
        # A respondent id of another assessment (or tenant) under an own assessment: 404 too.
        own = f"/assessments/{here.assessment.id}/respondents/{foreign_respondent}/remove"
        assert (await client.post(own)).status_code == 404
    async with await api_client(server, here, "hq_admin") as api:
        base = f"/api/v1/assessments/{foreign_id}"
        assert (await api.get(base)).status_code == 404
        assert (await api.post(f"{base}/status", json={"action": "open"})).status_code == 404
        added = await api.post(f"{base}/respondents", json={"email": "a@b.example", "unit_id": 1})
        assert added.status_code == 404
        listed = await api.get("/api/v1/assessments")
        assert [a["id"] for a in listed.json()] == [here.assessment.id]


async def test_non_runners_get_403_and_never_see_drafts(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant)
    framework, source = mini_framework()
    async with tenant_transaction(world.tenant):
        draft = await service.create_assessment(
            service.AssessmentSetup(title="Secret draft", unit_ids=[world.units["DE"]]),
            framework,
            source,
        )
    org = org_of(world)
    anna = world.respondents["anna@de.example"]
    for role, unit in [("unit_lead", "EU"), ("contributor", "DE"), ("stakeholder", "HQ")]:
        someone = await person(org, role, role, unit)
        async with await signed_in(server, world, someone) as client:
            assert (await client.get("/assessments/new")).status_code == 403
            created = await client.post(
                "/assessments/new", {"title": "x", "unit_ids": [str(world.units["DE"])]}
            )
            assert created.status_code == 403
            for method, path, form in routes(world.assessment.id, anna.id, world.units["DE"]):
                response = await (client.get(path) if method == "GET" else client.post(path, form))
                assert response.status_code == 403, (role, method, path, response.status_code)
            for method, path, form in routes(draft.id, anna.id, world.units["DE"]):
                response = await (client.get(path) if method == "GET" else client.post(path, form))
                assert response.status_code == 404, (role, method, path, response.status_code)
            listing = await client.get("/assessments")
            assert listing.status_code == 200 and "Secret draft" not in listing.text
        async with await api_client(server, world, role, unit) as api:
            assert (await api.get(f"/api/v1/assessments/{draft.id}")).status_code == 404
            assert all(
                a["status"] != "draft" for a in (await api.get("/api/v1/assessments")).json()
            )
            made = await api.post("/api/v1/assessments", json={"title": "x", "unit_codes": ["DE"]})
            assert made.status_code == 403
            moved = await api.post(
                f"/api/v1/assessments/{world.assessment.id}/status", json={"action": "review"}
            )
            assert moved.status_code == 403
    async with tenant_transaction(world.tenant):
        assert (await service.get_assessment(world.assessment.id)).status == "open"  # type: ignore[union-attr]
        assert len(await service.respondents(world.assessment.id)) == 3


async def test_tampered_unit_ids_are_refused(server: LiveServer, make_tenant) -> None:
    here = await assessment_world(make_tenant, status="draft")
    _, _, foreign_unit = await other_tenant(make_tenant, here)
    async with tenant_transaction(here.tenant):
        await org_service.archive_unit(here.units["IT"])
    admin = await person(org_of(here), "admin", "hq_admin")
    path = f"/assessments/{here.assessment.id}"
    message = "Some of the chosen units do not exist or are archived."
    de = str(here.units["DE"])
    async with await signed_in(server, here, admin) as client:
        for unit in (str(foreign_unit), str(here.units["IT"]), "-1", "1e3"):
            setup = await client.post(f"{path}/setup", {"title": "T", "unit_ids": [de, unit]})
            assert setup.status_code == 422 and message in setup.text, unit
        respondent = await client.post(
            f"{path}/respondents",
            {"unit_id": str(foreign_unit), "email": "x@y.example", "locale": "en"},
        )
        assert respondent.status_code == 422
        assert "This unit is not part of the assessment." in respondent.text
    async with await api_client(server, here, "hq_admin") as api:
        made = await api.post(
            "/api/v1/assessments", json={"title": "T", "unit_ids": [here.units["DE"], foreign_unit]}
        )
        assert made.status_code == 422 and made.json()["field"] == "units"
        archived = await api.post("/api/v1/assessments", json={"title": "T", "unit_codes": ["IT"]})
        assert archived.status_code == 422 and archived.json()["field"] == "unit_codes"
    async with tenant_transaction(here.tenant):
        assert {u.code for u in await service.scope(here.assessment.id)} == {"DE", "FR", "IT"}
        assert len(await service.list_assessments()) == 1
