"""Tenant context and transaction-scoped search paths.

The tenant is resolved once (per request from the host, per job from its arguments) into
a context variable. Tenant queries run inside :func:`tenant_transaction`, which sets the
search path and the tenant's database role for that transaction only, with bound
parameters. Without a tenant it raises: there is no fall-back to another schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from scalemark.db.engine import get_engine

__all__ = [
    "NoTenantError",
    "TenantRef",
    "current_tenant",
    "shared_transaction",
    "tenant_transaction",
    "use_tenant",
]


class NoTenantError(RuntimeError):
    """Tenant code ran without a tenant in context."""


@dataclass(frozen=True, slots=True)
class TenantRef:
    """What a tenant transaction needs to know about its tenant."""

    slug: str
    """Validated slug, e.g. ``demo``."""
    schema: str
    """PostgreSQL schema, ``t_<slug>``."""
    role: str
    """Database role that can use only this schema."""
    default_locale: str = "en"
    """Tenant's default language."""
    name: str = ""
    """Display name of the organisation."""
    id: int = 0
    """Registry id (shared tables refer to the tenant by it)."""


_tenant: ContextVar[TenantRef | None] = ContextVar("scalemark_tenant", default=None)
_active: ContextVar[TenantRef | None] = ContextVar("scalemark_tenant_tx", default=None)


def current_tenant() -> TenantRef:
    """The tenant of this request or job; raises :class:`NoTenantError` without one."""
    tenant = _tenant.get()
    if tenant is None:
        raise NoTenantError("no tenant in context")
    return tenant


def peek_tenant() -> TenantRef | None:
    """The tenant in context, or ``None`` on the platform site."""
    return _tenant.get()


@contextmanager
def use_tenant(tenant: TenantRef | None) -> Iterator[None]:
    """Make ``tenant`` the context's tenant for the enclosed block."""
    token = _tenant.set(tenant)
    try:
        yield
    finally:
        _tenant.reset(token)


@asynccontextmanager
async def tenant_transaction(tenant: TenantRef | None = None) -> AsyncIterator[Any]:
    """Run the block in one transaction bound to the tenant's schema and role.

    Nested use with the same tenant joins the outer transaction; another tenant inside
    an open tenant transaction is refused (one transaction touches one tenant schema).
    """
    tenant = tenant or current_tenant()
    active = _active.get()
    engine = get_engine()
    if active is not None:
        if active.slug != tenant.slug:
            raise NoTenantError(f"tenant {tenant.slug!r} inside a transaction of {active.slug!r}")
        async with engine.transaction() as tx:
            yield tx.connection
        return
    async with _owned_transaction(engine) as tx:
        # set_config(..., true) is transaction-local: nothing leaks into the pooled
        # connection after commit or rollback.
        await tx.connection.execute(
            "SELECT set_config('search_path', $1, true), set_config('role', $2, true)",
            tenant.schema,
            tenant.role,
        )
        token = _active.set(tenant)
        try:
            with use_tenant(tenant):
                yield tx.connection
        finally:
            _active.reset(token)


@asynccontextmanager
async def _owned_transaction(engine: Any) -> AsyncIterator[Any]:
    """Piccolo's transaction, made safe when COMMIT itself fails.

    Piccolo releases the pooled connection only after a successful commit or rollback; a
    failing COMMIT (a deferred constraint, a lost connection) would leak the connection and
    leave its context variable set. Here the connection always goes back to the pool.
    """
    tx = engine.transaction(allow_nested=False)
    await tx.__aenter__()
    try:
        yield tx
    except BaseException as exc:
        await tx.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    try:
        await tx.__aexit__(None, None, None)
    except BaseException:
        if engine.pool is not None:
            await engine.pool.release(tx.connection)
        else:
            await tx.connection.close()
        engine.current_transaction.reset(tx.context)
        raise


@asynccontextmanager
async def shared_transaction() -> AsyncIterator[Any]:
    """A transaction for shared tables only (schema-qualified, no tenant schema)."""
    if _active.get() is not None:
        async with get_engine().transaction() as tx:
            yield tx.connection
        return
    async with _owned_transaction(get_engine()) as tx:
        yield tx.connection
