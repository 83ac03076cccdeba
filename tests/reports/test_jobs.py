"""The render job with real arq workers: rendering, progress, idempotency, retries,
a killed worker, Redis down at request time, and the recovery sweep.

In-process workers run in burst mode (``support.worker.run_burst_worker``) so monkeypatched
failures apply; the killed-worker test starts ``python -m arq scalemark.worker.WorkerSettings``
as a separate process group and SIGKILLs it in the middle of a render.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from typing import Any

import asyncpg
import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job
from redis.asyncio import Redis

from scalemark.db import tenant_transaction, use_tenant
from scalemark.reports import jobs, service
from scalemark.reports.render import RenderPool
from scalemark.reports.service import Report, ReportRequest
from scalemark.settings import get_settings
from support.assessment_results import ScoredWorld, answer, scored_world
from support.worker import (
    WorkerProcess,
    redis_settings,
    render_pool_fixture,  # noqa: F401 - the session fixture render_pool
    run_burst_worker,
    wait_for,
)

pytestmark = pytest.mark.timeout(180)

ARGS = ("en", "Europe/Berlin", "board")


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF (poppler's pdftotext)."""
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


async def placeholder(report: ReportRequest) -> tuple[str, dict[str, tuple[bytes, str]]]:
    """A tiny document instead of the real one (mechanics tests)."""
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Placeholder</title>'
        '<style>html, @page { font-family: "DejaVu Sans"; }</style></head>'
        f"<body><h1>Placeholder report {report.report_id}</h1>"
        f"<p>{report.audience} {report.locale} {report.timezone}</p></body></html>"
    )
    return html, {}


@pytest.fixture
async def world(make_tenant) -> ScoredWorld:
    return await scored_world(make_tenant, prefix="rpj", status="closed")


@pytest.fixture
async def arq_pool():
    """An arq pool on the emptied test Redis (queues of earlier tests gone)."""
    client = Redis.from_url(os.environ["REDIS_URL"])
    await client.flushdb()
    await client.aclose()
    pool = await create_pool(redis_settings())
    yield pool
    await pool.flushdb()
    await pool.aclose()


async def submit(world: ScoredWorld, pool: ArqRedis, *args: Any) -> service.Submission:
    async with tenant_transaction(world.tenant):
        return await service.submit_report(world.assessment_id, None, *(args or ARGS), redis=pool)


async def row(world: ScoredWorld, report_id: int) -> Report:
    async with tenant_transaction(world.tenant):
        found = await service.get_report(report_id)
    assert found is not None
    return found


async def job_result(pool: ArqRedis, job_id: str) -> Any:
    info = await Job(job_id, pool).result_info()
    assert info is not None, job_id
    return info


def slug(world: ScoredWorld) -> str:
    return str(world.tenant.slug)  # type: ignore[attr-defined]


async def enqueue_extra_job(
    pool: ArqRedis, world: ScoredWorld, report: Report, job_id: str, audience: str = ""
) -> None:
    """A second render job for ``report``'s row (``audience``: other inputs than the row's)."""
    await pool.enqueue_job(
        "render_report",
        slug(world),
        "en",
        report.id,
        report.assessment_id,
        None,
        report.timezone,
        audience or report.audience,
        _job_id=job_id,
    )


class CountingRenderer:
    """Wraps the shared render pool: counts renders, can fail or stall them."""

    def __init__(self, pool: RenderPool, failures: list[BaseException] | None = None) -> None:
        self.pool = pool
        self.failures = list(failures or [])
        self.calls = 0
        self.stall = 0.0
        self.seen_status: list[str] = []
        self.world: ScoredWorld | None = None

    async def render(self, html: str, resources: Any = None) -> Any:
        self.calls += 1
        if self.world is not None:
            # Read in a transaction of its own: the job's step must be committed.
            report_id = int(html.split("Placeholder report ")[1].split("<")[0])
            self.seen_status.append((await row(self.world, report_id)).status)
        if self.stall:
            await asyncio.sleep(self.stall)  # keep the render busy while a rival job runs
        if self.failures:
            raise self.failures.pop(0)
        return await self.pool.render(html, resources)


