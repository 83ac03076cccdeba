"""Benchmark: the assessment results page for 500 units and 3 cycles.

Usage::

    .venv/bin/python bench/assessment_results.py --requests 50

Uses its own database (``--database-url``, default ``BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/scalemark_bench``, created when missing) and Redis
(``--redis-url``, default ``BENCH_REDIS_URL`` or ``redis://127.0.0.1:6379/15``). It
migrates and provisions the tenant ``bench-res``: 500 units (HQ, 5 regions, 50 countries,
444 business units and teams), an HQ admin, and 3 assessments over all units linked by
``previous_id`` (cycles 1–3; all closed, or the latest ``--latest-status in_review``) on
the built-in framework (``--framework FILE`` for another one; the test framework
``mini.yaml`` while the built-in one is missing or does not load). Each unit has one or
two respondents who answered every question and positioned every tension field; about
one unit in ten has validated levels. All cached scores start stale, as after the last
answers came in.

Then it starts ``uvicorn scalemark.app:create_app``, signs the admin in through
``POST /login`` and requests the latest cycle's ``/assessments/{id}/results`` once: that
first request refreshes the scores of the 1,000 stale units of cycles 3 and 2 and is
reported apart. Then each view ``--requests`` times, one at a time over a keep-alive
connection after ``--warmup`` unmeasured requests: the whole scope, a region, a country
and a team, and — where the routes exist — the results API and the review overview.

Prints p50/p95/max per view, client-observed and as the server reports it in its
``Server-Timing: app;dur=`` header, and the server's CPU per request (which other load on
the machine hardly changes); last a JSON line. Exits 1 when a view answers with an error
or a results view's server-side p95 is above ``--target-ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _assessment import (
    bench_framework,
    create_units,
    framework_option,
    insert_answers,
    insert_assessment,
    insert_respondents,
)
from _common import (
    SESSION_COOKIE,
    Connection,
    Reply,
    Server,
    Timings,
    bench_database,
    bench_tenant,
    process_cpu_s,
    sign_in,
    start_server,
    stop_server,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/scalemark_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
SLUG = "bench-res"
EMAIL = "hq.admin@bench-results.example"
PASSWORD = "bench-password-0123"
UNITS = 500
CYCLES = 3
VALIDATED_SHARE = 0.1
"""Share of units with validated levels (each: up to 3 questions)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="measured requests per view")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests per view")
    parser.add_argument(
        "--target-ms", type=float, default=100.0, help="server-side p95 target per results view"
    )
    parser.add_argument(
        "--latest-status",
        choices=("closed", "in_review"),
        default="closed",
        help="status of the latest cycle (the earlier ones are closed)",
    )
    parser.add_argument(
        "--framework",
        type=framework_option,
        help="framework file to run on (default: the built-in one, else mini.yaml)",
    )
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


# --------------------------------------------------------------------------- provisioning


@dataclass
class World:
    """What the bench provisioned."""

    latest_id: int
    units: dict[str, int]
    framework: str
    counts: dict[str, int] = field(default_factory=dict)


async def provision(  # type: ignore[no-untyped-def]
    conn, rng: random.Random, framework_file: Path | None, latest_status: str
) -> World:
    """The tenant, its units and admin, and three answered cycles."""
    from scalemark.db import tenant_transaction
    from scalemark.identity.provisioning import ensure_member

    ref = await bench_tenant(conn, SLUG, "Bench Results Group")
    chosen = bench_framework(framework_file)
    counts = {"respondents": 0, "answers": 0, "validations": 0}
    async with tenant_transaction(ref) as tx:
        units = await create_units(UNITS)
        unit_ids = sorted(units.values())
        previous: int | None = None
        for cycle in range(1, CYCLES + 1):
            previous = await insert_assessment(
                tx,
                chosen,
                title=f"Scalability check {2023 + cycle}",
                status=latest_status if cycle == CYCLES else "closed",
                unit_ids=unit_ids,
                previous_id=previous,
                cycle=cycle,
            )
            people = [
                (unit_id, f"r{n}.u{unit_id}@bench-results.example")
                for unit_id in unit_ids
                for n in range(1 + (rng.random() < 0.5))
            ]
            respondents = await insert_respondents(tx, previous, people)
            counts["respondents"] += len(respondents)
            counts["answers"] += await insert_answers(tx, chosen, respondents, rng)
            counts["validations"] += await _insert_validations(tx, chosen, previous, unit_ids, rng)
        assert previous is not None
        counts["units"] = len(unit_ids)
    await ensure_member(
        EMAIL, tenant_slug=SLUG, role="hq_admin", unit_code=None, password=PASSWORD, name="Admin"
    )
    return World(previous, units, chosen.label, counts)


