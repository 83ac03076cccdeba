"""The render job, its retries, and the sweep that recovers reports of dead workers.

``render_report(ctx, tenant, locale, report_id, assessment_id, scope_unit_id, timezone,
audience)`` renders one report row. The row is the source of truth: the job moves it
``queued`` → ``collecting`` → ``rendering`` → ``ready`` (or ``failed`` with a reason in
the report's language), each step its own short transaction so pages see progress.

Only one job renders a row at a time: a job first takes the row's *render lease*, a
PostgreSQL session advisory lock on a connection of its own. PostgreSQL drops the lock
when that connection ends — also when the worker is killed — so a row in ``collecting``
or ``rendering`` whose lease is free belongs to a dead worker. A second job for the same
row waits briefly for the lease, then finds the row ready (or leaves it to the holder).

Failures: transient ones (database or Redis connection trouble, a render process that
died) put the row back to ``queued`` and raise :class:`arq.Retry` with growing back-off;
on the last try the row fails. Faults of the document fail the row at once (retrying
would fail the same way). A job timeout is final in arq, so the render has its own,
shorter timeout.

The sweep (:func:`sweep_reports`, every minute and at worker start-up) walks every active
tenant's pending rows: a ``queued`` row whose job is gone (never enqueued because Redis
was down, or finished without a result) or that waited longer than
:data:`STUCK_AFTER` gets a job; a ``collecting``/``rendering`` row whose lease is free
gets a new attempt (``attempts`` + 1, a new job id) and its dead job is dropped from the
queue. After :data:`MAX_ATTEMPTS` attempts the row fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from typing import Any, cast

import asyncpg
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.jobs import Job, JobStatus
from arq.worker import Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from scalemark.db.tenant_context import TenantRef, current_tenant, tenant_transaction, use_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n.locale import use_locale
from scalemark.job_context import tenant_job
from scalemark.reports import service
from scalemark.reports.render import RenderPool, RenderPoolBroken
from scalemark.reports.service import ReportRequest
from scalemark.settings import get_settings
from scalemark.tenancy.registry import list_tenants

__all__ = [
    "JOB_TIMEOUT_SECONDS",
    "MAX_ATTEMPTS",
    "MAX_TRIES",
    "RENDER_TIMEOUT_SECONDS",
    "STUCK_AFTER",
    "Builder",
    "is_transient",
    "recover_reports",
    "render_lease",
    "render_report",
    "retry_delay",
    "start_reports",
    "stop_reports",
    "sweep_reports",
    "sweep_tenant",
]

logger = logging.getLogger("scalemark.reports.jobs")

Builder = Callable[[ReportRequest], Awaitable[tuple[str, dict[str, tuple[bytes, str]]]]]
"""``content.build_html``: the print HTML and its named resources."""

MAX_TRIES = 4
"""arq tries of one job (the first and three retries)."""
RETRY_BASE_SECONDS = 5.0
"""Back-off of the first retry; doubles each time (``ctx["report_retry_base"]`` overrides)."""
RETRY_MAX_SECONDS = 120.0
RENDER_TIMEOUT_SECONDS = 240.0
"""A render taking longer fails the report (below the job timeout, which arq never retries)."""
JOB_TIMEOUT_SECONDS = 300
"""arq's timeout of the render job."""
LEASE_WAIT_SECONDS = 5
"""How long a job waits for a row's lease held by another job or the sweep."""
STUCK_AFTER = timedelta(minutes=10)
"""A ``queued`` row waiting longer than this gets a new job even if arq still holds one."""
MAX_ATTEMPTS = 5
"""Jobs per row (each with up to :data:`MAX_TRIES` tries) before the sweep gives up."""

_TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    RedisConnectionError,
    RedisTimeoutError,
    BrokenProcessPool,
    RenderPoolBroken,
)


class RenderTimeout(RuntimeError):
    """The render took longer than :data:`RENDER_TIMEOUT_SECONDS`."""


