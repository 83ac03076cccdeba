"""The answers API: read the caller's answers, save one with its revision, conflicts,
closed assessments, field errors, runners reading a respondent, and the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from scalemark.assessment import service
from scalemark.db import tenant_transaction
from scalemark.identity.tokens import create_token
from scalemark.identity.users import get_user_by_email
from support.answering import AnsweringWorld, answering_world
from support.identity import shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def aw(make_tenant) -> AnsweringWorld:
    return await answering_world(make_tenant, prefix="aapi")


async def api_for(server: LiveServer, aw: AnsweringWorld, who: str) -> Any:
    user = await get_user_by_email(aw.people[who].email)
    assert user is not None
    _, secret = await create_token(aw.world.tenant.id, user.id, "test")  # type: ignore[attr-defined]
    return server.client(aw.slug, headers={"authorization": f"Bearer {secret}"})


async def test_read_save_and_conflict(server: LiveServer, aw: AnsweringWorld) -> None:
    async with await api_for(server, aw, "anna") as api:
        listed = await api.get(aw.api())
        assert listed.status_code == 200, listed.text
        body = listed.json()
        assert body["status"] == "open" and body["can_change"] is True
        assert body["progress"] == {"answered": 0, "total": 5}
        keys = [a["question_key"] for a in body["answers"]]
        assert keys == [
            "steering",
            "gov_standards",
            "gov_roles",
            "gov_review",
            "exe_templates",
            "exe_tools",
        ]
        review = next(a for a in body["answers"] if a["question_key"] == "gov_review")
        assert review["visible"] is False and review["revision"] == 0

        url = f"{aw.api()}/gov_standards"
        saved = await api.put(
            url,
            json={
                "choice": "level",
                "level": 3,
                "target_level": 4,
                "comment": "Written in 2025",
                "evidence_url": "https://wiki.example/standards",
                "revision": 0,
            },
        )
        assert saved.status_code == 200, saved.text
        out = saved.json()
        assert (out["revision"], out["level"], out["target_level"]) == (1, 3, 4)
        assert out["evidence_url"] == "https://wiki.example/standards"

        again = await api.put(url, json={"choice": "level", "level": 4, "revision": 1})
        assert again.status_code == 200 and again.json()["revision"] == 2
        stale = await api.put(url, json={"choice": "dk", "revision": 1})
        assert stale.status_code == 409
        conflict = stale.json()
        assert conflict["current"]["revision"] == 2 and conflict["current"]["level"] == 4
        assert "revision 1" in conflict["detail"]

        listed = (await api.get(aw.api())).json()
        review = next(a for a in listed["answers"] if a["question_key"] == "gov_review")
        assert review["visible"] is True
        assert listed["progress"] == {"answered": 1, "total": 6}

        position = await api.put(
            f"{aw.api()}/steering", json={"choice": "position", "position": 35, "revision": 0}
        )
        assert position.status_code == 200 and position.json()["position"] == 35


async def test_field_errors_and_unknown_keys(server: LiveServer, aw: AnsweringWorld) -> None:
    async with await api_for(server, aw, "anna") as api:
        url = f"{aw.api()}/gov_standards"
        bad_url = await api.put(
            url, json={"choice": "level", "level": 2, "evidence_url": "ftp://x", "revision": 0}
        )
        assert bad_url.status_code == 422
        assert "evidence_url" in bad_url.json()["extra"]
        bad_level = await api.put(url, json={"choice": "level", "level": 9, "revision": 0})
        assert bad_level.status_code == 422 and "level" in bad_level.json()["extra"]
        not_offered = await api.put(f"{aw.api()}/gov_roles", json={"choice": "na", "revision": 0})
        assert not_offered.status_code == 422 and "choice" in not_offered.json()["extra"]
        wrong_type = await api.put(url, json={"choice": "level", "level": "high", "revision": 0})
        assert wrong_type.status_code == 422 and wrong_type.json()["extra"]
        no_revision = await api.put(url, json={"choice": "dk"})
        assert no_revision.status_code == 422
        far = await api.put(f"{aw.api()}/steering", json={"position": 101, "revision": 0})
        assert far.status_code == 422 and "position" in far.json()["extra"]
        unknown = await api.put(f"{aw.api()}/nope", json={"choice": "dk", "revision": 0})
        assert unknown.status_code == 404
        missing_unit = await api.get(f"/api/v1/assessments/{aw.assessment_id}/units/999999/answers")
        assert missing_unit.status_code == 404
        schema = (await api.get("/api/v1/schema/openapi.json")).json()
        paths = schema["paths"]
        assert "get" in paths["/api/v1/assessments/{assessment_id}/units/{unit_id}/answers"]
        put = paths["/api/v1/assessments/{assessment_id}/units/{unit_id}/answers/{question_key}"]
        assert {"200", "403", "404", "409", "422"} <= set(put["put"]["responses"])


@pytest.mark.parametrize("action", ["review", "close"])
async def test_not_open_rejects_saves(server: LiveServer, aw: AnsweringWorld, action: str) -> None:
    async with tenant_transaction(aw.world.tenant):
        await service.change_status(aw.assessment_id, "review")
        if action == "close":
            await service.change_status(aw.assessment_id, "close")
    async with await api_for(server, aw, "anna") as api:
        refused = await api.put(
            f"{aw.api()}/gov_standards", json={"choice": "level", "level": 3, "revision": 0}
        )
        assert refused.status_code == 409
        assert "answers can no longer be changed" in refused.json()["detail"]
        listed = await api.get(aw.api())
        assert listed.status_code == 200 and listed.json()["can_change"] is False


async def test_runner_reads_a_respondent(server: LiveServer, aw: AnsweringWorld) -> None:
    async with await api_for(server, aw, "bernd") as api:
        await api.put(f"{aw.api()}/gov_roles", json={"choice": "level", "level": 5, "revision": 0})
    async with await api_for(server, aw, "admin") as api:
        read = await api.get(aw.api(), params={"respondent": aw.people["bernd"].email.upper()})
        assert read.status_code == 200
        roles = next(a for a in read.json()["answers"] if a["question_key"] == "gov_roles")
        assert roles["level"] == 5
        nobody = await api.get(aw.api(), params={"respondent": "nobody@de.example"})
        assert nobody.status_code == 404
        own = await api.get(aw.api())
        assert own.status_code == 403  # the admin is no respondent
        write = await api.put(
            f"{aw.api()}/gov_roles", json={"choice": "level", "level": 1, "revision": 1}
        )
        assert write.status_code == 403