async def _insert_validations(  # type: ignore[no-untyped-def]
    tx, chosen, assessment_id: int, unit_ids: list[int], rng: random.Random
) -> int:
    """The consultant's validated levels for about one unit in ten (up to 3 questions)."""
    keys = [q.key for q in chosen.framework.questions()]
    rows = [
        (unit_id, key, rng.randint(1, 5))
        for unit_id in unit_ids
        if rng.random() < VALIDATED_SHARE
        for key in rng.sample(keys, min(3, len(keys)))
    ]
    await tx.execute(
        "INSERT INTO assessment_validation (assessment_id, unit_id, question_key, choice,"
        " level, rationale) SELECT $1, u, k, 'level', l, 'Checked in the bench workshop.'"
        " FROM unnest($2::bigint[], $3::varchar[], $4::smallint[]) AS t(u, k, l)",
        assessment_id,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )
    return len(rows)


# --------------------------------------------------------------------------- measuring


@dataclass
class View:
    """One page and what it measured."""

    name: str
    path: str
    optional: bool = False
    """Another feature's page: a 404 means "not there yet", not an error."""
    results: bool = True
    """Held to the target."""
    status: int = 0
    size: int = 0
    timings: Timings = field(default_factory=Timings)
    cpu_ms: float | None = None
    """Server CPU per measured request (user + system of its process)."""

    @property
    def missing(self) -> bool:
        """An optional page that does not exist (yet)."""
        return self.optional and self.status == 404

    def figures(self) -> dict[str, object]:
        """Path, status, size, server CPU and the client and server timings."""
        return {
            "path": self.path,
            "status": self.status,
            "bytes": self.size,
            "server_cpu_ms": self.cpu_ms,
            **self.timings.figures(),
        }


async def timed(connection: Connection, path: str, headers: dict[str, str]) -> tuple[float, Reply]:
    """One GET: client-observed milliseconds and the reply."""
    started = time.perf_counter()
    reply = await connection.request("GET", path, headers)
    return (time.perf_counter() - started) * 1000, reply


async def measure(
    server: Server,
    connection: Connection,
    headers: dict[str, str],
    view: View,
    requests: int,
    warmup: int,
) -> None:
    """Warm up, then time ``requests`` sequential requests of ``view``."""
    _, reply = await timed(connection, view.path, headers)
    view.status, view.size = reply.status, len(reply.body)
    if reply.status != 200:
        return
    for _ in range(warmup):
        await timed(connection, view.path, headers)
    cpu_before = process_cpu_s(server.process.pid)
    for _ in range(requests):
        elapsed, reply = await timed(connection, view.path, headers)
        if reply.status != 200:
            view.status = reply.status
            return
        view.timings.add(elapsed, reply)
    cpu_after = process_cpu_s(server.process.pid)
    if cpu_before is not None and cpu_after is not None:
        view.cpu_ms = round((cpu_after - cpu_before) * 1000 / requests, 1)


