"""Page objects: what a person does on a page, in terms of ``data-testid`` hooks.

They wait on responses and on the DOM (Playwright's auto-waiting ``expect``), never on
the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit

from playwright.async_api import Locator, Page, Response, expect

from support.accounts import Credentials
from support.server import LiveServer

__all__ = ["BasePage", "LandingPage", "LoginPage", "TenantHomePage"]


class BasePage:
    """Parts every page has: the header's language switcher, the document language."""

    path = "/"

    def __init__(self, page: Page, server: LiveServer, slug: str | None = None) -> None:
        self.page = page
        self.server = server
        self.slug = slug

    @property
    def url(self) -> str:
        """This page's address on the live server."""
        return self.server.url(self.slug, self.path)

    async def goto(self) -> Response:
        """Load the page; fails unless it answers 200."""
        response = await self.page.goto(self.url)
        assert response is not None, f"no response for {self.url}"
        assert response.status == 200, f"{self.url} answered {response.status}"
        return response

    @property
    def language_switcher(self) -> Locator:
        """The language switcher form in the header."""
        return self.page.get_by_test_id("language-switcher")

    async def switch_language(self, code: str) -> Response | None:
        """Choose a language, submit, and wait for the page to come back in it."""
        await self.page.get_by_test_id("locale-select").select_option(code)
        async with self.page.expect_navigation(wait_until="load") as navigation:
            await self.page.get_by_test_id("locale-submit").click()
        response = await navigation.value
        assert response is None or response.ok, f"language switch answered {response.status}"
        await expect(self.page.locator("html")).to_have_attribute("lang", code)
        return response

    async def document_language(self) -> str | None:
        """``<html lang>`` of the current page."""
        return await self.page.locator("html").get_attribute("lang")

    async def has_horizontal_overflow(self) -> bool:
        """True when the page is wider than the viewport (sideways scrolling on phones).

        Compares with the layout viewport (``documentElement.clientWidth``), not
        ``innerWidth``: with mobile emulation Chromium zooms out to fit wide content and
        ``innerWidth`` grows with it, which would hide the overflow.
        """
        return bool(
            await self.page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            )
        )


class LandingPage(BasePage):
    """The platform site's landing page (``localhost:PORT/``)."""

    @property
    def hero(self) -> Locator:
        """The landing page's hero section."""
        return self.page.get_by_test_id("landing")


class LoginPage(BasePage):
    """The sign-in form (platform or tenant host)."""

    path = "/login"

    async def open(self, next_path: str = "/") -> Response:
        """Load the form, asking to come back to ``next_path`` afterwards."""
        response = await self.page.goto(
            self.server.url(self.slug, f"{self.path}?{urlencode({'next': next_path})}")
        )
        assert response is not None and response.status == 200, f"{self.path} did not load"
        await expect(self.form).to_be_visible()
        return response

    @property
    def form(self) -> Locator:
        """The e-mail and password form."""
        return self.page.get_by_test_id("login-form")

    @property
    def error(self) -> Locator:
        """The form's error message."""
        return self.page.get_by_test_id("login-error")

    async def submit(self, credentials: Credentials) -> Response | None:
        """Fill in and send the form; returns the response of the page that follows."""
        await self.page.get_by_test_id("login-email").fill(credentials.email)
        await self.page.get_by_test_id("login-password").fill(credentials.password)
        async with self.page.expect_navigation(wait_until="load") as navigation:
            await self.page.get_by_test_id("login-submit").click()
        return await navigation.value

    async def sign_in(self, credentials: Credentials, next_path: str = "/") -> None:
        """Open the form if needed, sign in and wait until the browser left the form."""
        if urlsplit(self.page.url).path != self.path:
            await self.open(next_path)
        response = await self.submit(credentials)
        assert response is not None and response.ok, (
            f"sign-in answered {response.status if response else 'nothing'}"
        )
        assert urlsplit(self.page.url).path != self.path, (
            f"still on the sign-in form: {await self.error.all_text_contents()}"
        )


class TenantHomePage(BasePage):
    """An organisation's home page with its lazily loaded unit tree."""

    def __init__(self, page: Page, server: LiveServer, slug: str = "demo") -> None:
        super().__init__(page, server, slug)

    @property
    def org_name(self) -> Locator:
        """The organisation's name (the page heading)."""
        return self.page.get_by_test_id("org-name")

    @property
    def tree(self) -> Locator:
        """The unit tree."""
        return self.page.get_by_test_id("unit-tree")

    def unit(self, code: str) -> Locator:
        """The tree item of a unit."""
        return self.page.get_by_test_id(f"unit-{code}")

    def toggle(self, code: str) -> Locator:
        """The show/hide button of a unit with sub-units."""
        return self.page.get_by_test_id(f"toggle-{code}")

    async def _group(self, code: str) -> tuple[str, Locator]:
        group_id = await self.toggle(code).get_attribute("aria-controls")
        assert group_id, f"toggle of {code} controls nothing"
        return group_id, self.page.locator(f"[id='{group_id}']")

    def children(self, code: str) -> Locator:
        """The direct child items of a unit (loaded or not, visible or not)."""
        return self.unit(code).locator(":scope > ul > li")

    async def expand(self, code: str, expect_children: Iterable[str] = ()) -> None:
        """Open a unit; the first time waits for the htmx response and the child items."""
        toggle = self.toggle(code)
        if await toggle.get_attribute("aria-expanded") == "true":
            return
        group_id, group = await self._group(code)
        if await group.locator(":scope > li").count() == 0:
            unit_id = group_id.removeprefix("children-")
            suffix = f"/units/{unit_id}/children"
            async with self.page.expect_response(
                lambda r: r.request.method == "GET" and r.url.split("?")[0].endswith(suffix)
            ) as info:
                await toggle.click()
            response = await info.value
            assert response.status == 200, f"children of {code} answered {response.status}"
        else:
            await toggle.click()
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        await expect(group).to_be_visible()
        await expect(group.locator(":scope > li").first).to_be_visible()
        for child in expect_children:
            await expect(self.unit(child)).to_be_visible()

    async def collapse(self, code: str) -> None:
        """Close an open unit; its children are hidden afterwards."""
        toggle = self.toggle(code)
        if await toggle.get_attribute("aria-expanded") != "true":
            return
        _, group = await self._group(code)
        await toggle.click()
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await expect(group).to_be_hidden()
