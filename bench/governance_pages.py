"""Benchmark: server time of the governance pages and the rollout board, 500 units.

Usage::

    .venv/bin/python bench/governance_pages.py --requests 50

Uses its own database (``--database-url``, default ``BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/scalemark_bench``, created when missing) and Redis
(``--redis-url``, default ``BENCH_REDIS_URL`` or ``redis://127.0.0.1:6379/13``). It
migrates, provisions the tenant ``bench-gov`` with 500 units (HQ, 5 regions, 50
countries, 444 business units and teams), an HQ admin, rollout stages spread over the
units, gates, and — when their tables exist — a few standards and KPIs. Then it starts
``uvicorn scalemark.app:create_app`` on a free port, signs in through ``POST /login``
and requests each page ``--requests`` times, one at a time over a keep-alive
connection (after ``--warmup`` unmeasured requests): /units, /units/manage, /rollout,
/setup and, where they exist, /governance, /governance/standards, /governance/kpis and
/governance/published.

Prints a table of p50/p95/max per page and, last, a JSON line of the figures. Exits 1
when a page answers with an error or a measured page's p95 is above ``--target-ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    SESSION_COOKIE,
    Connection,
    Server,
    bench_database,
    bench_tenant,
    percentile,
    sign_in,
    start_server,
    stop_server,
    unit_plan,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/scalemark_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
SLUG = "bench-gov"
EMAIL = "hq.admin@bench-governance.example"
PASSWORD = "bench-password-0123"
PAGES = ("/units", "/units/manage", "/rollout", "/setup")
OPTIONAL_PAGES = (
    "/governance",
    "/governance/standards",
    "/governance/kpis",
    "/governance/published",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests per page")
    parser.add_argument("--target-ms", type=float, default=50.0, help="p95 target per page")
    parser.add_argument("--keep", action="store_true", help="keep the tenant afterwards")
    parser.add_argument(
        "--app", default="scalemark.app:create_app", help="ASGI app factory the server runs"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        help="bench database (created when missing)",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS), help="Redis"
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be at least 1 and --warmup not negative")
    return args


async def provision(conn, rng: random.Random) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The bench tenant with its units, admin, stages, gates and governance rows."""
    from scalemark.db import tenant_transaction
    from scalemark.identity.provisioning import ensure_member
    from scalemark.org import service
    from scalemark.org.rules import UnitData

    ref = await bench_tenant(conn, SLUG, "Bench Governance Group")
    counts: dict[str, int] = {}
    async with tenant_transaction(ref) as tx:
        for code, name, kind, parent in unit_plan():
            await service.create_unit(UnitData(code=code, name=name, kind=kind), parent)
        counts["units"] = int(await tx.fetchval("SELECT count(*) FROM unit"))
        # Rollout: units spread over the stages, a history row per move, some gates.
        ids = [r["id"] for r in await tx.fetch("SELECT id FROM unit ORDER BY id")]
        for unit_id in ids:
            stage = rng.choice((1, 1, 2, 2, 3, 3, 4, 5))
            if stage > 1:
                await tx.execute(
                    "INSERT INTO rollout_stage_current (unit_id, stage) VALUES ($1, $2)",
                    unit_id,
                    stage,
                )
                await tx.execute(
                    "INSERT INTO rollout_move (unit_id, from_stage, to_stage, note)"
                    " VALUES ($1, 1, $2, 'bench')",
                    unit_id,
                    stage,
                )
        await tx.execute(
            "INSERT INTO rollout_gate (stage, criterion, threshold) VALUES"
            " (3, 'manual_signoff', NULL), (4, 'assessment_maturity_at_least', 3),"
            " (5, 'adoption_at_least', 60)"
        )
        counts["standards"] = await _maybe_rows(
            tx,
            "governance_standard",
            "INSERT INTO governance_standard (title, level, owner_role, description)"
            " SELECT 'Standard ' || g, CASE WHEN g % 2 = 0 THEN 'mandatory'"
            " ELSE 'recommended' END, 'hq_admin', 'Bench standard' FROM generate_series(1, 20) g",
        )
        counts["kpis"] = await _maybe_rows(
            tx,
            "kpi_definition",
            "WITH k AS (INSERT INTO kpi_definition (key, level, unit_of_measure, direction,"
            " owner_role) SELECT 'kpi_' || g, (ARRAY['central', 'local', 'campaign'])[1 + g % 3],"
            " 'percent', 'higher', 'hq_admin' FROM generate_series(1, 12) g RETURNING id, key)"
            " INSERT INTO kpi_translation (kpi_id, locale, name) SELECT id, 'en', 'KPI ' || key"
            " FROM k",
        )
    await ensure_member(
        EMAIL, tenant_slug=SLUG, role="hq_admin", unit_code=None, password=PASSWORD, name="Admin"
    )
    return counts


