"""``/api/v1/kpis`` against a live server with API tokens: definitions, targets, OpenAPI.

Tree: HQ → DACH → DE and HQ → WEST → FR; the tenant works in English, German and French.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from scalemark.identity.tokens import create_token
from scalemark.identity.users import get_user_by_email
from scalemark.tenancy.resolver import forget_tenant
from support.identity import Organisation, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(120)
LOCALES = ["en", "de", "fr"]
CPL: dict[str, Any] = {
    "level": "central",
    "unit_of_measure": "currency",
    "direction": "lower",
    "owner_role": "hq_admin",
    "measurement": "Spend ÷ qualified leads",
    "mandatory": True,
    "bounds": {"min_value": 0, "max_deviation_pct": 20},
    "translations": [
        {"locale": "en", "name": "Cost per lead", "description": "Spend per lead"},
        {"locale": "de", "name": "Kosten pro Lead"},
        {"locale": "fr", "name": "Coût par lead"},
    ],
}
VISITS: dict[str, Any] = {
    "level": "local",
    "unit_of_measure": "count",
    "direction": "higher",
    "owner_role": "unit_lead",
    "translations": [{"locale": "en", "name": "Store visits"}],
}


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="kpa") as created:
        await db_pool.execute(
            "UPDATE scalemark.tenant SET locales = $2 WHERE slug = $1", created.slug, LOCALES
        )
        forget_tenant(created.slug)
        yield created


async def api_client(
    server: LiveServer, org: Organisation, role: str, unit: str
) -> httpx.AsyncClient:
    """A client with a fresh member's API token (``role`` at ``unit``)."""
    credentials = await person(org, role, role, unit)
    user = await get_user_by_email(credentials.email)
    assert user is not None
    _, secret = await create_token(org.tenant.id, user.id, "kpi tests")
    return server.client(org.slug, headers={"authorization": f"Bearer {secret}"})


async def test_definitions_round_trip(server: LiveServer, org: Organisation) -> None:
    async with await api_client(server, org, "hq_admin", "HQ") as api:
        created = await api.put("/api/v1/kpis/cost_per_lead", json=CPL)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["key"] == "cost_per_lead" and body["scope"] is None
        assert body["name"] == "Cost per lead" and body["can_edit"] is True
        assert body["bounds"] == {"min_value": 0.0, "max_value": None, "max_deviation_pct": 20.0}
        assert {t["locale"] for t in body["translations"]} == set(LOCALES)

        changed = {**CPL, "bounds": {"max_deviation_pct": 12.5}}
        updated = await api.put("/api/v1/kpis/cost_per_lead", json=changed)
        assert updated.status_code == 200
        assert updated.json()["bounds"]["max_deviation_pct"] == 12.5

        listed = await api.get("/api/v1/kpis")
        assert [k["key"] for k in listed.json()] == ["cost_per_lead"]
        one = await api.get("/api/v1/kpis/cost_per_lead", headers={"accept-language": "de"})
        assert one.status_code == 200 and one.json()["id"] == body["id"]
        assert (await api.get("/api/v1/kpis/no_such_kpi")).status_code == 404

        archived = await api.put("/api/v1/kpis/cost_per_lead", json={**changed, "archived": True})
        assert archived.json()["archived"] is True
        assert (await api.get("/api/v1/kpis")).json() == []
        assert len((await api.get("/api/v1/kpis?include_archived=true")).json()) == 1


async def test_invalid_definitions_answer_400_with_the_fields(
    server: LiveServer, org: Organisation
) -> None:
    async with await api_client(server, org, "hq_admin", "HQ") as api:
        missing = {**CPL, "translations": [{"locale": "en", "name": "Cost per lead"}]}
        response = await api.put("/api/v1/kpis/cost_per_lead", json=missing)
        assert response.status_code == 400
        assert set(response.json()["extra"]) == {"name-de", "name-fr"}
        wrong_enum = await api.put("/api/v1/kpis/x", json={**CPL, "direction": "sideways"})
        assert wrong_enum.status_code == 400
        bad_key = await api.put("/api/v1/kpis/Bad-Key", json=CPL)
        assert bad_key.status_code == 400 and "key" in bad_key.json()["extra"]
        bounds = await api.put(
            "/api/v1/kpis/cpl", json={**CPL, "bounds": {"min_value": 5, "max_value": 1}}
        )
        assert bounds.status_code == 400 and "max_value" in bounds.json()["extra"]


