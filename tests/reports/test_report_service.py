"""Report requests: fingerprint, idempotency (also under a race), validation, enqueue.

The world: HQ > EU > DE, FR, IT, all in a closed assessment on the test framework with
the answers of ``support.assessment_results`` (see there).
"""

from __future__ import annotations

import asyncio
import os

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from redis.asyncio import Redis

from scalemark.db import tenant_transaction, use_tenant
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData
from scalemark.reports import service
from scalemark.reports.service import ReportError
from support.assessment_results import ScoredWorld, answer, scored_world
from support.assessments import assessment_world
from support.worker import redis_settings

pytestmark = pytest.mark.timeout(120)

ARGS = ("en", "Europe/Berlin", "board")


def closed_port() -> int:
    """A local TCP port nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def world(make_tenant) -> ScoredWorld:
    return await scored_world(make_tenant, prefix="rps", status="closed")


@pytest.fixture
async def queue_keys():
    """The arq queue of the test Redis, emptied before and after the test."""
    client = Redis.from_url(os.environ["REDIS_URL"])
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def test_fingerprint_follows_the_inputs(world: ScoredWorld) -> None:
    aid, units = world.assessment_id, world.units
    async with tenant_transaction(world.tenant):
        base = await service.fingerprint(aid, None, *ARGS)
        assert base == await service.fingerprint(aid, None, *ARGS)
        assert len(base) == 64
        others = {
            await service.fingerprint(aid, units["EU"], *ARGS),
            await service.fingerprint(aid, None, "fr", "Europe/Berlin", "board"),
            await service.fingerprint(aid, None, "en", "UTC", "board"),
            await service.fingerprint(aid, None, "en", "Europe/Berlin", "full"),
        }
        assert base not in others and len(others) == 4
        # An answer changes (even without touching updated_at): a new fingerprint.
        await answer(world.respondents["chloe@fr.example"].id, "gov_standards", "level", 2)
        changed = await service.fingerprint(aid, None, *ARGS)
        assert changed != base
        # A validation, a target, the branding: each changes it.
        async with tenant_transaction() as conn:
            await conn.execute(
                "INSERT INTO assessment_validation (assessment_id, unit_id, question_key,"
                " choice, level, rationale) VALUES ($1, $2, 'gov_roles', 'level', 3, 'checked')",
                aid,
                units["DE"],
            )
        validated = await service.fingerprint(aid, None, *ARGS)
        assert validated != changed
        async with tenant_transaction() as conn:
            await conn.execute(
                "UPDATE assessment_target SET level = 2 WHERE assessment_id = $1"
                " AND dimension_key = 'execution'",
                aid,
            )
        targeted = await service.fingerprint(aid, None, *ARGS)
        assert targeted != validated
        async with tenant_transaction() as conn:
            await conn.execute("INSERT INTO branding (accent_colour) VALUES ('#123456')")
        assert await service.fingerprint(aid, None, *ARGS) != targeted
        with pytest.raises(LookupError):
            await service.fingerprint(aid + 1000, None, *ARGS)


async def test_the_same_inputs_give_the_same_report(world: ScoredWorld) -> None:
    async with tenant_transaction(world.tenant):
        first, created = await service.request_report(world.assessment_id, None, *ARGS)
        assert created and first.status == "queued" and first.attempts == 1
        assert first.requested_label == "system"
        assert first.assessment_title == "Scalability 2026"
        again, created_again = await service.request_report(world.assessment_id, None, *ARGS)
        assert again.id == first.id and not created_again
        scoped, created_scoped = await service.request_report(
            world.assessment_id, world.units["EU"], *ARGS
        )
        assert created_scoped and scoped.id != first.id and scoped.scope_unit_name == "Unit EU"
        async with tenant_transaction() as conn:
            audited = await conn.fetch(
                "SELECT object_id FROM audit_event WHERE action = 'report.request' ORDER BY id"
            )
        assert [r["object_id"] for r in audited] == [str(first.id), str(scoped.id)]
        # A failed report does not count: asking again makes a new one.
        await service.fail_report(first.id, "broken")
        retried, created_retry = await service.request_report(world.assessment_id, None, *ARGS)
        assert created_retry and retried.id not in (first.id, scoped.id)
        # An answer changes: a new report.
        await answer(world.respondents["anna@de.example"].id, "exe_tools", "level", 5)
        fresh, created_fresh = await service.request_report(world.assessment_id, None, *ARGS)
        assert created_fresh and fresh.id != retried.id
        listed = await service.list_reports(world.assessment_id)
        assert [r.id for r in listed] == [fresh.id, retried.id, scoped.id, first.id]
        assert [r.id for r in await service.list_reports(ids=[first.id])] == [first.id]
        assert (await service.get_report(first.id)).failed  # type: ignore[union-attr]
        assert await service.get_report(fresh.id + 100) is None
        assert await service.report_file(fresh.id) is None


async def test_concurrent_requests_make_one_report(world: ScoredWorld) -> None:
    async def ask() -> tuple[service.Report, bool]:
        # Each task has its own transaction (and pooled connection): a real race.
        with use_tenant(world.tenant):  # type: ignore[arg-type]
            return await service.request_report(world.assessment_id, None, *ARGS)

    results = await asyncio.gather(*(ask() for _ in range(6)))
    assert len({report.id for report, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_bad_requests_are_refused_with_a_field(make_tenant) -> None:
    draft = await assessment_world(make_tenant, prefix="rpd", status="draft")
    async with tenant_transaction(draft.tenant):
        with pytest.raises(ReportError) as refused:
            await service.request_report(draft.assessment.id, None, *ARGS)
        assert refused.value.field == "assessment"
    world = await assessment_world(make_tenant, prefix="rpb")
    aid = world.assessment.id
    async with tenant_transaction(world.tenant):
        outside = await org_service.create_unit(UnitData("ES", "Spain", "country"), "EU")
        for args, field in [
            ((aid, None, "en", "Europe/Berlin", "everyone"), "audience"),
            ((aid, None, "xx", "Europe/Berlin", "board"), "locale"),
            ((aid, None, "en", "Mars/Olympus", "board"), "timezone"),
            ((aid, None, "en", "../etc", "board"), "timezone"),
            ((aid, outside.id, *ARGS), "scope"),
            ((aid, 999999, *ARGS), "scope"),
        ]:
            with pytest.raises(ReportError) as refused:
                await service.request_report(*args)
            assert refused.value.field == field, args
        with pytest.raises(LookupError):
            await service.request_report(aid + 1000, None, *ARGS)
        # The open assessment over DE/FR/IT: HQ's subtree holds them, so HQ is a scope.
        report, created = await service.request_report(aid, world.units["HQ"], *ARGS)
        assert created and report.scope_unit_id == world.units["HQ"]


async def test_submit_enqueues_one_job_per_attempt(world: ScoredWorld, queue_keys) -> None:
    pool = await create_pool(redis_settings())
    try:
        async with tenant_transaction(world.tenant):
            first = await service.submit_report(world.assessment_id, None, *ARGS, redis=pool)
            second = await service.submit_report(world.assessment_id, None, *ARGS, redis=pool)
        assert first.created and first.enqueued
        assert second.report.id == first.report.id and not second.created and second.enqueued
        queued = await queue_keys.zrange("arq:queue", 0, -1)
        slug = world.tenant.slug  # type: ignore[attr-defined]
        assert queued == [service.render_job_id(slug, first.report.id, 1).encode()]
    finally:
        await pool.aclose()


async def test_redis_down_leaves_the_report_queued(world: ScoredWorld, queue_keys) -> None:
    down = RedisSettings(host="127.0.0.1", port=closed_port())
    async with tenant_transaction(world.tenant):
        submitted = await service.submit_report(
            world.assessment_id, None, *ARGS, redis_settings=down
        )
        assert submitted.created and not submitted.enqueued
        stored = await service.get_report(submitted.report.id)
    assert stored is not None and stored.status == "queued" and stored.attempts == 1
    assert await queue_keys.zcard("arq:queue") == 0
