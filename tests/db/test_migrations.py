"""Migration runner: file loading, planning, shared and per-tenant application, resume.

Each test works on a temporary copy of ``migrations/`` with extra files numbered after the
real ones, provisions its own tenants (``mig-…``) and removes everything it added, so the
shared test database is left as the session fixture made it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from scalemark.db.migrations import (
    MIGRATIONS_ROOT,
    load_migrations,
    migrate_all,
    plan,
    quote_ident,
    tenant_group_role,
)
from scalemark.settings import get_settings
from scalemark.tenancy.provisioning import create_tenant, drop_tenant
from scalemark.tenancy.slugs import schema_for

LOCK_TIMEOUT_MS = 200


# --------------------------------------------------------------------------- helpers


def copy_root(tmp_path: Path) -> Path:
    """A private copy of the project's migrations root."""
    root = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_ROOT, root)
    return root


def next_version(root: Path, kind: str) -> int:
    """First version after every migration of ``kind`` in ``root``."""
    return max((m.version for m in load_migrations(kind, root)), default=0) + 1


def add_migration(root: Path, kind: str, name: str, sql: str) -> int:
    """Write ``<root>/<kind>/NNNN_<name>.sql`` with the next version; returns it."""
    version = next_version(root, kind)
    (root / kind / f"{version:04d}_{name}.sql").write_text(sql, encoding="utf-8")
    return version


async def tenant_schemas(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT schema_name FROM scalemark.tenant")
    return {r["schema_name"] for r in rows}


async def has_column(conn: asyncpg.Connection, schema: str, table: str, column: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_schema = $1 AND table_name = $2 AND column_name = $3",
            schema,
            table,
            column,
        )
    )


async def versions(conn: asyncpg.Connection, schema: str) -> list[int]:
    rows = await conn.fetch(
        f"SELECT version FROM {quote_ident(schema)}.schema_version ORDER BY version"
    )
    return [r["version"] for r in rows]


async def revert_column(pool: asyncpg.Pool, schemas: set[str], column: str, version: int) -> None:
    """Undo a test migration on schemas this test did not create (if any existed)."""
    async with pool.acquire() as conn:
        for schema in schemas:
            q = quote_ident(schema)
            await conn.execute(
                f"ALTER TABLE {q}.unit DROP COLUMN IF EXISTS {quote_ident(column)};"
                f" DELETE FROM {q}.schema_version WHERE version = {int(version)}"
            )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def short_lock_timeout() -> Iterator[int]:
    """The runner's lock timeout, lowered so a locked schema fails fast."""
    previous = os.environ.get("MIGRATE_LOCK_TIMEOUT_MS")
    os.environ["MIGRATE_LOCK_TIMEOUT_MS"] = str(LOCK_TIMEOUT_MS)
    get_settings.cache_clear()
    assert get_settings().migrate_lock_timeout_ms == LOCK_TIMEOUT_MS
    try:
        yield LOCK_TIMEOUT_MS
    finally:
        if previous is None:
            os.environ.pop("MIGRATE_LOCK_TIMEOUT_MS", None)
        else:
            os.environ["MIGRATE_LOCK_TIMEOUT_MS"] = previous
        get_settings.cache_clear()


@pytest.fixture
async def tenants(db_pool: asyncpg.Pool) -> AsyncIterator[list[str]]:
    """Slugs the test provisions; every one of them is dropped afterwards."""
    created: list[str] = []
    yield created
    async with db_pool.acquire() as conn:
        for slug in created:
            await drop_tenant(conn, slug)


async def provision(pool: asyncpg.Pool, created: list[str], slugs: list[str], root: Path) -> None:
    async with pool.acquire() as conn:
        for slug in slugs:
            await drop_tenant(conn, slug)  # leftovers of an interrupted earlier run
            created.append(slug)
            await create_tenant(conn, slug, f"Migration test {slug}", migrations_root=root)


# --------------------------------------------------------------------------- loading


