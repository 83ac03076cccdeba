"""Benchmark: interleaved multi-tenant load against a real server with a small pool.

Usage::

    .venv/bin/python bench/isolation.py --requests 5000 --tenants 20 --concurrency 50 --pool-max 5

Uses its own database (``--database-url``, default ``BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/scalemark_bench``, created when missing) and Redis
(``--redis-url``, default ``BENCH_REDIS_URL`` or ``redis://127.0.0.1:6379/14``). It
migrates, provisions tenants ``biso-NN`` with unit trees whose names and codes mark their
tenant, starts ``uvicorn scalemark.app:create_app`` on a free port with
``DB_POOL_MAX=--pool-max``, warms up with one request per tenant, then sends the requests
(``/``, ``/units``, ``/units/<id>/children`` as page and as htmx partial) in random tenant
order, N at a time over shared keep-alive connections, each with its tenant's Host header
and the session cookie of that tenant's member (signed in once through the login form).
Every response must be 200, contain its own tenant's markers and no other tenant's.

Prints requests per second, latency percentiles, errors, leaks and the server's peak
number of database connections; the last line is JSON. Exits 1 on any error or leak.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from _common import (
    SESSION_COOKIE,
    Connection,
    Server,
    add_common_options,
    bench_parser,
    bench_services,
    bench_tenant,
    finish,
    serving,
    sign_in,
    spread,
)

DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
SLUG_PREFIX = "biso-"
PASSWORD = "bench-password-0123"
MARKER = re.compile(r"\bbiso-(\d{2,3})\b|\bB(\d{2,3})-R")
"""Any bench tenant's slug or unit-code prefix; the digits are the tenant's index."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, default=5000, help="measured requests (5000)")
    parser.add_argument("--tenants", type=int, default=20, help="tenants (20)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (50)")
    parser.add_argument("--pool-max", type=int, default=5, help="server's DB_POOL_MAX (5)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the request mix")
    add_common_options(parser, redis=DEFAULT_REDIS, keep="keep the tenants afterwards")
    args = parser.parse_args(argv)
    if not 2 <= args.tenants <= 999:
        parser.error("--tenants must be between 2 and 999")
    for name in ("requests", "concurrency", "pool_max"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


@dataclass
class Tree:
    """One tenant's units and the texts its pages must show."""

    index: int
    slug: str
    name: str
    codes: dict[int, str] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    children: dict[int, list[str]] = field(default_factory=dict)
    email: str = ""
    session: str = ""


def tenant_slug(index: int, width: int) -> str:
    """The slug of bench tenant ``index``, its number ``width`` digits wide."""
    return f"{SLUG_PREFIX}{index:0{width}d}"


def tree_spec(index: int, width: int) -> list[tuple[str, str, str, str | None]]:
    """(code, name, kind, parent) rows: HQ, 2–3 regions, 1–3 countries per region."""
    slug, prefix = tenant_slug(index, width), f"B{index:0{width}d}"
    rows: list[tuple[str, str, str, str | None]] = [("HQ", f"{slug} Headquarters", "hq", None)]
    for r in range(1, 3 + index % 2):
        region = f"{prefix}-R{r}"
        rows.append((region, f"{slug} Region {r}", "region", "HQ"))
        for k in range(1, 2 + (index + r) % 3):
            rows.append((f"{region}K{k}", f"{slug} Country {r}.{k}", "country", region))
    return rows


async def provision(conn, index: int, width: int) -> Tree:  # type: ignore[no-untyped-def]
    from scalemark.db import tenant_transaction
    from scalemark.identity.provisioning import ensure_member
    from scalemark.org import service
    from scalemark.org.rules import UnitData

    slug = tenant_slug(index, width)
    tree = Tree(index=index, slug=slug, name=f"Bench Org {slug}")
    ref = await bench_tenant(conn, slug, tree.name)
    async with tenant_transaction(ref):
        for code, name, kind, parent in tree_spec(index, width):
            node = await service.create_unit(UnitData(code=code, name=name, kind=kind), parent)
            tree.codes[node.id], tree.names[node.id] = node.code, node.name
        for node in await service.whole_tree():
            kids = await service.children_of(node.id)
            if kids:
                tree.children[node.id] = [k.code for k in kids]
    # The e-mail shows in page headers, so it carries no tenant marker.
    tree.email = f"member{index:0{width}d}@bench-isolation.example"
    await ensure_member(
        tree.email, tenant_slug=slug, role="stakeholder", unit_code=None, password=PASSWORD
    )
    return tree


# --------------------------------------------------------------------------- server


def process_tcp_ports(pid: int) -> set[int]:
    """Local ports of a process's TCP sockets (Linux ``/proc``; empty elsewhere)."""
    inodes: set[str] = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Job:
    tree: Tree
    path: str
    partial: bool
    expected: tuple[str, ...]


def plan_jobs(trees: list[Tree], count: int, rng: random.Random) -> list[Job]:
    jobs: list[Job] = []
    for _ in range(count):
        tree = rng.choice(trees)
        kind = rng.choice(("home", "units", "children", "children", "children-page"))
        if kind == "home":
            root = next(uid for uid, code in tree.codes.items() if code == "HQ")
            expected = (tree.name, tree.names[root], *tree.children[root])
            jobs.append(Job(tree, "/", False, expected))
        elif kind == "units":
            jobs.append(Job(tree, "/units", False, tuple(tree.codes.values())))
        elif kind == "children":
            uid = rng.choice(sorted(tree.children))
            jobs.append(Job(tree, f"/units/{uid}/children", True, tuple(tree.children[uid])))
        else:
            uid = rng.choice(sorted(tree.codes))
            expected = (tree.names[uid], *tree.children.get(uid, ()))
            jobs.append(Job(tree, f"/units/{uid}/children", False, expected))
    return jobs


@dataclass
class Result:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    reconnects: int = 0


async def run_load(server: Server, jobs: list[Job], concurrency: int) -> Result:
    result = Result()
    queue = iter(jobs)

    async def worker() -> None:
        connection = Connection(server.port, reopen=True)
        try:
            for job in queue:  # a shared iterator: each job is taken once
                headers = {
                    "Host": f"{job.tree.slug}.localhost:{server.port}",
                    "Cookie": f"{SESSION_COOKIE}={job.tree.session}",
                }
                if job.partial:
                    headers["HX-Request"] = "true"
                started = time.perf_counter()
                try:
                    status, content = await connection.get(job.path, headers)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    result.errors.append(f"{job.tree.slug} {job.path}: {type(exc).__name__}")
                    continue
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.statuses[status] += 1
                if status != 200:
                    result.errors.append(f"{job.tree.slug} {job.path}: {status}")
                    continue
                body = content.decode("utf-8", errors="replace")
                foreign = {int(a or b) for a, b in MARKER.findall(body)} - {job.tree.index}
                if foreign:
                    result.leaks.append(f"{job.tree.slug} {job.path}: shows {sorted(foreign)}")
                absent = [text for text in job.expected if text not in body]
                if absent:
                    result.missing.append(f"{job.tree.slug} {job.path}: lacks {absent[:3]}")
        finally:
            result.reconnects += connection.reconnects
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


async def server_backends(pool, server: Server) -> int:  # type: ignore[no-untyped-def]
    ports = sorted(process_tcp_ports(server.process.pid))
    async with pool.acquire() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND client_port = ANY($1::int[])",
                ports,
            )
        )


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> dict:
    width = max(2, len(str(args.tenants - 1)))
    slugs = [tenant_slug(i, width) for i in range(args.tenants)]
    async with bench_services(args, slugs, announce=True) as pool:
        started = time.perf_counter()
        async with pool.acquire() as conn:
            trees = [await provision(conn, i, width) for i in range(args.tenants)]
        print(f"provisioned {len(trees)} tenants in {time.perf_counter() - started:.2f} s")

        async with serving({"DB_POOL_MAX": str(args.pool_max), "DB_POOL_MIN": "1"}) as server:
            for tree in trees:
                tree.session = await sign_in(server.port, tree.slug, tree.email, PASSWORD)
            rng = random.Random(args.seed)
            warmup = await run_load(
                server,
                [j for t in trees for j in plan_jobs([t], 1, rng)],
                min(args.concurrency, len(trees)),
            )
            jobs = plan_jobs(trees, args.requests, rng)

            peak = 0
            done = asyncio.Event()

            async def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, await server_backends(pool, server))
                    await asyncio.sleep(0.05)  # sampling interval while the load runs

            sampler = asyncio.create_task(sample())
            try:
                result = await run_load(server, jobs, args.concurrency)
            finally:
                done.set()
                await sampler
            log_tail = server.log_tail(20) if result.errors else ""

    latencies = result.latencies_ms or [0.0]
    total = sum(result.statuses.values())
    figures = {
        "bench": "isolation",
        "requests": args.requests,
        "tenants": args.tenants,
        "concurrency": args.concurrency,
        "pool_max": args.pool_max,
        "ok": result.statuses[200] - len(result.leaks) - len(result.missing),
        "errors": len(result.errors) + len(warmup.errors),
        "leaks": len(result.leaks) + len(warmup.leaks),
        "missing_markers": len(result.missing) + len(warmup.missing),
        "rps": round(total / max(result.seconds, 1e-9), 1),
        **spread(latencies, also=(99,)),
        "seconds": round(result.seconds, 3),
        "peak_db_connections": peak,
        "reconnects": result.reconnects,
    }
    print(f"database:          {urlsplit(args.database_url).path.lstrip('/')}")
    print(f"tenants:           {args.tenants} ({tenant_slug(0, width)} …)")
    print(f"requests:          {total} in {result.seconds:.2f} s, {args.concurrency} in flight")
    print(f"throughput:        {figures['rps']:.1f} requests/s")
    print(f"latency p50/p95:   {figures['p50_ms']:.1f} / {figures['p95_ms']:.1f} ms")
    print(f"latency p99/max:   {figures['p99_ms']:.1f} / {figures['max_ms']:.1f} ms")
    print(f"statuses:          {dict(sorted(result.statuses.items()))}")
    print(f"db connections:    peak {peak} (DB_POOL_MAX={args.pool_max})")
    print(f"reconnects:        {result.reconnects} (keep-alive connections the server closed)")
    print(f"errors:            {figures['errors']}")
    print(f"leaks:             {figures['leaks']}")
    print(f"missing markers:   {figures['missing_markers']}")
    for line in (warmup.errors + result.errors + warmup.leaks + result.leaks)[:10]:
        print(f"  {line}")
    for line in (warmup.missing + result.missing)[:10]:
        print(f"  {line}")
    if log_tail:
        print(f"server log (last lines):\n{log_tail}")
    return figures


def main(argv: list[str] | None = None) -> int:
    return finish(run, parse_args(argv), "errors", "leaks", "missing_markers")


if __name__ == "__main__":
    sys.exit(main())
