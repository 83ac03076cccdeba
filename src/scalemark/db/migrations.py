"""Migration runner for the shared schema and every tenant schema.

Migrations are SQL files ``NNNN_name.sql`` under ``migrations/shared`` and
``migrations/tenant``. Each schema records its own applied versions in its
``schema_version`` table (Piccolo's bookkeeping is per database, not per schema).
Tenant migrations run with the tenant's schema as search path, one transaction per
schema, a few schemas at a time, each with a lock timeout; a failing schema is
reported and the others go on, so a rerun finishes the job.

Code must tolerate schemas one version apart while a rollout runs: migrations are
additive first (new columns nullable or defaulted) and destructive one release later.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from scalemark import PROJECT_ROOT
from scalemark.db.engine import SHARED_SCHEMA
from scalemark.settings import get_settings

__all__ = [
    "MIGRATIONS_ROOT",
    "Migration",
    "MigrationReport",
    "Plan",
    "apply_tenant_migrations",
    "connect",
    "load_migrations",
    "migrate_all",
    "plan",
    "tenant_group_role",
]

MIGRATIONS_ROOT = PROJECT_ROOT / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS {schema}.schema_version (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
_SHARED_LOCK = 0x5CA1E  # advisory lock: one shared-schema migrator at a time


@dataclass(frozen=True)
class Migration:
    """One SQL migration file."""

    version: int
    """Number from the file name; applied in ascending order."""
    name: str
    """Rest of the file name."""
    sql: str
    """The statements (several per file are fine)."""

    @property
    def checksum(self) -> str:
        """Fingerprint of the SQL, recorded when applied."""
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


@dataclass
class Plan:
    """What is pending: shared versions and tenant schema → versions."""

    shared: list[Migration] = field(default_factory=list)
    """Shared migrations not yet applied."""
    tenants: dict[str, list[Migration]] = field(default_factory=dict)
    """Pending tenant migrations by schema name (only schemas with something pending)."""
    tenant_count: int = 0
    """Tenant schemas inspected."""

    @property
    def empty(self) -> bool:
        """True when nothing is pending anywhere."""
        return not self.shared and not self.tenants


@dataclass
class MigrationReport:
    """Outcome of :func:`migrate_all`."""

    shared_applied: int = 0
    """Shared migrations applied."""
    schemas_migrated: int = 0
    """Tenant schemas brought up to date in this run."""
    failures: dict[str, str] = field(default_factory=dict)
    """Schema → error message for schemas that failed (rerun to finish them)."""
    seconds: float = 0.0
    """Wall time of the run."""


def tenant_group_role() -> str:
    """Role every tenant role belongs to; it holds the grants on shared tables."""
    return get_settings().role_prefix + "tenants"


def quote_ident(name: str) -> str:
    """Quote an identifier that was already validated (slug-derived or constant)."""
    return '"' + name.replace('"', '""') + '"'


def load_migrations(kind: str, root: Path | None = None) -> list[Migration]:
    """Read ``<root>/<kind>/NNNN_name.sql`` files in version order."""
    folder = (root or MIGRATIONS_ROOT) / kind
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise ValueError(f"migration file name must be NNNN_name.sql: {path}")
        sql = path.read_text(encoding="utf-8").replace(
            "{{tenant_group}}", quote_ident(tenant_group_role())
        )
        found.append(Migration(int(match.group(1)), match.group(2), sql))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {folder}")
    return found


async def connect(dsn: str | None = None, size: int = 4) -> asyncpg.Pool:
    """A pool for the runner; connections start with no usable search path."""
    pool = await asyncpg.create_pool(
        dsn or get_settings().database_url,
        min_size=1,
        max_size=max(1, size),
        server_settings={"search_path": "pg_catalog", "application_name": "scalemark-migrate"},
    )
    assert pool is not None
    return pool


async def _applied_shared(conn: asyncpg.Connection) -> set[int]:
    exists = await conn.fetchval(
        "SELECT to_regclass($1) IS NOT NULL", f"{SHARED_SCHEMA}.schema_version"
    )
    if not exists:
        return set()
    rows = await conn.fetch(f"SELECT version FROM {SHARED_SCHEMA}.schema_version")
    return {r["version"] for r in rows}


async def _tenant_schemas(conn: asyncpg.Connection) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{SHARED_SCHEMA}.tenant")
    if not exists:
        return []
    rows = await conn.fetch(f"SELECT schema_name FROM {SHARED_SCHEMA}.tenant ORDER BY slug")
    return [r["schema_name"] for r in rows]


async def _applied_tenants(
    conn: asyncpg.Connection, schemas: Sequence[str], chunk: int = 250
) -> dict[str, set[int]]:
    """Applied versions of many schemas, a few queries instead of one per schema."""
    applied: dict[str, set[int]] = {}
    for start in range(0, len(schemas), chunk):
        part = schemas[start : start + chunk]
        union = " UNION ALL ".join(
            f"SELECT {i} AS i, array_agg(version) AS v FROM {quote_ident(s)}.schema_version"
            for i, s in enumerate(part)
        )
        for row in await conn.fetch(union):
            applied[part[row["i"]]] = set(row["v"] or [])
    return applied


async def plan(pool: asyncpg.Pool, root: Path | None = None) -> Plan:
    """Work pending for the shared schema and each tenant; reads only."""
    shared = load_migrations("shared", root)
    tenant = load_migrations("tenant", root)
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        # A schema busy with a long migration must not make --check hang.
        await conn.execute(
            "SELECT set_config('lock_timeout', $1, true)",
            f"{get_settings().migrate_lock_timeout_ms}ms",
        )
        applied = await _applied_shared(conn)
        schemas = await _tenant_schemas(conn)
        present = {
            r["nspname"]
            for r in await conn.fetch(
                "SELECT n.nspname FROM pg_namespace n WHERE n.nspname = ANY($1::text[])"
                " AND to_regclass(quote_ident(n.nspname) || '.schema_version') IS NOT NULL",
                schemas,
            )
        }
        tenant_applied = await _applied_tenants(conn, [s for s in schemas if s in present])
    result = Plan(shared=[m for m in shared if m.version not in applied], tenant_count=len(schemas))
    for schema in schemas:
        done = tenant_applied.get(schema, set())
        pending = [m for m in tenant if m.version not in done]
        if pending:
            result.tenants[schema] = pending
    return result


async def _apply(conn: asyncpg.Connection, schema: str, migrations: Sequence[Migration]) -> None:
    for migration in migrations:
        await conn.execute(migration.sql)
        await conn.execute(
            f"INSERT INTO {quote_ident(schema)}.schema_version (version, name, checksum)"
            " VALUES ($1, $2, $3)",
            migration.version,
            migration.name,
            migration.checksum,
        )


async def apply_shared_migrations(conn: asyncpg.Connection, root: Path | None = None) -> int:
    """Bring the shared schema up to date in one transaction; returns how many ran."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SHARED_LOCK)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SHARED_SCHEMA}")
        await conn.execute(_VERSION_TABLE.format(schema=SHARED_SCHEMA))
        group = tenant_group_role()
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", group)
        if not exists:
            await conn.execute(f"CREATE ROLE {quote_ident(group)} NOLOGIN")
        await conn.execute(f"GRANT USAGE ON SCHEMA {SHARED_SCHEMA} TO {quote_ident(group)}")
        applied = await _applied_shared(conn)
        pending = [m for m in load_migrations("shared", root) if m.version not in applied]
        await conn.execute("SELECT set_config('search_path', $1, true)", SHARED_SCHEMA)
        await _apply(conn, SHARED_SCHEMA, pending)
        return len(pending)


