"""A failing COMMIT must not leak the pooled connection or the transaction context."""

from __future__ import annotations

import asyncpg
import pytest

from scalemark.db import get_engine, tenant_transaction


async def test_failed_commit_returns_the_connection(make_tenant) -> None:
    tenant = await make_tenant("commit")
    pool = get_engine().pool
    assert pool is not None
    for _ in range(pool.get_max_size() + 2):
        with pytest.raises(asyncpg.PostgresError):
            async with tenant_transaction(tenant) as conn:
                # A deferred constraint only fails at COMMIT.
                await conn.execute(
                    "CREATE TEMP TABLE t (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)"
                    " ON COMMIT DROP"
                )
                await conn.execute("INSERT INTO t VALUES (1), (1)")
    assert get_engine().current_transaction.get() is None
    async with tenant_transaction(tenant) as conn:
        assert await conn.fetchval("SELECT count(*) FROM unit") == 0
