"""Helpers shared by the benchmark scripts (run as ``python bench/<name>.py``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
"""The repository root: servers start there."""

__all__ = [
    "DEFAULT_APP",
    "DEFAULT_DATABASE_URL",
    "ROOT",
    "SESSION_COOKIE",
    "Connection",
    "PageTimes",
    "Reply",
    "Server",
    "Timings",
    "add_common_options",
    "add_request_options",
    "bench_database",
    "bench_parser",
    "bench_services",
    "bench_tenant",
    "check_request_options",
    "cookie_header",
    "create_units",
    "csrf_token",
    "ensure_database",
    "finish",
    "free_port",
    "local_client",
    "migrated_database",
    "percentile",
    "process_cpu_s",
    "python_module",
    "serving",
    "serving_signed_in",
    "sign_in",
    "signed_in",
    "spawn",
    "spread",
    "start_server",
    "stop_server",
    "temp_log",
    "time_page",
    "timed",
    "unit_plan",
]

SESSION_COOKIE = "sm_session"
"""The session cookie the login form sets."""
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/scalemark_bench"
"""The bench database unless ``--database-url`` or ``BENCH_DATABASE_URL`` names another."""
DEFAULT_APP = "scalemark.app:create_app"
"""The ASGI app factory a bench server runs unless ``--app`` names another."""


# --------------------------------------------------------------------------- command line


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of a bench's module docstring."""
    return argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])


def add_common_options(
    parser: argparse.ArgumentParser,
    *,
    redis: str | None = None,
    database: str = DEFAULT_DATABASE_URL,
    keep: str | None = None,
    app: bool = False,
) -> None:
    """The options every bench takes alike, in this order: ``--keep`` (with the help text
    ``keep``), ``--app`` (when ``app``), ``--database-url`` (default ``BENCH_DATABASE_URL``,
    else ``database``) and ``--redis-url`` (default ``BENCH_REDIS_URL``, else ``redis``;
    only when ``redis`` is given)."""
    if keep is not None:
        parser.add_argument("--keep", action="store_true", help=keep)
    if app:
        parser.add_argument("--app", default=DEFAULT_APP, help="ASGI app factory the server runs")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", database),
        help="bench database (created when missing)",
    )
    if redis is not None:
        parser.add_argument(
            "--redis-url", default=os.environ.get("BENCH_REDIS_URL", redis), help="Redis"
        )


def add_request_options(parser: argparse.ArgumentParser, per: str) -> None:
    """``--requests`` (measured, 50) and ``--warmup`` (unmeasured, 5) per ``per`` (a noun)."""
    parser.add_argument("--requests", type=int, default=50, help=f"measured requests per {per}")
    parser.add_argument("--warmup", type=int, default=5, help=f"unmeasured requests per {per}")


def check_request_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a usage error unless ``--requests`` is positive and ``--warmup`` is not
    negative."""
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be at least 1 and --warmup not negative")


def finish(
    run: Callable[[argparse.Namespace], Awaitable[dict[str, Any]]],
    args: argparse.Namespace,
    *failures: str,
) -> int:
    """Run the bench; print its figures as the last line (compact JSON).

    The exit status: 1 when any of the figures named ``failures`` is true, else 0.
    """
    figures = asyncio.run(run(args))
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 1 if any(figures[name] for name in failures) else 0


async def ensure_database(url: str) -> None:
    """Create the database named in ``url`` unless it exists (via the ``postgres`` db)."""
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit(f"no database name in {url!r}")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute('CREATE DATABASE "' + name.replace('"', '""') + '"')
    finally:
        await admin.close()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def spread(
    values: list[float], *, unit: str = "ms", digits: int = 2, also: Sequence[int] = ()
) -> dict[str, float]:
    """Median, p95, the percentiles ``also`` and the maximum of ``values`` (not empty),
    rounded to ``digits``; keys such as ``p50_ms``, ``p95_ms``, ``p99_ms``, ``max_ms``."""
    return {
        f"p50_{unit}": round(statistics.median(values), digits),
        f"p95_{unit}": round(percentile(values, 95), digits),
        **{f"p{pct}_{unit}": round(percentile(values, pct), digits) for pct in also},
        f"max_{unit}": round(max(values), digits),
    }


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a process used so far; None where /proc is missing.

    Unlike latencies, this hardly changes when other programs compete for the CPUs.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python_module(module: str, *args: str) -> list[str]:
    """The command running ``python -m module args`` with the project's virtualenv (else
    this interpreter)."""
    venv = ROOT / ".venv" / "bin" / "python"
    return [str(venv if venv.exists() else sys.executable), "-m", module, *args]


def temp_log(prefix: str) -> Path:
    """A new, empty log file in the temporary directory."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".log")
    os.close(fd)
    return Path(name)


def spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own session, output to ``log_path``."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass
class Server:
    """A web server process started by a bench."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


async def stop_server(server: Server) -> None:
    """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(server.process.wait, 10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            await asyncio.to_thread(server.process.wait, 10)


async def start_server(
    extra_env: dict[str, str] | None = None,
    *,
    app: str = DEFAULT_APP,
    timeout_s: float = 30.0,
) -> Server:
    """Start uvicorn on a free port and wait (bounded) until ``/healthz`` answers 200."""
    import httpx

    port = free_port()
    env = {**os.environ, **(extra_env or {}), "PYTHONUNBUFFERED": "1"}
    log_path = temp_log(f"scalemark-bench-{port}-")
    command = python_module(
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    )
    process = spawn(command, env, log_path)
    server = Server(port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout_s
    async with local_client(port, "localhost", timeout_s=5) as client:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited ({process.returncode}):\n{server.log_tail()}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                await stop_server(server)
                raise SystemExit(
                    f"server not healthy after {timeout_s:.0f} s:\n{server.log_tail()}"
                )
            await asyncio.sleep(0.1)  # poll interval, bounded by the deadline


@contextlib.asynccontextmanager
async def serving(
    extra_env: dict[str, str] | None = None, *, app: str = DEFAULT_APP
) -> AsyncIterator[Server]:
    """:func:`start_server` for the block; stopped when it ends."""
    server = await start_server(extra_env, app=app)
    try:
        yield server
    finally:
        await stop_server(server)


# --------------------------------------------------------------------------- database


@contextlib.asynccontextmanager
async def migrated_database(
    database_url: str, *, size: int = 2, announce: bool = False
) -> AsyncIterator[Any]:
    """The database ``database_url`` (created when missing), migrated: a runner pool
    (asyncpg) of ``size`` connections on it, closed when the block ends.

    ``announce`` prints the shared migrations applied.
    """
    # Settings are read once, from the environment, by the first scalemark import.
    os.environ["DATABASE_URL"] = database_url
    await ensure_database(database_url)

    from scalemark.db.migrations import connect, migrate_all
    from scalemark.settings import get_settings

    get_settings.cache_clear()
    pool = await connect(database_url, size=size)
    try:
        report = await migrate_all(pool)
        if report.failures:
            raise SystemExit(f"migrations failed: {report.failures}")
        if announce:
            print(f"shared migrations applied: {report.shared_applied}")
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def bench_database(
    database_url: str, redis_url: str, *, announce: bool = False
) -> AsyncIterator[Any]:
    """Point the settings at the bench services, migrate, start the app's pool.

    Yields a runner pool (asyncpg) on the migrated database; the ORM pool of this
    process (``tenant_transaction``) runs until the block ends.
    """
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    os.environ["BASE_DOMAIN"] = "localhost"

    from scalemark.db import close_pool, start_pool

    async with migrated_database(database_url, announce=announce) as pool:
        await start_pool()
        try:
            yield pool
        finally:
            await close_pool()


@contextlib.asynccontextmanager
async def bench_services(
    args: argparse.Namespace, slugs: Sequence[str], *, announce: bool = False
) -> AsyncIterator[Any]:
    """:func:`bench_database` of ``--database-url`` and ``--redis-url``; the bench's tenants
    ``slugs`` are dropped when the block ends, unless ``--keep``."""
    from scalemark.tenancy.provisioning import drop_tenant

    async with bench_database(args.database_url, args.redis_url, announce=announce) as pool:
        try:
            yield pool
        finally:
            if not args.keep:
                async with pool.acquire() as conn:
                    for slug in slugs:
                        await drop_tenant(conn, slug)


async def bench_tenant(conn: Any, slug: str, name: str) -> Any:
    """A fresh tenant ``slug`` (leftovers of an earlier run dropped); its ``TenantRef``."""
    from scalemark.db import TenantRef
    from scalemark.tenancy.provisioning import create_tenant, drop_tenant
    from scalemark.tenancy.resolver import forget_tenant
    from scalemark.tenancy.slugs import role_for, schema_for

    await drop_tenant(conn, slug)
    await create_tenant(conn, slug, name, default_locale="en")
    forget_tenant(slug)
    return TenantRef(slug=slug, schema=schema_for(slug), role=role_for(slug), name=name)


def unit_plan(total: int = 500) -> list[tuple[str, str, str, str | None]]:
    """(code, name, kind, parent) in creation order: 1 HQ, 5 regions, 50 countries, the
    rest business units and teams below the countries (500: 444 of them).

    Fewer than 56 units: the first ``total`` of HQ, regions and countries, parents first.
    """
    rows: list[tuple[str, str, str, str | None]] = [("HQ", "Bench Group HQ", "hq", None)]
    countries: list[str] = []
    for r in range(1, 6):
        region = f"R{r}"
        rows.append((region, f"Region {r}", "region", "HQ"))
        for c in range(1, 11):
            country = f"{region}-C{c:02d}"
            rows.append((country, f"Country {r}.{c}", "country", region))
            countries.append(country)
    for i in range(max(0, total - len(rows))):
        country = countries[i % len(countries)]
        kind = "business_unit" if i % 3 else "team"
        label = "Business unit" if kind == "business_unit" else "Team"
        rows.append((f"{country}-U{i:03d}", f"{label} {i}", kind, country))
    return rows[:total]


async def create_units(total: int) -> dict[str, int]:
    """``unit_plan(total)`` through the org service (paths and depths as in production).

    Inside a tenant transaction; returns unit id by code.
    """
    from scalemark.db import tenant_transaction
    from scalemark.org import service
    from scalemark.org.rules import UnitData

    async with tenant_transaction() as tx:
        for code, name, kind, parent in unit_plan(total):
            await service.create_unit(UnitData(code=code, name=name, kind=kind), parent)
        rows = await tx.fetch("SELECT id, code FROM unit")
    return {r["code"]: r["id"] for r in rows}


# --------------------------------------------------------------------------- HTTP

_CSRF_FIELD = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


def csrf_token(html: str) -> str | None:
    """The ``_csrf_token`` of the first form in ``html``."""
    match = _CSRF_FIELD.search(html)
    return match[1] if match else None


def local_client(port: int, host: str, *, timeout_s: float) -> Any:
    """An ``httpx.AsyncClient`` for the server on ``port`` that names ``host`` (no port) as
    the ``Host`` header; proxies from the environment are not used."""
    import httpx

    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"host": f"{host}:{port}"},
        trust_env=False,
        timeout=timeout_s,
    )