def is_transient(exc: BaseException) -> bool:
    """Trouble of the moment (connections, a dead render process): worth a retry."""
    return isinstance(exc, _TRANSIENT)


def retry_delay(job_try: int, base: float = RETRY_BASE_SECONDS) -> float:
    """Seconds before retry ``job_try`` + 1: ``base``, 2·``base``, 4·``base``… (capped)."""
    return min(RETRY_MAX_SECONDS, base * 2 ** max(0, job_try - 1))


# --------------------------------------------------------------------------- lease


def _lease_key(tenant: TenantRef, report_id: int) -> str:
    return f"scalemark.report:{tenant.schema}:{report_id}"


async def _lease_connection() -> asyncpg.Connection:
    # A connection of its own, outside the pool: the lock lives as long as it does, and
    # jobs holding leases must never starve their own transactions of pooled connections.
    return await asyncpg.connect(get_settings().database_url, timeout=10)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.shield(conn.close(timeout=5))
    except BaseException:
        conn.terminate()
        raise


@contextlib.asynccontextmanager
async def render_lease(
    report_id: int, wait_seconds: float = LEASE_WAIT_SECONDS
) -> AsyncIterator[bool]:
    """Hold the report's render lease for the block; yields False if another holds it.

    Waits up to ``wait_seconds`` (the sweep holds leases for a moment). The lease ends
    with the block, or with the process.
    """
    conn = await _lease_connection()
    try:
        await conn.execute(f"SET lock_timeout = '{int(wait_seconds * 1000)}ms'")
        try:
            await conn.execute(
                "SELECT pg_advisory_lock(hashtextextended($1, 0))",
                _lease_key(current_tenant(), report_id),
            )
        except asyncpg.LockNotAvailableError:
            held = False
        else:
            held = True
        yield held
    finally:
        await _close(conn)


# --------------------------------------------------------------------------- the job


def _builder(ctx: dict[str, Any]) -> Builder:
    """``ctx["report_builder"]`` (tests) or the real document builder."""
    injected = ctx.get("report_builder")
    if injected is not None:
        return cast(Builder, injected)
    from scalemark.reports import content

    return cast(Builder, content.build_html)


def _renderer(ctx: dict[str, Any]) -> RenderPool:
    pool = ctx.get("report_renderer")
    if pool is None:
        pool = ctx["report_renderer"] = RenderPool()
    return pool  # type: ignore[no-any-return]


async def _produce(ctx: dict[str, Any], report: service.Report) -> None:
    html, resources = await _builder(ctx)(ReportRequest.of(report))
    await service.mark_rendering(report.id)
    try:
        async with asyncio.timeout(RENDER_TIMEOUT_SECONDS):
            rendered = await _renderer(ctx).render(html, resources)
    except TimeoutError as exc:
        raise RenderTimeout(f"render took longer than {RENDER_TIMEOUT_SECONDS:.0f} s") from exc
    if rendered.refused:
        logger.warning("report %s: refused URLs %s", report.id, ", ".join(rendered.refused))
    await service.store_pdf(report.id, rendered.pdf, rendered.page_count)
    logger.info(
        "report %s ready: %d pages, %d bytes, %.2f s render",
        report.id,
        rendered.page_count,
        len(rendered.pdf),
        rendered.seconds,
    )


