"""Benchmark: PDF maturity reports — render times, pages, throughput and memory.

Usage::

    .venv/bin/python bench/report.py --renders 10

Uses its own database (``--database-url``, default ``BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/scalemark_bench_reports``, created when missing)
and Redis (``--redis-url``, default ``BENCH_REDIS_URL`` or ``redis://127.0.0.1:6379/10``,
emptied). It provisions the tenant ``bench-reports`` with 40 units (HQ, 5 regions, 34
countries) and a CLOSED assessment on the built-in framework (helpers of
``_assessment.py``) over all of them: one or two respondents per unit answering every
question and tension field, validations in about one unit in ten.

Then it measures, in this process with one render process (``RenderPool``):

- the board summary of the whole organisation ``--renders`` times (after one unmeasured
  warm-up that also refreshes the stale scores): collect (``content.build_html``), render
  (WeasyPrint in the pool) and both together — target p95 of the total < ``--target-board-s``;
- the full report with the answers appendix ``--full-renders`` times: time and page
  count — target < ``--target-page-s`` per page;
- the peak resident memory of the render process after all those renders;

and with ``--workers`` worker processes (``python -m arq scalemark.worker.WorkerSettings``,
one render process each) the throughput: ``--reports`` distinct board summaries (five
languages × four scopes) submitted at once, reports per minute until all are ready.

Prints a table and, last, a JSON line of the figures. Exits 1 when a report fails or a
target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _assessment import (
    add_framework_option,
    answer_assessment,
    bench_framework,
    insert_assessment,
    insert_validations,
)
from _common import (
    add_common_options,
    bench_parser,
    bench_services,
    bench_tenant,
    create_units,
    finish,
    python_module,
    spawn,
    spread,
    temp_log,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/scalemark_bench_reports"
DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
SLUG = "bench-reports"
UNITS = 40
LOCALES = ("en", "de", "fr", "es", "it")
ZONES = ("Europe/Berlin", "Europe/Rome", "Europe/Madrid", "Europe/Paris", "Europe/London")
"""Time zones of the throughput reports (each a distinct fingerprint)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--renders", type=int, default=10, help="measured board summaries")
    parser.add_argument("--full-renders", type=int, default=3, help="measured full reports")
    parser.add_argument("--reports", type=int, default=20, help="reports in the throughput run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--target-board-s", type=float, default=2.0, help="board p95 target")
    parser.add_argument(
        "--target-page-s", type=float, default=0.15, help="full report: seconds per page"
    )
    add_framework_option(parser)
    add_common_options(
        parser, redis=DEFAULT_REDIS, database=DEFAULT_URL, keep="keep the tenant afterwards"
    )
    args = parser.parse_args(argv)
    if min(args.renders, args.full_renders, args.reports, args.workers) < 1:
        parser.error("--renders, --full-renders, --reports and --workers must be at least 1")
    return args


# --------------------------------------------------------------------------- provisioning


@dataclass
class World:
    """What the bench provisioned."""

    tenant: Any
    assessment_id: int
    units: dict[str, int]
    framework: str
    counts: dict[str, int] = field(default_factory=dict)


async def provision(conn: Any, rng: random.Random, framework_file: Path | None) -> World:
    """The tenant, its 40 units and one closed, answered assessment."""
    from scalemark.db import tenant_transaction

    ref = await bench_tenant(conn, SLUG, "Bench Reports Group")
    chosen = bench_framework(framework_file)
    async with tenant_transaction(ref) as tx:
        units = await create_units(UNITS)
        unit_ids = sorted(units.values())
        assessment_id = await insert_assessment(
            tx, chosen, title="Scalability check 2026", status="closed", unit_ids=unit_ids
        )
        respondents, answers = await answer_assessment(
            tx, chosen, assessment_id, unit_ids, rng, "bench-reports.example"
        )
        validations = await insert_validations(tx, chosen, assessment_id, unit_ids, rng)
    counts = {
        "units": len(unit_ids),
        "respondents": respondents,
        "answers": answers,
        "validations": validations,
        "questions": len(list(chosen.framework.questions())),
    }
    return World(ref, assessment_id, units, chosen.label, counts)


# --------------------------------------------------------------------------- renders


