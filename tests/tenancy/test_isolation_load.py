"""Tenant isolation under concurrency: 20 tenants, a tiny pool, 2,000 interleaved requests.

Every tenant gets its own unit tree whose names carry its slug (``iso-07 Region 1``) and
whose codes carry its index (``C07-R1``). Unit ids come from per-schema sequences, so the
same id exists in every tenant: ``/units/2/children`` must show the children of unit 2 *of
the tenant named in the Host header*. A server with ``DB_POOL_MAX=3`` serves the requests
50 at a time in random tenant order over shared keep-alive connections; any response that
is not 200, lacks its own tenant's markers or shows another tenant's is counted.

Tenant pages need a member: each tenant has one, signed in once through the login form;
requests carry that tenant's session cookie. A few extra requests present one tenant's
session at another tenant's host: they must be refused (403) without showing either
tenant's data.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from scalemark.db import TenantRef, tenant_transaction
from scalemark.org import service
from scalemark.org.rules import UnitData
from scalemark.tenancy.provisioning import create_tenant, drop_tenant
from scalemark.tenancy.resolver import forget_tenant
from scalemark.tenancy.slugs import role_for, schema_for
from support.accounts import SESSION_COOKIE, Credentials, ensure_member, http_sign_in
from support.server import LiveServer, LiveServerFactory

TENANTS = 20
REQUESTS = 2_000
FOREIGN_SESSION_REQUESTS = 100
PASSWORD = "isolation-password-0123"
CONCURRENCY = 50
POOL_MAX = 3
SEED = 20_251_128

MARKER = re.compile(r"\biso-(\d{2})\b|\bC(\d{2})-R")
"""Any tenant's slug or unit-code prefix; the digits are the tenant's index."""


@dataclass
class TenantTree:
    """What one tenant's pages must (and only may) show."""

    index: int
    slug: str
    name: str
    codes: dict[int, str] = field(default_factory=dict)
    """Unit id → code."""
    names: dict[int, str] = field(default_factory=dict)
    """Unit id → name."""
    children: dict[int, list[str]] = field(default_factory=dict)
    """Unit id → codes of its children, in display order."""
    member: Credentials | None = None
    """A member of this tenant."""
    session: str = ""
    """The member's session id once signed in."""


def tree_spec(index: int) -> list[tuple[UnitData, str | None]]:
    """HQ, 2–3 regions and 1–3 countries per region; names and codes mark the tenant."""
    slug, prefix = f"iso-{index:02d}", f"C{index:02d}"
    units: list[tuple[UnitData, str | None]] = [
        (UnitData(code="HQ", name=f"{slug} Headquarters", kind="hq"), None)
    ]
    for r in range(1, 3 + index % 2):
        region = f"{prefix}-R{r}"
        units.append((UnitData(code=region, name=f"{slug} Region {r}", kind="region"), "HQ"))
        for k in range(1, 2 + (index + r) % 3):
            units.append(
                (
                    UnitData(code=f"{region}K{k}", name=f"{slug} Country {r}.{k}", kind="country"),
                    region,
                )
            )
    return units


async def provision(conn: asyncpg.Connection, index: int) -> TenantTree:
    """Create tenant ``iso-NN`` and its unit tree."""
    slug = f"iso-{index:02d}"
    tree = TenantTree(index=index, slug=slug, name=f"Isolation Org {slug}")
    await drop_tenant(conn, slug)  # leftovers of an interrupted run
    await create_tenant(conn, slug, tree.name)
    forget_tenant(slug)
    ref = TenantRef(slug=slug, schema=schema_for(slug), role=role_for(slug), name=tree.name)
    async with tenant_transaction(ref):
        for data, parent in tree_spec(index):
            node = await service.create_unit(data, parent)
            tree.codes[node.id] = node.code
            tree.names[node.id] = node.name
        for node in await service.whole_tree():
            kids = await service.children_of(node.id)
            if kids:
                tree.children[node.id] = [k.code for k in kids]
    # The e-mail shows in the page header; it must not carry the tenant's markers.
    email = f"member{index:02d}@isolation.example"
    tree.member = await ensure_member(slug, email, PASSWORD, role="stakeholder")
    return tree


