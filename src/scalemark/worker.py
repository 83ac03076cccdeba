"""arq worker: jobs of every domain and the tenant-job helper."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from arq.connections import RedisSettings

from scalemark.db import close_pool, start_pool
from scalemark.db.tenant_context import NoTenantError, tenant_transaction
from scalemark.i18n.locale import use_locale
from scalemark.org import service as org_service
from scalemark.settings import get_settings
from scalemark.tenancy.registry import get_tenant
from scalemark.tenancy.slugs import is_valid_slug

__all__ = ["WorkerSettings", "tenant_job", "tree_summary"]

P = ParamSpec("P")
R = TypeVar("R")


def tenant_job(
    func: Callable[Concatenate[dict[str, Any], P], Awaitable[R]],
) -> Callable[..., Awaitable[R]]:
    """Run a job inside its tenant's transaction and locale.

    The job is enqueued as ``job(tenant_slug, locale, *args)``; without a valid, known
    tenant it is rejected before any query runs.
    """

    @functools.wraps(func)
    async def wrapper(
        ctx: dict[str, Any],
        tenant: str | None = None,
        locale: str = "en",
        *args: Any,
        **kwargs: Any,
    ) -> R:
        if not tenant or not is_valid_slug(tenant):
            raise NoTenantError(f"{func.__name__}: a tenant job needs a tenant slug")
        info = await get_tenant(tenant)
        if info is None:
            raise NoTenantError(f"{func.__name__}: unknown tenant {tenant!r}")
        with use_locale(locale):
            async with tenant_transaction(info.ref):
                return await func(ctx, *args, **kwargs)

    return wrapper


@tenant_job
async def tree_summary(ctx: dict[str, Any]) -> dict[str, int]:
    """Units per kind of the job's tenant (used by dashboards and health checks)."""
    counts: dict[str, int] = {}
    for node in await org_service.whole_tree():
        counts[node.kind] = counts.get(node.kind, 0) + 1
    return counts


async def startup(ctx: dict[str, Any]) -> None:
    """Open the database pool once per worker process."""
    await start_pool()


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close the pool."""
    await close_pool()


class WorkerSettings:
    """arq reads these attributes from this very class (no subclassing)."""

    functions = [tree_summary]  # noqa: RUF012 - arq's settings protocol
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(get_settings().redis_url)
    max_tries = 5
    job_timeout = 300
    keep_result = 3600
