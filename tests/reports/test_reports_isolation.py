"""Who reaches which report: runners, other members, people it is shared with, strangers.

World: a closed assessment over HQ > EU > DE, FR, IT with a ready report (stand-in PDF).
"""

from __future__ import annotations

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.identity.tokens import create_token
from scalemark.identity.users import get_user_by_email
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData
from support.assessment_results import ScoredWorld, scored_world
from support.identity import Organisation, WebClient, person, shared_live_server
from support.report_pages import FAKE_PDF, client_as, make_ready, report_id_of, request_form
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def world(make_tenant) -> ScoredWorld:
    return await scored_world(make_tenant, prefix="rsi", status="closed")


async def ready_report(server: LiveServer, world: ScoredWorld) -> int:
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        report_id = report_id_of(
            await admin.post(f"/assessments/{world.assessment_id}/reports", request_form())
        )
    await make_ready(world.tenant, report_id)
    return report_id


async def bearer(tenant: object, email: str) -> str:
    """An API token of the account with this e-mail in ``tenant``."""
    user = await get_user_by_email(email)
    assert user is not None
    _, secret = await create_token(tenant.id, user.id, "reports")  # type: ignore[attr-defined]
    return secret


def report_paths(aid: int, report_id: int) -> list[tuple[str, str]]:
    """Every report page and action (method, path)."""
    return [
        ("GET", f"/assessments/{aid}/reports"),
        ("POST", f"/assessments/{aid}/reports"),
        ("GET", f"/reports/{report_id}"),
        ("GET", f"/reports/{report_id}/status"),
        ("GET", f"/reports/{report_id}/download"),
        ("POST", f"/reports/{report_id}/retry"),
        ("POST", f"/reports/{report_id}/shares"),
        ("POST", f"/reports/{report_id}/shares/1/revoke"),
        ("GET", f"/api/v1/reports/{report_id}"),
        ("GET", f"/api/v1/reports/{report_id}/file"),
    ]


async def call(client: WebClient, method: str, path: str) -> int:
    if method == "GET":
        return (await client.get(path, htmx=path.endswith("/status"))).status_code
    if path.startswith("/api/"):
        return (await client.http.post(path, json={})).status_code
    return (await client.post(path, {**request_form(), "emails": "x@example.com"})).status_code


async def test_members_without_run_assessments_are_refused(
    server: LiveServer, world: ScoredWorld
) -> None:
    report_id = await ready_report(server, world)
    aid = world.assessment_id
    for role, unit in (("contributor", "DE"), ("unit_lead", "EU"), ("stakeholder", "HQ")):
        async with await client_as(server, world.tenant, role, unit) as member:
            for method, path in report_paths(aid, report_id):
                assert await call(member, method, path) == 403, (role, method, path)
            secret = await bearer(world.tenant, member.email)  # type: ignore[attr-defined]
            api = await member.http.post(
                f"/api/v1/assessments/{aid}/reports",
                json={},
                headers={"authorization": f"Bearer {secret}"},
            )
            assert api.status_code == 403, role
            # The list is open to them, without the organisation's reports.
            listing = await member.get("/reports")
            assert listing.status_code == 200
            assert f'data-testid="report-row-{report_id}"' not in listing.text
            assert 'data-testid="nothing-shared"' in listing.text
            assert (await member.get("/api/v1/reports")).json() == []
    async with tenant_transaction(world.tenant) as conn:
        assert await conn.fetchval("SELECT count(*) FROM report") == 1
        assert await conn.fetchval("SELECT count(*) FROM report_download") == 0


async def test_a_draft_is_unknown_to_non_runners(server: LiveServer, make_tenant) -> None:
    draft = await scored_world(make_tenant, prefix="rsd", status="draft")
    aid = draft.assessment_id
    async with await client_as(server, draft.tenant, "contributor", "DE") as member:
        assert (await member.get(f"/assessments/{aid}/reports")).status_code == 404
    async with await client_as(server, draft.tenant, "hq_admin") as admin:
        page = await admin.get(f"/assessments/{aid}/reports")
        assert page.status_code == 200 and 'data-testid="report-draft"' in page.text
        refused = await admin.post(f"/assessments/{aid}/reports", request_form())
        assert refused.status_code == 422
        assert "A report can be made once the assessment has been opened." in refused.text


async def test_other_tenants_ids_are_unknown(
    server: LiveServer, world: ScoredWorld, make_tenant
) -> None:
    report_id = await ready_report(server, world)
    other = await make_tenant("rsx")
    async with tenant_transaction(other):
        await org_service.create_unit(UnitData("HQ", "Other HQ", "hq"), None)
    stranger = Organisation(tenant=other)
    credentials = await person(stranger, "admin", "hq_admin", "HQ")
    async with WebClient(server, stranger.slug) as client:
        await client.signed_in(credentials)
        for method, path in report_paths(world.assessment_id, report_id):
            assert await call(client, method, path) == 404, (method, path)
        secret = await bearer(other, credentials.email)
        api = await client.http.post(
            f"/api/v1/assessments/{world.assessment_id}/reports",
            json={},
            headers={"authorization": f"Bearer {secret}"},
        )
        assert api.status_code == 404
        assert (await client.get("/api/v1/reports")).json() == []
        listing = await client.get("/reports")
        assert f'data-testid="report-row-{report_id}"' not in listing.text


