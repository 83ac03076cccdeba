"""``/governance/kpis`` over HTTP against a live server: forms, messages, targets, chart.

Real PostgreSQL and Redis; each organisation (HQ → DACH → DE, HQ → WEST → FR, working
in English, German and French) is provisioned for its test and dropped afterwards.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.tenancy.resolver import forget_tenant
from support.accounts import Credentials
from support.identity import Organisation, WebClient, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(120)
LOCALES = ["en", "de", "fr"]


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="kpp") as created:
        await db_pool.execute(
            "UPDATE scalemark.tenant SET locales = $2 WHERE slug = $1", created.slug, LOCALES
        )
        forget_tenant(created.slug)
        yield created


@pytest.fixture
async def admin(org: Organisation) -> Credentials:
    return await person(org, "admin", "hq_admin", "HQ")


def kpi_form(**changes: str) -> dict[str, str]:
    form = {
        "key": "cost_per_lead",
        "scope": "",
        "level": "central",
        "unit_of_measure": "currency",
        "direction": "lower",
        "owner_role": "hq_admin",
        "measurement": "Spend ÷ qualified leads",
        "mandatory": "1",
        "min_value": "0",
        "max_value": "",
        "max_deviation_pct": "20",
        "name-en": "Cost per lead",
        "name-de": "Kosten pro Lead",
        "name-fr": "Coût par lead",
        "description-en": "Spend per qualified lead",
    }
    form.update(changes)
    return form


async def kpi_id(org: Organisation, key: str) -> int:
    async with tenant_transaction(org.tenant) as conn:
        value = await conn.fetchval("SELECT id FROM kpi_definition WHERE key = $1", key)
    assert value is not None
    return int(value)


async def test_admin_defines_a_kpi_and_sets_targets(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        page = await client.get("/governance/kpis")
        assert page.status_code == 200
        assert 'data-testid="nav-kpis"' in page.text and 'aria-current="page"' in page.text
        assert 'data-testid="kpi-starter"' in page.text

        form = await client.get("/governance/kpis/new")
        assert form.status_code == 200
        for loc in LOCALES:
            assert f'name="name-{loc}"' in form.text

        created = await client.post("/governance/kpis/new", kpi_form())
        assert created.status_code == 303, created.text[:500]
        kid = await kpi_id(org, "cost_per_lead")
        assert created.headers["location"] == f"/governance/kpis/{kid}?saved=1"

        listing = await client.get("/governance/kpis")
        assert (
            "Cost per lead" in listing.text
            and 'data-testid="kpi-row-cost_per_lead"' in listing.text
        )

        # The central target, then an override within the bounds (20 %).
        hq, de = org.unit_id("HQ"), org.unit_id("DE")
        saved = await client.post(
            f"/governance/kpis/{kid}/targets", {"unit_id": hq, "value": "25", "period": "current"}
        )
        assert saved.status_code == 303
        assert (
            saved.headers["location"] == f"/governance/kpis/{kid}/targets?period=current&saved={hq}"
        )
        row = await client.post(
            f"/governance/kpis/{kid}/targets",
            {"unit_id": de, "value": "28.5", "note": "Higher costs", "period": "current"},
            htmx=True,
        )
        assert row.status_code == 200
        # htmx gets the panel (facts, every row, chart), not a whole page.
        assert 'id="targets-panel"' in row.text and "<html" not in row.text
        assert 'data-testid="target-saved-DE"' in _row(row.text, "DE")
        assert "€28.50" in _row(row.text, "DE") and "€28.50" in row.text.split("<svg")[1]

        table = await client.get(f"/governance/kpis/{kid}/targets")
        assert table.status_code == 200
        fr_row = _row(table.text, "FR")
        assert 'data-state="inherited"' in fr_row and "inherited from Test HQ" in fr_row
        assert 'data-state="own"' in _row(table.text, "DE")
        assert "<svg" in table.text and "<title" in table.text and "<desc" in table.text

        chart = await client.get(f"/governance/kpis/{kid}/chart")
        assert chart.status_code == 200
        assert chart.headers["content-type"].startswith("image/svg+xml")
        assert "Germany" in chart.text

        cleared = await client.post(
            f"/governance/kpis/{kid}/targets",
            {"unit_id": de, "action": "clear", "period": "current"},
            htmx=True,
        )
        assert cleared.status_code == 200
        assert 'data-state="inherited"' in _row(cleared.text, "DE")

        # The audit log shows the changes (nested before/after values included).
        log = await client.get("/audit")
        assert log.status_code == 200 and "kpi_target.clear" in log.text

    async with tenant_transaction(org.tenant) as conn:
        actions = [
            r["action"]
            for r in await conn.fetch("SELECT action FROM audit_event WHERE action LIKE 'kpi%'")
        ]
    assert actions == ["kpi.create", "kpi_target.set", "kpi_target.set", "kpi_target.clear"]


def _row(html: str, code: str) -> str:
    match = re.search(rf'<tr[^>]*data-testid="target-row-{code}".*?</tr>', html, re.S)
    assert match, f"no row {code}"
    return match.group(0)


@pytest.mark.parametrize("htmx", [False, True])
async def test_definition_errors_come_back_in_the_form(
    server: LiveServer, org: Organisation, admin: Credentials, htmx: bool
) -> None:
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        bad = kpi_form(key="Bad Key!", **{"name-fr": "", "max_deviation_pct": "zwanzig"})
        response = await client.post("/governance/kpis/new", bad, htmx=htmx)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert 'data-testid="kpi-error-key"' in response.text
        assert 'data-testid="kpi-error-name-fr"' in response.text
        assert 'data-testid="kpi-error-max_deviation_pct"' in response.text
        assert 'value="Bad Key!"' in response.text and 'value="Kosten pro Lead"' in response.text
        assert ("<html" in response.text) is not htmx


async def test_out_of_bounds_override_is_refused_in_the_users_language(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    lead = await person(org, "lead", "unit_lead", "DE")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        await client.post("/governance/kpis/new", kpi_form())
        kid = await kpi_id(org, "cost_per_lead")
        await client.post(
            f"/governance/kpis/{kid}/targets", {"unit_id": org.unit_id("HQ"), "value": "25"}
        )
    async with WebClient(server, org.slug) as client:
        await client.signed_in(lead)
        await client.post("/locale", {"locale": "de", "next": "/"})
        for htmx in (True, False):
            response = await client.post(
                f"/governance/kpis/{kid}/targets",
                {"unit_id": org.unit_id("DE"), "value": "40,5", "period": "current"},
                htmx=htmx,
            )
            assert response.status_code == 422
            row = _row(response.text, "DE")
            assert 'data-testid="target-error-DE"' in row
            assert 'value="40,5"' in row  # the input is kept as typed
            assert "30,00" in row and "20,00" in row  # the allowed range, German numbers
        # Within the bounds, typed the German way.
        ok = await client.post(
            f"/governance/kpis/{kid}/targets",
            {"unit_id": org.unit_id("DE"), "value": "27,5", "period": "current"},
        )
        assert ok.status_code == 303
        # Not a number at all.
        nan = await client.post(
            f"/governance/kpis/{kid}/targets",
            {"unit_id": org.unit_id("DE"), "value": "viel", "period": "current"},
            htmx=True,
        )
        assert nan.status_code == 422 and 'value="viel"' in nan.text
    async with tenant_transaction(org.tenant) as conn:
        value = await conn.fetchval(
            "SELECT value FROM kpi_target WHERE unit_id = $1", org.unit_id("DE")
        )
    assert value == Decimal("27.5")


async def test_starter_set_and_edit_in_every_language(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        response = await client.post("/governance/kpis/starter")
        assert response.status_code == 303
        assert response.headers["location"] == "/governance/kpis?installed=7"
        listing = await client.get("/governance/kpis")
        assert "Overall campaign ROI" in listing.text
        for level in ("central", "local", "campaign"):
            assert f'data-testid="kpi-table-{level}"' in listing.text

        kid = await kpi_id(org, "campaign_roi")
        edit = await client.get(f"/governance/kpis/{kid}")
        assert edit.status_code == 200
        for loc in LOCALES:
            assert f'data-testid="kpi-name-{loc}"' in edit.text
        form = kpi_form(
            level="central",
            unit_of_measure="percent",
            direction="higher",
            **{"name-de": "Kampagnen-ROI gesamt"},
        )
        saved = await client.post(f"/governance/kpis/{kid}", form)
        assert saved.status_code == 303
        await client.post("/locale", {"locale": "de", "next": "/"})
        listing = await client.get("/governance/kpis")
        assert "Kampagnen-ROI gesamt" in listing.text

        archived = await client.post(f"/governance/kpis/{kid}/archive", {"archived": "1"})
        assert archived.status_code == 303
        listing = await client.get("/governance/kpis")
        assert "Kampagnen-ROI gesamt" not in listing.text
        assert "Kampagnen-ROI gesamt" in (await client.get("/governance/kpis?archived=1")).text


async def test_large_trees_open_branch_by_branch(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    from scalemark.org import service
    from scalemark.org.rules import UnitData

    async with tenant_transaction(org.tenant):
        for n in range(61):
            await service.create_unit(UnitData(f"FR-{n:02d}", f"Boutique {n:02d}", "team"), "FR")
    france = org.unit_id("FR")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        await client.post("/governance/kpis/new", kpi_form())
        kid = await kpi_id(org, "cost_per_lead")
        page = await client.get(f"/governance/kpis/{kid}/targets")
        # The top levels fit the page; France's 61 shops wait behind a link.
        for code in ("HQ", "DACH", "DE", "WEST", "FR"):
            assert f'data-testid="target-row-{code}"' in page.text
        assert "target-row-FR-00" not in page.text
        link = f'href="/governance/kpis/{kid}/targets?period=current&amp;unit={france}"'
        assert link in page.text
        assert "Show its 61 sub-units" in page.text

        branch = await client.get(f"/governance/kpis/{kid}/targets?unit={france}")
        assert branch.status_code == 200
        assert 'data-testid="target-row-FR-60"' in branch.text
        assert "target-row-DE" not in branch.text
        assert 'data-testid="targets-up"' in branch.text and "Region West" in branch.text
        # Saving inside the branch keeps the branch on screen.
        shop = await client.post(
            f"/governance/kpis/{kid}/targets",
            {"unit_id": org.unit_id("HQ"), "value": "25", "focus": str(france)},
        )
        assert shop.headers["location"] == (
            f"/governance/kpis/{kid}/targets?period=current&unit={france}&saved={org.unit_id('HQ')}"
        )
        htmx = await client.post(
            f"/governance/kpis/{kid}/targets",
            {"unit_id": france, "value": "26", "focus": str(france)},
            htmx=True,
        )
        assert htmx.status_code == 200 and "target-row-FR-60" in htmx.text
        assert "target-row-DE" not in htmx.text

        for bad in ("999999", "abc"):
            response = await client.get(f"/governance/kpis/{kid}/targets?unit={bad}")
            assert response.status_code == 404