@contextlib.asynccontextmanager
async def signed_in(port: int, slug: str, email: str, password: str) -> AsyncIterator[Any]:
    """An ``httpx.AsyncClient`` on the tenant's host, signed in through the login form.

    Its cookie jar holds the session and the CSRF cookie.
    """
    async with local_client(port, f"{slug}.localhost", timeout_s=30) as client:
        form = await client.get("/login")
        token = csrf_token(form.text)
        if form.status_code != 200 or token is None:
            raise SystemExit(f"no login form ({form.status_code})")
        response = await client.post(
            "/login",
            data={"email": email, "password": password, "next": "/", "_csrf_token": token},
        )
        if response.status_code not in (302, 303) or not client.cookies.get(SESSION_COOKIE):
            raise SystemExit(f"sign-in of {email} failed ({response.status_code})")
        yield client


async def sign_in(port: int, slug: str, email: str, password: str) -> str:
    """Sign in through the tenant's login form; the session id."""
    async with signed_in(port, slug, email, password) as client:
        return str(client.cookies.get(SESSION_COOKIE))


@contextlib.asynccontextmanager
async def serving_signed_in(
    app: str, slug: str, email: str, password: str
) -> AsyncIterator[tuple[Server, dict[str, str]]]:
    """:func:`serving` ``app``, with the request headers (``Host`` and session ``Cookie``)
    of ``email`` signed in on the tenant ``slug``."""
    async with serving(app=app) as server:
        session = await sign_in(server.port, slug, email, password)
        yield (
            server,
            {
                "Host": f"{slug}.localhost:{server.port}",
                "Cookie": f"{SESSION_COOKIE}={session}",
            },
        )


def cookie_header(client: Any) -> str:
    """The ``Cookie`` header value of every cookie in an httpx client's jar."""
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)


