"""Ids beyond the database's integer range are simply not found, never a 500."""

from __future__ import annotations

import asyncpg
import pytest

from support.assessment_pages import api_client, org_of, signed_in
from support.assessments import assessment_world
from support.identity import person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)

HUGE = "99999999999999999999"


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


async def test_huge_ids_answer_404(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, prefix="huge")
    admin = await person(org_of(world), "admin", "hq_admin")
    de = world.units["DE"]
    async with await signed_in(server, world, admin) as client:
        for path in (
            f"/assessments/{HUGE}",
            f"/assessments/{HUGE}/results",
            f"/assessments/{world.assessment.id}/review/{HUGE}",
            f"/assessments/{world.assessment.id}/answer/{HUGE}",
            f"/reports/{HUGE}",
            f"/rollout?within={HUGE}",
            f"/units/{HUGE}",
        ):
            response = await client.get(path)
            assert response.status_code == 404, (path, response.status_code)
        posted = await client.post(f"/assessments/{HUGE}/status", {"action": "review"})
        assert posted.status_code == 404
        saved = await client.post(
            f"/assessments/{world.assessment.id}/answer/{de}/q/gov_standards",
            {"choice": "level", "level": "3", "revision": HUGE},
        )
        assert saved.status_code in (403, 404, 409, 422)
    async with await api_client(server, world, "hq_admin") as api:
        assert (await api.get(f"/api/v1/assessments/{HUGE}")).status_code == 404