# --------------------------------------------------------------------------- rendering


async def test_a_worker_renders_the_real_report(world: ScoredWorld, arq_pool, render_pool) -> None:
    submitted = await submit(world, arq_pool, "en", "Europe/Berlin", "full")
    assert submitted.created and submitted.enqueued
    worker = await run_burst_worker(ctx={"report_renderer": render_pool})
    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    done = await row(world, submitted.report.id)
    assert done.status == "ready", done.error
    assert done.page_count and done.page_count >= 2
    assert done.started_at and done.finished_at and done.error == ""
    async with tenant_transaction(world.tenant):
        pdf = await service.report_file(done.id)
    assert pdf is not None and pdf.startswith(b"%PDF") and len(pdf) == done.size_bytes
    text = pdf_text(pdf)
    assert "Scalability 2026" in text
    assert "MATURITY REPORT" in text.replace("M AT U R I T Y R E P O R T", "MATURITY REPORT")
    assert f"Page {done.page_count} of {done.page_count}" in text


async def test_progress_is_committed_step_by_step(world: ScoredWorld, arq_pool, render_pool):
    renderer = CountingRenderer(render_pool)
    renderer.world = world
    seen: list[str] = []

    async def builder(report: ReportRequest) -> tuple[str, dict[str, tuple[bytes, str]]]:
        seen.append((await row(world, report.report_id)).status)
        return await placeholder(report)

    submitted = await submit(world, arq_pool)
    assert (await row(world, submitted.report.id)).status == "queued"
    await run_burst_worker(ctx={"report_renderer": renderer, "report_builder": builder})
    assert seen == ["collecting"]
    assert renderer.seen_status == ["rendering"]
    done = await row(world, submitted.report.id)
    assert done.status == "ready" and done.page_count == 1
    async with tenant_transaction(world.tenant):
        pdf = await service.report_file(done.id)
    assert pdf is not None and f"Placeholder report {done.id}" in pdf_text(pdf)


# --------------------------------------------------------------------------- idempotency


async def test_same_fingerprint_same_report_and_no_second_job(
    world: ScoredWorld, arq_pool, render_pool
) -> None:
    renderer = CountingRenderer(render_pool)
    first = await submit(world, arq_pool)
    second = await submit(world, arq_pool)
    assert second.report.id == first.report.id and not second.created
    assert await arq_pool.zcard("arq:queue") == 1
    await run_burst_worker(ctx={"report_renderer": renderer, "report_builder": placeholder})
    assert renderer.calls == 1
    # Asked again once ready: the same report, no job at all.
    third = await submit(world, arq_pool)
    assert third.report.id == first.report.id and third.report.ready and not third.created
    assert await arq_pool.zcard("arq:queue") == 0
    # A stray job for the ready row returns at once.
    report = third.report
    stray = f"stray:{report.id}"
    await enqueue_extra_job(arq_pool, world, report, stray)
    await run_burst_worker(ctx={"report_renderer": renderer, "report_builder": placeholder})
    assert (await job_result(arq_pool, stray)).result == "already-ready"
    assert renderer.calls == 1
    # An answer changes: a new report and a new job.
    async with tenant_transaction(world.tenant):
        await answer(world.respondents["anna@de.example"].id, "exe_tools", "level", 1)
    changed = await submit(world, arq_pool)
    assert changed.created and changed.report.id != first.report.id
    assert await arq_pool.zcard("arq:queue") == 1


async def test_two_jobs_for_one_row_render_it_once(
    world: ScoredWorld, arq_pool, render_pool
) -> None:
    renderer = CountingRenderer(render_pool)
    renderer.stall = 0.5
    submitted = await submit(world, arq_pool)
    report = submitted.report
    rival = f"rival:{report.id}"
    await enqueue_extra_job(arq_pool, world, report, rival)
    await run_burst_worker(ctx={"report_renderer": renderer, "report_builder": placeholder})
    assert renderer.calls == 1
    results = {
        (await job_result(arq_pool, service.render_job_id(slug(world), report.id, 1))).result,
        (await job_result(arq_pool, rival)).result,
    }
    assert "ready" in results and results & {"already-ready", "busy"}
    assert (await row(world, report.id)).ready