@dataclass
class Renders:
    """Timings of one kind of document, in seconds."""

    collect_s: list[float] = field(default_factory=list)
    render_s: list[float] = field(default_factory=list)
    render_cpu_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    size_bytes: list[int] = field(default_factory=list)
    peak_rss_kib: int = 0
    refused: set[str] = field(default_factory=set)

    def summary(self, values: list[float]) -> dict[str, float]:
        return spread(values, unit="s", digits=3)

    def figures(self) -> dict[str, Any]:
        return {
            "count": len(self.total_s),
            "collect": self.summary(self.collect_s),
            "render": self.summary(self.render_s),
            "render_cpu": self.summary(self.render_cpu_s),
            "total": self.summary(self.total_s),
            "pages": max(self.pages),
            "kib": round(max(self.size_bytes) / 1024, 1),
            "render_s_per_page": round(statistics.median(self.render_s) / max(self.pages), 4),
            "total_s_per_page": round(statistics.median(self.total_s) / max(self.pages), 4),
            "render_cpu_s_per_page": round(
                statistics.median(self.render_cpu_s) / max(self.pages), 4
            ),
        }


async def measure_renders(pool: Any, world: World, audience: str, count: int) -> Renders:
    """``count`` renders (after one unmeasured warm-up) of the whole organisation."""
    from scalemark.db import use_tenant
    from scalemark.reports.content import build_html
    from scalemark.reports.service import ReportRequest

    spec = ReportRequest(0, world.assessment_id, None, "en", "Europe/Berlin", audience)
    found = Renders()
    with use_tenant(world.tenant):
        for round_ in range(count + 1):
            started = time.perf_counter()
            html, resources = await build_html(spec)
            collected = time.perf_counter()
            rendered = await pool.render(html, resources)
            finished = time.perf_counter()
            found.peak_rss_kib = max(found.peak_rss_kib, rendered.peak_rss_kib)
            found.refused.update(rendered.refused)
            if round_ == 0:
                continue  # warm-up: stale scores, caches, first import in the process
            found.collect_s.append(collected - started)
            found.render_s.append(finished - collected)
            found.render_cpu_s.append(rendered.cpu_seconds)
            found.total_s.append(finished - started)
            found.pages.append(rendered.page_count)
            found.size_bytes.append(len(rendered.pdf))
    return found


# --------------------------------------------------------------------------- throughput


def start_workers(count: int) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """``count`` arq workers with one render process each, in their own sessions."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "REPORT_RENDER_PROCESSES": "1"}
    command = python_module("arq", "scalemark.worker.WorkerSettings")
    started = []
    for _ in range(count):
        log_path = temp_log("scalemark-bench-worker-")
        started.append((spawn(command, env, log_path), log_path))
    return started


async def stop_workers(workers: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    """SIGTERM each worker's process group; SIGKILL after 10 s."""
    for process, _ in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process, _ in workers:
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait, 10)


async def wait_ready(world: World, ids: list[int], timeout_s: float) -> dict[str, int]:
    """Poll until every report is ready or failed; statuses counted."""
    from scalemark.db import tenant_transaction

    deadline = time.monotonic() + timeout_s
    while True:
        async with tenant_transaction(world.tenant) as conn:
            rows = await conn.fetch(
                "SELECT status, count(*) AS n FROM report WHERE id = ANY($1::bigint[])"
                " GROUP BY status",
                ids,
            )
        statuses = {r["status"]: r["n"] for r in rows}
        if statuses.get("ready", 0) + statuses.get("failed", 0) == len(ids):
            return statuses
        if time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.1)  # poll interval, bounded by the deadline


async def submit_all(world: World, arq: Any, specs: list[tuple[Any, ...]]) -> list[int]:
    """Submit reports ``(scope unit id, locale, timezone, audience)``; their ids."""
    from scalemark.db import use_tenant
    from scalemark.reports.service import submit_report

    ids = []
    with use_tenant(world.tenant):
        for scope, locale, timezone, audience in specs:
            submitted = await submit_report(
                world.assessment_id, scope, locale, timezone, audience, redis=arq
            )
            if not submitted.enqueued:
                raise SystemExit("the job service did not take the report")
            ids.append(submitted.report.id)
    return ids


