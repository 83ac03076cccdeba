"""Report pages: the request form, idempotent requests, live progress, download, retry.

World: a closed assessment over HQ > EU > DE, FR, IT (``support.assessment_results``).
The worker's steps are played with the service's job functions on the row; one test
runs a real burst worker for a real PDF.
"""

from __future__ import annotations

import os
import re

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from scalemark.db import tenant_transaction
from scalemark.i18n.locale import use_locale
from scalemark.reports import service
from scalemark.reports.presentation import format_size, slugify
from support.assessment_results import ScoredWorld, scored_world
from support.identity import shared_live_server
from support.report_pages import (
    FAKE_PDF,
    client_as,
    fail,
    make_ready,
    move_to,
    report_id_of,
    request_form,
)
from support.server import LiveServer
from support.worker import (
    render_pool_fixture,  # noqa: F401 - the session fixture render_pool
    run_burst_worker,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def world(make_tenant) -> ScoredWorld:
    return await scored_world(make_tenant, prefix="rpg", status="closed")


def steps(html: str) -> dict[str, str]:
    """Step → state of the progress indicator."""
    return dict(re.findall(r'data-step="(\w+)" data-state="(\w+)"', html))


async def test_request_then_the_same_request_returns_the_same_report(
    server: LiveServer, world: ScoredWorld
) -> None:
    aid = world.assessment_id
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        page = await admin.get(f"/assessments/{aid}/reports")
        assert page.status_code == 200, page.text[:500]
        assert 'data-testid="report-form"' in page.text
        assert 'data-testid="no-reports"' in page.text
        # Whole organisation and every unit of the scope; the tenant's language; board first.
        assert re.search(r'<option value="" selected>Whole organisation</option>', page.text)
        assert f'value="{world.units["EU"]}"' in page.text
        assert '<option value="en" lang="en" selected>English</option>' in page.text
        assert 'id="audience-board" name="audience" value="board" checked' in page.text
        assert "<option selected>UTC</option>" in page.text

        first = await admin.post(f"/assessments/{aid}/reports", request_form())
        report_id = report_id_of(first)
        assert first.headers["location"] == f"/reports/{report_id}"
        again = await admin.post(f"/assessments/{aid}/reports", request_form())
        assert again.headers["location"] == f"/reports/{report_id}?existing=1"
        shown = await admin.get(again.headers["location"])
        assert shown.status_code == 200
        assert "This report is up to date — here it is." in shown.text
        assert steps(shown.text) == {
            "queued": "current",
            "collecting": "todo",
            "rendering": "todo",
            "ready": "todo",
        }
        # Another edition is another report; the list of the assessment shows both.
        full = report_id_of(
            await admin.post(f"/assessments/{aid}/reports", request_form(audience="full"))
        )
        assert full != report_id
        listed = await admin.get(f"/assessments/{aid}/reports")
        assert f'data-testid="report-row-{report_id}"' in listed.text
        assert f'data-testid="report-row-{full}"' in listed.text
        # The list of all reports shows the newest first and offers the older ones.
        first_page = await admin.get("/reports?shown=1")
        assert f'data-testid="report-row-{full}"' in first_page.text
        assert f'data-testid="report-row-{report_id}"' not in first_page.text
        assert 'href="/reports?shown=51" data-testid="reports-more"' in first_page.text
        everything = await admin.get("/reports")
        assert f'data-testid="report-row-{report_id}"' in everything.text
        assert 'data-testid="reports-more"' not in everything.text
    async with tenant_transaction(world.tenant):
        rows = await service.list_reports(aid)
    assert {r.id for r in rows} == {report_id, full}
    assert all(r.status == "queued" and r.requested_label.endswith(".example") for r in rows)


async def test_mistakes_come_back_with_the_input_kept(
    server: LiveServer, world: ScoredWorld
) -> None:
    aid = world.assessment_id
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        bad = await admin.post(
            f"/assessments/{aid}/reports",
            request_form(scope="999999", locale="xx", audience="poster", timezone="Mars/Base"),
        )
        assert bad.status_code == 422
        for message in (
            "Choose a unit that is part of the assessment, or the whole organisation.",
            "Choose one of the offered languages.",
            "Choose the board summary or the full report.",
            "Choose a valid time zone.",
        ):
            assert message in bad.text
        assert 'aria-invalid="true"' in bad.text
        # A valid scope unit stays selected next to the other mistakes.
        kept = await admin.post(
            f"/assessments/{aid}/reports",
            request_form(scope=str(world.units["DE"]), timezone="Nowhere"),
        )
        assert kept.status_code == 422
        assert f'<option value="{world.units["DE"]}" selected>' in kept.text
    async with tenant_transaction(world.tenant):
        assert await service.list_reports(aid) == []


async def test_the_status_partial_follows_the_row(server: LiveServer, world: ScoredWorld) -> None:
    aid = world.assessment_id
    async with await client_as(server, world.tenant, "consultant") as runner:
        report_id = report_id_of(
            await runner.post(f"/assessments/{aid}/reports", request_form(locale="en"))
        )
        path = f"/reports/{report_id}/status"
        queued = await runner.get(path, htmx=True)
        assert queued.status_code == 200
        assert 'data-status="queued"' in queued.text
        assert 'hx-trigger="every 1s"' in queued.text
        assert f'hx-get="/reports/{report_id}/status?seen=queued"' in queued.text
        assert 'hx-swap-oob="innerHTML"' in queued.text  # the live message is updated too
        # Nothing changed since the last poll: no content, the poll goes on.
        same = await runner.get(f"{path}?seen=queued", htmx=True)
        assert same.status_code == 204 and same.content == b""
        # Without htmx the status address leads to the page.
        assert (await runner.get(path)).status_code == 303

        await move_to(world.tenant, report_id, "collecting")
        collecting = await runner.get(f"{path}?seen=queued", htmx=True)
        assert collecting.status_code == 200
        assert steps(collecting.text) == {
            "queued": "done",
            "collecting": "current",
            "rendering": "todo",
            "ready": "todo",
        }
        assert 'aria-current="step"' in collecting.text
        assert "Collecting the results, answers and charts…" in collecting.text

        await move_to(world.tenant, report_id, "rendering")
        rendering = await runner.get(f"{path}?seen=collecting", htmx=True)
        assert steps(rendering.text)["rendering"] == "current"
        assert 'hx-trigger="every 1s"' in rendering.text

        pdf = FAKE_PDF + b"0" * (1_250_000 - len(FAKE_PDF))
        async with tenant_transaction(world.tenant):
            await service.mark_rendering(report_id)
            assert await service.store_pdf(report_id, pdf, 18)
        ready = await runner.get(f"{path}?seen=rendering", htmx=True)
        assert set(steps(ready.text).values()) == {"done"}
        assert "hx-trigger" not in ready.text  # polling stops
        assert f'href="/reports/{report_id}/download"' in ready.text
        assert "PDF, 1.2 MB" in ready.text and "18 pages" in ready.text
        assert "Not downloaded yet." in ready.text
        # The share form replaces the waiting note without a reload.
        assert 'id="shares"' in ready.text and 'hx-swap-oob="true"' in ready.text
        assert 'data-testid="share-form"' in ready.text

        page = await runner.get(f"/reports/{report_id}")
        assert 'data-testid="share-form"' in page.text
        assert "The report is ready." in page.text


async def test_a_failed_report_says_why_and_can_be_tried_again(
    server: LiveServer, world: ScoredWorld
) -> None:
    aid = world.assessment_id
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        report_id = report_id_of(await admin.post(f"/assessments/{aid}/reports", request_form()))
        await fail(world.tenant, report_id, "Das Diagramm konnte nicht gezeichnet werden.")
        failed = await admin.get(f"/reports/{report_id}/status?seen=queued", htmx=True)
        assert "Reason: Das Diagramm konnte nicht gezeichnet werden." in failed.text
        assert steps(failed.text)["ready"] == "failed"
        assert "hx-trigger" not in failed.text
        assert 'data-testid="report-retry"' in failed.text
        again = await admin.post(f"/reports/{report_id}/retry")
        new_id = report_id_of(again)
        assert new_id != report_id
        # Retrying a report that did not fail just shows it.
        same = await admin.post(f"/reports/{new_id}/retry")
        assert same.status_code == 303 and same.headers["location"] == f"/reports/{new_id}"
    async with tenant_transaction(world.tenant):
        fresh = await service.get_report(new_id)
    assert fresh is not None and fresh.status == "queued" and fresh.audience == "board"


async def test_download_names_the_file_and_is_logged(
    server: LiveServer, world: ScoredWorld
) -> None:
    aid = world.assessment_id
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        report_id = report_id_of(
            await admin.post(f"/assessments/{aid}/reports", request_form(locale="en"))
        )
        # Not ready yet: the download leads back to the progress page.
        early = await admin.get(f"/reports/{report_id}/download")
        assert early.status_code == 303 and early.headers["location"] == f"/reports/{report_id}"
        await make_ready(world.tenant, report_id)
        got = await admin.get(f"/reports/{report_id}/download")
        assert got.status_code == 200
        assert got.headers["content-type"] == "application/pdf"
        assert got.content == FAKE_PDF
        org = slugify(world.tenant.name)  # type: ignore[attr-defined]
        assert got.headers["content-disposition"] == (
            f'attachment; filename="{org}-scalability-2026-en.pdf"'
        )
        page = await admin.get(f"/reports/{report_id}")
        assert "Downloads: 1, last on" in page.text
        listing = await admin.get("/reports")
        assert listing.status_code == 200
        assert f'data-testid="report-row-{report_id}"' in listing.text
        assert "Scalability 2026" in listing.text
    async with tenant_transaction(world.tenant) as conn:
        rows = await conn.fetch(
            "SELECT share_id, user_id, ip, user_agent FROM report_download WHERE report_id = $1",
            report_id,
        )
    assert len(rows) == 1
    assert rows[0]["share_id"] is None and rows[0]["user_id"] is not None
    assert rows[0]["ip"] == "127.0.0.1" and rows[0]["user_agent"].startswith("python-httpx")


def test_sizes_follow_the_readers_language() -> None:
    with use_locale("de"):
        assert format_size(1_250_000) == "1,2 MB"
        assert format_size(340 * 1024) == "340 KB"
    with use_locale("en"):
        assert format_size(12_500_000) == "11.9 MB"
        assert format_size(None) == ""
    assert slugify("Marketing-Skalierbarkeit 2026: Österreich & Straße") == (
        "marketing-skalierbarkeit-2026-osterreich-strasse"
    )


async def test_a_real_worker_makes_the_pdf_the_page_offers(
    server: LiveServer, world: ScoredWorld, render_pool, db_pool: asyncpg.Pool
) -> None:
    aid = world.assessment_id
    async with db_pool.acquire() as conn:  # the organisation works in English and French
        await conn.execute(
            "UPDATE scalemark.tenant SET locales = '{en,fr}' WHERE slug = $1",
            world.tenant.slug,  # type: ignore[attr-defined]
        )
    # Jobs of earlier tests (their tenants are gone) would only slow the burst down.
    redis = Redis.from_url(os.environ["REDIS_URL"])
    await redis.flushdb()
    await redis.aclose()
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        report_id = report_id_of(
            await admin.post(
                f"/assessments/{aid}/reports",
                request_form(scope=str(world.units["EU"]), locale="fr", audience="full"),
            )
        )
        await run_burst_worker(ctx={"report_renderer": render_pool})
        ready = await admin.get(f"/reports/{report_id}/status?seen=queued", htmx=True)
        assert 'data-status="ready"' in ready.text, ready.text[:2000]
        got = await admin.get(f"/reports/{report_id}/download")
        assert got.status_code == 200 and got.content.startswith(b"%PDF")
        assert got.headers["content-disposition"].endswith('-scalability-2026-fr.pdf"')


async def test_redis_down_at_request_time_keeps_the_report_queued(
    world: ScoredWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job service does not answer: the row is stored and the page says so (no 500)."""
    from scalemark.app import create_app
    from scalemark.settings import get_settings
    from support.identity import Organisation, person

    async def down(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("job service down (test)")

    monkeypatch.setattr(service, "create_pool", down)
    app = create_app()
    # The database pool is this process's (``app_db``); only the Redis client is missing.
    app.state.redis = Redis.from_url(get_settings().redis_url)  # type: ignore[attr-defined]
    app.state.arq = None  # type: ignore[attr-defined]
    org = Organisation(tenant=world.tenant)
    credentials = await person(org, "admin", "hq_admin")
    host = f"{org.slug}.localhost"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=f"http://{host}", timeout=30
    ) as client:
        await client.get("/login")
        csrf = client.cookies["sm_csrf"]
        signed = await client.post(
            "/login",
            data={
                "email": credentials.email,
                "password": credentials.password,
                "_csrf_token": csrf,
            },
        )
        assert signed.status_code == 303, signed.text[:300]
        response = await client.post(
            f"/assessments/{world.assessment_id}/reports",
            data={**request_form(), "_csrf_token": client.cookies["sm_csrf"]},
        )
        report_id = report_id_of(response)
        assert response.headers["location"] == f"/reports/{report_id}?offline=1"
        page = await client.get(response.headers["location"])
        assert page.status_code == 200
        assert "The report is saved and will start as soon as the job service is back." in page.text
        # The poll keeps the explanation while the row waits.
        assert f"/reports/{report_id}/status?seen=queued&amp;offline=1" in page.text
    await app.state.redis.aclose()  # type: ignore[attr-defined]
    async with tenant_transaction(world.tenant):
        stored = await service.get_report(report_id)
    assert stored is not None and stored.status == "queued"
