"""Role × route matrix: every kind of visitor against every tenant route, exact statuses.

People sign in through the real ``POST /login`` (with CSRF). Visitors without a role
here cannot sign in on this host at all, so they bring the session they got elsewhere
(the platform site, their own organisation's host) — the strongest thing they could try.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from support.accounts import SESSION_COOKIE, Credentials
from support.identity import (
    PASSWORD,
    Organisation,
    WebClient,
    organisation,
    person,
    shared_live_server,
    unique_email,
)
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)

OK, LOGIN, DENIED, MISSING, UNAUTHORIZED = 200, 303, 403, 404, 401

ROUTES = (
    "/",
    "/units",
    "/units/{HQ}/children",
    "/units/{MISSING}/children",
    "/members",
    "/tokens",
    "/audit",
    "/account",
    "/api/v1/me",
    "/api/v1/units",
)


def row(**overrides: int) -> dict[str, int]:
    """A member's row: everything allowed, except the given routes."""
    base = dict.fromkeys(ROUTES, OK)
    base["/units/{MISSING}/children"] = MISSING
    names = {
        "members": "/members",
        "tokens": "/tokens",
        "audit": "/audit",
    }
    base.update({names[key]: status for key, status in overrides.items()})
    return base


def outsider_row() -> dict[str, int]:
    """Signed in elsewhere, no role here: only their own account page opens."""
    base = dict.fromkeys(ROUTES, DENIED)
    base["/account"] = OK
    return base


def anonymous_row() -> dict[str, int]:
    """Pages send to the sign-in form, the API answers 401."""
    return {route: UNAUTHORIZED if route.startswith("/api/") else LOGIN for route in ROUTES}


EXPECTED: dict[str, dict[str, int]] = {
    "hq_admin": row(),
    "unit_lead": row(audit=DENIED),
    "contributor": row(members=DENIED, audit=DENIED),
    "it_owner": row(members=DENIED),
    "stakeholder": row(members=DENIED, audit=DENIED),
    "assigned_consultant": row(members=DENIED),
    "unassigned_consultant": outsider_row(),
    "anonymous": anonymous_row(),
    "other_tenant_member": outsider_row(),
}


@dataclass
class World:
    """The organisation under test and one session cookie per kind of visitor."""

    org: Organisation
    sessions: dict[str, str | None]


async def _session(server: LiveServer, slug: str | None, credentials: Credentials) -> str:
    async with WebClient(server, slug) as client:
        await client.signed_in(credentials)
        assert client.session
        return client.session


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture(scope="module")
async def world(server: LiveServer, db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[World]:
    from scalemark.identity.provisioning import assign_consultant
    from scalemark.identity.users import create_user

    async with organisation(db_pool, "matrix") as org, organisation(db_pool, "other") as other:
        people = {
            "hq_admin": await person(org, "admin", "hq_admin", "HQ"),
            "unit_lead": await person(org, "lead", "unit_lead", "FR"),
            "contributor": await person(org, "contrib", "contributor", "FR"),
            "it_owner": await person(org, "it", "it_owner", "HQ"),
            "stakeholder": await person(org, "board", "stakeholder", "HQ"),
        }
        assigned = await create_user(
            unique_email("consultant"), password=PASSWORD, platform_role="consultant"
        )
        await assign_consultant(assigned.id, org.tenant.id)
        people["assigned_consultant"] = Credentials(assigned.email, PASSWORD)
        sessions: dict[str, str | None] = {
            role: await _session(server, org.slug, credentials)
            for role, credentials in people.items()
        }

        # Outsiders cannot sign in here; they bring a session from their own host.
        unassigned = await create_user(
            unique_email("freelancer"), password=PASSWORD, platform_role="consultant"
        )
        outsider = await person(other, "neighbour", "hq_admin", "HQ")
        for credentials in (Credentials(unassigned.email, PASSWORD), outsider):
            async with WebClient(server, org.slug) as client:
                refused = await client.sign_in(credentials)
                assert refused.status_code == 422, refused.status_code
                assert (await client.get("/api/v1/me")).status_code == UNAUTHORIZED
        sessions["unassigned_consultant"] = await _session(
            server, None, Credentials(unassigned.email, PASSWORD)
        )
        sessions["other_tenant_member"] = await _session(server, other.slug, outsider)
        sessions["anonymous"] = None
        yield World(org=org, sessions=sessions)


def _path(route: str, org: Organisation) -> str:
    return route.replace("{HQ}", str(org.unit_id("HQ"))).replace("{MISSING}", "999999")


async def _statuses(server: LiveServer, org: Organisation, session: str | None) -> dict[str, int]:
    headers = {"cookie": f"{SESSION_COOKIE}={session}"} if session else {}
    found: dict[str, int] = {}
    async with server.client(org.slug, headers=headers) as client:
        for route in ROUTES:
            path = _path(route, org)
            response = await client.get(path)
            found[route] = response.status_code
            if response.status_code == LOGIN:
                location = response.headers["location"]
                assert location.startswith("/login?next="), (route, location)
            if response.status_code == OK and not route.startswith("/api/"):
                assert response.headers["content-type"].startswith("text/html"), route
    return found


@pytest.mark.parametrize("who", list(EXPECTED))
async def test_role_route_matrix(server: LiveServer, world: World, who: str) -> None:
    found = await _statuses(server, world.org, world.sessions[who])
    wrong = {
        route: f"expected {EXPECTED[who][route]}, got {status}"
        for route, status in found.items()
        if status != EXPECTED[who][route]
    }
    assert not wrong, f"{who}: {wrong}"


async def test_tenant_routes_do_not_exist_on_the_platform_host(
    server: LiveServer, world: World
) -> None:
    headers = {"cookie": f"{SESSION_COOKIE}={world.sessions['unassigned_consultant']}"}
    async with server.client(None, headers=headers) as client:
        for path in ("/members", "/tokens", "/audit", "/invite/anything", "/api/v1/me"):
            response = await client.get(path)
            assert response.status_code == MISSING, (path, response.status_code)
