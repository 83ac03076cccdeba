"""Tenant and language context for arq jobs.

A tenant job is enqueued as ``job(tenant_slug, locale, *args)``. The decorator checks the
slug against the registry before any query runs, then runs the job in the tenant's context
and locale — by default inside ONE tenant transaction. Long jobs that report progress
(PDF reports) use ``@tenant_job(transaction=False)``: only the context is set and every
step opens its own short :func:`~scalemark.db.tenant_transaction`, so other sessions see
each state change as soon as it commits.

Kept apart from :mod:`scalemark.worker` so that job modules can use it without importing
the worker settings (which import every job module).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from scalemark.db.tenant_context import NoTenantError, tenant_transaction, use_tenant
from scalemark.i18n.locale import use_locale
from scalemark.tenancy.registry import get_tenant
from scalemark.tenancy.slugs import is_valid_slug

__all__ = ["tenant_job"]

P = ParamSpec("P")
R = TypeVar("R")

JobFunction = Callable[Concatenate[dict[str, Any], P], Awaitable[R]]


def _wrap(func: JobFunction[P, R], transaction: bool) -> Callable[..., Awaitable[R]]:
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
            if not transaction:
                with use_tenant(info.ref):
                    return await func(ctx, *args, **kwargs)
            async with tenant_transaction(info.ref):
                return await func(ctx, *args, **kwargs)

    return wrapper


@overload
def tenant_job(func: JobFunction[P, R], /) -> Callable[..., Awaitable[R]]: ...


@overload
def tenant_job(
    *, transaction: bool = True
) -> Callable[[JobFunction[P, R]], Callable[..., Awaitable[R]]]: ...


def tenant_job(func: JobFunction[P, R] | None = None, /, *, transaction: bool = True) -> Any:
    """Run a job in its tenant's context and locale.

    ``@tenant_job`` wraps the whole job in one tenant transaction;
    ``@tenant_job(transaction=False)`` sets only the tenant and the locale, and the job
    opens its own short transactions. Without a valid, known tenant the job is rejected
    with :class:`~scalemark.db.NoTenantError` before any query runs.
    """
    if func is not None:
        return _wrap(func, transaction)

    def decorate(inner: JobFunction[P, R]) -> Callable[..., Awaitable[R]]:
        return _wrap(inner, transaction)

    return decorate
