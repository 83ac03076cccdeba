"""Starting the review or closing brings the cached scores up to date at once."""

from __future__ import annotations

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from support.assessment_pages import org_of, signed_in
from support.assessments import assessment_world
from support.identity import person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


async def stale_units(world) -> int:
    async with tenant_transaction(world.tenant) as conn:
        return await conn.fetchval(
            "SELECT count(*) FROM assessment_unit WHERE assessment_id = $1 AND scores_stale",
            world.assessment.id,
        )


async def test_review_refreshes_the_scores(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, prefix="lcs")
    async with tenant_transaction(world.tenant) as conn:
        await conn.execute(
            "INSERT INTO assessment_answer (respondent_id, question_key, choice, level)"
            " VALUES ($1, 'gov_standards', 'level', 4)",
            world.respondents["anna@de.example"].id,
        )
        await conn.execute("UPDATE assessment_unit SET scores_stale = true")
    assert await stale_units(world) == 3
    admin = await person(org_of(world), "admin", "hq_admin")
    async with await signed_in(server, world, admin) as client:
        moved = await client.post(
            f"/assessments/{world.assessment.id}/status", {"action": "review"}
        )
        assert moved.status_code in (200, 303)
    assert await stale_units(world) == 0
    async with tenant_transaction(world.tenant) as conn:
        score = await conn.fetchval(
            "SELECT self_score FROM assessment_score WHERE assessment_id = $1"
            " AND unit_id = $2 AND dimension_key = 'governance'",
            world.assessment.id,
            world.units["DE"],
        )
    assert float(score) == pytest.approx(4.0)
