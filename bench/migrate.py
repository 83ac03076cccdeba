"""Benchmark: planning and applying tenant migrations over many tenant schemas.

Usage::

    .venv/bin/python bench/migrate.py --tenants 1000 --keep   # provision (once) and measure
    .venv/bin/python bench/migrate.py --tenants 1000          # measure, then drop the tenants
    .venv/bin/python bench/migrate.py --cleanup               # drop every bench-NNNN tenant

Uses its own database (``--database-url``, default ``BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/scalemark_bench``), created when missing.
Tenants are ``bench-0001`` … ``bench-NNNN``; existing ones are reused, so a rerun with
``--keep`` skips provisioning.

Measured:

1. ``plan()`` with nothing pending: what ``scalemark migrate --check`` does;
2. ``plan()`` with one extra tenant migration pending in every schema;
3. ``migrate_all()`` applying that migration (``ALTER TABLE unit ADD COLUMN bench_note``,
   from a temporary copy of the migrations root) to every schema;
4. ``plan()`` again, nothing pending.

The extra migration is reverted afterwards (and before, after an interrupted run), so
every run measures the same work. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import add_common_options, bench_parser, finish, migrated_database

SLUG_PREFIX = "bench-"
COLUMN = "bench_note"
PLAN_TARGET_S = 2.0
APPLY_TARGET_S = 15.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--tenants", type=int, default=1000, help="bench tenants (1000)")
    add_common_options(parser)
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[4],
        help="migrate_all concurrency; several values are measured one after the other (4)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each plan() timing (3)")
    parser.add_argument("--keep", action="store_true", help="keep the bench tenants for reruns")
    parser.add_argument("--cleanup", action="store_true", help="drop all bench tenants and exit")
    args = parser.parse_args(argv)
    if args.tenants < 1 or args.repeat < 1 or min(args.concurrency) < 1:
        parser.error("--tenants, --repeat and --concurrency must be at least 1")
    return args


def bench_slug(n: int) -> str:
    return f"{SLUG_PREFIX}{n:04d}"


async def bench_slugs(pool: Any) -> list[str]:
    """Slugs of the bench tenants in the registry."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT slug FROM scalemark.tenant WHERE starts_with(slug, $1) ORDER BY slug",
            SLUG_PREFIX,
        )
    return [r["slug"] for r in rows]


async def drop_bench_tenants(pool: Any, slugs: list[str]) -> float:
    from scalemark.tenancy.provisioning import drop_tenant

    started = time.perf_counter()
    async with pool.acquire() as conn:
        for slug in slugs:
            await drop_tenant(conn, slug)
    return time.perf_counter() - started


async def provision(pool: Any, wanted: int) -> tuple[int, float]:
    """Create the missing ``bench-0001`` … ``bench-<wanted>``; drop bench tenants beyond."""
    from scalemark.tenancy.provisioning import create_tenant

    existing = set(await bench_slugs(pool))
    target = [bench_slug(i) for i in range(1, wanted + 1)]
    extra = sorted(existing - set(target))
    if extra:
        await drop_bench_tenants(pool, extra)
    missing = [s for s in target if s not in existing]
    started = time.perf_counter()
    async with pool.acquire() as conn:
        for i, slug in enumerate(missing, 1):
            await create_tenant(conn, slug, f"Bench {slug}")
            if i % 100 == 0:
                print(f"  provisioned {i}/{len(missing)}", flush=True)
    return len(missing), time.perf_counter() - started


async def revert_extra_migration(pool: Any, version: int, workers: int) -> int:
    """Remove the bench column and its version row wherever present; returns schemas fixed."""
    from scalemark.db.migrations import quote_ident

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT n.nspname FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = 'unit' AND a.attname = $1 AND NOT a.attisdropped",
            COLUMN,
        )
    schemas = [r["nspname"] for r in rows]
    limit = asyncio.Semaphore(workers)

    async def revert(schema: str) -> None:
        q = quote_ident(schema)
        async with limit, pool.acquire() as conn:
            # One simple-protocol round trip, one implicit transaction.
            await conn.execute(
                f"ALTER TABLE {q}.unit DROP COLUMN IF EXISTS {COLUMN};"
                f" DELETE FROM {q}.schema_version WHERE version = {int(version)}"
            )

    await asyncio.gather(*(revert(s) for s in schemas))
    return len(schemas)


async def time_plan(pool: Any, root: Path | None, repeat: int) -> tuple[list[float], Any]:
    from scalemark.db.migrations import plan

    runs: list[float] = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await plan(pool, root)
        runs.append(time.perf_counter() - started)
    return runs, result


