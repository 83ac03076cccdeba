"""The unit tree editor in a real browser: htmx panel, add, edit, move, archive, restore,
validation messages, a unit lead's subtree, axe on every state and a phone-sized screen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from playwright.async_api import Page, expect

from support.axe import assert_accessible
from support.browser import PHONE
from support.identity import Organisation, organisation, person
from support.pages import BasePage, LoginPage
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="ede") as created:
        yield created


class EditorPage(BasePage):
    """``/units/manage``."""

    path = "/units/manage"

    def row(self, code: str):  # type: ignore[no-untyped-def]
        return self.page.get_by_test_id(f"manage-row-{code}")

    @property
    def panel(self):  # type: ignore[no-untyped-def]
        return self.page.get_by_test_id("unit-panel")

    @property
    def message(self):  # type: ignore[no-untyped-def]
        return self.page.get_by_test_id("editor-message")

    async def open_unit(self, code: str, name: str) -> None:
        async with self.page.expect_response(lambda r: "/units/manage/" in r.url):
            await self.page.get_by_test_id(f"edit-{code}").click()
        await expect(self.panel.get_by_role("heading", level=2)).to_contain_text(name)

    async def submit(self, testid: str) -> None:
        async with self.page.expect_response(lambda r: r.request.method == "POST"):
            await self.page.get_by_test_id(testid).click()


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "status of 422" not in m.text and "status of 403" not in m.text
            else None
        ),
    )
    return errors


async def test_hq_admin_edits_the_tree_with_htmx(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, org: Organisation
) -> None:
    admin = await person(org, "editor-admin", "hq_admin", "HQ")
    page = await make_page()
    errors = watch_errors(page)
    await LoginPage(page, live_server, org.slug).sign_in(admin)
    await page.get_by_test_id("nav-manage-units").click()
    editor = EditorPage(page, live_server, org.slug)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Manage units")
    await expect(editor.row("FR")).to_be_visible()
    await assert_accessible(page)

    # Add a country below DACH (htmx: the workspace is swapped, no page load).
    await page.get_by_test_id("add-parent").select_option(str(org.unit_id("DACH")))
    await page.get_by_test_id("add-code").fill("AT")
    await page.get_by_test_id("add-name").fill("Österreich")
    await page.get_by_test_id("add-locale").select_option("de")
    await page.get_by_test_id("add-timezone").fill("Europe/Vienna")
    await editor.submit("add-submit")
    await expect(editor.message).to_contain_text("Österreich is added.")
    await expect(editor.row("AT")).to_be_visible()

    # The same code again: the message sits next to the field, the input stays.
    await page.get_by_test_id("add-code").fill("at")
    await page.get_by_test_id("add-name").fill("Austria again")
    await editor.submit("add-submit")
    await expect(page.get_by_test_id("add-code-error")).to_have_text(
        "Another unit already uses this code."
    )
    await expect(page.get_by_test_id("add-name")).to_have_value("Austria again")
    await expect(page.get_by_test_id("add-code")).to_have_attribute("aria-invalid", "true")
    await assert_accessible(page)

    # Rename France in the panel.
    await editor.open_unit("FR", "France")
    assert page.url.endswith(f"/units/manage/{org.unit_id('FR')}")
    await page.get_by_test_id("edit-name").fill("France métropolitaine")
    await page.get_by_test_id("edit-currency").fill("eur")
    await editor.submit("edit-submit")
    await expect(editor.message).to_have_text("The changes are saved.")
    await expect(editor.row("FR")).to_contain_text("France métropolitaine")
    await expect(page.get_by_test_id("unit-history")).to_contain_text("France métropolitaine")
    await assert_accessible(page)

    # A cycle is refused with a clear message; a real move works.
    await editor.open_unit("DACH", "Region DACH")
    await expect(page.get_by_test_id("move-parent").locator("option")).to_have_count(2)
    await page.get_by_test_id("move-parent").select_option(str(org.unit_id("WEST")))
    await editor.submit("move-submit")
    await expect(editor.message).to_have_text("The unit is moved.")
    await expect(page.get_by_test_id("unit-history")).to_contain_text("HQ → WEST")

    # Archive DE with its sub-units, then bring it back.
    await editor.open_unit("DE", "Germany")
    await editor.submit("archive-submit")
    await expect(editor.message).to_have_text("Germany is archived.")
    await expect(page.get_by_test_id("archived-DE")).to_be_visible()
    await expect(editor.row("DE")).to_have_count(0)
    await assert_accessible(page)
    await editor.submit("restore-submit")
    await expect(editor.message).to_contain_text("restored")
    await expect(editor.row("DE")).to_be_visible()

    # Without htmx (a reload) the same page comes back as a full page.
    await page.reload()
    await expect(editor.panel.get_by_role("heading", level=2)).to_contain_text("Germany")
    assert errors == [], errors


async def test_cycle_message_and_unit_lead_scope(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, org: Organisation
) -> None:
    lead = await person(org, "editor-lead", "unit_lead", "DACH")
    page = await make_page()
    await LoginPage(page, live_server, org.slug).sign_in(lead, f"/units/manage/{org.unit_id('DE')}")
    editor = EditorPage(page, live_server, org.slug)
    await expect(editor.panel.get_by_role("heading", level=2)).to_contain_text("Germany")
    await expect(editor.row("DACH")).to_be_visible()
    await expect(editor.row("FR")).to_have_count(0)
    await expect(editor.row("HQ")).to_have_count(0)
    # DE can only go to places inside DACH's subtree: there are none besides its parent.
    await expect(page.get_by_test_id("move-none")).to_be_visible()

    # A forged select value (a unit of another subtree) is refused on the server.
    await editor.goto()
    await page.evaluate(
        """(id) => {
          const select = document.querySelector('[data-testid="add-parent"]');
          select.options[0].value = String(id);
          select.selectedIndex = 0;
        }""",
        org.unit_id("FR"),
    )
    await page.get_by_test_id("add-code").fill("XX")
    await page.get_by_test_id("add-name").fill("Forged")
    async with page.expect_response(lambda r: r.request.method == "POST") as info:
        await page.get_by_test_id("add-submit").click()
    assert (await info.value).status == 403
    await expect(page.locator("#messages")).to_contain_text("Access denied")
    await expect(editor.row("XX")).to_have_count(0)
    await assert_accessible(page)


async def test_editor_is_usable_on_a_phone(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, org: Organisation
) -> None:
    admin = await person(org, "editor-phone", "hq_admin", "HQ")
    page = await make_page(**PHONE)
    await LoginPage(page, live_server, org.slug).sign_in(admin, "/units/manage")
    editor = EditorPage(page, live_server, org.slug)
    await expect(editor.row("FR")).to_be_visible()
    assert not await editor.has_horizontal_overflow(), await wide_elements(page)
    await editor.open_unit("FR", "France")
    await expect(page.get_by_test_id("edit-submit")).to_be_visible()
    assert not await editor.has_horizontal_overflow(), await wide_elements(page)
    await assert_accessible(page)


async def wide_elements(page: Page) -> str:
    """Which elements stick out to the right (for the failure message)."""
    return str(
        await page.evaluate(
            """() => {
              const width = document.documentElement.clientWidth;
              return [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > width + 0.5)
                .filter((el) => !el.closest('.table-wrap') || el.classList.contains('table-wrap'))
                .slice(0, 8)
                .map((el) => `${el.tagName.toLowerCase()}.${el.className}`
                  + ` right=${Math.round(el.getBoundingClientRect().right)}`);
            }"""
        )
    )
