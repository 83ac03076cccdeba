"""The organisation home in a real browser: unit tree, languages, phones, error pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from playwright.async_api import Page, expect

from scalemark.db import TenantRef
from support.accounts import Credentials
from support.axe import assert_accessible
from support.browser import PHONE
from support.pages import LandingPage, LoginPage, TenantHomePage
from support.server import LiveServer


async def test_anonymous_visitor_signs_in_and_lands_on_the_home_page(
    page: Page, live_server: LiveServer, demo_tenant: TenantRef, demo_admin: Credentials
) -> None:
    response = await page.goto(live_server.url(demo_tenant.slug, "/"))
    assert response is not None and response.status == 200
    assert urlsplit(page.url).path == "/login"
    login = LoginPage(page, live_server, demo_tenant.slug)
    await expect(login.form).to_be_visible()
    await expect(page.get_by_test_id("org-name")).to_have_count(0)
    await assert_accessible(page)

    await login.sign_in(demo_admin)
    assert page.url == live_server.url(demo_tenant.slug, "/")
    await expect(TenantHomePage(page, live_server).org_name).to_have_text("Nordlicht Group")


async def test_wrong_password_shows_the_form_again_with_an_error(
    page: Page, live_server: LiveServer, demo_tenant: TenantRef, demo_admin: Credentials
) -> None:
    login = LoginPage(page, live_server, demo_tenant.slug)
    await login.open()
    response = await login.submit(Credentials(demo_admin.email, "not-the-password"))
    assert response is not None and response.status == 422
    assert (await response.header_value("content-type") or "").startswith("text/html")
    await expect(login.error).to_be_visible()
    await expect(page.get_by_test_id("login-email")).to_have_value(demo_admin.email)
    await assert_accessible(page)


async def test_unit_tree_expands_and_collapses(
    page: Page, live_server: LiveServer, demo_tenant: TenantRef, demo_admin: Credentials
) -> None:
    await LoginPage(page, live_server, demo_tenant.slug).sign_in(demo_admin)
    home = TenantHomePage(page, live_server, demo_tenant.slug)
    await home.goto()
    await expect(home.org_name).to_have_text("Nordlicht Group")
    await expect(page).to_have_title("Nordlicht Group — Scalemark")
    # HQ is open; its regions are there, the countries not yet loaded.
    for region in ("DACH", "WEST", "SOUTH"):
        await expect(home.unit(region)).to_be_visible()
    await expect(home.unit("DE")).to_have_count(0)
    await assert_accessible(page)

    await home.expand("DACH", expect_children=["DE", "AT", "CH"])
    await home.expand("DE", expect_children=["DE-RETAIL", "DE-B2B"])
    await expect(home.unit("DE-RETAIL")).to_contain_text("Deutschland Retail")
    await expect(home.children("DE")).to_have_count(2)
    await assert_accessible(page)

    await home.collapse("DE")
    await expect(home.unit("DE-RETAIL")).to_be_hidden()
    await expect(home.unit("DE-B2B")).to_be_hidden()
    await expect(home.unit("DE")).to_be_visible()

    # Opening again shows the loaded children without another request.
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/units/" in r.url else None)
    await home.expand("DE", expect_children=["DE-RETAIL", "DE-B2B"])
    assert requests == []


async def test_language_switch_to_german_then_french(
    page: Page,
    live_server: LiveServer,
    demo_tenant: TenantRef,
    make_demo_member: Callable[..., Awaitable[Credentials]],
) -> None:
    # A fresh account: the chosen language is saved with the user.
    await LoginPage(page, live_server, demo_tenant.slug).sign_in(await make_demo_member())
    home = TenantHomePage(page, live_server, demo_tenant.slug)
    await home.goto()
    assert await home.document_language() == "en"
    await expect(home.language_switcher.get_by_text("Language", exact=True)).to_be_visible()

    await home.switch_language("de")
    assert page.url == live_server.url(demo_tenant.slug, "/")
    await expect(home.language_switcher.get_by_text("Sprache", exact=True)).to_be_visible()
    await expect(page.get_by_test_id("locale-select")).to_have_value("de")
    await expect(home.org_name).to_have_text("Nordlicht Group")
    await assert_accessible(page)

    await home.switch_language("fr")
    await expect(home.language_switcher.get_by_text("Langue", exact=True)).to_be_visible()
    await expect(page.get_by_test_id("locale-select")).to_have_value("fr")
    await assert_accessible(page)

    # The choice sticks for the visitor.
    await home.goto()
    assert await home.document_language() == "fr"


async def test_phone_layout_has_no_horizontal_overflow(
    make_page: Callable[..., Awaitable[Page]],
    live_server: LiveServer,
    demo_tenant: TenantRef,
    demo_admin: Credentials,
) -> None:
    page = await make_page(**PHONE)
    await LoginPage(page, live_server, demo_tenant.slug).sign_in(demo_admin)
    home = TenantHomePage(page, live_server, demo_tenant.slug)
    await home.goto()
    await expect(home.org_name).to_be_visible()
    assert not await home.has_horizontal_overflow(), await _widths(page)
    await assert_accessible(page)

    # The deepest branch open: still no sideways scrolling.
    await home.expand("DACH", expect_children=["DE"])
    await home.expand("DE", expect_children=["DE-RETAIL", "DE-B2B"])
    assert not await home.has_horizontal_overflow(), await _widths(page)
    await assert_accessible(page)


async def test_platform_landing_page_is_accessible(page: Page, live_server: LiveServer) -> None:
    landing = LandingPage(page, live_server)
    await landing.goto()
    await expect(landing.hero).to_be_visible()
    await expect(page.get_by_test_id("org-name")).to_have_count(0)
    await assert_accessible(page)


async def test_unknown_tenant_shows_friendly_404(page: Page, live_server: LiveServer) -> None:
    response = await page.goto(live_server.url("no-such-org", "/"))
    assert response is not None and response.status == 404
    error = page.get_by_test_id("error-page")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-status", "404")
    await expect(error).to_contain_text("no-such-org")
    await expect(page.get_by_test_id("org-name")).to_have_count(0)
    await assert_accessible(page)

    # The way out leads to the platform site on the same port.
    async with page.expect_navigation():
        await error.get_by_role("link").click()
    assert page.url == live_server.url(None, "/")
    await expect(page.get_by_test_id("landing")).to_be_visible()


async def _widths(page: Page) -> str:
    """Which elements stick out to the right (for the failure message)."""
    return await page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > width + 0.5)
            .slice(0, 8)
            .map((el) => `${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''}`
              + ` right=${Math.round(el.getBoundingClientRect().right)}`);
          return `scrollWidth=${document.documentElement.scrollWidth} clientWidth=${width}; `
            + wide.join(', ');
        }"""
    )
