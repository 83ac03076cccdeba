"""Sessions and CSRF against a live server: no fixation, logout ends the session, and
every state-changing route of the app refuses a request without the CSRF token.

The routes are read from ``create_litestar().routes``, so a new form is covered as soon
as its route exists.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from redis.asyncio import Redis

from support.accounts import SESSION_COOKIE, Credentials
from support.identity import Organisation, WebClient, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)

SAFE = {"GET", "HEAD", "OPTIONS"}
SESSION_KEY = "scalemark:session:{}"
"""Where the Redis store keeps a session (``RedisStore`` namespace ``scalemark:session``)."""


def state_changing_routes() -> list[tuple[str, str]]:
    """(method, path template) of every non-safe route the app serves."""
    from litestar.routes import HTTPRoute

    from scalemark.app import create_litestar

    found: set[tuple[str, str]] = set()
    for route in create_litestar().routes:
        if isinstance(route, HTTPRoute):
            for method in route.methods - SAFE:
                found.add((method, route.path))
    return sorted(found, key=lambda item: (item[1], item[0]))


def concrete(path: str) -> str:
    """Fill path parameters with values of their type, so the route matches."""

    def value(match: re.Match[str]) -> str:
        kind = match.group(2)
        return {"int": "1", "uuid": str(uuid.uuid4())}.get(kind, "x")

    return re.sub(r"\{(\w+):(\w+)\}", value, path)


ROUTES = state_changing_routes()
FORM_ROUTES = [r for r in ROUTES if not r[1].startswith("/api/")]
API_ROUTES = [r for r in ROUTES if r[1].startswith("/api/")]


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture(scope="module")
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, "sess") as created:
        yield created


@pytest.fixture(scope="module")
async def admin(org: Organisation) -> Credentials:
    return await person(org, "admin", "hq_admin", "HQ")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    import os

    client = Redis.from_url(os.environ["REDIS_URL"])
    yield client
    await client.aclose()


async def authenticates(server: LiveServer, slug: str, session: str) -> bool:
    async with server.client(slug, headers={"cookie": f"{SESSION_COOKIE}={session}"}) as client:
        return (await client.get("/api/v1/me")).status_code == 200


async def test_a_cookie_chosen_before_sign_in_is_not_kept(
    server: LiveServer, org: Organisation, admin: Credentials, redis: Redis
) -> None:
    planted = secrets.token_hex(32)
    async with WebClient(server, org.slug) as client:
        client.http.cookies.set(SESSION_COOKIE, planted, domain="127.0.0.1")
        form = await client.get("/login")
        # An id the server never issued is not adopted, not even as an empty session.
        assert f"{SESSION_COOKIE}={planted}" not in form.headers.get("set-cookie", "")
        assert await redis.exists(SESSION_KEY.format(planted)) == 0
        await client.signed_in(admin)
        issued = client.session
        assert issued and issued != planted
        assert (await client.get("/api/v1/me")).status_code == 200
    assert await redis.exists(SESSION_KEY.format(planted)) == 0
    assert not await authenticates(server, org.slug, planted)
    assert await authenticates(server, org.slug, issued)


async def test_visitors_without_a_session_get_none(server: LiveServer, org: Organisation) -> None:
    async with WebClient(server, org.slug) as client:
        for path in ("/login", "/", "/password/forgot"):
            response = await client.get(path)
            assert SESSION_COOKIE not in response.headers.get("set-cookie", ""), path
        assert client.session is None


async def test_the_session_id_changes_at_sign_in_and_the_old_one_is_deleted(
    server: LiveServer, org: Organisation, admin: Credentials, redis: Redis
) -> None:
    async with WebClient(server, org.slug) as client:
        # A real pre-login session: the visitor chose a language.
        chosen = await client.post("/locale", {"locale": "fr", "next": "/login"})
        assert chosen.status_code == 303
        before = client.session
        assert before and await redis.exists(SESSION_KEY.format(before)) == 1

        await client.signed_in(admin)
        after = client.session
        assert after and after != before
        assert await redis.exists(SESSION_KEY.format(before)) == 0
        assert await redis.exists(SESSION_KEY.format(after)) == 1
        # The language chosen before signing in survives the rotation.
        page = await client.get("/members")
        assert page.status_code == 200 and 'lang="fr"' in page.text
    assert not await authenticates(server, org.slug, before)


async def test_logout_ends_the_session(
    server: LiveServer, org: Organisation, admin: Credentials, redis: Redis
) -> None:
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        session = client.session
        assert session and await authenticates(server, org.slug, session)

        refused = await client.post("/logout", csrf=False)
        assert refused.status_code == 403
        assert await authenticates(server, org.slug, session)

        out = await client.post("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert await redis.exists(SESSION_KEY.format(session)) == 0
    assert not await authenticates(server, org.slug, session)
    headers = {"cookie": f"{SESSION_COOKIE}={session}"}
    async with server.client(org.slug, headers=headers) as replay:
        members = await replay.get("/members")
        assert members.status_code == 303 and members.headers["location"].startswith("/login")


def test_the_app_has_state_changing_routes_to_check() -> None:
    paths = {path for _, path in FORM_ROUTES}
    for expected in (
        "/login",
        "/logout",
        "/members/invite",
        "/tokens",
        "/invite/{token:str}/accept",
    ):
        assert expected in paths, expected


@pytest.mark.parametrize(("method", "path"), FORM_ROUTES, ids=[f"{m} {p}" for m, p in FORM_ROUTES])
async def test_csrf_is_required(
    server: LiveServer, org: Organisation, admin: Credentials, method: str, path: str
) -> None:
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        token = await client.csrf()
        url = concrete(path)
        without = await client.http.request(method, url, data={"name": "x"})
        assert without.status_code == 403, (method, url, without.status_code)
        wrong = await client.http.request(
            method, url, data={"_csrf_token": token[::-1], "name": "x"}
        )
        assert wrong.status_code == 403, (method, url, wrong.status_code)
        header_only = await client.http.request(
            method, url, data={"name": "x"}, headers={"x-csrftoken": "forged"}
        )
        assert header_only.status_code == 403, (method, url, header_only.status_code)
        # The refused requests changed nothing: still signed in.
        assert (await client.get("/api/v1/me")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"), API_ROUTES or [("POST", "/api/v1/none")], ids=lambda v: str(v)
)
async def test_api_changes_need_a_bearer_token_not_the_cookie(
    server: LiveServer, org: Organisation, admin: Credentials, method: str, path: str
) -> None:
    """``/api/`` is outside the CSRF check, so a session cookie must not authorise changes."""
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        response = await client.http.request(method, concrete(path), json={})
        assert response.status_code in (401, 404, 405), (method, path, response.status_code)
        assert response.status_code != 200


@pytest.mark.parametrize("path", ["/login", "/members", "/tokens", "/account", "/audit"])
async def test_every_form_on_the_pages_carries_the_token(
    server: LiveServer, org: Organisation, admin: Credentials, path: str
) -> None:
    async with WebClient(server, org.slug) as client:
        if path != "/login":
            await client.signed_in(admin)
        page = await client.get(path)
        assert page.status_code == 200
        forms = re.findall(r"<form\b[^>]*>.*?</form>", page.text, re.S | re.I)
        posting = [f for f in forms if re.search(r'method="post"', f, re.I)]
        assert posting or path == "/audit"
        for form in posting:
            assert 'name="_csrf_token"' in form, form[:200]
