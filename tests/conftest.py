"""Test set-up shared by every domain: real PostgreSQL and Redis, a clean schema state.

``TEST_DATABASE_URL`` and ``TEST_REDIS_URL`` default to this machine's services; they
become ``DATABASE_URL`` / ``REDIS_URL`` before any ``scalemark`` module reads settings.
"""

from __future__ import annotations

import os

from scalemark import PROJECT_ROOT
from scalemark.devservers import resolve_test_services

# TEST_DATABASE_URL / TEST_REDIS_URL win, then this machine's servers, then embedded ones.
os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = resolve_test_services(
    PROJECT_ROOT / ".data" / "test"
)
os.environ.setdefault("SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")
os.environ.setdefault("BASE_DOMAIN", "localhost")

from collections.abc import AsyncIterator  # noqa: E402

import asyncpg  # noqa: E402
import pytest  # noqa: E402

from scalemark.db.migrations import connect, migrate_all  # noqa: E402
from scalemark.settings import get_settings  # noqa: E402


async def reset_database(pool: asyncpg.Pool) -> None:
    """Drop every tenant schema, the shared schema and this database's tenant roles."""
    prefix = get_settings().role_prefix
    async with pool.acquire() as conn:
        schemas = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%' OR nspname = 'scalemark'"
        )
        for row in schemas:
            await conn.execute(f'DROP SCHEMA "{row["nspname"]}" CASCADE')
        roles = await conn.fetch(
            "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", prefix
        )
        for row in roles:
            await conn.execute(f'DROP OWNED BY "{row["rolname"]}"')
            await conn.execute(f'DROP ROLE "{row["rolname"]}"')


async def reset_redis() -> None:
    """Empty the test Redis database (sessions, login throttles, queues of earlier runs)."""
    from redis.asyncio import Redis

    client = Redis.from_url(os.environ["REDIS_URL"])
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
async def db_pool() -> AsyncIterator[asyncpg.Pool]:
    """A migrated, empty test database and a runner pool on it."""
    pool = await connect(size=6)
    await reset_database(pool)
    await reset_redis()
    await migrate_all(pool)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def app_db(db_pool: asyncpg.Pool) -> AsyncIterator[None]:
    """Piccolo's pool for code under test that uses the ORM in this process."""
    from scalemark.db import close_pool, start_pool

    await start_pool()
    yield
    await close_pool()


@pytest.fixture
async def make_tenant(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[object]:
    """Provision throw-away tenants (unique slugs); all are dropped after the test."""
    import itertools
    import uuid

    from scalemark.tenancy.provisioning import create_tenant, drop_tenant
    from scalemark.tenancy.registry import get_tenant
    from scalemark.tenancy.resolver import forget_tenant

    created: list[str] = []
    counter = itertools.count()

    async def factory(prefix: str = "t", name: str | None = None, locale: str = "en"):
        slug = f"{prefix}-{uuid.uuid4().hex[:6]}{next(counter)}"
        async with db_pool.acquire() as conn:
            await create_tenant(conn, slug, name or slug.title(), default_locale=locale)
        created.append(slug)
        forget_tenant(slug)
        info = await get_tenant(slug)
        assert info is not None
        return info.ref

    yield factory
    async with db_pool.acquire() as conn:
        for slug in created:
            await drop_tenant(conn, slug)
            forget_tenant(slug)