async def test_a_job_with_other_inputs_does_nothing(world: ScoredWorld, arq_pool, render_pool):
    submitted = await submit(world, arq_pool)
    report = submitted.report
    await enqueue_extra_job(arq_pool, world, report, "mismatch", audience="full")  # row: board
    await arq_pool.zrem("arq:queue", service.render_job_id(slug(world), report.id, 1))
    await run_burst_worker(
        ctx={"report_renderer": render_pool, "report_builder": placeholder}, startup=False
    )
    assert (await job_result(arq_pool, "mismatch")).result == "missing"
    assert (await row(world, report.id)).status == "queued"


# --------------------------------------------------------------------------- failures


async def test_a_transient_failure_is_retried(world: ScoredWorld, arq_pool, render_pool) -> None:
    renderer = CountingRenderer(render_pool, failures=[ConnectionError("pool went away")])
    submitted = await submit(world, arq_pool)
    worker = await run_burst_worker(
        ctx={
            "report_renderer": renderer,
            "report_builder": placeholder,
            "report_retry_base": 0.05,
        }
    )
    assert renderer.calls == 2
    assert worker.jobs_retried == 1
    job_id = service.render_job_id(slug(world), submitted.report.id, 1)
    info = await job_result(arq_pool, job_id)
    assert info.success and info.result == "ready" and info.job_try == 2
    done = await row(world, submitted.report.id)
    assert done.ready and done.attempts == 1


async def test_the_last_try_fails_the_row(world: ScoredWorld, arq_pool, render_pool) -> None:
    failures: list[BaseException] = [ConnectionError("down")] * jobs.MAX_TRIES
    renderer = CountingRenderer(render_pool, failures=failures)
    submitted = await submit(world, arq_pool)
    await run_burst_worker(
        ctx={
            "report_renderer": renderer,
            "report_builder": placeholder,
            "report_retry_base": 0.02,
        }
    )
    assert renderer.calls == jobs.MAX_TRIES
    done = await row(world, submitted.report.id)
    assert done.failed and "service was unavailable" in done.error
    async with tenant_transaction(world.tenant):
        assert await service.report_file(done.id) is None
        # Failed reports do not block a new request.
        again, created = await service.request_report(world.assessment_id, None, *ARGS)
    assert created and again.id != done.id


async def test_a_document_error_fails_at_once(world: ScoredWorld, arq_pool, render_pool) -> None:
    calls = 0

    async def broken(report: ReportRequest) -> tuple[str, dict[str, tuple[bytes, str]]]:
        nonlocal calls
        calls += 1
        raise ValueError("template bug")

    submitted = await submit(world, arq_pool)
    await run_burst_worker(ctx={"report_renderer": render_pool, "report_builder": broken})
    assert calls == 1
    done = await row(world, submitted.report.id)
    assert done.failed and "error in the document" in done.error


# --------------------------------------------------------------------------- recovery


async def lease_free(world: ScoredWorld, report_id: int) -> bool:
    """Nobody holds the report's render lease (probe: take it and give it back)."""
    conn = await asyncpg.connect(get_settings().database_url)
    try:
        key = f"scalemark.report:{world.tenant.schema}:{report_id}"  # type: ignore[attr-defined]
        got = await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key)
        if got:
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)
        return bool(got)
    finally:
        await conn.close()


