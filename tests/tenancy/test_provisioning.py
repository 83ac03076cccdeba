"""Tenant provisioning: what a tenant gets, what its role may do, atomicity, dropping.

Tenants here are named ``prov-…`` and dropped after each test.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from scalemark.db.migrations import MIGRATIONS_ROOT, load_migrations, tenant_group_role
from scalemark.tenancy.provisioning import TenantExistsError, create_tenant, drop_tenant
from scalemark.tenancy.slugs import (
    InvalidSlugError,
    is_valid_slug,
    role_for,
    schema_for,
    validate_slug,
)

HOSTILE_SLUGS = [
    "../x",
    "a;drop",
    "a; DROP SCHEMA scalemark CASCADE; --",
    "Acme",
    "x" * 64,
    "x" * 41,
    "café",
    "-a",
    "a-",
    "a--b",
    "",
    "x",
    "1abc",
    "a_b",
    "a b",
    "a'b",
    'a"b',
    "a\nb",
    "ab\x00",
    "ａｂ",  # full-width letters
]
RESERVED = ["www", "api", "admin", "public", "postgres"]


# --------------------------------------------------------------------------- helpers


class NoSQL:
    """A stand-in connection: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"SQL reached the database connection ({name})")


async def state(conn: asyncpg.Connection, slug: str) -> dict[str, bool]:
    """Which parts of a tenant exist: registry row, schema, role."""
    return {
        "row": bool(
            await conn.fetchval("SELECT count(*) FROM scalemark.tenant WHERE slug = $1", slug)
        ),
        "schema": bool(
            await conn.fetchval(
                "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema_for(slug)
            )
        ),
        "role": bool(
            await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role_for(slug))
        ),
    }


NOTHING = {"row": False, "schema": False, "role": False}
EVERYTHING = {"row": True, "schema": True, "role": True}


@pytest.fixture
async def conn(db_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A runner connection (search_path=pg_catalog) for the test."""
    async with db_pool.acquire() as connection:
        yield connection


@pytest.fixture
async def tenants(db_pool: asyncpg.Pool) -> AsyncIterator[list[str]]:
    """Slugs the test creates through :func:`make`; all dropped afterwards."""
    created: list[str] = []
    yield created
    async with db_pool.acquire() as connection:
        for slug in created:
            await drop_tenant(connection, slug)


async def make(conn: asyncpg.Connection, created: list[str], slug: str, **kwargs: Any) -> int:
    await drop_tenant(conn, slug)  # leftovers of an interrupted earlier run
    created.append(slug)
    return await create_tenant(conn, slug, kwargs.pop("name", f"Org {slug}"), **kwargs)


async def as_tenant(
    conn: asyncpg.Connection, slug: str, sql: str, *, search_path: str | None = None
) -> list[asyncpg.Record]:
    """Run ``sql`` in a transaction under the tenant's role, like a tenant transaction."""
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('search_path', $1, true), set_config('role', $2, true)",
            search_path or schema_for(slug),
            role_for(slug),
        )
        return await conn.fetch(sql)


# --------------------------------------------------------------------------- creation


async def test_create_provisions_schema_role_tables_versions_and_registry(
    conn: asyncpg.Connection, tenants: list[str]
) -> None:
    tenant_id = await make(
        conn, tenants, "prov-acme", name="  Acme Corp  ", default_locale="de", locales=["fr", "de"]
    )
    schema, role = schema_for("prov-acme"), role_for("prov-acme")

    assert isinstance(tenant_id, int)
    assert await state(conn, "prov-acme") == EVERYTHING
    row = await conn.fetchrow("SELECT * FROM scalemark.tenant WHERE slug = 'prov-acme'")
    assert row["id"] == tenant_id
    assert row["name"] == "Acme Corp"
    assert row["schema_name"] == schema == "t_prov_acme"
    assert row["status"] == "active"
    assert row["default_locale"] == "de"
    assert row["locales"] == ["de", "fr"]

    assert await conn.fetchval("SELECT to_regclass('t_prov_acme.unit')") is not None
    rows = await conn.fetch(
        "SELECT version, name, checksum FROM t_prov_acme.schema_version ORDER BY version"
    )
    assert [tuple(r) for r in rows] == [
        (m.version, m.name, m.checksum) for m in load_migrations("tenant")
    ]

    role_row = await conn.fetchrow(
        "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1",
        role,
    )
    assert not any(role_row.values())
    assert await conn.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", role, tenant_group_role())
    owner = await conn.fetchval(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", schema
    )
    assert owner != role
    assert await conn.fetchval(
        "SELECT has_table_privilege($1, 't_prov_acme.unit', 'SELECT, INSERT, UPDATE, DELETE')",
        role,
    )
    assert await conn.fetchval("SELECT has_schema_privilege($1, $2, 'USAGE')", role, schema)
    assert not await conn.fetchval("SELECT has_schema_privilege($1, $2, 'CREATE')", role, schema)


