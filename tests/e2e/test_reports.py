"""PDF reports in a real browser, with a real arq worker in its own process.

A consultant asks for a German report of the assessment (the interface stays English),
watches the progress reach "ready", downloads the PDF (its text is German and carries the
title), shares it by e-mail, and a stakeholder without an account opens the link. axe
checks the request page, the status page, the reports list, the share landing page and
the branding page; screenshots at desktop and phone width go to ``artifacts/``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Page, expect

from scalemark.db import tenant_transaction
from scalemark.i18n import gettext
from scalemark.i18n.locale import use_locale
from scalemark.reports import service
from support import ARTIFACTS_DIR
from support.assessment_results import consultant
from support.axe import assert_accessible
from support.browser import PHONE
from support.pages import LoginPage
from support.report_pages import outbox, token_of
from support.report_world import report_world
from support.server import LiveServer
from support.worker import WorkerProcess

pytestmark = pytest.mark.timeout(300)

TITLE = "Marketing-Skalierbarkeit 2026"


@pytest.fixture
async def worker(live_server: LiveServer) -> AsyncIterator[WorkerProcess]:
    """``arq scalemark.worker.WorkerSettings`` on the live server's database and Redis."""
    process = WorkerProcess()
    yield process
    if not process.alive():
        print(process.log_tail())
    process.stop()


def pdf_text(path: Path) -> str:
    """The PDF's text (poppler), whitespace collapsed."""
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    return re.sub(r"\s+", " ", text)


async def shoot(page: Page, name: str) -> None:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS_DIR / f"reports-{name}.png"), full_page=True)


async def no_sideways_scrolling(page: Page) -> None:
    wide = await page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert not wide, f"{page.url} scrolls sideways"