def temp_root(version: int) -> tuple[Path, Path]:
    """A copy of the migrations root with one extra additive tenant migration."""
    from scalemark.db.migrations import MIGRATIONS_ROOT

    base = Path(tempfile.mkdtemp(prefix="scalemark-bench-"))
    root = base / "migrations"
    shutil.copytree(MIGRATIONS_ROOT, root)
    (root / "tenant" / f"{version:04d}_{COLUMN}.sql").write_text(
        f"ALTER TABLE unit ADD COLUMN {COLUMN} text;\n", encoding="utf-8"
    )
    return base, root


def fmt(runs: list[float]) -> str:
    return f"median {statistics.median(runs):.3f} s (runs: {', '.join(f'{r:.3f}' for r in runs)})"


async def run(args: argparse.Namespace) -> dict:
    # The shared schema and existing tenants are brought up to date first.
    async with migrated_database(args.database_url, size=max(args.concurrency) + 2) as pool:
        from scalemark.db.migrations import load_migrations, migrate_all

        version = max((m.version for m in load_migrations("tenant")), default=0) + 1
        workers = max(args.concurrency)

        if args.cleanup:
            slugs = await bench_slugs(pool)
            await revert_extra_migration(pool, version, workers)
            seconds = await drop_bench_tenants(pool, slugs)
            print(f"dropped {len(slugs)} bench tenants in {seconds:.1f} s")
            return {"bench": "migrate", "cleanup": len(slugs), "seconds": round(seconds, 3)}

        created, prov_s = await provision(pool, args.tenants)
        print(f"tenants: {args.tenants} bench ({created} provisioned in {prov_s:.1f} s)")
        reverted = await revert_extra_migration(pool, version, workers)
        if reverted:
            print(f"reverted leftover {COLUMN} in {reverted} schemas")

        noop_runs, noop = await time_plan(pool, None, args.repeat)
        if not noop.empty:
            raise SystemExit(f"expected nothing pending, got {len(noop.tenants)} schemas")
        schema_count = noop.tenant_count
        print(f"schemas in registry: {schema_count}")
        print(f"plan(), nothing pending:       {fmt(noop_runs)}")

        base, root = temp_root(version)
        applies: dict[int, float] = {}
        try:
            pending_runs, pending = await time_plan(pool, root, args.repeat)
            print(f"plan(), {len(pending.tenants)} schemas pending: {fmt(pending_runs)}")
            for i, concurrency in enumerate(args.concurrency):
                if i:
                    await revert_extra_migration(pool, version, workers)
                report = await migrate_all(pool, root=root, concurrency=concurrency)
                if report.failures or report.schemas_migrated != len(pending.tenants):
                    raise SystemExit(
                        f"migrate_all: {report.schemas_migrated} migrated,"
                        f" failures: {dict(list(report.failures.items())[:5])}"
                    )
                applies[concurrency] = report.seconds
                print(
                    f"migrate_all(concurrency={concurrency}): {report.schemas_migrated}"
                    f" schemas in {report.seconds:.3f} s"
                    f" ({report.seconds / report.schemas_migrated * 1000:.2f} ms/schema)"
                )
            after_runs, after = await time_plan(pool, root, args.repeat)
            if not after.empty:
                raise SystemExit(f"still pending after migrate_all: {len(after.tenants)}")
            print(f"plan() after applying:         {fmt(after_runs)}")
        finally:
            await revert_extra_migration(pool, version, workers)
            shutil.rmtree(base, ignore_errors=True)

        if not args.keep:
            seconds = await drop_bench_tenants(pool, await bench_slugs(pool))
            print(f"dropped bench tenants in {seconds:.1f} s (use --keep to reuse them)")

    used = args.concurrency[0]
    figures = {
        "bench": "migrate",
        "tenants": args.tenants,
        "schemas": schema_count,
        "plan_noop_s": round(statistics.median(noop_runs), 4),
        "plan_pending_s": round(statistics.median(pending_runs), 4),
        "apply_s": round(applies[used], 3),
        "concurrency": used,
        "plan_after_s": round(statistics.median(after_runs), 4),
    }
    if len(applies) > 1:
        figures["apply_s_by_concurrency"] = {str(c): round(s, 3) for c, s in applies.items()}
    if figures["plan_noop_s"] > PLAN_TARGET_S or figures["apply_s"] > APPLY_TARGET_S:
        print(f"WARNING: over target (plan {PLAN_TARGET_S} s, apply {APPLY_TARGET_S} s)")
    return figures


def main(argv: list[str] | None = None) -> int:
    return finish(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
