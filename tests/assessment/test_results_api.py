"""``/api/v1/assessments/{id}/results``, ``…/review/{unit}`` and ``…/validations/…`` with tokens.

World: HQ > EU > DE, FR, IT, all in scope (see :mod:`support.assessment_results`).
"""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from scalemark.assessment import service
from scalemark.db import tenant_transaction
from scalemark.identity.tokens import create_token
from scalemark.identity.users import get_user_by_email
from support.assessment_results import ScoredWorld, consultant, scored_world
from support.identity import Organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


async def api_client(
    server: LiveServer, scored: ScoredWorld, role: str, unit: str = "HQ"
) -> httpx.AsyncClient:
    org = Organisation(tenant=scored.tenant)
    if role == "consultant":
        credentials = await consultant(scored.tenant)
    else:
        credentials = await person(org, role, role, unit)
    user = await get_user_by_email(credentials.email)
    assert user is not None
    _, secret = await create_token(scored.tenant.id, user.id, "results tests")
    return server.client(org.slug, headers={"authorization": f"Bearer {secret}"})


async def test_results_review_and_validation_round_trip(server: LiveServer, make_tenant) -> None:
    scored = await scored_world(make_tenant, status="in_review")
    ids, aid = scored.units, scored.assessment_id
    async with await api_client(server, scored, "consultant") as api:
        found = await api.get(f"/api/v1/assessments/{aid}/results")
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["status"] == "in_review" and body["targets"] == {
            "governance": 5.0,
            "execution": 4.0,
        }
        units = {u["code"]: u for u in body["units"]}
        assert list(units) == ["HQ", "EU", "DE", "FR", "IT"]
        assert units["DE"]["parent_id"] == ids["EU"] and units["DE"]["weight"] == 2.0
        de = {d["key"]: d for d in units["DE"]["dimensions"]}
        assert de["governance"]["self_score"] == 2.0 and de["governance"]["coverage"] == 0.5
        assert de["governance"]["gap"] == 3.0 and de["governance"]["dont_know"] == 1
        assert units["DE"]["overall"]["self_score"] == 3.11
        assert units["DE"]["positions"] == [
            {"field": "steering", "position": 40.0, "respondents": 2}
        ]
        eu = {d["key"]: d for d in units["EU"]["dimensions"]}
        assert eu["governance"]["self_score"] is None  # nothing of its own
        assert eu["governance"]["rolled_self_score"] == pytest.approx(
            (2 * 2.0 + 3.67) / 3, abs=1e-4
        )

        review = await api.get(f"/api/v1/assessments/{aid}/review/{ids['DE']}")
        assert review.status_code == 200
        questions = {q["key"]: q for q in review.json()["questions"]}
        assert questions["gov_standards"]["spread"] == 2
        assert questions["gov_standards"]["disagreement"] is True
        assert [a["level"] for a in questions["gov_standards"]["answers"]] == [1, 3]
        assert [a["ignored"] for a in questions["gov_review"]["answers"]] == [True, False]
        assert (await api.get(f"/api/v1/assessments/{aid}/review/999999")).status_code == 404

        path = f"/api/v1/assessments/{aid}/validations/{ids['DE']}/gov_standards"
        missing = await api.put(path, json={"choice": "level", "level": 4, "rationale": " "})
        assert missing.status_code == 400
        assert missing.json()["field"] == "rationale"
        bad_level = await api.put(path, json={"choice": "level", "level": 9, "rationale": "x"})
        assert bad_level.status_code == 400
        saved = await api.put(path, json={"choice": "level", "level": 4, "rationale": "Seen"})
        assert saved.status_code == 200, saved.text
        assert saved.json()["level"] == 4 and saved.json()["rationale"] == "Seen"
        unknown = await api.put(
            f"/api/v1/assessments/{aid}/validations/{ids['DE']}/nope",
            json={"choice": "level", "level": 4, "rationale": "x"},
        )
        assert unknown.status_code == 404

        after = await api.get(f"/api/v1/assessments/{aid}/results")
        de_after = {u["code"]: u for u in after.json()["units"]}["DE"]
        governance = {d["key"]: d for d in de_after["dimensions"]}["governance"]
        assert (governance["self_score"], governance["validated_score"]) == (2.0, 4.0)
        assert de_after["validated_questions"] == 1

        async with tenant_transaction(scored.tenant):
            await service.change_status(aid, "close")
        closed = await api.put(path, json={"choice": "level", "level": 5, "rationale": "Later"})
        assert closed.status_code == 409
        assert "closed" in closed.json()["detail"]

        schema = await api.get("/api/v1/schema/openapi.json")
        assert schema.status_code == 200
        paths = schema.json()["paths"]
        assert "/api/v1/assessments/{assessment_id}/results" in paths
        assert (
            "put"
            in paths["/api/v1/assessments/{assessment_id}/validations/{unit_id}/{question_key}"]
        )


async def test_only_runners_use_review_and_validations(server: LiveServer, make_tenant) -> None:
    scored = await scored_world(make_tenant, status="in_review")
    ids, aid = scored.units, scored.assessment_id
    async with await api_client(server, scored, "unit_lead", "DE") as api:
        assert (await api.get(f"/api/v1/assessments/{aid}/review/{ids['DE']}")).status_code == 403
        forged = await api.put(
            f"/api/v1/assessments/{aid}/validations/{ids['DE']}/gov_standards",
            json={"choice": "level", "level": 5, "rationale": "mine"},
        )
        assert forged.status_code == 403
        mine = await api.get(f"/api/v1/assessments/{aid}/results")
        assert [u["code"] for u in mine.json()["units"]] == ["DE"]
