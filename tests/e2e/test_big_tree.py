"""A big organisation in a real browser: the unit editor loads deeper units on demand and
finds deep units by search; the rollout board shows a page of cards per stage and "Show N
more". With htmx, by keyboard, and as plain links without JavaScript; axe on the
htmx states.

Tree: ``HQ → DACH → DE`` and ``HQ → WEST → FR``, then 60 business units below DE (each
with two teams) and 20 teams below FR: 205 units, all in rollout stage 1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from playwright.async_api import Page, expect

from scalemark.db import tenant_transaction
from support.axe import assert_accessible
from support.identity import Organisation, organisation, person
from support.pages import LoginPage
from support.server import LiveServer

pytestmark = pytest.mark.timeout(240)

EDITOR_ROWS = "[data-testid^='manage-row-']"
COLUMN_1_CARDS = "[data-testid='column-1'] .board__card"


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    from scalemark.org import service
    from scalemark.org.rules import UnitData

    async with organisation(db_pool, prefix="bigt") as created:
        async with tenant_transaction(created.tenant):
            for i in range(60):
                code = f"DE-B{i:02d}"
                await service.create_unit(
                    UnitData(code, f"Germany unit {i:02d}", "business_unit"), "DE"
                )
                for t in (1, 2):
                    await service.create_unit(
                        UnitData(f"{code}-T{t}", f"Germany team {i:02d}.{t}", "team"), code
                    )
            for i in range(20):
                await service.create_unit(
                    UnitData(f"FR-T{i:02d}", f"France team {i:02d}", "team"), "FR"
                )
        yield created


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


async def press_enter(page: Page, testid: str, answered: str) -> None:
    """Keyboard only: focus a control, press Enter, wait for the answer (URL has ``answered``)."""
    await page.get_by_test_id(testid).focus()
    async with page.expect_response(lambda r: answered in r.url):
        await page.keyboard.press("Enter")


async def test_editor_opens_deeper_units_and_finds_deep_ones(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, org: Organisation
) -> None:
    admin = await person(org, "big-admin", "hq_admin", "HQ")
    page = await make_page()
    errors = watch_errors(page)
    await LoginPage(page, live_server, org.slug).sign_in(admin, "/units/manage")
    rows = page.locator(EDITOR_ROWS)
    await expect(rows).to_have_count(5)  # HQ, DACH, DE, WEST, FR: the rest waits
    await expect(page.get_by_test_id("open-DE")).to_have_text("Show its 60 sub-units — Germany")
    await assert_accessible(page)

    # By keyboard: DE's units come in below it and the first one takes the focus.
    await press_enter(page, "open-DE", "/children")
    await expect(rows).to_have_count(65)
    await expect(page.get_by_test_id("edit-DE-B00")).to_be_focused()
    await expect(page.get_by_test_id("open-DE")).to_have_count(0)
    assert page.url.endswith("/units/manage")  # loading rows is not a new page
    await page.get_by_test_id("open-DE-B07").click()
    await expect(page.get_by_test_id("manage-row-DE-B07-T2")).to_be_visible()
    await assert_accessible(page)

    # Edit a deep unit: after saving, its row is still there with the new name.
    async with page.expect_response(lambda r: "/units/manage/" in r.url):
        await page.get_by_test_id("edit-DE-B07-T2").click()
    await page.get_by_test_id("edit-name").fill("Berlin squad")
    async with page.expect_response(lambda r: r.request.method == "POST"):
        await page.get_by_test_id("edit-submit").click()
    await expect(page.get_by_test_id("editor-message")).to_have_text("The changes are saved.")
    await expect(page.get_by_test_id("manage-row-DE-B07-T2")).to_contain_text("Berlin squad")
    await expect(page.get_by_test_id("manage-row-DE-B07-T2")).to_have_attribute(
        "aria-current", "true"
    )

    # Search finds units at any depth; the panel stays as it is.
    await page.get_by_test_id("unit-search-input").fill("team 33.2")
    async with page.expect_response(lambda r: "q=team" in r.url):
        await page.get_by_test_id("unit-search-input").press("Enter")
    await expect(page.get_by_test_id("unit-search-status")).to_have_text(
        "1 unit matches “team 33.2”. Show the tree again"
    )
    await expect(rows).to_have_count(1)
    await expect(page.get_by_test_id("path-DE-B33-T2")).to_have_text(
        "Test HQ › Region DACH › Germany › Germany unit 33"
    )
    await expect(page.get_by_test_id("unit-search-input")).to_be_focused()
    await expect(page.get_by_test_id("edit-name")).to_have_value("Berlin squad")
    await assert_accessible(page)
    await page.get_by_test_id("unit-search-clear").click()
    await expect(rows).to_have_count(5)

    # The view that starts at a unit (where the link leads without JavaScript).
    await page.goto(live_server.url(org.slug, f"/units/manage?unit={org.unit_id('DE')}"))
    await expect(page.get_by_test_id("units-focus")).to_be_visible()
    await assert_accessible(page)
    assert errors == [], errors


async def test_board_shows_more_cards_on_demand(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, org: Organisation
) -> None:
    admin = await person(org, "big-board", "hq_admin", "HQ")
    page = await make_page()
    errors = watch_errors(page)
    await LoginPage(page, live_server, org.slug).sign_in(admin, "/rollout")
    cards = page.locator(COLUMN_1_CARDS)
    await expect(cards).to_have_count(40)
    await expect(page.get_by_test_id("count-1")).to_contain_text("205")
    await expect(page.get_by_test_id("more-1")).to_contain_text("40 of 205 shown")
    await assert_accessible(page)

    # By keyboard: 40 more cards, the first new one's action takes the focus.
    await press_enter(page, "more-link-1", "page=2")
    await expect(cards).to_have_count(80)
    await expect(page.get_by_test_id("move-DE-B12-T1")).to_be_focused()
    await expect(page.get_by_test_id("more-1")).to_contain_text("80 of 205 shown")
    await expect(page.get_by_test_id("count-1")).to_contain_text("205")
    await assert_accessible(page)

    # The filter and paging together: teams only, then one more page of them.
    await page.get_by_test_id("filter-kind").select_option("team")
    async with page.expect_response(lambda r: "kind=team" in r.url):
        await page.get_by_test_id("filter-submit").click()
    await expect(page.get_by_test_id("count-1")).to_contain_text("140")
    await expect(cards).to_have_count(40)
    async with page.expect_response(lambda r: "kind=team" in r.url and "page=2" in r.url):
        await page.get_by_test_id("more-link-1").click()
    await expect(cards).to_have_count(80)
    await expect(page.locator(f"{COLUMN_1_CARDS} .badge--business_unit")).to_have_count(0)

    # A card that came with "Show more" opens its move form in place.
    await page.get_by_test_id("move-DE-B30-T1").click()
    await expect(page.get_by_test_id("move-form-DE-B30-T1")).to_be_visible()
    assert errors == [], errors


async def test_both_pages_work_without_javascript(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, org: Organisation
) -> None:
    admin = await person(org, "big-nojs", "hq_admin", "HQ")
    page = await make_page(java_script_enabled=False)
    await LoginPage(page, live_server, org.slug).sign_in(admin, "/units/manage")
    async with page.expect_navigation():
        await page.get_by_test_id("open-DE").click()
    assert page.url.endswith(f"/units/manage?unit={org.unit_id('DE')}")
    await expect(page.get_by_test_id("units-focus")).to_contain_text(
        "Showing Germany and the units below it."
    )
    await expect(page.locator(EDITOR_ROWS)).to_have_count(61)
    async with page.expect_navigation():
        await page.get_by_test_id("units-up").click()
    await expect(page.get_by_test_id("units-focus")).to_contain_text("Region DACH")
    await page.get_by_test_id("unit-search-input").fill("fr-t1")
    async with page.expect_navigation():
        await page.get_by_test_id("unit-search-submit").click()
    await expect(page.locator(EDITOR_ROWS)).to_have_count(10)

    await page.goto(live_server.url(org.slug, "/rollout"))
    async with page.expect_navigation():
        await page.get_by_test_id("more-link-1").click()
    assert "stage=1&page=2" in page.url
    await expect(page.locator(COLUMN_1_CARDS)).to_have_count(80)
    await expect(page.get_by_test_id("more-1")).to_contain_text("80 of 205 shown")
