"""The OIDC flows through the real server and the real provider, over plain HTTP.

Covers the callback's state handling (missing, forged, replayed), clear error pages
instead of 500s, registering an organisation, colleagues joining through the tenant's
button, and login timings (password and SSO) for the closing note.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import uuid4

import asyncpg
import httpx
import pytest

from support.accounts import Credentials, ensure_member, http_sign_in
from support.oidc_provider import TestProvider, http_provider_login, start_provider, stop_provider
from support.server import LiveServer, free_port, start_server, stop_server

pytestmark = pytest.mark.timeout(240)

_CSRF = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


@pytest.fixture(scope="module")
async def sso_server(db_pool: asyncpg.Pool) -> AsyncIterator[LiveServer]:
    """A live server whose public port is its real port; plain-http issuers allowed."""
    port = free_port()
    server = await start_server({"PORT": str(port), "OIDC_ALLOW_HTTP": "1"}, port=port)
    yield server
    await stop_server(server)


@pytest.fixture(scope="module")
async def provider(sso_server: LiveServer) -> AsyncIterator[TestProvider]:
    """The npm provider with clients whose redirect URI is the server's callback."""
    started = await start_provider([sso_server.url(None, "/auth/oidc/callback")])
    yield started
    await stop_provider(started)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, f"GET {path}: {page.status_code}"
    found = _CSRF.search(page.text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


@dataclass
class Registration:
    """A registration in progress (platform client with its session)."""

    platform: httpx.AsyncClient
    callback_url: str


async def _register_until_callback(
    server: LiveServer,
    provider: TestProvider,
    email: str,
    *,
    login: str | None = None,
    secret: str | None = None,
) -> Registration:
    platform = server.client(None, cookies=httpx.Cookies())
    token = await _csrf(platform, "/start")
    started = await platform.post("/start", data={"email": email, "_csrf_token": token})
    assert started.status_code == 303 and started.headers["location"] == "/start/register"
    token = await _csrf(platform, "/start/register")
    submitted = await platform.post(
        "/start/register",
        data={
            "issuer": provider.issuer,
            "client_id": provider.client.client_id,
            "client_secret": secret or provider.client.client_secret,
            "_csrf_token": token,
        },
    )
    assert submitted.status_code == 303, submitted.text[:500]
    authorize = submitted.headers["location"]
    assert authorize.startswith(provider.issuer) and "code_challenge_method=S256" in authorize
    callback = await http_provider_login(authorize, login or email)
    assert callback.startswith(server.url(None, "/auth/oidc/callback"))
    return Registration(platform=platform, callback_url=callback)


async def _register_organisation(
    server: LiveServer, provider: TestProvider, email: str, slug: str
) -> httpx.AsyncClient:
    """The whole self-onboarding over HTTP; returns a client signed in on the tenant."""
    reg = await _register_until_callback(server, provider, email)
    async with aclosing(reg.platform) as platform:
        back = await platform.get(_path(reg.callback_url))
        assert back.status_code == 303 and back.headers["location"] == "/start/organisation"
        token = await _csrf(platform, "/start/organisation")
        created = await platform.post(
            "/start/organisation",
            data={"name": f"Org {slug}", "slug": slug, "_csrf_token": token},
        )
        assert created.status_code == 303, created.text[:800]
        handoff = created.headers["location"]
    assert handoff.startswith(server.url(slug, "/auth/handoff"))
    tenant = server.client(slug, cookies=httpx.Cookies())
    landed = await tenant.get(_path(handoff))
    assert landed.status_code == 303 and landed.headers["location"] == "/"
    home = await tenant.get("/")
    assert home.status_code == 200
    return tenant


async def _tenant_sso_login(
    server: LiveServer, slug: str, login: str
) -> tuple[int, httpx.AsyncClient | None, str]:
    """Click "Sign in with your company login" on the tenant host, sign in at the provider.

    Returns (status of the page where the chain ends, tenant client if signed in, body).
    """
    tenant = server.client(slug, cookies=httpx.Cookies())
    platform = server.client(None, cookies=httpx.Cookies())
    token = await _csrf(tenant, "/login")
    hop = await tenant.post("/auth/sso", data={"next": "/", "_csrf_token": token})
    assert hop.status_code == 303, hop.text[:300]
    start = await platform.get(_path(hop.headers["location"]))
    assert start.status_code == 303, start.text[:300]
    callback = await http_provider_login(start.headers["location"], login)
    back = await platform.get(_path(callback))
    await platform.aclose()
    if back.status_code != 303:
        await tenant.aclose()
        return back.status_code, None, back.text
    landed = await tenant.get(_path(back.headers["location"]))
    assert landed.status_code == 303, landed.text[:300]
    home = await tenant.get("/")
    return home.status_code, tenant, home.text


async def test_callback_without_a_valid_state_is_refused(sso_server: LiveServer) -> None:
    async with sso_server.client(None) as client:
        for query in ("", "?code=abc", "?code=abc&state=forged-state"):
            response = await client.get("/auth/oidc/callback" + query)
            assert response.status_code == 400, query
            assert 'data-testid="sso-error"' in response.text
            assert "not valid" in response.text


async def test_the_state_works_once(sso_server: LiveServer, provider: TestProvider) -> None:
    domain = f"replay-{uuid4().hex[:6]}.example"
    reg = await _register_until_callback(sso_server, provider, f"ada@{domain}")
    async with aclosing(reg.platform) as platform:
        first = await platform.get(_path(reg.callback_url))
        assert first.status_code == 303 and first.headers["location"] == "/start/organisation"
        replay = await platform.get(_path(reg.callback_url))
        assert replay.status_code == 400 and "not valid" in replay.text
    # The same answer in another browser (no session with this state) is refused too.
    async with sso_server.client(None) as stranger:
        assert (await stranger.get(_path(reg.callback_url))).status_code == 400


async def test_a_wrong_client_secret_gives_a_clear_error(
    sso_server: LiveServer, provider: TestProvider
) -> None:
    domain = f"secret-{uuid4().hex[:6]}.example"
    reg = await _register_until_callback(
        sso_server, provider, f"ada@{domain}", secret="not-the-secret"
    )
    async with aclosing(reg.platform) as platform:
        response = await platform.get(_path(reg.callback_url))
    assert response.status_code == 400
    assert "client secret" in response.text


async def test_the_registrant_needs_a_verified_address_at_the_typed_domain(
    sso_server: LiveServer, provider: TestProvider
) -> None:
    domain = f"typed-{uuid4().hex[:6]}.example"
    for login in (f"ada@other-{domain}", f"unverified-ada@{domain}"):
        reg = await _register_until_callback(sso_server, provider, f"ada@{domain}", login=login)
        async with aclosing(reg.platform) as platform:
            response = await platform.get(_path(reg.callback_url))
        assert response.status_code == 403, login
        assert 'data-testid="sso-error"' in response.text


async def test_onboarding_joining_and_login_timings(
    sso_server: LiveServer, provider: TestProvider, db_pool: asyncpg.Pool, app_db: None
) -> None:
    domain = f"timing-{uuid4().hex[:6]}.example"
    slug = f"timing-{uuid4().hex[:6]}"
    admin = await _register_organisation(sso_server, provider, f"boss@{domain}", slug)
    await admin.aclose()

    # A colleague of the same domain joins; someone from another domain does not.
    status, colleague, _ = await _tenant_sso_login(sso_server, slug, f"kim@{domain}")
    assert status == 200 and colleague is not None
    await colleague.aclose()
    status, outsider, body = await _tenant_sso_login(sso_server, slug, "eve@elsewhere.example")
    assert status == 403 and outsider is None and "cannot join" in body

    sso_times: list[float] = []
    for _ in range(15):
        started = time.perf_counter()
        status, client, _ = await _tenant_sso_login(sso_server, slug, f"kim@{domain}")
        sso_times.append(time.perf_counter() - started)
        assert status == 200 and client is not None
        await client.aclose()

    password_user: Credentials = await ensure_member(
        slug, f"pat@{domain}", "password-0123456789", role="contributor"
    )
    password_times: list[float] = []
    for _ in range(15):
        started = time.perf_counter()
        await http_sign_in(sso_server, slug, password_user)
        password_times.append(time.perf_counter() - started)

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1] * 1000

    print(
        f"\nlogin timings over HTTP (15 each): SSO p50 {statistics.median(sso_times) * 1000:.0f}"
        f" ms, p95 {p95(sso_times):.0f} ms (whole redirect chain incl. provider login);"
        f" password p50 {statistics.median(password_times) * 1000:.0f} ms,"
        f" p95 {p95(password_times):.0f} ms"
    )

    schema = "t_" + slug.replace("-", "_")
    async with db_pool.acquire() as conn:
        rows = await conn.fetch(f'SELECT action, after FROM "{schema}".audit_event ORDER BY id')
    actions = [r["action"] for r in rows]
    for expected in ("tenant.onboard", "sso.provider_create", "member.add", "member.join"):
        assert expected in actions, actions
    assert any(r["action"] == "auth.login" and '"sso"' in (r["after"] or "") for r in rows)
    assert "auth.sso_refused" in actions
    assert all("secret" not in (r["after"] or "") for r in rows)
