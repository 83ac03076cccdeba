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
import random
import sys
import time
from dataclasses import dataclass

from _common import (
    Connection,
    PageTimes,
    Server,
    add_common_options,
    add_request_options,
    bench_parser,
    bench_services,
    bench_tenant,
    check_request_options,
    create_units,
    finish,
    serving_signed_in,
    spread,
    time_page,
)

DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
SLUG = "bench-gov"
EMAIL = "hq.admin@bench-governance.example"
PASSWORD = "bench-password-0123"
UNITS = 500
PAGES = ("/units", "/units/manage", "/rollout", "/setup")
OPTIONAL_PAGES = (
    "/governance",
    "/governance/standards",
    "/governance/kpis",
    "/governance/published",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    add_request_options(parser, "page")
    parser.add_argument("--target-ms", type=float, default=50.0, help="p95 target per page")
    add_common_options(parser, redis=DEFAULT_REDIS, keep="keep the tenant afterwards", app=True)
    args = parser.parse_args(argv)
    check_request_options(parser, args)
    return args


async def provision(conn, rng: random.Random) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The bench tenant with its units, admin, stages, gates and governance rows."""
    from scalemark.db import tenant_transaction
    from scalemark.identity.provisioning import ensure_member

    ref = await bench_tenant(conn, SLUG, "Bench Governance Group")
    counts: dict[str, int] = {}
    async with tenant_transaction(ref) as tx:
        units = await create_units(UNITS)
        counts["units"] = len(units)
        # Rollout: units spread over the stages, a history row per move, some gates.
        for unit_id in sorted(units.values()):
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
    """One page and what it measured (client-observed latencies only)."""

    path: str
    times: PageTimes

    @property
    def status(self) -> int:
        return self.times.status

    @property
    def latencies_ms(self) -> list[float]:
        return self.times.timings.client_ms

    def figures(self) -> dict[str, float | int | str]:
        return {
            "status": self.status,
            "bytes": self.times.size,
            **spread(self.latencies_ms or [0.0]),
        }


async def measure(
    server: Server, headers: dict[str, str], path: str, requests: int, warmup: int
) -> PageResult:
    """The page's timings over a connection of its own."""
    connection = Connection(server.port)
    try:
        times = await time_page(server, connection, path, headers, requests=requests, warmup=warmup)
        return PageResult(path, times)
    finally:
        await connection.close()


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> dict:
    results: list[PageResult] = []
    async with bench_services(args, [SLUG]) as pool:
        started = time.perf_counter()
        async with pool.acquire() as conn:
            counts = await provision(conn, random.Random(7))
        print(
            f"provisioned {SLUG}: {counts['units']} units, {counts['standards']} standards,"
            f" {counts['kpis']} KPIs in {time.perf_counter() - started:.1f} s"
        )
        async with serving_signed_in(args.app, SLUG, EMAIL, PASSWORD) as (server, headers):
            for path in PAGES + OPTIONAL_PAGES:
                results.append(await measure(server, headers, path, args.requests, args.warmup))
            log_tail = server.log_tail(20)

    measured = [r for r in results if r.status == 200 and r.latencies_ms]
    errors = [r for r in results if r.path in PAGES and r.status != 200]
    slow = [r.path for r in measured if r.figures()["p95_ms"] > args.target_ms]  # type: ignore[operator]
    print(f"\n{args.requests} sequential requests per page after {args.warmup} warm-up")
    print(f"{'page':<24} {'status':>6} {'KiB':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for r in results:
        f = r.figures()
        if r.latencies_ms:
            print(
                f"{r.path:<24} {r.status:>6} {r.times.size / 1024:>7.1f} {f['p50_ms']:>8.1f}"
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
    return finish(run, parse_args(argv), "errors", "slow")


if __name__ == "__main__":
    sys.exit(main())