async def apply_tenant_migrations(
    conn: asyncpg.Connection,
    schema: str,
    migrations: Sequence[Migration],
    *,
    lock_timeout_ms: int | None = None,
    create_version_table: bool = False,
) -> None:
    """Apply ``migrations`` to one tenant schema inside the caller's transaction."""
    timeout = lock_timeout_ms or get_settings().migrate_lock_timeout_ms
    await conn.execute(
        "SELECT set_config('search_path', $1, true), set_config('lock_timeout', $2, true)",
        schema,
        f"{timeout}ms",
    )
    if create_version_table:
        await conn.execute(_VERSION_TABLE.format(schema=quote_ident(schema)))
    await _apply(conn, schema, migrations)


async def _migrate_one(pool: asyncpg.Pool, schema: str, migrations: Sequence[Migration]) -> None:
    timeout_ms = int(get_settings().migrate_lock_timeout_ms)
    async with pool.acquire() as conn, conn.transaction():
        # One runner per schema at a time: a concurrent runner waits here (within the lock
        # timeout, set first so nothing in this transaction waits longer), then rechecks
        # and finds the work done instead of failing on it.
        await conn.execute(
            f"SET LOCAL lock_timeout = '{timeout_ms}ms';"
            f" LOCK TABLE {quote_ident(schema)}.schema_version IN SHARE ROW EXCLUSIVE MODE"
        )
        rows = await conn.fetch(f"SELECT version FROM {quote_ident(schema)}.schema_version")
        done = {r["version"] for r in rows}
        await apply_tenant_migrations(
            conn, schema, [m for m in migrations if m.version not in done]
        )


async def migrate_all(
    pool: asyncpg.Pool,
    *,
    root: Path | None = None,
    concurrency: int | None = None,
    progress: Callable[[int, int, str, str | None], Any] | None = None,
) -> MigrationReport:
    """Migrate the shared schema, then every tenant schema with bounded concurrency."""
    started = time.perf_counter()
    report = MigrationReport()
    load_migrations("tenant", root)  # reject a bad tenant folder before applying anything
    async with pool.acquire() as conn:
        report.shared_applied = await apply_shared_migrations(conn, root)
    pending = (await plan(pool, root)).tenants
    limit = asyncio.Semaphore(concurrency or get_settings().migrate_concurrency)
    total = len(pending)
    finished = 0

    async def run(schema: str, migrations: list[Migration]) -> None:
        nonlocal finished
        async with limit:
            error: str | None = None
            try:
                await _migrate_one(pool, schema, migrations)
                report.schemas_migrated += 1
            except (asyncpg.PostgresError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                report.failures[schema] = error
            finished += 1
            if progress is not None:
                progress(finished, total, schema, error)

    await asyncio.gather(*(run(s, m) for s, m in pending.items()))
    report.seconds = time.perf_counter() - started
    return report
