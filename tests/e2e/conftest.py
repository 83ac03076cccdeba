"""Browser journeys: a live server, the demo tenant and headless Chromium.

Fixtures:

``live_server_factory`` (session)
    ``await live_server_factory({"DB_POOL_MAX": "3"})`` starts (or reuses) a server with
    extra environment; every server stops at the end of the session.
``live_server`` (session)
    The default server: ``.port``, ``.url(slug=None, path="/")``, ``.client(slug)``.
``demo_tenant`` (session)
    ``tenants/demo.toml`` applied once; its :class:`~scalemark.db.TenantRef`.
``demo_admin`` (session)
    :class:`~support.accounts.Credentials` of an HQ admin of the demo tenant; sign in
    with ``await LoginPage(page, live_server, "demo").sign_in(demo_admin)``.
``make_demo_member`` (function)
    ``await make_demo_member(role="stakeholder", unit_code=None)``: a fresh account, for
    tests that change the user's own settings (language, …) and must not leak them.
``browser`` (session)
    Headless Chromium (``/usr/bin/chromium``).
``make_page`` / ``page`` (function)
    A fresh context per page (desktop 1280×800, en-US unless told otherwise); a failing
    test leaves a screenshot of each page and the server log's tail in ``artifacts/``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, Page, Playwright, async_playwright

from scalemark.db import TenantRef
from support import ARTIFACTS_DIR, PROJECT_ROOT
from support.accounts import Credentials, ensure_member
from support.browser import PageSession, launch_chromium, new_page, safe_filename
from support.server import LiveServer, LiveServerFactory, compile_catalogs


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    node = request.node
    return any(
        getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


@pytest.fixture(scope="session")
def compiled_catalogs() -> list[str]:
    """Compile ``.po`` catalogs whose ``.mo`` is missing or stale (before a server starts)."""
    return [str(p.relative_to(PROJECT_ROOT)) for p in compile_catalogs()]


@pytest.fixture(scope="session")
async def live_server_factory(
    db_pool: asyncpg.Pool, compiled_catalogs: list[str]
) -> AsyncIterator[LiveServerFactory]:
    """Starts servers with extra environment on demand (the database is migrated first)."""
    factory = LiveServerFactory()
    yield factory
    await factory.stop_all()


@pytest.fixture(scope="session")
async def live_server(live_server_factory: LiveServerFactory) -> LiveServer:
    """The default live server of the session."""
    return await live_server_factory()


@pytest.fixture(scope="session")
async def demo_tenant(db_pool: asyncpg.Pool, app_db: None) -> TenantRef:
    """The demo organisation from ``tenants/demo.toml``, applied once per session."""
    from scalemark.tenancy.blueprints import apply_blueprint, load_blueprint
    from scalemark.tenancy.registry import get_tenant

    blueprint = load_blueprint(PROJECT_ROOT / "tenants" / "demo.toml")
    async with db_pool.acquire() as conn:
        await apply_blueprint(conn, blueprint)
    info = await get_tenant(blueprint.slug)
    assert info is not None
    return info.ref


@pytest.fixture(scope="session")
async def demo_admin(demo_tenant: TenantRef) -> Credentials:
    """An HQ admin of the demo tenant with a password."""
    return await ensure_member(
        demo_tenant.slug, "e2e.admin@nordlicht.example", "e2e-password-0123", name="E2E Admin"
    )


@pytest.fixture
def make_demo_member(demo_tenant: TenantRef) -> Callable[..., Awaitable[Credentials]]:
    """Factory of fresh demo-tenant accounts (a new e-mail each call)."""

    async def make(role: str = "stakeholder", unit_code: str | None = None) -> Credentials:
        email = f"e2e-{uuid.uuid4().hex[:10]}@nordlicht.example"
        return await ensure_member(
            demo_tenant.slug, email, "e2e-password-0123", role=role, unit_code=unit_code
        )

    return make


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    """Playwright's async driver, on the session's event loop."""
    async with async_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """One headless Chromium for the session."""
    instance = await launch_chromium(playwright)
    yield instance
    await instance.close()


@pytest.fixture
async def make_page(
    browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """``await make_page(**context_options)``: a page in a fresh context.

    On failure every page made is screenshotted to ``artifacts/<test>[-n].png`` and the
    tail of each live server's log is printed (it shows in pytest's captured output).
    """
    sessions: list[PageSession] = []

    async def make(**context_options: Any) -> Page:
        session = await new_page(browser, **context_options)
        sessions.append(session)
        return session.page

    yield make

    failed = _failed(request)
    if failed:
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        base = safe_filename(request.node.nodeid)
        for number, session in enumerate(sessions):
            path = ARTIFACTS_DIR / f"{base}{f'-{number}' if number else ''}.png"
            try:
                await session.page.screenshot(path=str(path), full_page=True)
                print(f"screenshot: {path} ({session.page.url})")
            except Exception as exc:  # the page may have crashed; the report still matters
                print(f"no screenshot of {session.page.url}: {exc}")
            for line in session.console_errors:
                print(f"browser console error: {line}")
            for line in session.page_errors:
                print(f"page error: {line}")
        factory: LiveServerFactory | None = None
        if "live_server_factory" in request.fixturenames:
            factory = request.getfixturevalue("live_server_factory")
        for server in factory.servers if factory else []:
            print(f"--- server log {server.log_path} (last lines) ---\n{server.log_tail(60)}")
    for session in sessions:
        await session.close()


@pytest.fixture
async def page(make_page: Callable[..., Awaitable[Page]]) -> Page:
    """A desktop page (1280×800, en-US) in a fresh context."""
    return await make_page()
