"""arq worker: jobs of every domain, their start-up and shutdown.

``tenant_job`` (in :mod:`scalemark.job_context`, re-exported here) runs a job in its
tenant's context. The worker also owns the PDF report machinery: a pool of render
processes created at start-up (``ctx["report_renderer"]``), a recovery sweep of reports
left behind by dead workers at start-up and every minute (see
:mod:`scalemark.reports.jobs`).
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import func

from scalemark.db import close_pool, start_pool
from scalemark.job_context import tenant_job
from scalemark.org import service as org_service
from scalemark.reports import jobs as report_jobs
from scalemark.settings import get_settings

__all__ = ["FUNCTIONS", "WorkerSettings", "shutdown", "startup", "tenant_job", "tree_summary"]


@tenant_job
async def tree_summary(ctx: dict[str, Any]) -> dict[str, int]:
    """Units per kind of the job's tenant (used by dashboards and health checks)."""
    counts: dict[str, int] = {}
    for node in await org_service.whole_tree():
        counts[node.kind] = counts.get(node.kind, 0) + 1
    return counts


FUNCTIONS = [
    tree_summary,
    func(
        report_jobs.render_report,  # type: ignore[arg-type]
        name="render_report",
        max_tries=report_jobs.MAX_TRIES,
        timeout=report_jobs.JOB_TIMEOUT_SECONDS,
    ),
]
"""Every job function (tests start in-process workers with these)."""

CRON_JOBS = [
    # Every minute; unique: with several workers only one sweeps each minute.
    cron(report_jobs.sweep_reports, name="sweep_reports", second=7, timeout=120, unique=True),
]


async def startup(ctx: dict[str, Any]) -> None:
    """Open the database pool, start the render processes, recover pending reports."""
    await start_pool()
    await report_jobs.start_reports(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    """Stop the render processes, close the pool."""
    await report_jobs.stop_reports(ctx)
    await close_pool()


class WorkerSettings:
    """arq reads these attributes from this very class (no subclassing)."""

    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(get_settings().redis_url)
    max_tries = 5
    job_timeout = 300
    keep_result = 3600