async def _maybe_rows(tx, table: str, sql: str) -> int:  # type: ignore[no-untyped-def]
    """Insert bench rows into another feature's table if it exists (schemas may differ)."""
    if not await tx.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
        return 0
    try:
        async with tx.transaction():
            await tx.execute(sql)
    except Exception as exc:  # another feature's schema changed: measure without its rows
        print(f"  ({table}: no bench rows, {type(exc).__name__}: {exc})")
        return 0
    return int(await tx.fetchval(f"SELECT count(*) FROM {table}"))


# --------------------------------------------------------------------------- server


@dataclass
class PageResult:
    path: str
    status: int
    size: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, float | int | str]:
        values = self.latencies_ms or [0.0]
        return {
            "status": self.status,
            "bytes": self.size,
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 95), 2),
            "max_ms": round(max(values), 2),
        }


async def measure(
    server: Server, session: str, path: str, requests: int, warmup: int
) -> PageResult:
    headers = {"Host": f"{SLUG}.localhost:{server.port}", "Cookie": f"{SESSION_COOKIE}={session}"}
    connection = Connection(server.port)
    try:
        status, body = await connection.get(path, headers)
        result = PageResult(path, status, len(body))
        if status != 200:
            return result
        for _ in range(warmup):
            await connection.get(path, headers)
        for _ in range(requests):
            started = time.perf_counter()
            status, body = await connection.get(path, headers)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            if status != 200:
                result.status = status
                break
        return result
    finally:
        await connection.close()


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> dict:
    from scalemark.tenancy.provisioning import drop_tenant

    server: Server | None = None
    results: list[PageResult] = []
    async with bench_database(args.database_url, args.redis_url) as pool:
        try:
            started = time.perf_counter()
            async with pool.acquire() as conn:
                counts = await provision(conn, random.Random(7))
            print(
                f"provisioned {SLUG}: {counts['units']} units, {counts['standards']} standards,"
                f" {counts['kpis']} KPIs in {time.perf_counter() - started:.1f} s"
            )
            server = await start_server(app=args.app)
            session = await sign_in(server.port, SLUG, EMAIL, PASSWORD)
            for path in PAGES + OPTIONAL_PAGES:
                results.append(await measure(server, session, path, args.requests, args.warmup))
            log_tail = server.log_tail(20)
        finally:
            if server is not None:
                await stop_server(server)
            if not args.keep:
                async with pool.acquire() as conn:
                    await drop_tenant(conn, SLUG)

    measured = [r for r in results if r.status == 200 and r.latencies_ms]
    errors = [r for r in results if r.path in PAGES and r.status != 200]
    slow = [r.path for r in measured if r.figures()["p95_ms"] > args.target_ms]  # type: ignore[operator]
    print(f"\n{args.requests} sequential requests per page after {args.warmup} warm-up")
    print(f"{'page':<24} {'status':>6} {'KiB':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for r in results:
        f = r.figures()
        if r.latencies_ms:
            print(
                f"{r.path:<24} {r.status:>6} {r.size / 1024:>7.1f} {f['p50_ms']:>8.1f}"
                f" {f['p95_ms']:>8.1f} {f['max_ms']:>8.1f}"
            )
        else:
            print(f"{r.path:<24} {r.status:>6} {'—':>7} {'(not measured)':>26}")
    print(f"target: p95 < {args.target_ms:.0f} ms per page — {'met' if not slow else 'MISSED'}")
    if errors:
        print(f"server log (last lines):\n{log_tail}")
    return {
        "bench": "governance_pages",
        "units": counts["units"],
        "requests_per_page": args.requests,
        "target_p95_ms": args.target_ms,
        "pages": {r.path: r.figures() for r in results},
        "slow": slow,
        "errors": [r.path for r in errors],
    }


def main(argv: list[str] | None = None) -> int:
    figures = asyncio.run(run(parse_args(argv)))
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 1 if figures["errors"] or figures["slow"] else 0


if __name__ == "__main__":
    sys.exit(main())