async def test_a_killed_worker_does_not_lose_the_report(
    world: ScoredWorld, arq_pool, render_pool
) -> None:
    submitted = await submit(world, arq_pool)
    report_id = submitted.report.id
    process = WorkerProcess({"SCALEMARK_TEST_RENDER_DELAY": "120"})
    try:

        async def rendering() -> bool:
            if not process.alive():
                pytest.fail(f"worker exited:\n{process.log_tail()}")
            return (await row(world, report_id)).status == "rendering"

        await wait_for(rendering, timeout_s=90, message="the worker to start rendering")
        assert not await lease_free(world, report_id)
    finally:
        process.kill()
    await wait_for(lambda: lease_free(world, report_id), message="the dead worker's lease")
    assert (await row(world, report_id)).status == "rendering"
    # A new worker: its start-up sweep recovers the row as a new attempt and renders it.
    worker = await run_burst_worker(
        ctx={"report_renderer": render_pool, "report_builder": placeholder}
    )
    done = await row(world, report_id)
    assert done.status == "ready", done.error
    assert done.attempts == 2
    assert worker.jobs_complete == 1
    # The dead worker's job is gone: it will not run again when its lock expires.
    old = service.render_job_id(slug(world), report_id, 1)
    assert await arq_pool.zscore("arq:queue", old) is None


async def test_redis_down_at_request_then_the_sweep_starts_it(
    world: ScoredWorld, arq_pool, render_pool
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    async with tenant_transaction(world.tenant):
        submitted = await service.submit_report(
            world.assessment_id,
            None,
            *ARGS,
            redis_settings=RedisSettings(host="127.0.0.1", port=closed),
        )
    assert submitted.created and not submitted.enqueued
    assert await arq_pool.zcard("arq:queue") == 0
    # Asking again while Redis is back enqueues the same attempt's job.
    again = await submit(world, arq_pool)
    assert again.report.id == submitted.report.id and again.enqueued
    await arq_pool.flushdb()  # ...but say that job was lost too: the sweep must find it
    await run_burst_worker(ctx={"report_renderer": render_pool, "report_builder": placeholder})
    done = await row(world, submitted.report.id)
    assert done.ready and done.attempts == 1


async def test_the_sweep_retries_finished_jobs_and_gives_up_in_the_end(
    world: ScoredWorld, arq_pool
) -> None:
    async with tenant_transaction(world.tenant):
        report, _ = await service.request_report(world.assessment_id, None, *ARGS)
    job_id = service.render_job_id(slug(world), report.id, 1)
    # Its job finished without finishing the row (say it found the lease busy).
    await arq_pool.set(f"arq:result:{job_id}", b"x", ex=60)
    lock_conn = await asyncpg.connect(get_settings().database_url)
    try:
        with use_tenant(world.tenant):  # type: ignore[arg-type]
            counts = await jobs.sweep_tenant(arq_pool, lock_conn)
            assert counts == {"enqueued": 0, "retried": 1, "failed": 0}
            bumped = await service.get_report(report.id)
            assert bumped is not None and bumped.attempts == 2 and bumped.status == "queued"
            queued = await arq_pool.zrange("arq:queue", 0, -1)
            assert queued == [service.render_job_id(slug(world), report.id, 2).encode()]
            # Its job is queued: nothing to do.
            assert await jobs.sweep_tenant(arq_pool, lock_conn) == {
                "enqueued": 0,
                "retried": 0,
                "failed": 0,
            }
            # A render in progress (lease held) is left alone.
            async with tenant_transaction() as conn:
                await conn.execute(
                    "UPDATE report SET status = 'rendering' WHERE id = $1", report.id
                )
            async with jobs.render_lease(report.id) as held:
                assert held
                assert (await jobs.sweep_tenant(arq_pool, lock_conn))["retried"] == 0
            # Out of attempts: the row fails with a reason.
            async with tenant_transaction() as conn:
                await conn.execute(
                    "UPDATE report SET attempts = $2 WHERE id = $1", report.id, jobs.MAX_ATTEMPTS
                )
            assert (await jobs.sweep_tenant(arq_pool, lock_conn))["failed"] == 1
            failed = await service.get_report(report.id)
            assert failed is not None and failed.failed and "several attempts" in failed.error
    finally:
        await lock_conn.close()
