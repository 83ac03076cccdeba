"""``scalemark dev``: everything a laptop needs to try the product, in one command.

Finds or starts PostgreSQL and Redis, migrates, applies the demo blueprint, starts web and
worker as child processes, prints where to go, and stops them all on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from scalemark import PROJECT_ROOT

__all__ = ["run_dev"]

DATA_DIR = PROJECT_ROOT / ".data"
DEMO_BLUEPRINT = PROJECT_ROOT / "tenants" / "demo.toml"
DEMO_PLATFORM_ADMIN = ("admin@scalemark.example", "scalemark-admin")
"""E-mail and password of the development platform admin (not a tenant matter)."""


async def _prepare(blueprint: Path) -> tuple[str, list[tuple[str | None, str, str, str]]]:
    """Migrate, apply the demo blueprint, ensure the platform admin; returns the logins."""
    from scalemark.db import close_pool, get_engine, start_pool
    from scalemark.db.migrations import connect, migrate_all
    from scalemark.identity.blueprint_identity import ensure_platform_account
    from scalemark.tenancy.blueprints import apply_blueprint, load_blueprint

    admin_email, admin_password = DEMO_PLATFORM_ADMIN
    pool = await connect()
    try:
        report = await migrate_all(pool)
    finally:
        await pool.close()
    if report.failures:
        raise SystemExit(f"migration failed: {report.failures}")
    demo = load_blueprint(blueprint)
    await start_pool()
    try:
        engine_pool = get_engine().pool
        assert engine_pool is not None
        async with engine_pool.acquire() as conn:
            await apply_blueprint(conn, demo)
        await _seed_assessments(demo)
        await ensure_platform_account(
            admin_email,
            name="Platform Admin",
            password=admin_password,
            platform_role="platform_admin",
        )
    finally:
        await close_pool()
    # (host slug or None for the platform, what, e-mail, password)
    logins: list[tuple[str | None, str, str, str]] = [
        (None, "platform_admin", admin_email, admin_password)
    ]
    for what, email, password in demo.identity.demo_logins():
        logins.append((None if what == "consultant" else demo.slug, what, email, password))
    return demo.slug, logins


async def _seed_assessments(demo: Any) -> None:
    """Sample assessment cycles, so the demo shows results from the start."""
    from scalemark.assessment.demo import seed_demo_assessments
    from scalemark.tenancy.registry import get_tenant

    info = await get_tenant(demo.slug)
    if info is None:
        return
    answering = {
        user.unit: user.email
        for user in demo.identity.users
        if user.unit and user.role in ("unit_lead", "contributor")
    }
    await seed_demo_assessments(info.ref, answering)


def _login_lines(logins: list[tuple[str | None, str, str, str]], base: str, port: int) -> str:
    # Platform staff start in the console (it asks them to sign in first).
    rows = [
        (
            f"http://{slug}.{base}:{port}/login" if slug else f"http://{base}:{port}/console",
            what,
            email,
            password,
        )
        for slug, what, email, password in logins
    ]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"    {url:<{width[0]}}  {what:<{width[1]}}  {email:<{width[2]}}  {password}"
        for url, what, email, password in rows
    )


def _wait_healthy(url: str, deadline_s: float = 30.0) -> bool:
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def run_dev(port: int | None = None) -> None:
    """Run the product locally until interrupted."""
    from scalemark.devservers import resolve_services

    database_url, redis_url = resolve_services(DATA_DIR)
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = database_url, redis_url
    from scalemark.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    port = port or settings.port
    print(f"database: {database_url}\nredis:    {redis_url}", flush=True)
    slug, logins = asyncio.run(_prepare(DEMO_BLUEPRINT))
    # A plain `kill` (SIGTERM) stops the children too, like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    env = {**os.environ, "PORT": str(port)}
    scalemark = [sys.executable, "-m", "scalemark.cli"]
    children = [
        subprocess.Popen([*scalemark, "serve", "--port", str(port)], env=env),
        subprocess.Popen([*scalemark, "worker"], env=env),
    ]
    try:
        if not _wait_healthy(f"http://127.0.0.1:{port}/healthz"):
            print("the web server did not become healthy; see the log above", flush=True)
        base = settings.base_domain
        print(
            "\n  Scalemark is running.\n"
            f"  Platform:          http://{base}:{port}/\n"
            f"  Demo organisation: http://{slug}.{base}:{port}/\n"
            f"  API schema:        http://{base}:{port}/api/v1/schema\n"
            f"  Demo sign-ins (development only):\n{_login_lines(logins, base, port)}\n"
            "  Press Ctrl-C to stop.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
