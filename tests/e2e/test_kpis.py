"""The KPI framework in a real browser: HQ defines a KPI in three languages and sets the
central target; a unit lead overrides it within the bounds and gets a message in their
language outside them. axe checks every page on the way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import asyncpg
import pytest
from playwright.async_api import Page, expect

from scalemark.governance.kpi_rules import format_kpi_value
from scalemark.governance.targets import Bounds, check_override
from scalemark.i18n import use_locale
from scalemark.tenancy.resolver import forget_tenant
from support.axe import assert_accessible
from support.identity import Organisation, organisation, person
from support.pages import BasePage, LoginPage
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    """A fresh organisation working in German, English and French (German first)."""
    async with organisation(db_pool, prefix="kpe") as created:
        await db_pool.execute(
            "UPDATE scalemark.tenant SET default_locale = 'de', locales = $2 WHERE slug = $1",
            created.slug,
            ["de", "en", "fr"],
        )
        forget_tenant(created.slug)
        yield created


async def _save_target(page: Page, code: str, value: str) -> None:
    await page.get_by_test_id(f"target-input-{code}").fill(value)
    async with page.expect_response(lambda r: r.request.method == "POST"):
        await page.get_by_test_id(f"target-save-{code}").click()


async def test_hq_defines_a_kpi_and_a_unit_lead_overrides_its_target(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, org: Organisation
) -> None:
    admin = await person(org, "kpi-admin", "hq_admin", "HQ")
    lead = await person(org, "kpi-lead", "unit_lead", "DE")

    # --- HQ admin, in English -------------------------------------------------------------
    page = await make_page()
    await LoginPage(page, live_server, org.slug).sign_in(admin)
    await BasePage(page, live_server, org.slug).switch_language("en")
    await page.get_by_test_id("nav-kpis").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("KPI framework")
    await assert_accessible(page)

    await page.get_by_test_id("kpi-new").click()
    await expect(page.get_by_test_id("kpi-form")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_test_id("kpi-key-input").fill("cost_per_lead")
    await page.get_by_test_id("kpi-level-select").select_option("central")
    await page.get_by_test_id("kpi-unit-select").select_option("currency")
    await page.get_by_test_id("kpi-direction-select").select_option("lower")
    await page.get_by_test_id("kpi-owner-select").select_option("hq_admin")
    await page.get_by_test_id("kpi-mandatory").check()
    await page.get_by_test_id("kpi-measurement").fill("Marketing spend ÷ qualified leads, monthly")
    await page.get_by_test_id("kpi-min").fill("0")
    await page.get_by_test_id("kpi-deviation").fill("20")
    await page.get_by_test_id("kpi-name-en").fill("Cost per lead")
    await page.get_by_test_id("kpi-name-de").fill("Kosten pro Lead")
    # French forgotten first: the form comes back with a message, input kept.
    await page.get_by_test_id("kpi-save").click()
    await expect(page.get_by_test_id("kpi-error-name-fr")).to_be_visible()
    await expect(page.get_by_test_id("kpi-name-de")).to_have_value("Kosten pro Lead")
    await assert_accessible(page)
    await page.get_by_test_id("kpi-name-fr").fill("Coût par lead")
    await page.get_by_test_id("kpi-description-fr").fill("Dépenses par lead qualifié")
    async with page.expect_navigation():
        await page.get_by_test_id("kpi-save").click()
    await expect(page.get_by_test_id("kpi-message")).to_be_visible()
    await expect(page.get_by_test_id("kpi-heading")).to_have_text("Cost per lead")
    await assert_accessible(page)

    await page.get_by_test_id("kpi-open-targets").click()
    await expect(page.get_by_test_id("targets-table")).to_be_visible()
    await _save_target(page, "HQ", "25")
    await expect(page.get_by_test_id("target-saved-HQ")).to_be_visible()
    await expect(page.get_by_test_id("target-value-HQ")).to_contain_text("€25.00")
    # Every unit below shows the inherited value at once, greyed, with its source.
    await expect(page.get_by_test_id("target-inherited-DE")).to_contain_text(
        "€25.00, inherited from Test HQ"
    )
    await expect(page.get_by_test_id("targets-central")).to_have_text("€25.00")
    await expect(page.get_by_test_id("targets-chart").locator("svg")).to_be_visible()
    await assert_accessible(page)
    targets_url = page.url

    # --- Unit lead of Germany, in German --------------------------------------------------
    lead_page = await make_page(locale="de-DE")
    await LoginPage(lead_page, live_server, org.slug).sign_in(lead)
    await BasePage(lead_page, live_server, org.slug).switch_language("de")
    await lead_page.get_by_test_id("nav-kpis").click()
    await expect(lead_page.get_by_test_id("kpi-link-cost_per_lead")).to_have_text("Kosten pro Lead")
    await assert_accessible(lead_page)
    await lead_page.goto(targets_url)
    # Only Germany's branch; the HQ's rows are not there.
    await expect(lead_page.get_by_test_id("target-row-DE")).to_be_visible()
    await expect(lead_page.get_by_test_id("target-row-HQ")).to_have_count(0)
    await expect(lead_page.get_by_test_id("target-row-FR")).to_have_count(0)
    await assert_accessible(lead_page)

    await _save_target(lead_page, "DE", "27,5")
    await expect(lead_page.get_by_test_id("target-saved-DE")).to_be_visible()
    await expect(lead_page.get_by_test_id("target-value-DE")).to_contain_text("27,50")

    await _save_target(lead_page, "DE", "40")
    error = lead_page.get_by_test_id("target-error-DE")
    await expect(error).to_be_visible()
    with use_locale("de"):
        expected = check_override(
            Decimal(25),
            Decimal(40),
            Bounds(min_value=Decimal(0), max_deviation_pct=Decimal(20)),
            lambda v: format_kpi_value(v, "currency", "EUR"),
        )
    assert expected is not None and "30,00" in expected
    await expect(error).to_have_text(expected)
    await expect(lead_page.get_by_test_id("target-input-DE")).to_have_value("40")
    await expect(lead_page.get_by_test_id("target-input-DE")).to_have_attribute(
        "aria-invalid", "true"
    )
    await assert_accessible(lead_page)

    # The refused value was not stored.
    await lead_page.reload()
    await expect(lead_page.get_by_test_id("target-value-DE")).to_contain_text("27,50")