def test_load_migrations_orders_by_version(tmp_path: Path) -> None:
    folder = tmp_path / "tenant"
    folder.mkdir()
    (folder / "0010_later.sql").write_text("SELECT 10;")
    (folder / "0002_second.sql").write_text("SELECT 2;")
    (folder / "0001_first.sql").write_text("SELECT 1; -- {{tenant_group}}")
    (folder / "README.md").write_text("not a migration")

    found = load_migrations("tenant", tmp_path)

    assert [(m.version, m.name) for m in found] == [(1, "first"), (2, "second"), (10, "later")]
    assert '"' + tenant_group_role() + '"' in found[0].sql
    assert "{{tenant_group}}" not in found[0].sql
    assert found[1].checksum != found[2].checksum
    assert load_migrations("shared", tmp_path) == []


def test_duplicate_versions_are_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "tenant"
    folder.mkdir()
    (folder / "0001_units.sql").write_text("SELECT 1;")
    (folder / "0002_a.sql").write_text("SELECT 2;")
    (folder / "0002_b.sql").write_text("SELECT 2;")

    with pytest.raises(ValueError, match="duplicate"):
        load_migrations("tenant", tmp_path)


@pytest.mark.parametrize(
    "filename",
    [
        "1_short.sql",
        "00001_five_digits.sql",
        "0002-dash.sql",
        "0002_Upper.sql",
        "0002_.sql",
        "0002_with space.sql",
        "0002_semi;colon.sql",
        "abcd_letters.sql",
        "0002.sql",
    ],
)
def test_bad_file_names_are_rejected(tmp_path: Path, filename: str) -> None:
    folder = tmp_path / "tenant"
    folder.mkdir()
    (folder / "0001_units.sql").write_text("SELECT 1;")
    (folder / filename).write_text("SELECT 2;")

    with pytest.raises(ValueError, match=r"NNNN_name\.sql"):
        load_migrations("tenant", tmp_path)


