"""``tenant_transaction``: fail closed, nest within one tenant, leave pooled connections clean.

Runs on the ORM's pool (``app_db``), the one the app uses, against two real tenants.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from scalemark.db import (
    NoTenantError,
    TenantRef,
    current_tenant,
    get_engine,
    tenant_transaction,
    use_tenant,
)
from scalemark.db.tenant_context import peek_tenant
from scalemark.tenancy.provisioning import create_tenant, drop_tenant
from scalemark.tenancy.resolver import forget_tenant
from scalemark.tenancy.slugs import role_for, schema_for

SLUGS = ("ctx-alpha", "ctx-beta")


def ref(slug: str) -> TenantRef:
    return TenantRef(slug=slug, schema=schema_for(slug), role=role_for(slug), name=slug)


@pytest.fixture(scope="module")
async def tenants(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[tuple[TenantRef, ...]]:
    """Two tenants, each with one unit named after it."""
    async with db_pool.acquire() as conn:
        for slug in SLUGS:
            await drop_tenant(conn, slug)
            await create_tenant(conn, slug, f"Context {slug}")
    refs = tuple(ref(slug) for slug in SLUGS)
    for tenant in refs:
        async with tenant_transaction(tenant) as conn:
            await conn.execute(
                "INSERT INTO unit (code, name, kind, path) VALUES ('HQ', $1, 'hq', '/1/')",
                f"HQ of {tenant.slug}",
            )
    yield refs
    async with db_pool.acquire() as conn:
        for slug in SLUGS:
            await drop_tenant(conn, slug)
            forget_tenant(slug)


async def session_state(conn: Any) -> tuple[str, str, str]:
    """search_path, current_user and session_user (the login role) of a connection."""
    row = await conn.fetchrow(
        "SELECT current_setting('search_path') AS path, current_user AS cur, session_user AS login"
    )
    return row["path"], row["cur"], row["login"]


@asynccontextmanager
async def every_pooled_connection() -> AsyncIterator[dict[int, Any]]:
    """Hold all connections the ORM pool can have, keyed by backend pid."""
    pool = get_engine().pool
    assert pool is not None
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        yield {await conn.fetchval("SELECT pg_backend_pid()"): conn for conn in held}
    finally:
        for conn in held:
            await pool.release(conn)


async def test_without_tenant_it_raises(tenants: tuple[TenantRef, ...]) -> None:
    with use_tenant(None):
        assert peek_tenant() is None
        with pytest.raises(NoTenantError):
            current_tenant()
        with pytest.raises(NoTenantError):
            async with tenant_transaction():
                pytest.fail("the block must not run without a tenant")


async def test_context_tenant_sets_schema_and_role(tenants: tuple[TenantRef, ...]) -> None:
    alpha, _ = tenants
    with use_tenant(alpha):
        async with tenant_transaction() as conn:
            path, user, login = await session_state(conn)
            assert path == alpha.schema
            assert user == alpha.role != login
            assert await conn.fetchval("SELECT name FROM unit") == "HQ of ctx-alpha"
        assert peek_tenant() == alpha
    assert peek_tenant() is None


async def test_explicit_tenant_is_in_context_only_inside(tenants: tuple[TenantRef, ...]) -> None:
    _, beta = tenants
    assert peek_tenant() is None
    async with tenant_transaction(beta):
        assert current_tenant() == beta
    assert peek_tenant() is None


async def test_nested_same_tenant_joins_the_outer_transaction(
    tenants: tuple[TenantRef, ...],
) -> None:
    alpha, _ = tenants
    with pytest.raises(RuntimeError, match="roll back"):
        async with tenant_transaction(alpha) as outer:
            outer_tx = await outer.fetchval("SELECT txid_current()")
            async with tenant_transaction(alpha) as inner:
                assert inner is outer
                assert await inner.fetchval("SELECT txid_current()") == outer_tx
                await inner.execute(
                    "INSERT INTO unit (code, name, kind, parent_id, path)"
                    " VALUES ('NESTED', 'Nested', 'region', 1, '/1/99/')"
                )
            assert await outer.fetchval("SELECT count(*) FROM unit WHERE code = 'NESTED'") == 1
            raise RuntimeError("roll back the outer transaction")
    # The inner block's write went with the outer rollback.
    async with tenant_transaction(alpha) as conn:
        assert await conn.fetchval("SELECT count(*) FROM unit WHERE code = 'NESTED'") == 0


async def test_other_tenant_inside_a_tenant_transaction_is_refused(
    tenants: tuple[TenantRef, ...],
) -> None:
    alpha, beta = tenants
    async with tenant_transaction(alpha) as conn:
        with pytest.raises(NoTenantError, match="ctx-beta"):
            async with tenant_transaction(beta):
                pytest.fail("a second tenant must not join")
        # The outer transaction is intact and still bound to alpha.
        assert (await session_state(conn))[0] == alpha.schema
        assert await conn.fetchval("SELECT name FROM unit") == "HQ of ctx-alpha"


async def test_the_tenant_role_cannot_read_another_schema(
    tenants: tuple[TenantRef, ...],
) -> None:
    alpha, beta = tenants
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with tenant_transaction(alpha) as conn:
            await conn.fetchval(f'SELECT name FROM "{beta.schema}".unit')


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_pooled_connection_is_clean_afterwards(
    tenants: tuple[TenantRef, ...], outcome: str
) -> None:
    alpha, _ = tenants
    login = None
    try:
        async with tenant_transaction(alpha) as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            path, user, login = await session_state(conn)
            assert (path, user) == (alpha.schema, alpha.role)
            if outcome == "rollback":
                raise LookupError("abort")
    except LookupError:
        assert outcome == "rollback"

    async with every_pooled_connection() as connections:
        assert pid in connections, "the transaction's connection left the pool"
        used = connections[pid]
        assert await session_state(used) == ("pg_catalog", login, login)
        # Outside a tenant transaction an unqualified tenant table resolves nowhere.
        with pytest.raises(asyncpg.UndefinedTableError):
            await used.fetchval("SELECT count(*) FROM unit")
        for other in connections.values():
            assert (await session_state(other))[:2] == ("pg_catalog", login)
