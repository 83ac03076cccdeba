"""Helpers shared by the benchmark scripts (run as ``python bench/<name>.py``)."""

from __future__ import annotations

import asyncio
import math
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
"""The repository root: servers start there."""

__all__ = [
    "ROOT",
    "Server",
    "ensure_database",
    "free_port",
    "percentile",
    "spawn",
    "start_server",
    "stop_server",
]


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
