"""An assessment set up in a real browser: the HQ admin of the demo organisation creates one
over two units, adds a respondent, opens it, and the respondent's mail arrives.

axe checks the list, the new-assessment form and the overview; on a phone-sized screen
none of them scrolls sideways.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import asyncpg
import pytest
from playwright.async_api import Locator, Page, Response, expect

from scalemark.db import TenantRef
from support.accounts import Credentials
from support.axe import assert_accessible
from support.browser import PHONE
from support.pages import BasePage, LoginPage
from support.server import LiveServer

pytestmark = pytest.mark.timeout(240)


def _posted(suffix: str) -> Callable[[Response], bool]:
    return lambda r: r.request.method == "POST" and urlsplit(r.url).path.endswith(suffix)


class AssessmentListPage(BasePage):
    """``/assessments``."""

    path = "/assessments"

    @property
    def new_button(self) -> Locator:
        return self.page.get_by_test_id("new-assessment")


class NewAssessmentPage(BasePage):
    """``/assessments/new``: the setup form."""

    path = "/assessments/new"

    async def fill(self, title: str, units: list[str], due: str) -> None:
        """Title, units (by code) and due date; targets keep their defaults."""
        await self.page.get_by_test_id("assessment-title").fill(title)
        for code in units:
            await self.page.get_by_test_id(f"unit-{code}").check()
        await self.page.get_by_test_id("due-date").fill(due)

    async def create(self) -> Response:
        """Submit; htmx follows the redirect to the new assessment's overview."""
        async with self.page.expect_response(_posted("/assessments/new")) as info:
            await self.page.get_by_test_id("create-assessment").click()
        return await info.value


class AssessmentPage(BasePage):
    """``/assessments/{id}``: lifecycle, respondents, setup."""

    def unit(self, code: str) -> Locator:
        """The respondents section of a unit."""
        return self.page.get_by_test_id(f"respondents-unit-{code}")

    async def add_respondent(self, code: str, email: str, locale: str) -> Response:
        section = self.unit(code)
        await section.get_by_test_id("add-respondent-email").fill(email)
        await section.get_by_test_id("add-respondent-locale").select_option(locale)
        async with self.page.expect_response(_posted("/respondents")) as info:
            await section.get_by_test_id("add-respondent-submit").click()
        return await info.value

    async def step(self, action: str) -> Response:
        async with self.page.expect_response(_posted("/status")) as info:
            await self.page.get_by_test_id(f"status-action-{action}").click()
        return await info.value

    @property
    def status(self) -> Locator:
        return self.page.get_by_test_id("assessment-detail")


async def test_admin_creates_opens_and_the_respondent_is_mailed(
    make_page: Callable[..., Awaitable[Page]],
    live_server: LiveServer,
    demo_tenant: TenantRef,
    demo_admin: Credentials,
    make_demo_member: Callable[..., Awaitable[Credentials]],
    db_pool: asyncpg.Pool,
) -> None:
    slug = demo_tenant.slug
    respondent = await make_demo_member(role="contributor", unit_code="AT")
    title = f"Scalability check {uuid.uuid4().hex[:6]}"
    page = await make_page()
    await LoginPage(page, live_server, slug).sign_in(demo_admin, next_path="/assessments")

    listing = AssessmentListPage(page, live_server, slug)
    await listing.goto()
    await assert_accessible(page)
    async with page.expect_navigation(wait_until="load"):
        await listing.new_button.click()
    assert urlsplit(page.url).path == "/assessments/new"
    await assert_accessible(page)

    form = NewAssessmentPage(page, live_server, slug)
    await form.fill(title, ["DE", "AT"], "2031-03-31")
    async with page.expect_navigation(wait_until="load"):
        created = await form.create()
    assert created.status == 200  # htmx: HX-Redirect to the overview
    assert re.fullmatch(r"/assessments/\d+", urlsplit(page.url).path)
    overview = AssessmentPage(page, live_server, slug)
    await expect(page.get_by_test_id("assessment-heading")).to_have_text(title)
    await expect(overview.status).to_have_attribute("data-status", "draft")
    await expect(page.get_by_test_id("assessment-message")).to_be_visible()
    await assert_accessible(page)

    added = await overview.add_respondent("AT", respondent.email, "fr")
    assert added.status == 200
    row = overview.unit("AT").get_by_test_id("respondent-row")
    await expect(row).to_have_attribute("data-email", respondent.email)
    await expect(row).to_have_attribute("data-invited", "no")
    await expect(overview.unit("DE").get_by_test_id("no-respondents")).to_be_visible()

    opened = await overview.step("open")
    assert opened.status == 200
    await expect(overview.status).to_have_attribute("data-status", "open")
    await expect(overview.unit("AT").get_by_test_id("respondent-row")).to_have_attribute(
        "data-invited", "yes"
    )
    await assert_accessible(page)

    mails = await db_pool.fetch(
        "SELECT subject, body_text FROM scalemark.mail_outbox WHERE recipient = $1",
        respondent.email,
    )
    assert len(mails) == 1
    assert title in mails[0]["subject"]
    assert re.search(r"/assessments/\d+/answer", mails[0]["body_text"])
    assert "mars 2031" in mails[0]["body_text"]  # the due date, in French

    # Phone width: no sideways scrolling on any of the three pages.
    phone = await make_page(**PHONE)
    await LoginPage(phone, live_server, slug).sign_in(demo_admin, next_path="/assessments")
    for path in ("/assessments", "/assessments/new", urlsplit(page.url).path):
        view = BasePage(phone, live_server, slug)
        view.path = path
        await view.goto()
        assert not await view.has_horizontal_overflow(), path
