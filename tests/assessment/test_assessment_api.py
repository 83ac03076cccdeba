"""``/api/v1/assessments`` with bearer tokens: create, read, lifecycle, respondents, OpenAPI.

Tree HQ > EU > DE, FR, IT; new assessments run the built-in framework.
"""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
import pytest

from scalemark.assessment import registry, service
from scalemark.db import tenant_transaction
from support.assessment_pages import api_client, mails_to, org_of, set_locales
from support.assessments import assessment_world
from support.identity import person, shared_live_server, unique_email
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


async def test_create_read_open_and_add_respondents(
    server: LiveServer, make_tenant, db_pool: asyncpg.Pool
) -> None:
    world = await assessment_world(make_tenant, status="draft")
    await set_locales(db_pool, world, ["en", "de", "fr"])
    framework = registry.latest_builtin(registry.builtin_frameworks()[0].key)
    first = framework.dimensions[0]
    due = (date.today() + timedelta(days=45)).isoformat()
    async with await api_client(server, world, "hq_admin") as api:
        created = await api.post(
            "/api/v1/assessments",
            json={
                "title": "API check",
                "unit_codes": ["de"],
                "unit_ids": [world.units["FR"]],
                "due_date": due,
                "targets": {first.key: 4.5},
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["status"] == "draft" and body["cycle"] == 1
        assert (body["framework_key"], body["framework_version"]) == (
            framework.key,
            framework.version,
        )
        assert {u["code"] for u in body["scope"]} == {"DE", "FR"}
        targets = {t["dimension"]: t["level"] for t in body["targets"]}
        assert targets[first.key] == 4.5
        assert all(targets[d.key] == d.target for d in framework.dimensions[1:])
        assert body["due_date"] == due and body["actions"] == ["open"]
        path = f"/api/v1/assessments/{body['id']}"

        email = unique_email("api")
        added = await api.post(f"{path}/respondents", json={"email": email, "unit_code": "FR"})
        assert added.status_code == 201, added.text
        assert added.json()["locale"] == "en" and added.json()["invited_at"] is None
        duplicate = await api.post(f"{path}/respondents", json={"email": email, "unit_code": "FR"})
        assert duplicate.status_code == 422 and duplicate.json()["field"] == "email"
        outside = await api.post(f"{path}/respondents", json={"email": email, "unit_code": "IT"})
        assert outside.status_code == 422 and outside.json()["field"] == "unit"
        language = await api.post(
            f"{path}/respondents", json={"email": email, "unit_code": "DE", "locale": "it"}
        )
        assert language.status_code == 422 and language.json()["field"] == "locale"

        opened = await api.post(f"{path}/status", json={"action": "open"})
        assert opened.status_code == 200 and opened.json()["status"] == "open"
        assert opened.json()["actions"] == ["review"]
        assert len(await mails_to(db_pool, email)) == 1

        late = unique_email("late")
        while_open = await api.post(
            f"{path}/respondents",
            json={"email": late, "unit_id": world.units["DE"], "locale": "de"},
        )
        assert while_open.status_code == 201
        assert while_open.json()["invited_at"] is not None
        assert len(await mails_to(db_pool, late)) == 1

        detail = await api.get(path)
        assert detail.status_code == 200
        assert {r["email"] for r in detail.json()["respondents"]} == {email, late}
        listed = await api.get("/api/v1/assessments")
        assert [a["title"] for a in listed.json()] == ["API check", "Scalability 2026"]


async def test_create_refuses_mistakes(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, status="draft")
    key = registry.builtin_frameworks()[0].dimensions[0].key
    cases = [
        ({"title": "x"}, "units"),
        ({"title": "x", "unit_codes": ["NOPE"]}, "unit_codes"),
        ({"title": "", "unit_codes": ["DE"]}, "title"),
        ({"title": "x", "unit_codes": ["DE"], "targets": {key: 7}}, f"target_{key}"),
        ({"title": "x", "unit_codes": ["DE"], "targets": {"nonsense": 3}}, "targets"),
        ({"title": "x", "unit_codes": ["DE"], "framework_key": "nope"}, "framework_key"),
        ({"title": "x", "unit_codes": ["DE"], "due_date": "2001-01-01"}, "due_date"),
    ]
    async with await api_client(server, world, "hq_admin") as api:
        for body, field_name in cases:
            refused = await api.post("/api/v1/assessments", json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.json()["field"] == field_name, body
            assert refused.json()["detail"]
        malformed = await api.post("/api/v1/assessments", json={"units": "DE"})
        assert malformed.status_code == 400
        action = await api.post(
            f"/api/v1/assessments/{world.assessment.id}/status", json={"action": "explode"}
        )
        assert action.status_code == 400
    async with tenant_transaction(world.tenant):
        assert len(await service.list_assessments()) == 1


async def test_others_see_what_they_answer_and_only_themselves(
    server: LiveServer, make_tenant
) -> None:
    world = await assessment_world(make_tenant)
    org = org_of(world)
    respondent = await person(org, "resp", "contributor", "DE")
    async with tenant_transaction(world.tenant):
        await service.add_respondent(world.assessment.id, world.units["DE"], respondent.email, "en")
    from scalemark.identity.tokens import create_token
    from scalemark.identity.users import get_user_by_email

    user = await get_user_by_email(respondent.email)
    assert user is not None
    _, secret = await create_token(world.tenant.id, user.id, "resp")  # type: ignore[attr-defined]
    async with server.client(org.slug, headers={"authorization": f"Bearer {secret}"}) as api:
        listed = await api.get("/api/v1/assessments")
        assert [a["id"] for a in listed.json()] == [world.assessment.id]
        detail = await api.get(f"/api/v1/assessments/{world.assessment.id}")
        assert detail.status_code == 200
        assert [r["email"] for r in detail.json()["respondents"]] == [respondent.email]
        assert detail.json()["actions"] == []
    async with await api_client(server, world, "stakeholder", "FR") as reader:
        assert (await reader.get("/api/v1/assessments")).json() == []
        hidden = await reader.get(f"/api/v1/assessments/{world.assessment.id}")
        assert hidden.status_code == 404
        async with tenant_transaction(world.tenant):
            await service.change_status(world.assessment.id, "review")
        shown = await reader.get(f"/api/v1/assessments/{world.assessment.id}")
        assert shown.status_code == 200 and shown.json()["respondents"] == []


async def test_openapi_documents_the_assessment_api(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, status="draft")
    async with await api_client(server, world, "hq_admin") as api:
        schema = (await api.get("/api/v1/schema/openapi.json")).json()
    paths = schema["paths"]
    assert set(paths["/api/v1/assessments"]) == {"get", "post"}
    assert "post" in paths["/api/v1/assessments/{assessment_id}/status"]
    assert "post" in paths["/api/v1/assessments/{assessment_id}/respondents"]
    assert "get" in paths["/api/v1/assessments/{assessment_id}"]
    components = schema["components"]["schemas"]
    for name in ("AssessmentOut", "AssessmentIn", "StatusIn", "RespondentIn", "RespondentOut"):
        assert name in components, name
    responses = paths["/api/v1/assessments/{assessment_id}/status"]["post"]["responses"]
    assert {"200", "403", "404", "409", "422"} <= set(responses)
    assert not any(p.startswith("/assessments") for p in paths)