async def test_targets_inherit_and_respect_the_bounds(
    server: LiveServer, org: Organisation
) -> None:
    async with await api_client(server, org, "hq_admin", "HQ") as admin:
        assert (await admin.put("/api/v1/kpis/cost_per_lead", json=CPL)).status_code == 201
        central = await admin.put(
            "/api/v1/kpis/cost_per_lead/targets/HQ", json={"value": 25, "note": "Group"}
        )
        assert central.status_code == 200, central.text
        assert central.json()["is_central"] is True and central.json()["value"] == 25.0
        yearly = await admin.put(
            "/api/v1/kpis/cost_per_lead/targets/HQ?period=2027", json={"value": 24}
        )
        assert yearly.status_code == 200
        bad_period = await admin.put(
            "/api/v1/kpis/cost_per_lead/targets/HQ?period=someday", json={"value": 24}
        )
        assert bad_period.status_code == 400

    async with await api_client(server, org, "unit_lead", "DE") as lead:
        ok = await lead.put("/api/v1/kpis/cost_per_lead/targets/de", json={"value": 28.5})
        assert ok.status_code == 200
        assert (ok.json()["own_value"], ok.json()["source_unit_code"]) == (28.5, "DE")
        assert (ok.json()["allowed_min"], ok.json()["allowed_max"]) == (20.0, 30.0)

        too_high = await lead.put("/api/v1/kpis/cost_per_lead/targets/DE", json={"value": 31})
        assert too_high.status_code == 400
        assert "30" in too_high.json()["detail"] and "value" in too_high.json()["extra"]

        rows = (await lead.get("/api/v1/kpis/cost_per_lead/targets")).json()
        assert [r["unit_code"] for r in rows] == ["DE"]
        rows_2027 = (await lead.get("/api/v1/kpis/cost_per_lead/targets?period=2027")).json()
        assert (rows_2027[0]["value"], rows_2027[0]["source_unit_code"]) == (24.0, "HQ")

        cleared = await lead.put("/api/v1/kpis/cost_per_lead/targets/DE", json={"value": None})
        assert cleared.status_code == 200
        assert (cleared.json()["own_value"], cleared.json()["value"]) == (None, 25.0)

        # The central definition and the central target are HQ's.
        assert (await lead.put("/api/v1/kpis/cost_per_lead", json=CPL)).status_code == 403
        hq = await lead.put("/api/v1/kpis/cost_per_lead/targets/HQ", json={"value": 1})
        assert hq.status_code == 403
        assert (
            await lead.put("/api/v1/kpis/cost_per_lead/targets/NOPE", json={"value": 1})
        ).status_code == 404


async def test_local_additions_by_a_unit_lead(server: LiveServer, org: Organisation) -> None:
    async with await api_client(server, org, "hq_admin", "HQ") as admin:
        await admin.put("/api/v1/kpis/cost_per_lead", json=CPL)
    async with await api_client(server, org, "unit_lead", "DE") as lead:
        created = await lead.put("/api/v1/kpis/store_visits?scope=DE", json=VISITS)
        assert created.status_code == 201, created.text
        assert created.json()["scope"] == "DE"
        # A unit's own KPI cannot take a central key or be of the central level.
        shadow = await lead.put(
            "/api/v1/kpis/cost_per_lead?scope=DE", json={**CPL, "level": "local"}
        )
        assert shadow.status_code == 400 and "key" in shadow.json()["extra"]
        central_level = await lead.put(
            "/api/v1/kpis/own?scope=DE", json={**VISITS, "level": "central"}
        )
        assert central_level.status_code == 400 and "level" in central_level.json()["extra"]
        # Not for a unit outside the lead's subtree, and not central.
        assert (await lead.put("/api/v1/kpis/x?scope=FR", json=VISITS)).status_code == 403
        assert (
            await lead.put("/api/v1/kpis/x", json={**VISITS, "level": "campaign"})
        ).status_code == 403
        top = await lead.put("/api/v1/kpis/store_visits/targets/DE?scope=DE", json={"value": 900})
        assert top.status_code == 200 and top.json()["is_central"] is True
        applying = (await lead.get("/api/v1/kpis?unit=DE")).json()
        assert {k["key"] for k in applying} == {"cost_per_lead", "store_visits"}
    async with await api_client(server, org, "hq_admin", "HQ") as admin:
        seen = await admin.get("/api/v1/kpis/store_visits?scope=DE")
        assert seen.status_code == 200 and seen.json()["can_edit"] is True
        assert (await admin.get("/api/v1/kpis/store_visits")).status_code == 404  # not central


async def test_openapi_documents_the_kpi_endpoints(server: LiveServer, org: Organisation) -> None:
    async with server.client(org.slug) as client:
        response = await client.get("/api/v1/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    assert set(paths["/api/v1/kpis/{key}"]) >= {"get", "put"}
    assert "put" in paths["/api/v1/kpis/{key}/targets/{unit_code}"]
    assert "get" in paths["/api/v1/kpis/{key}/targets"]
    schemas = document["components"]["schemas"]
    assert schemas["KpiIn"]["properties"]["direction"]["enum"] == ["higher", "lower"]
    assert "value" in schemas["TargetIn"]["properties"]
    assert not any(p.startswith("/governance") for p in paths)
