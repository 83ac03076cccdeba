"""Tenant jobs run by a real arq worker (burst mode) against the real Redis."""

from __future__ import annotations

import os
import uuid

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import NoTenantError
from scalemark.org import service
from scalemark.org.rules import UnitData
from scalemark.worker import tree_summary


@pytest.fixture
async def queue():
    settings = RedisSettings.from_dsn(os.environ["REDIS_URL"])
    pool = await create_pool(settings)
    name = f"test:{uuid.uuid4().hex}"
    yield pool, name, settings
    await pool.aclose()


async def run_burst(settings: RedisSettings, name: str) -> None:
    worker = Worker(
        functions=[tree_summary],
        redis_settings=settings,
        queue_name=name,
        burst=True,
        max_tries=1,
        poll_delay=0.05,
        handle_signals=False,
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()


async def test_job_runs_in_its_tenant(make_tenant, queue) -> None:
    pool, name, settings = queue
    first, second = await make_tenant("job"), await make_tenant("job")
    async with tenant_transaction(first):
        await service.create_unit(UnitData("HQ", "HQ", "hq"), None)
        await service.create_unit(UnitData("DE", "Germany", "country"), "HQ")
    async with tenant_transaction(second):
        await service.create_unit(UnitData("HQ", "HQ", "hq"), None)
    job_a = await pool.enqueue_job("tree_summary", first.slug, "de", _queue_name=name)
    job_b = await pool.enqueue_job("tree_summary", second.slug, "fr", _queue_name=name)
    await run_burst(settings, name)
    assert await job_a.result(timeout=5) == {"hq": 1, "country": 1}
    assert await job_b.result(timeout=5) == {"hq": 1}


@pytest.mark.parametrize("tenant", [None, "", "../x", "no-such-tenant"])
async def test_job_without_valid_tenant_is_rejected(app_db, queue, tenant) -> None:
    pool, name, settings = queue
    job = await pool.enqueue_job("tree_summary", tenant, _queue_name=name)
    await run_burst(settings, name)
    with pytest.raises(NoTenantError):
        await job.result(timeout=5)