@pytest.fixture(scope="module")
async def iso_tenants(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[list[TenantTree]]:
    """Twenty tenants ``iso-00`` … ``iso-19``; dropped again afterwards."""
    trees: list[TenantTree] = []
    try:
        async with db_pool.acquire() as conn:
            for index in range(TENANTS):
                trees.append(await provision(conn, index))
        yield trees
    finally:
        async with db_pool.acquire() as conn:
            for index in range(TENANTS):
                await drop_tenant(conn, f"iso-{index:02d}")
                forget_tenant(f"iso-{index:02d}")


@pytest.fixture(scope="module")
async def small_pool_server(
    db_pool: asyncpg.Pool, iso_tenants: list[TenantTree]
) -> AsyncIterator[LiveServer]:
    """A server with at most three database connections (started after provisioning)."""
    factory = LiveServerFactory()
    try:
        server = await factory({"DB_POOL_MAX": str(POOL_MAX), "DB_POOL_MIN": "1"}, access_log=False)
        for tree in iso_tenants:
            assert tree.member is not None
            tree.session = await http_sign_in(server, tree.slug, tree.member)
        yield server
    finally:
        await factory.stop_all()


@dataclass(frozen=True)
class Job:
    tree: TenantTree
    """The tenant whose host the request goes to."""
    path: str
    partial: bool
    expected: tuple[str, ...]
    """Texts the response must contain (the tenant's own markers)."""
    session_of: TenantTree | None = None
    """Whose session the request carries (``None``: the host tenant's own)."""
    status: int = 200


def plan_jobs(trees: list[TenantTree], count: int, rng: random.Random) -> list[Job]:
    """``count`` requests: random tenant, random page kind, random unit."""
    jobs: list[Job] = []
    for _ in range(count):
        tree = rng.choice(trees)
        kind = rng.choice(("home", "units", "children", "children", "children-page"))
        if kind == "home":
            root = next(uid for uid, code in tree.codes.items() if code == "HQ")
            jobs.append(Job(tree, "/", False, (tree.name, tree.names[root], *tree.children[root])))
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


def plan_foreign_session_jobs(trees: list[TenantTree], count: int, rng: random.Random) -> list[Job]:
    """Requests to one tenant's host with another tenant's member session: 403, no data."""
    jobs = []
    for _ in range(count):
        host, owner = rng.sample(trees, 2)
        path = rng.choice(["/", "/units", f"/units/{rng.choice(sorted(host.children))}/children"])
        jobs.append(Job(host, path, False, (), session_of=owner, status=403))
    return jobs


@dataclass
class LoadReport:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    retries: int = 0

    @property
    def succeeded(self) -> int:
        """Responses with the expected status and content."""
        total = sum(self.statuses.values())
        return total - len(self.errors) - len(self.missing) - len(self.leaks)

    def summary(self) -> str:
        ordered = sorted(self.latencies_ms) or [0.0]
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        return (
            f"{sum(self.statuses.values())} responses in {self.seconds:.2f} s"
            f" ({sum(self.statuses.values()) / max(self.seconds, 1e-9):.0f}/s),"
            f" statuses {dict(self.statuses)}, p50 {statistics.median(ordered):.1f} ms,"
            f" p95 {p95:.1f} ms, {len(self.errors)} errors, {len(self.leaks)} leaks,"
            f" {len(self.missing)} missing markers, {self.retries} retried"
        )


def check(job: Job, body: str, report: LoadReport) -> None:
    """Own markers present, nobody else's (refusals show no tenant's data at all)."""
    seen = {int(a or b) for a, b in MARKER.findall(body)}
    foreign = sorted(seen - ({job.tree.index} if job.status == 200 else set()))
    if foreign:
        report.leaks.append(f"{job.tree.slug} {job.path}: shows tenants {foreign}")
    absent = [text for text in job.expected if text not in body]
    if absent:
        report.missing.append(f"{job.tree.slug} {job.path}: lacks {absent[:3]}")


async def get_with_one_retry(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], report: LoadReport
) -> httpx.Response:
    """GET; a keep-alive connection the server closed just then is retried once (counted)."""
    try:
        return await client.get(path, headers=headers)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        report.retries += 1
        return await client.get(path, headers=headers)


