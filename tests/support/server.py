"""A real uvicorn server in a subprocess, for browser journeys and load tests.

The server gets the test process's environment (``DATABASE_URL``, ``REDIS_URL``,
``SECRET_KEY``, ``BASE_DOMAIN`` as ``tests/conftest.py`` set them) plus any extra
variables, listens on a free port of 127.0.0.1 and counts as started once ``/healthz``
answers 200. Its output goes to a log file that failures print.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx

from support import PROJECT_ROOT

__all__ = [
    "LiveServer",
    "LiveServerFactory",
    "ServerStartError",
    "compile_catalogs",
    "free_port",
    "process_tcp_ports",
    "running_server",
    "start_server",
    "stop_server",
]

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_PASSED_ENV = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "BASE_DOMAIN")


class ServerStartError(RuntimeError):
    """The server exited or did not become healthy in time; the message holds its log."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def python_executable() -> str:
    """The project's virtualenv interpreter (falls back to the running one)."""
    venv = PROJECT_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def compile_catalogs(root: Path | None = None) -> list[Path]:
    """Compile every ``locales/*/LC_MESSAGES/messages.po`` whose ``.mo`` is missing or older.

    Returns the ``.mo`` files written. Fuzzy entries are left out, as ``pybabel compile``
    does.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written: list[Path] = []
    for po in sorted((root or PROJECT_ROOT / "locales").glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        locale = po.parent.parent.name
        with po.open("rb") as source:
            catalog = read_po(source, locale=locale)
        tmp = mo.with_suffix(f".mo.{os.getpid()}.tmp")
        with tmp.open("wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
        tmp.replace(mo)  # atomic: a server starting meanwhile never reads half a file
        written.append(mo)
    return written


def process_tcp_ports(pid: int) -> set[int]:
    """Local ports of a process's TCP sockets, from ``/proc`` (empty set if unavailable)."""
    inodes: set[str] = set()
    with suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        with suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start the process in its own session, output to ``log_path`` (returns at once)."""
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def no_cookies() -> CookieJar:
    """A cookie jar that keeps nothing (each request then looks like a new visitor)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


@dataclass
class LiveServer:
    """A running server: its port, addresses and log."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)
    base_domain: str = "localhost"

    def host(self, slug: str | None = None) -> str:
        """The ``Host`` header value: ``demo.localhost:PORT`` or ``localhost:PORT``."""
        name = f"{slug}.{self.base_domain}" if slug else self.base_domain
        return f"{name}:{self.port}"

    def url(self, slug: str | None = None, path: str = "/") -> str:
        """Address for a browser: ``http://demo.localhost:PORT/path``.

        Browsers resolve ``*.localhost`` to the loopback address without DNS; for other
        clients use :meth:`client` (which connects to 127.0.0.1 with the right Host).
        """
        if not path.startswith("/"):
            path = "/" + path
        return f"http://{self.host(slug)}{path}"

    def client(self, slug: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx client that connects to 127.0.0.1 and sends the tenant's Host header.

        Cookies are not kept unless ``cookies=`` is given.
        """
        headers = {"host": self.host(slug), **kwargs.pop("headers", {})}
        kwargs.setdefault("cookies", no_cookies())
        kwargs.setdefault("timeout", 30.0)
        return httpx.AsyncClient(
            base_url=f"http://{LOOPBACK}:{self.port}", headers=headers, trust_env=False, **kwargs
        )

    @property
    def running(self) -> bool:
        """True while the process has not exited."""
        return self.process.poll() is None

    def tcp_ports(self) -> set[int]:
        """Local ports of the server's TCP sockets (Linux ``/proc``; empty elsewhere).

        Matching them with ``pg_stat_activity.client_port`` finds the database backends of
        this very server, e.g. to check how many connections its pool really opens.
        """
        return process_tcp_ports(self.process.pid)

    def log(self) -> str:
        """Everything the server wrote so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 80) -> str:
        """The last ``lines`` lines of the log."""
        return "\n".join(self.log().splitlines()[-lines:])


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment plus ``extra`` (settings are read from it)."""
    env = dict(os.environ)
    missing = [name for name in _PASSED_ENV[:2] if not env.get(name)]
    if missing:
        raise ServerStartError(f"{', '.join(missing)} not set (tests/conftest.py sets them)")
    env.setdefault("BASE_DOMAIN", "localhost")
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


