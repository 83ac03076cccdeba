"""Nobody reads or changes KPIs outside their reach: not another tenant, not a unit lead
of another unit, not someone without governance rights — by URL, form field or API.

Two organisations (HQ → DACH → DE, HQ → WEST → FR each) on one live server; people sign
in through the real ``POST /login``; the API is called with real tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
import httpx
import pytest

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import use_tenant
from scalemark.governance import kpi_targets, kpis
from scalemark.governance.kpi_rules import KpiData
from scalemark.governance.targets import Bounds
from scalemark.identity.tokens import create_token
from scalemark.identity.users import get_user_by_email
from support.accounts import SESSION_COOKIE, Credentials
from support.identity import Organisation, WebClient, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@dataclass
class World:
    """Organisation A with a central and a German local KPI; organisation B beside it."""

    a: Organisation
    b: Organisation
    central_id: int
    local_id: int
    b_kpi_id: int


def _data(key: str, level: str = "central", names: dict[str, str] | None = None) -> KpiData:
    return KpiData(
        key=key,
        level=level,
        unit_of_measure="count",
        direction="higher",
        owner_role="hq_admin",
        bounds=Bounds(max_deviation_pct=Decimal(20)),
        names=names or {"en": key.replace("_", " ").title()},
    )


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def world(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[World]:
    async with organisation(db_pool, "kia") as a, organisation(db_pool, "kib") as b:
        with use_tenant(a.tenant):
            central = await kpis.create_kpi(_data("leads"), scope_unit_id=None, locales=["en"])
            await kpi_targets.set_target(central, a.units["HQ"], "current", Decimal(100))
            local = await kpis.create_kpi(
                _data("german_fairs", "local", {"en": "German trade fairs"}),
                scope_unit_id=a.unit_id("DE"),
                locales=["en"],
            )
            await kpi_targets.set_target(local, a.units["DE"], "current", Decimal(12))
        with use_tenant(b.tenant):
            other = await kpis.create_kpi(
                _data("b_secret", names={"en": "B secret KPI"}), scope_unit_id=None, locales=["en"]
            )
        yield World(a, b, central.id, local.id, other.id)


async def token_client(
    server: LiveServer, org: Organisation, who: Credentials
) -> httpx.AsyncClient:
    user = await get_user_by_email(who.email)
    assert user is not None
    _, secret = await create_token(org.tenant.id, user.id, "isolation")
    return server.client(org.slug, headers={"authorization": f"Bearer {secret}"})


async def target_values(org: Organisation) -> set[tuple[str, str]]:
    async with tenant_transaction(org.tenant) as conn:
        rows = await conn.fetch(
            "SELECT u.code, t.value::text AS value"
            " FROM kpi_target t JOIN unit u ON u.id = t.unit_id"
        )
    return {(r["code"], r["value"]) for r in rows}


async def test_another_tenant_cannot_read_or_change_anything(
    server: LiveServer, world: World
) -> None:
    outsider = await person(world.b, "b-admin", "hq_admin", "HQ")
    before = await target_values(world.a)
    async with WebClient(server, world.b.slug) as client:
        await client.signed_in(outsider)
        # Ids of A's KPIs mean nothing on B's host.
        for path in (
            f"/governance/kpis/{world.central_id}",
            f"/governance/kpis/{world.central_id}/targets",
            f"/governance/kpis/{world.local_id}/chart",
        ):
            if world.central_id != world.b_kpi_id:
                assert (await client.get(path)).status_code == 404, path
        # A's unit id in B's target form: not a unit of B.
        response = await client.post(
            f"/governance/kpis/{world.b_kpi_id}/targets",
            {"unit_id": world.a.unit_id("DE") + 100_000, "value": "1"},
        )
        assert response.status_code == 404
        # B's session cookie on A's host: not a member there.
        cookie = client.session
    assert cookie
    async with server.client(world.a.slug, cookies={SESSION_COOKIE: cookie}) as stolen:
        page = await stolen.get("/governance/kpis")
        assert page.status_code in (303, 401, 403), page.status_code
        assert "Leads" not in page.text
        api = await stolen.get("/api/v1/kpis")
        assert api.status_code in (401, 403)
    # B's token on A's host is refused; on B's host it never shows A's KPIs.
    async with await token_client(server, world.b, outsider) as api:
        own = await api.get("/api/v1/kpis")
        assert [k["key"] for k in own.json()] == ["b_secret"]
        assert (await api.get("/api/v1/kpis/leads")).status_code == 404
        foreign = await api.get("/api/v1/kpis", headers={"host": server.host(world.a.slug)})
        assert foreign.status_code == 401
        change = await api.put(
            "/api/v1/kpis/leads/targets/HQ",
            json={"value": 1},
            headers={"host": server.host(world.a.slug)},
        )
        assert change.status_code == 401
    assert await target_values(world.a) == before


async def test_a_unit_lead_of_another_unit_cannot_read_or_change(
    server: LiveServer, world: World
) -> None:
    a = world.a
    france = await person(a, "fr-lead", "unit_lead", "FR")
    before = await target_values(a)
    async with WebClient(server, a.slug) as client:
        await client.signed_in(france)
        listing = await client.get("/governance/kpis")
        assert listing.status_code == 200
        assert "Leads" in listing.text and "German trade fairs" not in listing.text
        # Germany's own KPI by URL: as if it did not exist.
        for path in (
            f"/governance/kpis/{world.local_id}",
            f"/governance/kpis/{world.local_id}/targets",
            f"/governance/kpis/{world.local_id}/chart",
        ):
            assert (await client.get(path)).status_code == 404, path
        assert (
            await client.post(
                f"/governance/kpis/{world.local_id}/targets",
                {"unit_id": a.unit_id("DE"), "value": "13"},
            )
        ).status_code == 404
        # Opening Germany's branch of a central KPI by URL: not there for France.
        branch = await client.get(
            f"/governance/kpis/{world.central_id}/targets?unit={a.unit_id('DE')}"
        )
        assert branch.status_code == 404
        # The central KPI's targets page shows France's branch, not Germany's.
        targets = await client.get(f"/governance/kpis/{world.central_id}/targets")
        assert targets.status_code == 200
        assert 'data-testid="target-row-FR"' in targets.text
        assert "target-row-DE" not in targets.text and "Germany" not in targets.text
        # Form fields naming Germany or the HQ: forbidden.
        for unit in ("DE", "HQ", "DACH"):
            response = await client.post(
                f"/governance/kpis/{world.central_id}/targets",
                {"unit_id": a.unit_id(unit), "value": "100"},
                htmx=True,
            )
            assert response.status_code == 403, unit
        # The central definition is HQ's; a new KPI for Germany is not France's to add.
        edit = await client.post(
            f"/governance/kpis/{world.central_id}", {"level": "central", "name-en": "Hijacked"}
        )
        assert edit.status_code == 403
        archive = await client.post(
            f"/governance/kpis/{world.central_id}/archive", {"archived": "1"}
        )
        assert archive.status_code == 403
        assert (await client.post("/governance/kpis/starter")).status_code == 403
        new = await client.post(
            "/governance/kpis/new",
            {
                "key": "sneaky",
                "scope": str(a.unit_id("DE")),
                "level": "local",
                "unit_of_measure": "count",
                "direction": "higher",
                "owner_role": "unit_lead",
                "name-en": "Sneaky",
            },
        )
        assert new.status_code == 403
        central_new = await client.post(
            "/governance/kpis/new",
            {"key": "sneaky", "scope": str(a.unit_id("HQ")), "level": "central", "name-en": "S"},
        )
        assert central_new.status_code == 403
        # France may set its own target, within the bounds.
        own = await client.post(
            f"/governance/kpis/{world.central_id}/targets",
            {"unit_id": a.unit_id("FR"), "value": "110"},
        )
        assert own.status_code == 303

    async with await token_client(server, a, france) as api:
        assert (await api.get("/api/v1/kpis/german_fairs?scope=DE")).status_code == 404
        assert (await api.get("/api/v1/kpis/german_fairs/targets?scope=DE")).status_code == 404
        assert (await api.get("/api/v1/kpis?unit=DE")).status_code == 403
        keys = {k["key"] for k in (await api.get("/api/v1/kpis")).json()}
        assert keys == {"leads"}
        rows = (await api.get("/api/v1/kpis/leads/targets")).json()
        assert {r["unit_code"] for r in rows} == {"FR"}
        for unit in ("DE", "HQ", "WEST"):
            response = await api.put(f"/api/v1/kpis/leads/targets/{unit}", json={"value": 100})
            assert response.status_code == 403, unit
        put = await api.put("/api/v1/kpis/german_fairs/targets/DE?scope=DE", json={"value": 1})
        assert put.status_code == 404
        definition = await api.put(
            "/api/v1/kpis/german_fairs?scope=DE",
            json={
                "level": "local",
                "unit_of_measure": "count",
                "direction": "higher",
                "owner_role": "unit_lead",
                "translations": [{"locale": "en", "name": "Taken over"}],
            },
        )
        assert definition.status_code == 404

    after = await target_values(a)
    assert after - before == {("FR", "110")} and before - after == set()
    async with tenant_transaction(a.tenant) as conn:
        names = {r["name"] for r in await conn.fetch("SELECT name FROM kpi_translation")}
    assert names == {"Leads", "German trade fairs"}


async def test_people_without_governance_rights_only_read(server: LiveServer, world: World) -> None:
    a = world.a
    contributor = await person(a, "de-contributor", "contributor", "DE")
    before = await target_values(a)
    async with WebClient(server, a.slug) as client:
        await client.signed_in(contributor)
        # They see what applies to them, including Germany's own KPI …
        listing = await client.get("/governance/kpis")
        assert "German trade fairs" in listing.text and 'data-testid="kpi-new"' not in listing.text
        detail = await client.get(f"/governance/kpis/{world.local_id}")
        assert detail.status_code == 200 and 'data-testid="kpi-read-only"' in detail.text
        assert 'data-testid="kpi-form"' not in detail.text
        targets = await client.get(f"/governance/kpis/{world.central_id}/targets")
        assert 'data-testid="target-form-DE"' not in targets.text
        # … and can change none of it.
        assert (await client.get("/governance/kpis/new")).status_code == 403
        response = await client.post(
            f"/governance/kpis/{world.central_id}/targets",
            {"unit_id": a.unit_id("DE"), "value": "100"},
        )
        assert response.status_code == 403
        assert (
            await client.post(f"/governance/kpis/{world.local_id}/archive", {"archived": "1"})
        ).status_code == 403
    async with await token_client(server, a, contributor) as api:
        response = await api.put("/api/v1/kpis/leads/targets/DE", json={"value": 100})
        assert response.status_code == 403
    assert await target_values(a) == before

    # Anonymous visitors are sent to sign in; the API wants a token.
    async with server.client(a.slug) as anonymous:
        page = await anonymous.get("/governance/kpis")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert (await anonymous.get("/api/v1/kpis")).status_code == 401
