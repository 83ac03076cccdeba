"""Helpers shared by the benchmark scripts (run as ``python bench/<name>.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import socket
import statistics
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
"""The repository root: servers start there."""

__all__ = [
    "ROOT",
    "SESSION_COOKIE",
    "Connection",
    "Reply",
    "Server",
    "Timings",
    "bench_database",
    "bench_tenant",
    "cookie_header",
    "csrf_token",
    "ensure_database",
    "free_port",
    "percentile",
    "process_cpu_s",
    "sign_in",
    "signed_in",
    "spawn",
    "start_server",
    "stop_server",
    "unit_plan",
]

SESSION_COOKIE = "sm_session"
"""The session cookie the login form sets."""


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


def spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start the server in its own session, output to ``log_path``."""
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
    app: str = "scalemark.app:create_app",
    timeout_s: float = 30.0,
) -> Server:
    """Start uvicorn on a free port and wait (bounded) until ``/healthz`` answers 200."""
    import os
    import sys
    import tempfile
    import time

    import httpx

    port = free_port()
    env = {**os.environ, **(extra_env or {}), "PYTHONUNBUFFERED": "1"}
    fd, name = tempfile.mkstemp(prefix=f"scalemark-bench-{port}-", suffix=".log")
    os.close(fd)
    venv = ROOT / ".venv" / "bin" / "python"
    command = [
        str(venv if venv.exists() else sys.executable),
        "-m",
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
    ]
    process = spawn(command, env, Path(name))
    server = Server(port=port, process=process, log_path=Path(name))
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"host": f"localhost:{port}"},
        trust_env=False,
        timeout=5,
    ) as client:
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


# --------------------------------------------------------------------------- database


@contextlib.asynccontextmanager
async def bench_database(database_url: str, redis_url: str) -> AsyncIterator[Any]:
    """Point the settings at the bench services, migrate, start the app's pool.

    Yields a runner pool (asyncpg) on the migrated database; the ORM pool of this
    process (``tenant_transaction``) runs until the block ends.
    """
    # Settings are read once, from the environment, by the first scalemark import.
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    os.environ["BASE_DOMAIN"] = "localhost"
    await ensure_database(database_url)

    from scalemark.db import close_pool, start_pool
    from scalemark.db.migrations import connect, migrate_all
    from scalemark.settings import get_settings

    get_settings.cache_clear()
    pool = await connect(database_url, size=2)
    try:
        await start_pool()
        try:
            report = await migrate_all(pool)
            if report.failures:
                raise SystemExit(f"migrations failed: {report.failures}")
            yield pool
        finally:
            await close_pool()
    finally:
        await pool.close()


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


# --------------------------------------------------------------------------- HTTP

_CSRF_FIELD = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


def csrf_token(html: str) -> str | None:
    """The ``_csrf_token`` of the first form in ``html``."""
    match = _CSRF_FIELD.search(html)
    return match[1] if match else None


@contextlib.asynccontextmanager
async def signed_in(port: int, slug: str, email: str, password: str) -> AsyncIterator[Any]:
    """An ``httpx.AsyncClient`` on the tenant's host, signed in through the login form.

    Its cookie jar holds the session and the CSRF cookie.
    """
    import httpx

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"host": f"{slug}.localhost:{port}"},
        trust_env=False,
        timeout=30,
    ) as client:
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
        """GET ``path``: status and body."""
        reply = await self.request("GET", path, headers)
        return reply.status, reply.body

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> Reply:
        """One request over the kept-alive connection (opened when needed)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
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
                if size == 0:
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
        return {
            "count": len(values),
            "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 95), 2),
            "max_ms": round(max(values), 2),
        }

    @staticmethod
    def columns(summary: dict[str, float | int]) -> str:
        """`` p50 p95 max`` of a :meth:`summary` for a table (dashes when it is empty)."""
        if not summary.get("count"):
            return f" {'—':>8} {'—':>7} {'—':>7}"
        return f" {summary['p50_ms']:>8.1f} {summary['p95_ms']:>7.1f} {summary['max_ms']:>7.1f}"

    def figures(self) -> dict[str, dict[str, float | int]]:
        """Summaries of both sides."""
        return {"client": self.summary(self.client_ms), "server": self.summary(self.server_ms)}
