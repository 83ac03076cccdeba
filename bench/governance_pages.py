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
import contextlib
import json
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import Server, ensure_database, percentile, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/scalemark_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
SLUG = "bench-gov"
EMAIL = "hq.admin@bench-governance.example"
PASSWORD = "bench-password-0123"
SESSION_COOKIE = "sm_session"
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


def unit_plan() -> list[tuple[str, str, str, str | None]]:
    """(code, name, kind, parent): 1 HQ, 5 regions, 50 countries, 444 below = 500."""
    rows: list[tuple[str, str, str, str | None]] = [("HQ", "Bench Group HQ", "hq", None)]
    countries: list[str] = []
    for r in range(1, 6):
        region = f"R{r}"
        rows.append((region, f"Region {r}", "region", "HQ"))
        for c in range(1, 11):
            country = f"{region}-C{c:02d}"
            rows.append((country, f"Country {r}.{c}", "country", region))
            countries.append(country)
    below = 500 - len(rows)
    for i in range(below):
        country = countries[i % len(countries)]
        kind = "business_unit" if i % 3 else "team"
        label = "Business unit" if kind == "business_unit" else "Team"
        rows.append((f"{country}-U{i:03d}", f"{label} {i}", kind, country))
    return rows


async def provision(conn, rng: random.Random) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The bench tenant with its units, admin, stages, gates and governance rows."""
    from scalemark.db import TenantRef, tenant_transaction
    from scalemark.identity.provisioning import ensure_member
    from scalemark.org import service
    from scalemark.org.rules import UnitData
    from scalemark.tenancy.provisioning import create_tenant, drop_tenant
    from scalemark.tenancy.resolver import forget_tenant
    from scalemark.tenancy.slugs import role_for, schema_for

    await drop_tenant(conn, SLUG)  # leftovers of an earlier run
    await create_tenant(conn, SLUG, "Bench Governance Group", default_locale="en")
    forget_tenant(SLUG)
    ref = TenantRef(slug=SLUG, schema=schema_for(SLUG), role=role_for(SLUG), name="Bench")
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


async def sign_in(server: Server) -> str:
    """The HQ admin's session id, through the login form."""
    import httpx

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}",
        headers={"host": f"{SLUG}.localhost:{server.port}"},
        trust_env=False,
        timeout=30,
    ) as client:
        form = await client.get("/login")
        token = re.search(r'name="_csrf_token"\s+value="([^"]+)"', form.text)
        if form.status_code != 200 or token is None:
            raise SystemExit(f"no login form ({form.status_code})")
        response = await client.post(
            "/login",
            data={"email": EMAIL, "password": PASSWORD, "next": "/", "_csrf_token": token[1]},
        )
        session = client.cookies.get(SESSION_COOKIE) or ""
        if response.status_code not in (302, 303) or not session:
            raise SystemExit(f"sign-in failed ({response.status_code})")
        return session


class Connection:
    """A minimal HTTP/1.1 keep-alive client: the client adds next to nothing to the time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None and self.writer is not None
        lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        self.writer.write("\r\n".join(lines).encode("latin-1"))
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name:
                fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            body = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while await self.reader.readuntil(b"\r\n") != b"\r\n":
                        pass
                    break
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            await self.close()
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, body


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
    # Settings are read once, from the environment, by the first scalemark import.
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["REDIS_URL"] = args.redis_url
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    os.environ["BASE_DOMAIN"] = "localhost"
    await ensure_database(args.database_url)

    from scalemark.db import close_pool, start_pool
    from scalemark.db.migrations import connect, migrate_all
    from scalemark.settings import get_settings
    from scalemark.tenancy.provisioning import drop_tenant

    get_settings.cache_clear()
    pool = await connect(args.database_url, size=2)
    await start_pool()
    server: Server | None = None
    results: list[PageResult] = []
    try:
        report = await migrate_all(pool)
        if report.failures:
            raise SystemExit(f"migrations failed: {report.failures}")
        started = time.perf_counter()
        async with pool.acquire() as conn:
            counts = await provision(conn, random.Random(7))
        print(
            f"provisioned {SLUG}: {counts['units']} units, {counts['standards']} standards,"
            f" {counts['kpis']} KPIs in {time.perf_counter() - started:.1f} s"
        )
        server = await start_server(app=args.app)
        session = await sign_in(server)
        for path in PAGES + OPTIONAL_PAGES:
            results.append(await measure(server, session, path, args.requests, args.warmup))
        log_tail = server.log_tail(20)
    finally:
        if server is not None:
            await stop_server(server)
        if not args.keep:
            async with pool.acquire() as conn:
                await drop_tenant(conn, SLUG)
        await close_pool()
        await pool.close()

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
