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
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _assessment import (
    add_framework_option,
    answer_assessment,
    bench_framework,
    insert_assessment,
    insert_validations,
)
from _common import (
    Connection,
    PageTimes,
    Timings,
    add_common_options,
    add_request_options,
    bench_parser,
    bench_services,
    bench_tenant,
    check_request_options,
    create_units,
    finish,
    serving_signed_in,
    time_page,
    timed,
)

DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
SLUG = "bench-res"
EMAIL = "hq.admin@bench-results.example"
PASSWORD = "bench-password-0123"
UNITS = 500
CYCLES = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    add_request_options(parser, "view")
    parser.add_argument(
        "--target-ms", type=float, default=100.0, help="server-side p95 target per results view"
    )
    parser.add_argument(
        "--latest-status",
        choices=("closed", "in_review"),
        default="closed",
        help="status of the latest cycle (the earlier ones are closed)",
    )
    add_framework_option(parser)
    add_common_options(parser, redis=DEFAULT_REDIS, keep="keep the tenant afterwards", app=True)
    args = parser.parse_args(argv)
    check_request_options(parser, args)
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
            respondents, answers = await answer_assessment(
                tx, chosen, previous, unit_ids, rng, "bench-results.example"
            )
            counts["respondents"] += respondents
            counts["answers"] += answers
            counts["validations"] += await insert_validations(tx, chosen, previous, unit_ids, rng)
        assert previous is not None
        counts["units"] = len(unit_ids)
    await ensure_member(
        EMAIL, tenant_slug=SLUG, role="hq_admin", unit_code=None, password=PASSWORD, name="Admin"
    )
    return World(previous, units, chosen.label, counts)


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
    times: PageTimes = field(default_factory=PageTimes)

    @property
    def missing(self) -> bool:
        """An optional page that does not exist (yet)."""
        return self.optional and self.times.status == 404

    def figures(self) -> dict[str, object]:
        """Path, status, size, server CPU and the client and server timings."""
        return {
            "path": self.path,
            "status": self.times.status,
            "bytes": self.times.size,
            "server_cpu_ms": self.times.cpu_ms,
            **self.times.timings.figures(),
        }


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
    measured: list[View] = []
    first = Timings()
    first_status = 0
    async with bench_services(args, [SLUG]) as pool:
        started = time.perf_counter()
        async with pool.acquire() as conn:
            world = await provision(conn, random.Random(11), args.framework, args.latest_status)
        c = world.counts
        print(
            f"provisioned {SLUG} ({world.framework}): {c['units']} units, {CYCLES} cycles,"
            f" {c['respondents']} respondents, {c['answers']} answers,"
            f" {c['validations']} validations in {time.perf_counter() - started:.1f} s"
        )
        async with serving_signed_in(args.app, SLUG, EMAIL, PASSWORD) as (server, headers):
            connection = Connection(server.port)
            try:
                pages = views(world)
                elapsed, reply = await timed(connection, pages[0].path, headers)
                first.add(elapsed, reply)
                first_status = reply.status
                for view in pages:
                    view.times = await time_page(
                        server,
                        connection,
                        view.path,
                        headers,
                        requests=args.requests,
                        warmup=args.warmup,
                    )
                    measured.append(view)
            finally:
                await connection.close()
            log_tail = server.log_tail(20)
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
    errors = [v.name for v in measured if v.times.status != 200 and not v.missing]
    if first_status != 200:
        errors.insert(0, "first request")
    slow = [
        v.name
        for v in measured
        if v.results
        and v.times.timings.server_ms
        and v.times.timings.figures()["server"]["p95_ms"] > args.target_ms
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
        times = view.times
        f = times.timings.figures()
        cpu = "—" if times.cpu_ms is None else f"{times.cpu_ms:.1f}"
        note = "  (not there yet)" if view.missing else ""
        print(
            f"{view.name:<22} {times.status:>6} {times.size / 1024:>7.1f}  "
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
    return finish(run, parse_args(argv), "errors", "slow")


if __name__ == "__main__":
    sys.exit(main())