async def run_load(server: LiveServer, jobs: list[Job], concurrency: int) -> LoadReport:
    """Send ``jobs`` with ``concurrency`` in flight over one shared connection pool."""
    report = LoadReport()
    queue = iter(jobs)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with server.client(limits=limits) as client:

        async def worker() -> None:
            for job in queue:  # a shared iterator: each job is taken once
                session = (job.session_of or job.tree).session
                headers = {
                    "host": server.host(job.tree.slug),
                    "cookie": f"{SESSION_COOKIE}={session}",
                }
                if job.partial:
                    headers["hx-request"] = "true"
                started = time.perf_counter()
                try:
                    response = await get_with_one_retry(client, job.path, headers, report)
                except httpx.HTTPError as exc:
                    report.errors.append(f"{job.tree.slug} {job.path}: {type(exc).__name__}")
                    continue
                report.latencies_ms.append((time.perf_counter() - started) * 1000)
                report.statuses[response.status_code] += 1
                if response.status_code != job.status:
                    report.errors.append(
                        f"{job.tree.slug} {job.path}"
                        f"{f' with the session of {job.session_of.slug}' if job.session_of else ''}"
                        f": {response.status_code}, expected {job.status}"
                    )
                    continue
                check(job, response.text, report)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        report.seconds = time.perf_counter() - started
    return report


async def server_backends(pool: asyncpg.Pool, server: LiveServer) -> int:
    """Database connections the server process holds (its sockets' ports in pg_stat_activity)."""
    ports = sorted(server.tcp_ports())
    async with pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND client_port = ANY($1::int[])",
            ports,
        )
    return count


async def test_no_cross_tenant_leaks_under_concurrent_load(
    db_pool: asyncpg.Pool, iso_tenants: list[TenantTree], small_pool_server: LiveServer
) -> None:
    server = small_pool_server

    rng = random.Random(SEED)
    jobs = plan_jobs(iso_tenants, REQUESTS, rng)
    jobs += plan_foreign_session_jobs(iso_tenants, FOREIGN_SESSION_REQUESTS, rng)
    rng.shuffle(jobs)
    assert len({j.tree.slug for j in jobs}) == TENANTS
    assert len({j.path for j in jobs if j.path.endswith("/children")}) > 1

    peak = 0
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, await server_backends(db_pool, server))
            await asyncio.sleep(0.02)  # sampling interval while the load runs

    sampler = asyncio.create_task(sample())
    try:
        report = await run_load(server, jobs, CONCURRENCY)
    finally:
        done.set()
        await sampler

    detail = report.summary()
    assert not report.leaks, f"{detail}\n" + "\n".join(report.leaks[:20])
    assert not report.errors, (
        f"{detail}\n" + "\n".join(report.errors[:20]) + f"\n{server.log_tail(40)}"
    )
    assert not report.missing, f"{detail}\n" + "\n".join(report.missing[:20])
    assert report.statuses[200] == REQUESTS, detail
    assert report.statuses[403] == FOREIGN_SESSION_REQUESTS, detail
    assert report.succeeded == len(jobs), detail
    assert 0 < peak <= POOL_MAX, f"server used {peak} database connections"
    print(detail, f"peak server connections {peak}")


def test_leak_check_sees_foreign_markers() -> None:
    """The detector itself: another tenant's slug or code counts as a leak."""
    own = TenantTree(index=3, slug="iso-03", name="Isolation Org iso-03")
    job = Job(own, "/units", False, ("C03-R1",))
    clean, leaky, wrong = LoadReport(), LoadReport(), LoadReport()
    check(job, '<li data-testid="unit-C03-R1">iso-03 Region 1</li>', clean)
    check(job, '<li data-testid="unit-C03-R1">iso-03</li><li>C11-R2K1</li>', leaky)
    check(job, "<p>iso-14 Headquarters</p>", wrong)
    assert not clean.leaks and not clean.missing
    assert leaky.leaks == ["iso-03 /units: shows tenants [11]"] and not leaky.missing
    assert wrong.leaks and wrong.missing