@dataclass(frozen=True)
class Reply:
    """A response: status, header fields (lower-case names; repeated ones joined by ", ")
    and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def server_ms(self) -> float | None:
        """The ``app`` duration of the ``Server-Timing`` header, in milliseconds."""
        for metric in self.headers.get("server-timing", "").split(","):
            name, _, params = metric.strip().partition(";")
            if name == "app":
                for param in params.split(";"):
                    key, _, value = param.strip().partition("=")
                    if key == "dur":
                        return float(value)
        return None


class Connection:
    """A minimal HTTP/1.1 keep-alive client on one socket.

    The client adds next to nothing to the time: httpx needs more CPU per request than
    the server under concurrent load (it, not the server, became the bottleneck).
    ``reopen``: a kept-alive connection the server closed meanwhile is reopened once and
    the request sent again (counted in ``reconnects``); only for requests safe to repeat.
    """

    def __init__(self, port: int, *, reopen: bool = False) -> None:
        self.port = port
        self.reopen = reopen
        self.reconnects = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """GET ``path``: status and body."""
        reply = await self.request("GET", path, headers)
        return reply.status, reply.body

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> Reply:
        """One request over the kept-alive connection (opened when needed)."""
        for attempt in (1, 2):
            reused = self.writer is not None
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                return await self._exchange(method, path, headers, body)
            except (asyncio.IncompleteReadError, ConnectionError):
                await self.close()
                if not (self.reopen and reused) or attempt == 2:
                    raise
                self.reconnects += 1
        raise AssertionError("unreachable")

    async def _exchange(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Reply:
        assert self.reader is not None and self.writer is not None
        fields = dict(headers)
        if body or method not in ("GET", "HEAD"):
            fields["Content-Length"] = str(len(body))
        lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in fields.items()), "", ""]
        self.writer.write("\r\n".join(lines).encode("latin-1") + body)
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        received: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name:
                key = name.strip().lower()
                received[key] = ", ".join(filter(None, (received.get(key), value.strip())))
        if "content-length" in received:
            content = await self.reader.readexactly(int(received["content-length"]))
        elif received.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:  # the last chunk, then trailer lines up to an empty one
                    while await self.reader.readuntil(b"\r\n") != b"\r\n":
                        pass
                    break
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            content = b"".join(parts)
        else:
            content = await self.reader.read()
            await self.close()
        if received.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status, received, content)


# --------------------------------------------------------------------------- figures


@dataclass
class Timings:
    """Latencies in milliseconds: as the client saw them and as the server reported them."""

    client_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)

    def add(self, client_ms: float, reply: Reply) -> None:
        """Record one response."""
        self.client_ms.append(client_ms)
        server = reply.server_ms()
        if server is not None:
            self.server_ms.append(server)

    @staticmethod
    def summary(values: list[float]) -> dict[str, float | int]:
        """p50/p95/max (ms, rounded) and the count of ``values``."""
        if not values:
            return {"count": 0}
        return {"count": len(values), **spread(values)}

    @staticmethod
    def columns(summary: dict[str, float | int]) -> str:
        """`` p50 p95 max`` of a :meth:`summary` for a table (dashes when it is empty)."""
        if not summary.get("count"):
            return f" {'—':>8} {'—':>7} {'—':>7}"
        return f" {summary['p50_ms']:>8.1f} {summary['p95_ms']:>7.1f} {summary['max_ms']:>7.1f}"

    def figures(self) -> dict[str, dict[str, float | int]]:
        """Summaries of both sides."""
        return {"client": self.summary(self.client_ms), "server": self.summary(self.server_ms)}


async def timed(connection: Connection, path: str, headers: dict[str, str]) -> tuple[float, Reply]:
    """One GET: client-observed milliseconds and the reply."""
    started = time.perf_counter()
    reply = await connection.request("GET", path, headers)
    return (time.perf_counter() - started) * 1000, reply


@dataclass
class PageTimes:
    """What :func:`time_page` measured of one page."""

    status: int = 0
    """The first reply's status; the first failing one's when a measured request failed."""
    size: int = 0
    """Bytes of the first reply's body."""
    timings: Timings = field(default_factory=Timings)
    cpu_ms: float | None = None
    """Server CPU per measured request (user + system of its process)."""


async def time_page(
    server: Server,
    connection: Connection,
    path: str,
    headers: dict[str, str],
    *,
    requests: int,
    warmup: int,
) -> PageTimes:
    """GET ``path`` once; when that answers 200, ``warmup`` unmeasured requests and then
    ``requests`` timed ones, one after the other (stopping at the first error)."""
    _, reply = await timed(connection, path, headers)
    found = PageTimes(reply.status, len(reply.body))
    if reply.status != 200:
        return found
    for _ in range(warmup):
        await timed(connection, path, headers)
    cpu_before = process_cpu_s(server.process.pid)
    for _ in range(requests):
        elapsed, reply = await timed(connection, path, headers)
        if reply.status != 200:
            found.status = reply.status
            return found
        found.timings.add(elapsed, reply)
    cpu_after = process_cpu_s(server.process.pid)
    if cpu_before is not None and cpu_after is not None:
        found.cpu_ms = round((cpu_after - cpu_before) * 1000 / requests, 1)
    return found
