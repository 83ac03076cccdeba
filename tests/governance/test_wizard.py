"""The setup wizard: state from data and explicit choices (plain), and ``/setup`` over HTTP."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.governance.wizard import STEPS, compute_state, is_hq_admin
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Grant
from scalemark.identity.users import User
from support.accounts import SESSION_COOKIE, Credentials
from support.identity import Organisation, WebClient, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)

ALL_PAGES = {s.link for s in STEPS if s.link}


# --------------------------------------------------------------------------- plain rules


def test_state_comes_from_counts_and_choices() -> None:
    state = compute_state(
        {"unit": 6, "membership": 1, "governance_standard": 0, "approval_workflow": None},
        {"people": "skipped", "basics": "confirmed", "units": "bogus"},
        ALL_PAGES - {"/governance/workflows"},
    )
    statuses = {s.step.key: s.status for s in state.steps}
    assert statuses == {
        "basics": "confirmed",
        "units": "done",
        "people": "skipped",
        "standards": "open",
        "workflows": "open",
        "kpis": "open",
        "publish": "open",
    }
    assert (state.handled, state.total, state.percent) == (3, 7, 43)
    assert state.current is not None and state.current.step.key == "standards"
    workflows = state.get("workflows")
    assert workflows.count is None and not workflows.available
    assert state.get("standards").available
    assert state.neighbours("basics") == (None, STEPS[1])


def test_data_wins_over_an_open_choice_and_completion() -> None:
    counts = {
        "unit": 2,
        "membership": 2,
        "governance_standard": 1,
        "approval_workflow": 1,
        "kpi_definition": 3,
        "governance_version": 1,
    }
    state = compute_state(counts, {"basics": "confirmed", "units": "skipped"}, ALL_PAGES)
    assert state.get("units").status == "done"
    assert state.complete and state.percent == 100 and state.current is None


def test_only_hq_admins_at_the_root_run_the_wizard() -> None:
    user = User(
        id=1,
        email="a@example.com",
        name="",
        locale=None,
        timezone="UTC",
        status="active",
        platform_role=None,
        has_password=True,
        last_login_at=None,
    )
    at_root = Principal(user=user, grants=(Grant("hq_admin", 1, "/1/"),))
    lower = Principal(user=user, grants=(Grant("hq_admin", 4, "/1/4/"),))
    lead = Principal(user=user, grants=(Grant("unit_lead", 1, "/1/"),))
    assert is_hq_admin(at_root)
    assert not is_hq_admin(lower) and not is_hq_admin(lead) and not is_hq_admin(None)


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def fresh(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    """A new organisation with only its headquarters."""
    from scalemark.org import service
    from scalemark.org.rules import UnitData
    from scalemark.tenancy.provisioning import create_tenant, drop_tenant
    from scalemark.tenancy.registry import get_tenant
    from scalemark.tenancy.resolver import forget_tenant

    slug = f"wiz-{uuid.uuid4().hex[:8]}"
    async with db_pool.acquire() as conn:
        await create_tenant(conn, slug, f"Org {slug}", default_locale="en")
    forget_tenant(slug)
    info = await get_tenant(slug)
    assert info is not None
    org = Organisation(tenant=info.ref)
    async with tenant_transaction(info.ref):
        org.units["HQ"] = await service.create_unit(UnitData("HQ", "Head office", "hq"), None)
    try:
        yield org
    finally:
        async with db_pool.acquire() as conn:
            await drop_tenant(conn, slug)
        forget_tenant(slug)


async def signed_in(server: LiveServer, org: Organisation, credentials: Credentials) -> WebClient:
    client = WebClient(server, org.slug)
    await client.signed_in(credentials)
    return client


def progress(html: str) -> tuple[int, int]:
    bar = re.search(r'role="progressbar"[^>]*>', html, re.S)
    assert bar, "no progress bar"
    now = re.search(r'aria-valuenow="(\d+)"', bar.group(0))
    top = re.search(r'aria-valuemax="(\d+)"', bar.group(0))
    assert now and top
    return int(now.group(1)), int(top.group(1))


def status(html: str, key: str) -> str:
    found = re.search(rf'data-testid="setup-step-{key}" data-status="(\w+)"', html)
    assert found, key
    return found.group(1)


async def test_wizard_is_resumable_and_driven_by_data(
    server: LiveServer, fresh: Organisation, db_pool: asyncpg.Pool
) -> None:
    admin = await person(fresh, "admin", "hq_admin")
    async with await signed_in(server, fresh, admin) as client:
        home = await client.get("/")
        assert 'data-testid="nav-setup"' in home.text
        overview = await client.get("/setup")
        assert overview.status_code == 200
        assert progress(overview.text) == (0, len(STEPS))
        assert status(overview.text, "units") == "open"
        assert 'href="/setup/basics"' in overview.text

        # Basics: a wrong language comes back with a message, a good one is saved.
        wrong = await client.post("/setup/basics", {"action": "language", "default_locale": "xx"})
        assert wrong.status_code == 422 and "Choose a language from the list." in wrong.text
        saved = await client.post("/setup/basics", {"action": "language", "default_locale": "de"})
        assert saved.status_code == 303
        assert saved.headers["location"] == "/setup/units?done=confirmed"
        locale = await db_pool.fetchval(
            "SELECT default_locale FROM scalemark.tenant WHERE slug = $1", fresh.slug
        )
        assert locale == "de"

        # Units: the quick-add form; a duplicate code is refused with the input kept.
        add = {"action": "add_unit", "kind": "region", "parent_id": fresh.unit_id("HQ")}
        created = await client.post(
            "/setup/units", {**add, "code": "EMEA", "name": "Europe", "currency": "EUR"}
        )
        assert created.status_code == 303
        duplicate = await client.post(
            "/setup/units", {**add, "code": "emea", "name": "Kept", "currency": "EUR"}, htmx=True
        )
        assert duplicate.status_code == 422
        # The organisation speaks German now: the message comes in German.
        assert "Dieser Code wird bereits von einer anderen Einheit verwendet." in duplicate.text
        assert (
            'data-testid="quick-code-error"' in duplicate.text and 'value="Kept"' in duplicate.text
        )
        assert '<html lang="de"' in (await client.get("/setup/units")).text
        forged = await client.post(
            "/setup/units", {**add, "parent_id": "999999", "code": "X1", "name": "X"}
        )
        assert forged.status_code == 404

        # Resumed later: units are done by data; people skipped; then reopened.
        overview = await client.get("/setup")
        assert status(overview.text, "basics") == "confirmed"
        assert status(overview.text, "units") == "done"
        skipped = await client.post("/setup/people", {"action": "skip"})
        assert skipped.status_code == 303 and skipped.headers["location"].startswith("/setup/")
        assert status((await client.get("/setup")).text, "people") == "skipped"
        reopened = await client.post("/setup/people", {"action": "reopen"})
        assert reopened.status_code == 303
        assert status((await client.get("/setup")).text, "people") == "open"

        # Everything else confirmed or skipped: complete, and the nav link goes away.
        for key in ("people", "standards", "workflows", "kpis", "publish"):
            answer = await client.post(f"/setup/{key}", {"action": "confirm"})
            assert answer.status_code == 303, key
        done = await client.get("/setup")
        assert progress(done.text) == (len(STEPS), len(STEPS))
        assert 'data-testid="setup-complete"' in done.text
        assert 'data-testid="nav-setup"' not in (await client.get("/")).text

        assert (await client.get("/setup/nonsense")).status_code == 404
        assert (await client.post("/setup/units", {"action": "explode"})).status_code == 404

    async with tenant_transaction(fresh.tenant) as conn:
        events = await conn.fetch(
            "SELECT action, after FROM audit_event WHERE action LIKE 'setup.%'"
            " OR action LIKE 'tenant.%' OR action = 'unit.create' ORDER BY id"
        )
    actions = [(e["action"], json.loads(e["after"])) for e in events]
    assert ("tenant.default_locale", {"default_locale": "de"}) in actions
    assert any(a == "unit.create" and after["code"] == "EMEA" for a, after in actions)
    assert ("setup.step", {"state": "skipped"}) in actions


async def test_governance_rows_count_when_their_tables_exist(
    server: LiveServer, fresh: Organisation
) -> None:
    admin = await person(fresh, "admin", "hq_admin")
    async with tenant_transaction(fresh.tenant) as conn:
        present = await conn.fetchval("SELECT to_regclass('approval_workflow') IS NOT NULL")
        if present:
            await conn.execute("INSERT INTO approval_workflow (name) VALUES ('Campaign sign-off')")
    async with await signed_in(server, fresh, admin) as client:
        page = await client.get("/setup/workflows")
        assert page.status_code == 200
        if present:
            assert status((await client.get("/setup")).text, "workflows") == "done"
            assert "1 defined" in page.text
        else:
            assert 'data-testid="setup-not-available"' in page.text


async def test_only_hq_admins_open_the_wizard(
    server: LiveServer, fresh: Organisation, db_pool: asyncpg.Pool
) -> None:
    from support.identity import organisation

    for role in ("unit_lead", "stakeholder", "it_owner"):
        member = await person(fresh, role, role)
        async with await signed_in(server, fresh, member) as client:
            assert (await client.get("/setup")).status_code == 403, role
            assert (await client.post("/setup/people", {"action": "skip"})).status_code == 403
            assert 'data-testid="nav-setup"' not in (await client.get("/")).text
    async with organisation(db_pool, "wizo") as other:
        outsider = await person(other, "neighbour", "hq_admin")
        async with WebClient(server, other.slug) as home:
            await home.signed_in(outsider)
            session = home.session
        async with server.client(
            fresh.slug, headers={"cookie": f"{SESSION_COOKIE}={session}"}
        ) as c:
            assert (await c.get("/setup")).status_code == 403
    async with tenant_transaction(fresh.tenant) as conn:
        assert await conn.fetchval("SELECT count(*) FROM setup_progress") == 0
