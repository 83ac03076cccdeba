"""Benchmark: provisioning tenants (registry row, schema, role, tables, version stamp).

Usage::

    .venv/bin/python bench/provision.py --tenants 50

Uses its own database (``--database-url``, default ``BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/scalemark_bench``), created when missing. Migrates
the shared schema, provisions N tenants ``bprov-NNNN`` one after the other, timing each,
drops them again and prints the figures; the last line is JSON.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from urllib.parse import urlsplit

from _common import add_common_options, bench_parser, finish, migrated_database, spread

SLUG_PREFIX = "bprov-"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--tenants", type=int, default=50, help="tenants to provision (50)")
    add_common_options(parser)
    args = parser.parse_args(argv)
    if args.tenants < 1:
        parser.error("--tenants must be at least 1")
    return args


async def run(args: argparse.Namespace) -> dict:
    slugs = [f"{SLUG_PREFIX}{i:04d}" for i in range(1, args.tenants + 1)]
    async with migrated_database(args.database_url, announce=True) as pool:
        from scalemark.tenancy.provisioning import create_tenant, drop_tenant

        timings: list[float] = []
        async with pool.acquire() as conn:
            for slug in slugs:  # leftovers of an interrupted run
                await drop_tenant(conn, slug)
            started = time.perf_counter()
            for slug in slugs:
                t0 = time.perf_counter()
                await create_tenant(conn, slug, f"Bench {slug}")
                timings.append((time.perf_counter() - t0) * 1000)
            total_s = time.perf_counter() - started
            drop_started = time.perf_counter()
            for slug in slugs:
                await drop_tenant(conn, slug)
            drop_s = time.perf_counter() - drop_started

    figures = {
        "bench": "provision",
        "tenants": args.tenants,
        **spread(timings),
        "mean_ms": round(statistics.fmean(timings), 2),
        "total_s": round(total_s, 3),
        "drop_total_s": round(drop_s, 3),
    }
    print(f"database:        {urlsplit(args.database_url).path.lstrip('/')}")
    print(f"tenants:         {args.tenants}")
    print(f"per tenant p50:  {figures['p50_ms']:.2f} ms")
    print(f"per tenant p95:  {figures['p95_ms']:.2f} ms")
    print(f"per tenant max:  {figures['max_ms']:.2f} ms")
    print(
        f"total:           {figures['total_s']:.3f} s (drop all: {figures['drop_total_s']:.3f} s)"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    return finish(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