async def test_a_german_report_is_made_downloaded_and_shared(
    live_server: LiveServer,
    make_tenant,
    worker: WorkerProcess,
    db_pool: asyncpg.Pool,
    make_page: Callable[..., Awaitable[Page]],
    tmp_path: Path,
) -> None:
    tenant = await make_tenant("e2erep", name="Nordwind Gruppe")
    async with db_pool.acquire() as conn:
        await conn.execute(
            "UPDATE scalemark.tenant SET locales = '{en,de}' WHERE slug = $1", tenant.slug
        )
    async with tenant_transaction(tenant):
        world = await report_world(
            countries_per_region=2, regions=2, previous_cycle=False, kpis=False
        )
    aid = world.assessment.id
    runner = await consultant(tenant)
    base = f"/assessments/{aid}/reports"

    page = await make_page()
    await LoginPage(page, live_server, tenant.slug).sign_in(runner)
    await page.goto(live_server.url(tenant.slug, base))
    await expect(page.get_by_test_id("report-form")).to_be_visible()
    await expect(page.get_by_test_id("report-locale")).to_have_value("en")
    await assert_accessible(page)
    await shoot(page, "request-desktop")

    await page.get_by_test_id("report-locale").select_option("de")
    await page.get_by_test_id("audience-full").check()
    await page.get_by_test_id("report-timezone").select_option("Europe/Berlin")
    async with page.expect_navigation():
        await page.get_by_test_id("report-submit").click()
    assert re.search(r"/reports/\d+$", page.url), page.url
    report_id = int(page.url.rsplit("/", 1)[1])
    await expect(page.get_by_test_id("report-steps")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "status-pending-desktop")

    # The page polls by itself until the worker is done.
    progress = page.get_by_test_id("report-progress")
    await expect(progress).to_have_attribute("data-status", "ready", timeout=120_000)
    await expect(page.get_by_test_id("report-message")).to_have_text("The report is ready.")
    await expect(page.get_by_test_id("share-form")).to_be_visible()  # swapped in by the poll
    facts = page.get_by_test_id("report-file-facts")
    await expect(facts).to_contain_text("PDF, ")
    await expect(facts).to_contain_text("pages")
    await assert_accessible(page)
    await shoot(page, "status-ready-desktop")

    async with page.expect_download() as download_info:
        await page.get_by_test_id("report-download").click()
    download = await download_info.value
    assert download.suggested_filename == "nordwind-gruppe-marketing-skalierbarkeit-2026-de.pdf"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    text = pdf_text(saved)
    with use_locale("de"):
        kicker = gettext("Maturity report")
        scope = gettext("Whole organisation")
    assert scope != "Whole organisation"  # the German catalogue is in use
    assert TITLE in text
    for expected in (kicker, scope, "Nordwind Gruppe"):  # some are set in capitals
        assert expected.casefold() in text.casefold(), expected
    await page.reload()
    await expect(page.get_by_test_id("report-downloads")).to_contain_text("Downloads: 1")

    # Asking again for the same report opens it at once.
    await page.goto(live_server.url(tenant.slug, base))
    await page.get_by_test_id("report-locale").select_option("de")
    await page.get_by_test_id("audience-full").check()
    await page.get_by_test_id("report-timezone").select_option("Europe/Berlin")
    async with page.expect_navigation():
        await page.get_by_test_id("report-submit").click()
    assert page.url.endswith(f"/reports/{report_id}?existing=1")
    await expect(page.get_by_test_id("report-existing")).to_be_visible()

    # Share it with a stakeholder.
    reader = "vorstand@nordwind.example"
    await page.get_by_test_id("share-emails").fill(reader)
    await page.get_by_test_id("share-message").fill("Die Ergebnisse für den Vorstand.")
    async with page.expect_navigation():
        await page.get_by_test_id("share-submit").click()
    await expect(page.get_by_test_id("report-notice")).to_be_visible()
    await expect(page.get_by_test_id("share-list")).to_contain_text(reader)
    await assert_accessible(page)
    await shoot(page, "status-shared-desktop")

    await page.goto(live_server.url(tenant.slug, "/reports"))
    await expect(page.get_by_test_id(f"report-row-{report_id}")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "list-desktop")

    await page.goto(live_server.url(tenant.slug, "/settings/branding"))
    await expect(page.get_by_test_id("colour-form")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "branding-desktop")
    await page.get_by_test_id("accent-colour").fill("#ffcc00")
    async with page.expect_navigation():
        await page.get_by_test_id("colour-submit").click()
    await expect(page.get_by_test_id("accent-error")).to_contain_text("too light")
    await expect(page.get_by_test_id("accent-colour")).to_have_value("#ffcc00")
    await assert_accessible(page)
    await shoot(page, "branding-error-desktop")

    # A report that failed says why and offers to try again.
    async with tenant_transaction(tenant):
        failed, _ = await service.request_report(aid, world.units["DACH"], "en", "UTC", "board")
        await service.fail_report(failed.id, "The charts could not be drawn (test).")
    await page.goto(live_server.url(tenant.slug, f"/reports/{failed.id}"))
    await expect(page.get_by_test_id("report-failed")).to_contain_text("could not be drawn")
    await expect(page.get_by_test_id("report-retry")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "status-failed-desktop")

    token = token_of((await outbox(db_pool, reader))[0]["body_text"])
    visitor = await make_page(locale="de-DE")
    await visitor.goto(live_server.url(tenant.slug, f"/r/{token}"))
    await expect(visitor.get_by_test_id("share-title")).to_have_text(TITLE)
    await expect(visitor.locator("html")).to_have_attribute("lang", "de")
    await assert_accessible(visitor)
    await shoot(visitor, "share-landing-desktop")
    async with visitor.expect_download() as shared_info:
        await visitor.get_by_test_id("share-download").click()
    shared = await shared_info.value
    assert shared.suggested_filename.endswith("-de.pdf")
    async with tenant_transaction(tenant) as conn:
        share_downloads = await conn.fetchval(
            "SELECT count(*) FROM report_download WHERE share_id IS NOT NULL"
        )
    assert share_downloads == 1

    phone = await make_page(**PHONE)
    await LoginPage(phone, live_server, tenant.slug).sign_in(runner)
    for path, name in (
        (base, "request-phone"),
        (f"/reports/{report_id}", "status-ready-phone"),
        ("/reports", "list-phone"),
        ("/settings/branding", "branding-phone"),
    ):
        await phone.goto(live_server.url(tenant.slug, path))
        await no_sideways_scrolling(phone)
        await assert_accessible(phone)
        await shoot(phone, name)
    phone_visitor = await make_page(**PHONE)
    await phone_visitor.goto(live_server.url(tenant.slug, f"/r/{token}"))
    await no_sideways_scrolling(phone_visitor)
    await shoot(phone_visitor, "share-landing-phone")
    await phone_visitor.goto(live_server.url(tenant.slug, "/r/expired-or-unknown-token-000"))
    await shoot(phone_visitor, "share-gone-phone")