@tenant_job(transaction=False)
async def render_report(
    ctx: dict[str, Any],
    report_id: int,
    assessment_id: int,
    scope_unit_id: int | None,
    timezone: str,
    audience: str,
) -> str:
    """Render report ``report_id`` (enqueued as ``(tenant, locale, report_id, …)``).

    Returns what happened: ``ready``, ``failed``, ``busy`` (another job holds the row),
    ``missing`` (no such row, or one made of other inputs); ``already-ready`` /
    ``already-failed`` when there was nothing to do. Raises :class:`arq.Retry` on
    transient trouble before the last try.
    """
    job_try = int(ctx.get("job_try") or 1)
    try:
        async with render_lease(report_id) as held:
            if not held:
                return "busy"
            found = await service.get_report(report_id)
            expected = (assessment_id, scope_unit_id, timezone, audience)
            if (
                found is None
                or (
                    found.assessment_id,
                    found.scope_unit_id,
                    found.timezone,
                    found.audience,
                )
                != expected
            ):
                logger.warning("report %s: no row for this job's inputs", report_id)
                return "missing"
            if not found.pending:
                return f"already-{found.status}"
            report = await service.claim_report(report_id)
            assert report is not None
            try:
                await _produce(ctx, report)
            except asyncio.CancelledError:
                # The worker is shutting down and arq will run the job again: leave the
                # row queued for it rather than looking like a dead worker's.
                with contextlib.suppress(Exception):
                    await asyncio.shield(service.requeue_report(report_id))
                raise
            except Exception as exc:
                return await _after_failure(ctx, report_id, exc, job_try)
            return "ready"
    except Retry:
        raise
    except Exception as exc:
        # The lease itself (its connection) failed: nothing was claimed.
        if is_transient(exc) and job_try < MAX_TRIES:
            raise Retry(defer=retry_delay(job_try, _retry_base(ctx))) from exc
        raise


def _retry_base(ctx: dict[str, Any]) -> float:
    return float(ctx.get("report_retry_base", RETRY_BASE_SECONDS))


async def _after_failure(ctx: dict[str, Any], report_id: int, exc: Exception, job_try: int) -> str:
    """Retry transient trouble; fail the row with a translated reason otherwise."""
    if is_transient(exc):
        if job_try < MAX_TRIES:
            delay = retry_delay(job_try, _retry_base(ctx))
            logger.warning(
                "report %s: try %d failed (%s: %s); retrying in %.1f s",
                report_id,
                job_try,
                type(exc).__name__,
                exc,
                delay,
            )
            with contextlib.suppress(Exception):  # the database may be the trouble
                await service.requeue_report(report_id)
            raise Retry(defer=delay) from exc
        reason = _(
            "The report could not be produced because a service was unavailable."
            " Please ask for it again."
        )
    elif isinstance(exc, RenderTimeout):
        reason = _("The report took too long to produce. Please try a smaller scope.")
    else:
        reason = _("The report could not be produced because of an error in the document.")
    logger.error("report %s failed on try %d", report_id, job_try, exc_info=exc)
    await service.fail_report(report_id, reason)
    return "failed"


# --------------------------------------------------------------------------- the sweep


async def _drop_job(redis: ArqRedis, job_id: str) -> None:
    """Remove a dead worker's job so arq does not run it again when its lock expires."""
    await redis.zrem(redis.default_queue_name, job_id)
    await redis.delete(
        job_key_prefix + job_id, in_progress_key_prefix + job_id, retry_key_prefix + job_id
    )


async def _next_attempt(report_id: int, seen_attempts: int) -> service.Report | None:
    """``attempts`` + 1 and back to ``queued``, unless the row changed meanwhile."""
    async with tenant_transaction() as conn:
        bumped = await conn.fetchval(
            "UPDATE report SET attempts = attempts + 1, status = 'queued', updated_at = now()"
            " WHERE id = $1 AND attempts = $2"
            " AND status IN ('queued', 'collecting', 'rendering') RETURNING id",
            report_id,
            seen_attempts,
        )
    return None if bumped is None else await service.get_report(report_id)


async def sweep_tenant(
    redis: ArqRedis, lock_conn: asyncpg.Connection, *, stuck_after: timedelta = STUCK_AFTER
) -> dict[str, int]:
    """Recover the current tenant's pending reports (see the module docstring).

    ``lock_conn`` probes the render leases. Returns counts: ``enqueued`` (a queued row
    got its missing job), ``retried`` (new attempt), ``failed`` (gave up).
    """
    tenant = current_tenant()
    counts = {"enqueued": 0, "retried": 0, "failed": 0}
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT id, status, attempts, locale, now() - updated_at AS age FROM report"
            " WHERE status IN ('queued', 'collecting', 'rendering') ORDER BY id"
        )
    for row in rows:
        key = _lease_key(tenant, row["id"])
        if not await lock_conn.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key
        ):
            continue  # a live job is on it
        try:
            action = await _sweep_row(redis, tenant, row, stuck_after)
            if action:
                counts[action] += 1
        finally:
            await lock_conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)
    return counts