async def throughput(world: World, args: argparse.Namespace) -> dict[str, Any]:
    """Reports per minute with ``args.workers`` worker processes."""
    from arq import create_pool
    from arq.connections import RedisSettings

    arq = await create_pool(RedisSettings.from_dsn(args.redis_url))
    workers = start_workers(args.workers)
    try:
        # Warm-up: one report per worker (start-up, imports, first render) not measured.
        regions = [world.units[code] for code in sorted(world.units) if "-" not in code[1:]]
        regions = [unit for unit in regions if unit != world.units["HQ"]]
        warm = [(regions[i % len(regions)], "en", "UTC", "board") for i in range(args.workers)]
        warm_ids = await submit_all(world, arq, warm)
        warm_status = await wait_ready(world, warm_ids, 180)
        if warm_status.get("ready", 0) != len(warm_ids):
            logs = "\n".join(p.read_text(errors="replace")[-2000:] for _, p in workers)
            raise SystemExit(f"warm-up reports did not finish: {warm_status}\n{logs}")
        scopes = [None, *regions[:3]]
        specs = [
            (scopes[(i // len(LOCALES)) % len(scopes)], LOCALES[i % len(LOCALES)], zone, "board")
            for i in range(args.reports)
            for zone in [ZONES[(i // (len(LOCALES) * len(scopes))) % len(ZONES)]]
        ]
        started = time.perf_counter()
        ids = await submit_all(world, arq, specs)
        statuses = await wait_ready(world, ids, 600)
        elapsed = time.perf_counter() - started
    finally:
        await stop_workers(workers)
        await arq.aclose()
    ready = statuses.get("ready", 0)
    return {
        "workers": args.workers,
        "reports": len(ids),
        "ready": ready,
        "failed": statuses.get("failed", 0),
        "seconds": round(elapsed, 2),
        "reports_per_minute": round(ready / elapsed * 60, 1),
    }


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from redis.asyncio import Redis

    from scalemark.reports.render import RenderPool

    redis = Redis.from_url(args.redis_url)
    await redis.flushdb()
    await redis.aclose()
    async with bench_services(args, [SLUG]) as pool:
        started = time.perf_counter()
        async with pool.acquire() as conn:
            world = await provision(conn, random.Random(17), args.framework)
        c = world.counts
        print(
            f"provisioned {SLUG} ({world.framework}): {c['units']} units,"
            f" {c['respondents']} respondents, {c['answers']} answers,"
            f" {c['validations']} validations in {time.perf_counter() - started:.1f} s"
        )
        renderer = RenderPool(processes=1, tasks_per_process=1000)
        try:
            await renderer.warm_up()
            board = await measure_renders(renderer, world, "board", args.renders)
            full = await measure_renders(renderer, world, "full", args.full_renders)
        finally:
            renderer.close()
        rate = await throughput(world, args)
    return report(args, world, board, full, rate)


def report(
    args: argparse.Namespace, world: World, board: Renders, full: Renders, rate: dict[str, Any]
) -> dict[str, Any]:
    """Print the table; the figures for the JSON line."""
    b, f = board.figures(), full.figures()
    peak_mib = max(board.peak_rss_kib, full.peak_rss_kib) / 1024
    print(
        f"\n{'document':<16} {'n':>3} {'pages':>5} {'KiB':>7}   {'collect p50':>11}"
        f" {'render p50':>10} {'CPU p50':>8} {'total p50':>9} {'p95':>7} {'max':>7}"
        f" {'s/page':>7}"
    )
    for name, fig in (("board summary", b), ("full report", f)):
        print(
            f"{name:<16} {fig['count']:>3} {fig['pages']:>5} {fig['kib']:>7.1f}  "
            f" {fig['collect']['p50_s']:>11.3f} {fig['render']['p50_s']:>10.3f}"
            f" {fig['render_cpu']['p50_s']:>8.3f} {fig['total']['p50_s']:>9.3f}"
            f" {fig['total']['p95_s']:>7.3f}"
            f" {fig['total']['max_s']:>7.3f} {fig['total_s_per_page']:>7.3f}"
        )
    print(
        f"throughput: {rate['ready']}/{rate['reports']} board summaries with"
        f" {rate['workers']} workers in {rate['seconds']:.1f} s ="
        f" {rate['reports_per_minute']:.1f} reports/min"
    )
    print(
        f"peak memory of the render process (ru_maxrss): {board.peak_rss_kib / 1024:.0f} MiB"
        f" after the board summaries, {peak_mib:.0f} MiB after the full reports"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if board.refused or full.refused:
        print(f"refused URLs: {sorted(board.refused | full.refused)}")
    missed = []
    if b["total"]["p95_s"] > args.target_board_s:
        missed.append("board p95")
    if f["total_s_per_page"] > args.target_page_s:
        missed.append("full s/page")
    print(
        f"targets: board summary p95 < {args.target_board_s:.1f} s"
        f" ({'met' if 'board p95' not in missed else 'MISSED'}),"
        f" full report < {args.target_page_s:.2f} s per page"
        f" ({'met' if 'full s/page' not in missed else 'MISSED'})"
    )
    errors = [] if rate["failed"] == 0 and rate["ready"] == rate["reports"] else ["throughput"]
    return {
        "bench": "report",
        "framework": world.framework,
        **world.counts,
        "board": b,
        "full": f,
        "throughput": rate,
        "peak_rss_mib": round(peak_mib, 1),
        "peak_rss_mib_board_only": round(board.peak_rss_kib / 1024, 1),
        "load_average": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "targets": {"board_p95_s": args.target_board_s, "full_s_per_page": args.target_page_s},
        "missed": missed,
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    return finish(run, parse_args(argv), "errors", "missed")


# The guard matters: render processes are spawned and re-import this module.
if __name__ == "__main__":
    sys.exit(main())
