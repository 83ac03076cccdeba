"""Who sees which results: other tenants, reach, statuses, the unit selector, review.

World: HQ > EU > DE, FR, IT, all in scope (see :mod:`support.assessment_results`).
"""

from __future__ import annotations

import re

import asyncpg
import pytest

from scalemark.assessment import service
from scalemark.db import tenant_transaction
from scalemark.identity.tokens import create_token
from scalemark.identity.users import get_user_by_email
from support.assessment_results import ScoredWorld, scored_world
from support.identity import Organisation, WebClient, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


async def client_for(
    server: LiveServer, scored: ScoredWorld, role: str, unit: str = "HQ"
) -> WebClient:
    org = Organisation(tenant=scored.tenant)
    credentials = await person(org, role, role, unit)
    client = WebClient(server, org.slug)
    await client.signed_in(credentials)
    return client


def select_options(html: str) -> set[str]:
    """Unit codes offered by the unit selector."""
    match = re.search(r'data-testid="unit-select">(.*?)</select>', html, re.S)
    assert match, "no unit selector"
    return set(re.findall(r"\(([A-Z]+)\)</option>", match.group(1)))


async def test_a_unit_lead_sees_only_their_units(server: LiveServer, make_tenant) -> None:
    scored = await scored_world(make_tenant, status="in_review")
    ids, aid = scored.units, scored.assessment_id
    base = f"/assessments/{aid}/results"
    for role in ("unit_lead", "contributor"):
        async with await client_for(server, scored, role, "DE") as client:
            page = await client.get(base)
            assert page.status_code == 200, page.text[:400]
            assert select_options(page.text) == {"DE"}
            assert 'data-testid="radar"' in page.text and 'data-testid="heatmap"' in page.text
            assert "Unit FR" not in page.text and "Unit EU" not in page.text
            assert (await client.get(f"{base}?unit={ids['FR']}")).status_code == 403
            assert (await client.get(f"{base}?unit={ids['EU']}")).status_code == 403
            assert (await client.get(f"{base}?unit={ids['DE']}")).status_code == 200
            assert (await client.get(f"{base}?unit=999999")).status_code == 404
            assert (await client.get(f"{base}?unit=abc")).status_code == 404
            assert (await client.get(f"/assessments/{aid}/review")).status_code == 403
            api = await client.get(f"/api/v1/assessments/{aid}/results")
            assert api.status_code == 200
            assert [u["code"] for u in api.json()["units"]] == ["DE"]
            review_api = await client.get(f"/api/v1/assessments/{aid}/review/{ids['DE']}")
            assert review_api.status_code == 403


async def test_statuses_decide_what_others_see(server: LiveServer, make_tenant) -> None:
    scored = await scored_world(make_tenant, status="draft")
    aid = scored.assessment_id
    path = f"/assessments/{aid}/results"
    async with (
        await client_for(server, scored, "stakeholder") as reader,
        await client_for(server, scored, "hq_admin") as admin,
    ):
        # A draft is unknown to non-runners; runners see provisional results.
        assert (await reader.get(path)).status_code == 404
        assert (await reader.get(f"/api/v1{path}")).status_code == 404
        draft = await admin.get(path)
        assert draft.status_code == 200 and 'data-testid="results-provisional"' in draft.text
        async with tenant_transaction(scored.tenant):
            await service.change_status(aid, "open")
        assert (await reader.get(path)).status_code == 403
        assert (await reader.get(f"/api/v1{path}")).status_code == 403
        async with tenant_transaction(scored.tenant):
            await service.change_status(aid, "review")
        page = await reader.get(path)
        assert page.status_code == 200
        assert select_options(page.text) == {"HQ", "EU", "DE", "FR", "IT"}
        assert 'data-testid="results-provisional"' not in page.text
        assert (await reader.get(f"/assessments/{aid}/review")).status_code == 403
        async with tenant_transaction(scored.tenant):
            await service.change_status(aid, "close")
        assert (await reader.get(path)).status_code == 200
        assert (await admin.get(path)).status_code == 200


async def test_other_tenants_ids_are_unknown(server: LiveServer, make_tenant) -> None:
    scored = await scored_world(make_tenant, status="in_review")
    other = await make_tenant("oth")
    async with tenant_transaction(other):
        from scalemark.org import service as org_service
        from scalemark.org.rules import UnitData

        await org_service.create_unit(UnitData("HQ", "Other HQ", "hq"), None)
    stranger_org = Organisation(tenant=other)
    credentials = await person(stranger_org, "admin", "hq_admin", "HQ")
    aid, de = scored.assessment_id, scored.units["DE"]
    async with WebClient(server, stranger_org.slug) as client:
        await client.signed_in(credentials)
        for path in (
            f"/assessments/{aid}/results",
            f"/assessments/{aid}/results?unit={de}",
            f"/assessments/{aid}/review",
            f"/assessments/{aid}/review/{de}",
            f"/api/v1/assessments/{aid}/results",
            f"/api/v1/assessments/{aid}/review/{de}",
        ):
            assert (await client.get(path)).status_code == 404, path
    user = await get_user_by_email(credentials.email)
    assert user is not None
    _, secret = await create_token(other.id, user.id, "isolation")  # type: ignore[attr-defined]
    async with server.client(
        stranger_org.slug, headers={"authorization": f"Bearer {secret}"}
    ) as api:
        put = await api.put(
            f"/api/v1/assessments/{aid}/validations/{de}/gov_standards",
            json={"choice": "level", "level": 3, "rationale": "x"},
        )
        assert put.status_code == 404
        assert (await api.get(f"/api/v1/assessments/{aid}/results")).status_code == 404