async def _sweep_row(
    redis: ArqRedis, tenant: TenantRef, row: Any, stuck_after: timedelta
) -> str | None:
    report_id, attempts = row["id"], row["attempts"]
    job_id = service.render_job_id(tenant.slug, report_id, attempts)
    job_status = await Job(job_id, redis, _queue_name=redis.default_queue_name).status()
    if row["status"] == "queued":
        if job_status == JobStatus.not_found:
            report = await service.get_report(report_id)
            if report is not None and await service.enqueue_render(
                report, redis=redis, tenant_slug=tenant.slug
            ):
                logger.info("report %s: enqueued its missing job %s", report_id, job_id)
                return "enqueued"
            return None
        if job_status != JobStatus.complete and row["age"] < stuck_after:
            return None  # its job is waiting or starting
    # Here: a dead worker's row (lease free while collecting/rendering), a queued row
    # whose job finished without finishing the row, or one stuck too long.
    if attempts >= MAX_ATTEMPTS:
        with use_locale(row["locale"]):
            reason = _(
                "The report could not be produced after several attempts."
                " Please ask for it again later."
            )
        await service.fail_report(report_id, reason)
        logger.error("report %s: gave up after %d attempts", report_id, attempts)
        return "failed"
    report = await _next_attempt(report_id, attempts)
    if report is None:
        return None
    if job_status in (JobStatus.queued, JobStatus.deferred, JobStatus.in_progress):
        await _drop_job(redis, job_id)
    await service.enqueue_render(report, redis=redis, tenant_slug=tenant.slug)
    logger.warning(
        "report %s: %s row recovered as attempt %d", report_id, row["status"], report.attempts
    )
    return "retried"


async def sweep_reports(
    ctx: dict[str, Any], *, stuck_after: timedelta = STUCK_AFTER
) -> dict[str, int]:
    """Recover pending reports of every active tenant (arq cron job and start-up)."""
    redis: ArqRedis = ctx["redis"]
    totals = {"enqueued": 0, "retried": 0, "failed": 0}
    lock_conn = await _lease_connection()
    try:
        for info in await list_tenants():
            if info.status != "active":
                continue
            try:
                with use_tenant(info.ref):
                    counts = await sweep_tenant(redis, lock_conn, stuck_after=stuck_after)
            except Exception:
                logger.exception("report sweep of tenant %s failed", info.slug)
                continue
            for name, value in counts.items():
                totals[name] += value
    finally:
        await _close(lock_conn)
    return totals


async def recover_reports(ctx: dict[str, Any]) -> None:
    """The start-up sweep: a worker must start even when the sweep cannot run."""
    try:
        totals = await sweep_reports(ctx)
    except Exception:
        logger.exception("report recovery at start-up failed; the cron sweep will retry")
        return
    if any(totals.values()):
        logger.warning("report recovery at start-up: %s", totals)


async def start_reports(ctx: dict[str, Any], *, warm_up: bool = True) -> None:
    """Worker start-up: the render processes (unless ``ctx`` has some), then recovery."""
    if ctx.get("report_renderer") is None:
        pool = RenderPool()
        ctx["report_renderer"] = pool
        if warm_up:
            await pool.warm_up()
    await recover_reports(ctx)


async def stop_reports(ctx: dict[str, Any]) -> None:
    """Worker shutdown: stop the render processes this worker started."""
    pool = ctx.pop("report_renderer", None)
    if pool is not None and not ctx.get("report_renderer_shared"):
        pool.close(wait=False)
