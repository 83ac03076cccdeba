"""Create and drop tenants: registry row, schema, role, tables and version stamp.

Creation is one transaction (PostgreSQL DDL, including ``CREATE ROLE``, is
transactional): afterwards either all of it exists or none of it.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from scalemark.db.engine import SHARED_SCHEMA
from scalemark.db.migrations import (
    apply_tenant_migrations,
    load_migrations,
    quote_ident,
    tenant_group_role,
)
from scalemark.tenancy.slugs import role_for, schema_for, validate_slug

__all__ = ["TenantExistsError", "create_tenant", "drop_tenant"]


class TenantExistsError(ValueError):
    """The slug is taken."""


async def create_tenant(
    conn: asyncpg.Connection,
    slug: str,
    name: str,
    *,
    default_locale: str = "en",
    locales: list[str] | None = None,
    migrations_root: Path | None = None,
) -> int:
    """Provision a tenant in one transaction and return its registry id."""
    validate_slug(slug)
    schema, role = schema_for(slug), role_for(slug)
    name = name.strip()
    if not name:
        raise ValueError("a tenant needs a name")
    locales = list(dict.fromkeys([default_locale, *(locales or [])]))
    migrations = load_migrations("tenant", migrations_root)
    async with conn.transaction():
        taken = await conn.fetchval(f"SELECT 1 FROM {SHARED_SCHEMA}.tenant WHERE slug = $1", slug)
        if taken:
            raise TenantExistsError(slug)
        tenant_id = await conn.fetchval(
            f"INSERT INTO {SHARED_SCHEMA}.tenant (slug, name, schema_name, default_locale, locales)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            slug,
            name,
            schema,
            default_locale,
            locales,
        )
        q_schema, q_role = quote_ident(schema), quote_ident(role)
        await conn.execute(f"CREATE SCHEMA {q_schema}")
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await conn.execute(f"CREATE ROLE {q_role} NOLOGIN")
        await conn.execute(f"GRANT {quote_ident(tenant_group_role())} TO {q_role}")
        await conn.execute(f"GRANT {q_role} TO CURRENT_USER")
        await conn.execute(f"GRANT USAGE ON SCHEMA {q_schema} TO {q_role}")
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q_schema}"
            f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {q_role}"
        )
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q_schema}"
            f" GRANT USAGE, SELECT ON SEQUENCES TO {q_role}"
        )
        await apply_tenant_migrations(conn, schema, migrations, create_version_table=True)
        # The version stamp belongs to the migration runner, not to the application.
        await conn.execute(
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {q_schema}.schema_version FROM {q_role}"
        )
    return int(tenant_id)


async def drop_tenant(conn: asyncpg.Connection, slug: str) -> bool:
    """Remove schema, role and registry row; returns False when there was no such tenant."""
    validate_slug(slug, allow_reserved=True)
    schema, role = schema_for(slug), role_for(slug)
    async with conn.transaction():
        deleted = await conn.fetchval(
            f"DELETE FROM {SHARED_SCHEMA}.tenant WHERE slug = $1 RETURNING id", slug
        )
        await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await conn.execute(f"DROP OWNED BY {quote_ident(role)}")
            await conn.execute(f"DROP ROLE {quote_ident(role)}")
    return deleted is not None