async def test_bad_root_fails_before_touching_the_database(
    db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    root = copy_root(tmp_path)
    version = add_migration(root, "shared", "never", "CREATE TABLE scalemark.never (id int);")
    (root / "tenant" / "oops.sql").write_text("SELECT 1;")
    try:
        with pytest.raises(ValueError, match=r"NNNN_name\.sql"):
            await plan(db_pool, root)
        with pytest.raises(ValueError, match=r"NNNN_name\.sql"):
            await migrate_all(db_pool, root=root)

        async with db_pool.acquire() as conn:
            assert await conn.fetchval("SELECT to_regclass('scalemark.never')") is None
            assert not await conn.fetchval(
                "SELECT count(*) FROM scalemark.schema_version WHERE version = $1", version
            )
    finally:
        async with db_pool.acquire() as conn:
            await conn.execute("DROP TABLE IF EXISTS scalemark.never")
            await conn.execute("DELETE FROM scalemark.schema_version WHERE version = $1", version)


# --------------------------------------------------------------------------- plan / --check


async def test_check_is_empty_when_everything_is_applied(db_pool: asyncpg.Pool) -> None:
    """``scalemark migrate --check`` passes when plan() has nothing pending."""
    result = await plan(db_pool)

    assert result.empty
    assert result.shared == []
    assert result.tenants == {}


async def test_check_lists_pending_tenant_and_shared_work(
    db_pool: asyncpg.Pool, tmp_path: Path, tenants: list[str]
) -> None:
    root = copy_root(tmp_path)
    await provision(db_pool, tenants, ["mig-check"], root)
    schema = schema_for("mig-check")

    assert (await plan(db_pool, root)).empty

    tenant_version = add_migration(root, "tenant", "check_note", "SELECT 1;")
    result = await plan(db_pool, root)
    assert not result.empty
    assert result.shared == []
    assert [m.version for m in result.tenants[schema]] == [tenant_version]
    assert result.tenant_count >= 1

    (root / "tenant" / f"{tenant_version:04d}_check_note.sql").unlink()
    shared_version = add_migration(root, "shared", "check_probe", "SELECT 1;")
    result = await plan(db_pool, root)
    assert not result.empty
    assert [m.version for m in result.shared] == [shared_version]
    assert result.tenants == {}


# --------------------------------------------------------------------------- shared


async def test_shared_migration_is_applied_once(db_pool: asyncpg.Pool, tmp_path: Path) -> None:
    root = copy_root(tmp_path)
    version = add_migration(
        root,
        "shared",
        "mig_probe",
        "CREATE TABLE scalemark.mig_probe (id bigint PRIMARY KEY);\n"
        "INSERT INTO scalemark.mig_probe (id) VALUES (1);\n",
    )
    try:
        assert [m.version for m in (await plan(db_pool, root)).shared] == [version]

        # Two runners at once: the advisory lock lets exactly one of them apply it.
        first, second = await asyncio.gather(
            migrate_all(db_pool, root=root), migrate_all(db_pool, root=root)
        )
        assert sorted([first.shared_applied, second.shared_applied]) == [0, 1]
        assert not first.failures and not second.failures

        again = await migrate_all(db_pool, root=root)
        assert again.shared_applied == 0
        assert (await plan(db_pool, root)).shared == []

        async with db_pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM scalemark.mig_probe") == 1
            rows = await conn.fetch(
                "SELECT name FROM scalemark.schema_version WHERE version = $1", version
            )
            assert [r["name"] for r in rows] == ["mig_probe"]
    finally:
        async with db_pool.acquire() as conn:
            await conn.execute("DROP TABLE IF EXISTS scalemark.mig_probe")
            await conn.execute("DELETE FROM scalemark.schema_version WHERE version = $1", version)


# --------------------------------------------------------------------------- tenants


async def test_migrate_all_reports_a_locked_schema_and_resumes(
    db_pool: asyncpg.Pool, tmp_path: Path, tenants: list[str], short_lock_timeout: int
) -> None:
    root = copy_root(tmp_path)
    mine = [f"mig-{i:02d}" for i in range(50)]
    await provision(db_pool, tenants, mine, root)  # at the current version
    my_schemas = {schema_for(s) for s in mine}
    locked = schema_for("mig-17")
    version = add_migration(
        root, "tenant", "mig_note", "ALTER TABLE unit ADD COLUMN mig_note text;\n"
    )

    before = await plan(db_pool, root)
    pending = set(before.tenants)
    others = pending - my_schemas  # tenants of other tests, if any were left around
    try:
        assert my_schemas <= pending
        assert len(pending) == 50 + len(others)
        assert before.shared == []
        assert all([m.version for m in before.tenants[s]] == [version] for s in my_schemas)

        calls: list[tuple[int, int, str, str | None]] = []
        locker = await asyncpg.connect(get_settings().database_url)
        try:
            async with locker.transaction():
                await locker.execute(f"LOCK TABLE {locked}.unit IN ACCESS EXCLUSIVE MODE")
                report = await migrate_all(
                    db_pool,
                    root=root,
                    concurrency=4,
                    progress=lambda *args: calls.append(args),
                )
        finally:
            await locker.close()

        assert list(report.failures) == [locked]
        assert "lock timeout" in report.failures[locked]
        assert report.schemas_migrated == len(pending) - 1
        assert report.shared_applied == 0
        # Progress: once per schema, counting up to the total, the failure named.
        assert sorted(c[2] for c in calls) == sorted(pending)
        assert [c[0] for c in calls] == list(range(1, len(pending) + 1))
        assert {c[1] for c in calls} == {len(pending)}
        assert {c[2] for c in calls if c[3] is not None} == {locked}

        async with db_pool.acquire() as conn:
            assert not await has_column(conn, locked, "unit", "mig_note")
            assert await versions(conn, locked) == [m.version for m in load_migrations("tenant")]
            for schema in my_schemas - {locked}:
                assert await has_column(conn, schema, "unit", "mig_note")
                assert (await versions(conn, schema))[-1] == version

        after_failure = await plan(db_pool, root)
        assert list(after_failure.tenants) == [locked]
        assert not after_failure.empty

        # Lock released: a rerun finishes the job and touches only that schema.
        calls.clear()
        rerun = await migrate_all(
            db_pool, root=root, concurrency=4, progress=lambda *a: calls.append(a)
        )
        assert rerun.failures == {}
        assert rerun.schemas_migrated == 1
        assert calls == [(1, 1, locked, None)]

        final = await plan(db_pool, root)
        assert final.empty
        assert final.tenant_count >= 50
        async with db_pool.acquire() as conn:
            assert await has_column(conn, locked, "unit", "mig_note")

        nothing = await migrate_all(db_pool, root=root, progress=lambda *a: calls.append(a))
        assert nothing.schemas_migrated == 0 and nothing.failures == {}
        assert calls == [(1, 1, locked, None)]
    finally:
        await revert_column(db_pool, others, "mig_note", version)


async def test_tenant_migrations_run_in_one_transaction_per_schema(
    db_pool: asyncpg.Pool, tmp_path: Path, tenants: list[str]
) -> None:
    root = copy_root(tmp_path)
    await provision(db_pool, tenants, ["mig-atomic"], root)
    schema = schema_for("mig-atomic")
    good = add_migration(root, "tenant", "good", "ALTER TABLE unit ADD COLUMN atomic_note text;")
    add_migration(root, "tenant", "bad", "ALTER TABLE unit ADD COLUMN atomic_x text;\nSELECT 1/0;")

    report = await migrate_all(db_pool, root=root)

    assert schema in report.failures
    assert "division by zero" in report.failures[schema]
    async with db_pool.acquire() as conn:
        assert not await has_column(conn, schema, "unit", "atomic_note")
        assert not await has_column(conn, schema, "unit", "atomic_x")
        assert good not in await versions(conn, schema)
    assert [m.name for m in (await plan(db_pool, root)).tenants[schema]] == ["good", "bad"]


async def test_concurrent_runners_do_not_fail_each_other(
    db_pool: asyncpg.Pool, tmp_path: Path, tenants: list[str]
) -> None:
    """Two deploys migrating at once: each schema is migrated once, nobody fails."""
    root = copy_root(tmp_path)
    mine = [f"mig-race-{i}" for i in range(12)]
    await provision(db_pool, tenants, mine, root)
    version = add_migration(root, "tenant", "race", "ALTER TABLE unit ADD COLUMN race_note text;")
    others = set((await plan(db_pool, root)).tenants) - {schema_for(s) for s in mine}
    try:
        first, second = await asyncio.gather(
            migrate_all(db_pool, root=root, concurrency=2),
            migrate_all(db_pool, root=root, concurrency=2),
        )

        assert first.failures == {} and second.failures == {}
        assert (await plan(db_pool, root)).empty
        async with db_pool.acquire() as conn:
            for slug in mine:
                assert (await versions(conn, schema_for(slug))).count(version) == 1
                assert await has_column(conn, schema_for(slug), "unit", "race_note")
    finally:
        await revert_column(db_pool, others, "race_note", version)


async def test_schema_held_by_another_runner_fails_fast(
    db_pool: asyncpg.Pool, tmp_path: Path, tenants: list[str], short_lock_timeout: int
) -> None:
    """A runner that holds a schema longer than the lock timeout makes this one fail fast."""
    root = copy_root(tmp_path)
    await provision(db_pool, tenants, ["mig-busy"], root)
    schema = schema_for("mig-busy")
    version = add_migration(root, "tenant", "busy", "ALTER TABLE unit ADD COLUMN busy_note text;")
    others = set((await plan(db_pool, root)).tenants) - {schema}
    locker = await asyncpg.connect(get_settings().database_url)
    try:
        async with locker.transaction():
            # The lock a runner takes on a schema while it migrates it.
            await locker.execute(f"LOCK TABLE {schema}.schema_version IN SHARE ROW EXCLUSIVE MODE")
            # wait_for only guards against a hang; the lock timeout decides the outcome.
            report = await asyncio.wait_for(migrate_all(db_pool, root=root), timeout=60)
        assert list(report.failures) == [schema]
        assert "lock timeout" in report.failures[schema]

        rerun = await migrate_all(db_pool, root=root)
        assert rerun.failures == {}
        assert (await plan(db_pool, root)).empty
    finally:
        await locker.close()
        await revert_column(db_pool, others, "busy_note", version)