async def _healthy(client: httpx.AsyncClient) -> tuple[bool, str]:
    try:
        response = await client.get("/healthz")
    except httpx.TransportError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return response.status_code == 200, f"{response.status_code} {response.text[:300]}"


async def start_server(
    extra_env: Mapping[str, str] | None = None,
    *,
    timeout_s: float = START_TIMEOUT_S,
    access_log: bool = True,
    log_dir: Path | None = None,
    port: int | None = None,
) -> LiveServer:
    """Start uvicorn on ``port`` (default: a free one); wait (polling, deadline) until healthy."""
    env = server_env(extra_env)
    port = port or free_port()
    fd, name = tempfile.mkstemp(prefix=f"scalemark-server-{port}-", suffix=".log", dir=log_dir)
    os.close(fd)
    log_path = Path(name)
    command = [
        python_executable(),
        "-m",
        "uvicorn",
        "scalemark.app:create_app",
        "--factory",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--log-level",
        "info",
    ]
    if not access_log:
        command.append("--no-access-log")
    process = _spawn(command, env, log_path)
    server = LiveServer(
        port=port,
        process=process,
        log_path=log_path,
        env=env,
        base_domain=env.get("BASE_DOMAIN", "localhost"),
    )
    try:
        await _wait_until_healthy(server, timeout_s)
    except BaseException:
        await stop_server(server)
        raise
    return server


async def _wait_until_healthy(server: LiveServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    async with server.client() as client:
        while True:
            if not server.running:
                raise ServerStartError(
                    f"server exited with code {server.process.returncode} before it was healthy"
                    f" (last health check: {last}); log {server.log_path}:\n{server.log_tail()}"
                )
            ok, last = await _healthy(client)
            if ok:
                return
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"server on port {server.port} not healthy after {timeout_s:.0f} s"
                    f" (last health check: {last}); log {server.log_path}:\n{server.log_tail()}"
                )
            await asyncio.sleep(0.1)  # poll interval, bounded by the deadline above


async def stop_server(server: LiveServer, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
    """SIGTERM (uvicorn's graceful shutdown runs the lifespan), SIGKILL after ``timeout_s``."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, timeout_s)
    return process.returncode


@asynccontextmanager
async def running_server(
    extra_env: Mapping[str, str] | None = None, **options: Any
) -> AsyncIterator[LiveServer]:
    """``async with running_server({"DB_POOL_MAX": "3"}) as server: ...``"""
    server = await start_server(extra_env, **options)
    try:
        yield server
    finally:
        await stop_server(server)


class LiveServerFactory:
    """Starts servers on demand and stops them all at the end.

    Calling it twice with the same environment returns the same server (so a session can
    share the default one while a test asks for, e.g., a small database pool).
    """

    def __init__(self, *, log_dir: Path | None = None) -> None:
        self._servers: dict[tuple[tuple[str, str], ...], LiveServer] = {}
        self._log_dir = log_dir

    async def __call__(
        self, extra_env: Mapping[str, str] | None = None, **options: Any
    ) -> LiveServer:
        key = tuple(sorted((k, str(v)) for k, v in (extra_env or {}).items()))
        key += tuple(sorted((f"option:{k}", repr(v)) for k, v in options.items()))
        server = self._servers.get(key)
        if server is not None and server.running:
            return server
        options.setdefault("log_dir", self._log_dir)
        server = await start_server(extra_env, **options)
        self._servers[key] = server
        return server

    @property
    def servers(self) -> list[LiveServer]:
        """Servers started so far."""
        return list(self._servers.values())

    async def stop_all(self) -> None:
        """Stop every server this factory started."""
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            with suppress(ProcessLookupError):
                await stop_server(server)