async def test_tenant_role_reads_and_writes_its_own_units(
    conn: asyncpg.Connection, tenants: list[str]
) -> None:
    await make(conn, tenants, "prov-own")

    inserted = await as_tenant(
        conn,
        "prov-own",
        "INSERT INTO unit (code, name, kind, path) VALUES ('HQ', 'Head office', 'hq', '/1/')"
        " RETURNING id, current_user AS who",
    )
    assert inserted[0]["who"] == role_for("prov-own")
    rows = await as_tenant(conn, "prov-own", "SELECT code, name FROM unit")
    assert [tuple(r) for r in rows] == [("HQ", "Head office")]
    # Transaction-local: the pooled connection is back to the runner's role and path.
    assert await conn.fetchval("SELECT current_user") != role_for("prov-own")
    assert await conn.fetchval("SELECT current_setting('search_path')") == "pg_catalog"


async def test_tenant_role_cannot_reach_another_tenants_schema(
    conn: asyncpg.Connection, tenants: list[str]
) -> None:
    await make(conn, tenants, "prov-mine")
    await make(conn, tenants, "prov-other")
    other = schema_for("prov-other")
    await conn.execute(
        f"INSERT INTO {other}.unit (code, name, kind, path) VALUES ('SECRET', 'Other', 'hq', '/1/')"
    )

    # Schema-qualified, with its own and with a forged search path: permission denied.
    for path in (schema_for("prov-mine"), other, f"{other}, {schema_for('prov-mine')}"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await as_tenant(conn, "prov-mine", f"SELECT * FROM {other}.unit", search_path=path)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await as_tenant(
                conn,
                "prov-mine",
                f"INSERT INTO {other}.unit (code, name, kind, path)"
                " VALUES ('X', 'x', 'team', '/9/')",
                search_path=path,
            )
    # Unqualified with a forged search path: the schema without USAGE is skipped, so the
    # name resolves nowhere (never to the other tenant's table).
    with pytest.raises(asyncpg.UndefinedTableError):
        await as_tenant(conn, "prov-mine", "SELECT * FROM unit", search_path=other)
    # With its own schema behind the forged one it sees only its own (empty) table.
    rows = await as_tenant(
        conn,
        "prov-mine",
        "SELECT code FROM unit",
        search_path=f"{other}, {schema_for('prov-mine')}",
    )
    assert rows == []
    # Nor the shared registry, which it has no grant on.
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await as_tenant(conn, "prov-mine", "SELECT * FROM scalemark.tenant")


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE sneaky (id int)",
        "CREATE TABLE t_prov_ddl.sneaky (id int)",
        "CREATE VIEW sneaky AS SELECT 1 AS one",
        "CREATE SEQUENCE sneaky",
        "ALTER TABLE unit ADD COLUMN sneaky text",
        "DROP TABLE unit",
        "TRUNCATE unit",
        "CREATE TABLE public.sneaky (id int)",
        "DELETE FROM schema_version",
        "INSERT INTO schema_version (version, name, checksum) VALUES (999, 'x', 'x')",
    ],
)
async def test_tenant_role_has_only_dml_privileges(
    conn: asyncpg.Connection, tenants: list[str], sql: str
) -> None:
    await make(conn, tenants, "prov-ddl")

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_tenant(conn, "prov-ddl", sql)

    assert await conn.fetchval("SELECT to_regclass('t_prov_ddl.sneaky')") is None
    assert await conn.fetchval("SELECT to_regclass('t_prov_ddl.unit')") is not None


async def test_unqualified_tenant_tables_fail_outside_a_tenant_transaction(
    conn: asyncpg.Connection, tenants: list[str]
) -> None:
    await make(conn, tenants, "prov-outside")

    assert await conn.fetchval("SELECT current_setting('search_path')") == "pg_catalog"
    with pytest.raises(asyncpg.UndefinedTableError):
        await conn.fetch("SELECT * FROM unit")
    async with conn.transaction():
        with pytest.raises(asyncpg.UndefinedTableError):
            await conn.fetch("SELECT * FROM schema_version")
    # After a tenant transaction the connection is back to resolving nothing.
    await as_tenant(conn, "prov-outside", "SELECT * FROM unit")
    with pytest.raises(asyncpg.UndefinedTableError):
        await conn.fetch("SELECT * FROM unit")


async def test_app_engine_connections_resolve_no_tenant_table(
    app_db: None, conn: asyncpg.Connection, tenants: list[str]
) -> None:
    """Piccolo's pool also starts with ``search_path=pg_catalog``."""
    from scalemark.db.engine import get_engine

    await make(conn, tenants, "prov-engine")
    pool = get_engine().pool
    assert pool is not None
    async with pool.acquire() as app_conn:
        assert await app_conn.fetchval("SELECT current_setting('search_path')") == "pg_catalog"
        with pytest.raises(asyncpg.UndefinedTableError):
            await app_conn.fetch("SELECT * FROM unit")


# --------------------------------------------------------------------------- atomicity