async def test_a_stakeholder_it_is_shared_with_downloads_it_until_revoked(
    server: LiveServer, world: ScoredWorld
) -> None:
    report_id = await ready_report(server, world)
    org = Organisation(tenant=world.tenant)
    reader = await person(org, "reader", "stakeholder", "FR")
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        assert (
            await admin.post(f"/reports/{report_id}/shares", {"emails": reader.email.upper()})
        ).status_code == 303
        async with tenant_transaction(world.tenant) as conn:
            share_id = await conn.fetchval("SELECT id FROM report_share")
        async with WebClient(server, org.slug) as client:
            await client.signed_in(reader)
            listing = await client.get("/reports")
            assert f'data-testid="shared-report-{report_id}"' in listing.text
            assert 'data-testid="nav-reports"' in listing.text
            got = await client.get(f"/reports/{report_id}/download")
            assert got.status_code == 200 and got.content == FAKE_PDF
            # Only the download: the management page stays for runners.
            assert (await client.get(f"/reports/{report_id}")).status_code == 403
            status = await client.get(f"/api/v1/reports/{report_id}")
            assert status.status_code == 200 and status.json()["status"] == "ready"
            assert (await client.get(f"/api/v1/reports/{report_id}/file")).status_code == 200
            assert [r["id"] for r in (await client.get("/api/v1/reports")).json()] == [report_id]
            await admin.post(f"/reports/{report_id}/shares/{share_id}/revoke")
            assert (await client.get(f"/reports/{report_id}/download")).status_code == 403
            assert (await client.get(f"/api/v1/reports/{report_id}/file")).status_code == 403
            listing = await client.get("/reports")
            assert f'data-testid="shared-report-{report_id}"' not in listing.text
    user = await get_user_by_email(reader.email)
    assert user is not None
    async with tenant_transaction(world.tenant) as conn:
        log = await conn.fetch("SELECT share_id, user_id FROM report_download ORDER BY id")
    assert [(r["share_id"], r["user_id"]) for r in log] == [(None, user.id), (None, user.id)]


async def test_the_api_requests_and_serves_reports(server: LiveServer, world: ScoredWorld) -> None:
    org = Organisation(tenant=world.tenant)
    admin = await person(org, "api", "hq_admin")
    secret = await bearer(world.tenant, admin.email)
    aid = world.assessment_id
    headers = {"authorization": f"Bearer {secret}"}
    async with server.client(org.slug, headers=headers) as api:
        made = await api.post(
            f"/api/v1/assessments/{aid}/reports", json={"audience": "full", "locale": "en"}
        )
        assert made.status_code == 202, made.text
        body = made.json()
        assert body["created"] is True and body["enqueued"] is True
        report = body["report"]
        assert report["status"] == "queued" and report["audience"] == "full"
        assert made.headers["location"] == report["status_url"] == f"/api/v1/reports/{report['id']}"
        again = await api.post(
            f"/api/v1/assessments/{aid}/reports", json={"audience": "full", "locale": "en"}
        )
        assert again.status_code == 202 and again.json()["created"] is False
        assert again.json()["report"]["id"] == report["id"]
        early = await api.get(f"/api/v1/reports/{report['id']}/file")
        assert early.status_code == 409 and "queued" in early.json()["detail"]
        await make_ready(world.tenant, report["id"])
        ready = await api.get(report["status_url"])
        assert ready.json()["status"] == "ready"
        assert ready.json()["file_url"] == f"/api/v1/reports/{report['id']}/file"
        pdf = await api.get(ready.json()["file_url"])
        assert pdf.status_code == 200 and pdf.content == FAKE_PDF
        assert pdf.headers["content-disposition"].endswith('-scalability-2026-en.pdf"')
        unchanged = await api.post(
            f"/api/v1/assessments/{aid}/reports", json={"audience": "full", "locale": "en"}
        )
        assert unchanged.status_code == 200 and unchanged.json()["report"]["id"] == report["id"]
        listed = await api.get("/api/v1/reports")
        assert [r["id"] for r in listed.json()] == [report["id"]]
        for bad, field in (
            ({"locale": "xx"}, "locale"),
            ({"timezone": "Mars/Base"}, "timezone"),
            ({"scope_unit_id": 999999}, "scope"),
        ):
            refused = await api.post(f"/api/v1/assessments/{aid}/reports", json=bad)
            assert refused.status_code == 400 and refused.json()["field"] == field, refused.text
        assert (await api.post("/api/v1/assessments/999999/reports", json={})).status_code == 404
        assert (await api.get("/api/v1/reports/999999")).status_code == 404
        schema = await api.get("/api/v1/schema/openapi.json")
        paths = schema.json()["paths"]
        assert "/api/v1/assessments/{assessment_id}/reports" in paths
        assert "/api/v1/reports/{report_id}/file" in paths