def views(world: World) -> list[View]:
    """The whole scope, a region, a country and a team; the results API and the review."""
    aid = world.latest_id
    base = f"/assessments/{aid}/results"
    units = world.units
    team = next(code for code in sorted(units) if code.startswith("R1-C01-U"))
    return [
        View("whole scope", base),
        View("region R1", f"{base}?unit={units['R1']}"),
        View("country R1-C01", f"{base}?unit={units['R1-C01']}"),
        View(f"team {team}", f"{base}?unit={units[team]}"),
        View("results API", f"/api/v1/assessments/{aid}/results", optional=True),
        View("review overview", f"/assessments/{aid}/review", optional=True, results=False),
    ]


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> dict:
    from scalemark.tenancy.provisioning import drop_tenant

    server: Server | None = None
    measured: list[View] = []
    first = Timings()
    first_status = 0
    async with bench_database(args.database_url, args.redis_url) as pool:
        try:
            started = time.perf_counter()
            async with pool.acquire() as conn:
                world = await provision(conn, random.Random(11), args.framework, args.latest_status)
            c = world.counts
            print(
                f"provisioned {SLUG} ({world.framework}): {c['units']} units, {CYCLES} cycles,"
                f" {c['respondents']} respondents, {c['answers']} answers,"
                f" {c['validations']} validations in {time.perf_counter() - started:.1f} s"
            )
            server = await start_server(app=args.app)
            session = await sign_in(server.port, SLUG, EMAIL, PASSWORD)
            headers = {
                "Host": f"{SLUG}.localhost:{server.port}",
                "Cookie": f"{SESSION_COOKIE}={session}",
            }
            connection = Connection(server.port)
            try:
                pages = views(world)
                elapsed, reply = await timed(connection, pages[0].path, headers)
                first.add(elapsed, reply)
                first_status = reply.status
                for view in pages:
                    await measure(server, connection, headers, view, args.requests, args.warmup)
                    measured.append(view)
            finally:
                await connection.close()
            log_tail = server.log_tail(20)
        finally:
            if server is not None:
                await stop_server(server)
            if not args.keep:
                async with pool.acquire() as conn:
                    await drop_tenant(conn, SLUG)
    return report(args, world, first, first_status, measured, log_tail)


def report(
    args: argparse.Namespace,
    world: World,
    first: Timings,
    first_status: int,
    measured: list[View],
    log_tail: str,
) -> dict:
    """Print the table; the figures for the JSON line."""
    errors = [v.name for v in measured if v.status != 200 and not v.missing]
    if first_status != 200:
        errors.insert(0, "first request")
    slow = [
        v.name
        for v in measured
        if v.results
        and v.timings.server_ms
        and v.timings.figures()["server"]["p95_ms"] > args.target_ms
    ]
    first_figures = first.figures()
    print(
        f"\nfirst request (refreshes the stale scores): status {first_status},"
        f" client {first_figures['client'].get('max_ms', 0):.1f} ms,"
        f" server {first_figures['server'].get('max_ms', 0):.1f} ms"
    )
    print(f"{args.requests} sequential requests per view after {args.warmup} warm-up")
    print(
        f"{'view':<22} {'status':>6} {'KiB':>7} {'server p50':>10} {'p95':>7} {'max':>7}"
        f" {'client p50':>10} {'p95':>7} {'max':>7} {'CPU ms':>7}"
    )
    for view in measured:
        f = view.timings.figures()
        cpu = "—" if view.cpu_ms is None else f"{view.cpu_ms:.1f}"
        note = "  (not there yet)" if view.missing else ""
        print(
            f"{view.name:<22} {view.status:>6} {view.size / 1024:>7.1f}  "
            f"{Timings.columns(f['server'])}  {Timings.columns(f['client'])} {cpu:>7}{note}"
        )
    verdict = "not measured (errors)" if errors else "MISSED" if slow else "met"
    print(f"target: server p95 < {args.target_ms:.0f} ms per results view — {verdict}")
    if errors:
        print(f"server log (last lines):\n{log_tail}")
    return {
        "bench": "assessment_results",
        "framework": world.framework,
        **world.counts,
        "cycles": CYCLES,
        "latest_status": args.latest_status,
        "requests_per_view": args.requests,
        "target_p95_ms": args.target_ms,
        "first_request": {"status": first_status, **first_figures},
        "views": {v.name: v.figures() for v in measured if not v.missing},
        "slow": slow,
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    figures = asyncio.run(run(parse_args(argv)))
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 1 if figures["errors"] or figures["slow"] else 0


if __name__ == "__main__":
    sys.exit(main())