@pytest.mark.parametrize(
    "broken_sql",
    [
        "CREATE TABLE broken (;\n",
        # Valid first statement, failing second: the whole file and everything before it go.
        "ALTER TABLE unit ADD COLUMN half text;\nSELECT 1 / 0;\n",
        "ALTER TABLE no_such_table ADD COLUMN x text;\n",
    ],
)
async def test_failed_provisioning_leaves_nothing_behind(
    conn: asyncpg.Connection, tenants: list[str], tmp_path: Path, broken_sql: str
) -> None:
    root = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_ROOT, root)
    version = max(m.version for m in load_migrations("tenant", root)) + 1
    (root / "tenant" / f"{version:04d}_broken.sql").write_text(broken_sql, encoding="utf-8")
    await drop_tenant(conn, "prov-broken")
    before = await conn.fetchval("SELECT count(*) FROM scalemark.tenant")

    with pytest.raises(asyncpg.PostgresError):
        await create_tenant(conn, "prov-broken", "Broken", migrations_root=root)

    assert await state(conn, "prov-broken") == NOTHING
    assert await conn.fetchval("SELECT count(*) FROM scalemark.tenant") == before
    assert not conn.is_in_transaction()
    # Nothing left over blocks a later, good attempt.
    await make(conn, tenants, "prov-broken")
    assert await state(conn, "prov-broken") == EVERYTHING


async def test_duplicate_slug_is_refused(conn: asyncpg.Connection, tenants: list[str]) -> None:
    first = await make(conn, tenants, "prov-dup", name="First")

    with pytest.raises(TenantExistsError):
        await create_tenant(conn, "prov-dup", "Second")

    rows = await conn.fetch("SELECT id, name FROM scalemark.tenant WHERE slug = 'prov-dup'")
    assert [tuple(r) for r in rows] == [(first, "First")]
    assert await state(conn, "prov-dup") == EVERYTHING


async def test_blank_name_is_refused_before_sql() -> None:
    with pytest.raises(ValueError, match="name"):
        await create_tenant(NoSQL(), "prov-blank", "   ")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- dropping


async def test_drop_removes_schema_role_and_registry_row(
    conn: asyncpg.Connection, tenants: list[str]
) -> None:
    await make(conn, tenants, "prov-drop")
    await conn.execute(
        "INSERT INTO t_prov_drop.unit (code, name, kind, path) VALUES ('HQ', 'HQ', 'hq', '/1/')"
    )

    assert await drop_tenant(conn, "prov-drop") is True

    assert await state(conn, "prov-drop") == NOTHING
    assert await drop_tenant(conn, "prov-drop") is False
    # The slug can be provisioned again from scratch.
    await make(conn, tenants, "prov-drop")
    assert await conn.fetchval("SELECT count(*) FROM t_prov_drop.unit") == 0


async def test_drop_leaves_other_tenants_alone(
    conn: asyncpg.Connection, tenants: list[str]
) -> None:
    await make(conn, tenants, "prov-keep")
    await make(conn, tenants, "prov-gone")

    await drop_tenant(conn, "prov-gone")

    assert await state(conn, "prov-keep") == EVERYTHING
    assert await state(conn, "prov-gone") == NOTHING
    assert await as_tenant(conn, "prov-keep", "SELECT * FROM unit") == []


# --------------------------------------------------------------------------- hostile slugs


@pytest.mark.parametrize("slug", HOSTILE_SLUGS)
async def test_hostile_slugs_are_refused_before_any_sql(slug: str) -> None:
    assert not is_valid_slug(slug)
    with pytest.raises(InvalidSlugError):
        validate_slug(slug)
    with pytest.raises(InvalidSlugError):
        validate_slug(slug, allow_reserved=True)
    with pytest.raises(InvalidSlugError):
        schema_for(slug)
    with pytest.raises(InvalidSlugError):
        role_for(slug)
    with pytest.raises(InvalidSlugError):
        await create_tenant(NoSQL(), slug, "Hostile")  # type: ignore[arg-type]
    with pytest.raises(InvalidSlugError):
        await drop_tenant(NoSQL(), slug)  # type: ignore[arg-type]


@pytest.mark.parametrize("slug", RESERVED)
async def test_reserved_slugs_cannot_be_created(slug: str) -> None:
    assert is_valid_slug(slug)
    with pytest.raises(InvalidSlugError, match="reserved"):
        validate_slug(slug)
    with pytest.raises(InvalidSlugError, match="reserved"):
        await create_tenant(NoSQL(), slug, "Reserved")  # type: ignore[arg-type]


@pytest.mark.parametrize("slug", ["ab", "acme", "acme-2", "a1-b2-c3", "x" * 40, "bench-0001"])
def test_good_slugs_map_to_safe_identifiers(slug: str) -> None:
    assert validate_slug(slug) == slug
    assert schema_for(slug) == "t_" + slug.replace("-", "_")
    assert role_for(slug).endswith(slug.replace("-", "_"))
    assert len(schema_for(slug)) <= 63 and len(role_for(slug)) <= 63
