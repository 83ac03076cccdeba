"""A French respondent answers in a real browser with the keyboard only: positions the
unit on a tension field, answers a whole section (levels, a follow-up question, target,
comment, evidence link), sees every "saved" state and the progress move, leaves, comes
back and continues where she left off with every answer there. axe checks the overview
and a section page; screenshots of both (desktop and a 390 px phone) go to
``artifacts/answering-*.png``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, Response, expect

from support import ARTIFACTS_DIR
from support.answering import AnsweringWorld, answering_world
from support.axe import assert_accessible
from support.browser import PHONE
from support.pages import BasePage, LoginPage
from support.server import LiveServer

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def aw(make_tenant) -> AnsweringWorld:
    return await answering_world(make_tenant, prefix="e2eans")


async def focused_testid(page: Page) -> str | None:
    value = await page.evaluate(
        "document.activeElement ? document.activeElement.getAttribute('data-testid') : null"
    )
    return None if value is None else str(value)


async def tab_to(page: Page, testid: str, limit: int = 80) -> None:
    """Press Tab until the element with ``testid`` has the focus."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await focused_testid(page) == testid:
            return
    pytest.fail(f"Tab never reached {testid}; the focus is on {await focused_testid(page)}")


def saves(page: Page, key: str, field: str, value: str) -> Any:
    """Wait for the autosave of ``key`` whose form carries ``field`` = ``value``."""

    def matches(response: Response) -> bool:
        request = response.request
        if request.method != "POST" or f"/q/{key}" not in request.url:
            return False
        form = parse_qs(request.post_data or "", keep_blank_values=True)
        return form.get(f"{key}.{field}") == [value]

    return page.expect_response(matches)


async def screenshot(page: Page, name: str) -> None:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS_DIR / f"answering-{name}.png"), full_page=True)


async def test_french_respondent_answers_a_section_by_keyboard_and_resumes(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, aw: AnsweringWorld
) -> None:
    page = await make_page(locale="fr-FR")
    await LoginPage(page, live_server, aw.slug).sign_in(aw.people["chloe"])
    await BasePage(page, live_server, aw.slug).switch_language("fr")

    await page.goto(live_server.url(aw.slug, f"/assessments/{aw.assessment_id}/answer"))
    assert urlsplit(page.url).path == aw.base("FR")  # one unit: straight to it
    await expect(page.get_by_test_id("progress-overall")).to_have_attribute("data-answered", "0")
    await expect(page.get_by_test_id("position-steering")).to_contain_text("Pilotage central")
    await assert_accessible(page)
    await screenshot(page, "overview-desktop")

    # Positioning by keyboard: the slider starts "not answered yet"; arrows move it.
    await tab_to(page, "position-input-steering")
    async with saves(page, "steering", "position", "51"):
        await page.keyboard.press("ArrowRight")
    await expect(page.get_by_test_id("saved-steering")).to_be_visible()
    await expect(page.get_by_test_id("position-value-steering")).to_have_text("51")
    await expect(page.get_by_test_id("progress-positioning")).to_have_attribute(
        "data-answered", "1"
    )

    # Start the first section from "continue", by keyboard.
    await tab_to(page, "continue")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert urlsplit(page.url).path == f"{aw.base('FR')}/governance"
    await expect(page.get_by_test_id("section-heading")).to_have_text("Gouvernance")
    await expect(page.get_by_test_id("question-gov_standards")).to_contain_text(
        "Existe-t-il des standards marketing écrits"
    )
    await expect(page.get_by_test_id("question-gov_review")).to_be_hidden()

    # Question 1: Space picks level 1, the arrows move to level 3 (each change saves).
    await tab_to(page, "level-gov_standards-1")
    async with saves(page, "gov_standards", "answer", "1"):
        await page.keyboard.press("Space")
    await expect(page.get_by_test_id("level-gov_standards-1")).to_be_checked()
    async with saves(page, "gov_standards", "answer", "3"):
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
    await expect(page.get_by_test_id("level-gov_standards-3")).to_be_checked()
    await expect(page.get_by_test_id("saved-gov_standards")).to_be_visible()
    # Level 3 brings the follow-up question in.
    await expect(page.get_by_test_id("question-gov_review")).to_be_visible()
    await expect(page.get_by_test_id("progress-governance")).to_have_attribute("data-total", "3")

    # Target level, comment and evidence link, one Tab further each.
    await page.keyboard.press("Tab")
    assert await focused_testid(page) == "target-gov_standards"
    async with saves(page, "gov_standards", "target", "4"):
        await page.get_by_test_id("target-gov_standards").press("4")
    await page.keyboard.press("Tab")
    assert await focused_testid(page) == "comment-gov_standards"
    async with saves(page, "gov_standards", "comment", "Charte de marque 2025"):
        await page.keyboard.type("Charte de marque 2025")
    await page.keyboard.press("Tab")
    assert await focused_testid(page) == "evidence-gov_standards"
    async with saves(page, "gov_standards", "evidence", "notes"):
        await page.keyboard.type("notes")
    await expect(page.get_by_test_id("evidence-error-gov_standards")).to_contain_text("https://")
    await expect(page.get_by_test_id("evidence-gov_standards")).to_have_value("notes")
    await expect(page.get_by_test_id("evidence-gov_standards")).to_have_attribute(
        "aria-invalid", "true"
    )
    await page.keyboard.press("Control+A")
    async with saves(page, "gov_standards", "evidence", "https://wiki.example/charte"):
        await page.keyboard.type("https://wiki.example/charte")
    await expect(page.get_by_test_id("evidence-error-gov_standards")).to_have_text("")
    await expect(page.get_by_test_id("saved-gov_standards")).to_be_visible()

    # Question 2 (no "not applicable"): Tab into the group, Space, one arrow to level 2.
    await tab_to(page, "level-gov_roles-1")
    async with saves(page, "gov_roles", "answer", "2"):
        await page.keyboard.press("Space")
        await page.keyboard.press("ArrowRight")
    await expect(page.get_by_test_id("saved-gov_roles")).to_be_visible()

    # The follow-up question: "don't know" is not offered; pick level 4.
    await tab_to(page, "level-gov_review-1")
    async with saves(page, "gov_review", "answer", "4"):
        await page.keyboard.press("Space")
        for _ in range(3):
            await page.keyboard.press("ArrowRight")
    await expect(page.get_by_test_id("saved-gov_review")).to_be_visible()
    await expect(page.get_by_test_id("progress-governance")).to_have_attribute("data-answered", "3")
    await expect(page.get_by_test_id("progress-overall")).to_have_attribute("data-answered", "4")
    await assert_accessible(page)
    await screenshot(page, "section-desktop")

    # Leave, then come back: the overview continues at the next section.
    await page.goto(live_server.url(aw.slug, "/"))
    await page.goto(live_server.url(aw.slug, aw.base("FR")))
    await expect(page.get_by_test_id("progress-overall")).to_have_attribute("data-answered", "4")
    await expect(page.get_by_test_id("continue")).to_have_attribute(
        "href", f"{aw.base('FR')}/execution"
    )
    await expect(page.get_by_test_id("position-value-steering")).to_have_text("51")
    await page.get_by_test_id("section-link-governance").click()
    await expect(page.get_by_test_id("level-gov_standards-3")).to_be_checked()
    await expect(page.get_by_test_id("target-gov_standards")).to_have_value("4")
    await expect(page.get_by_test_id("comment-gov_standards")).to_have_value(
        "Charte de marque 2025"
    )
    await expect(page.get_by_test_id("evidence-gov_standards")).to_have_value(
        "https://wiki.example/charte"
    )
    await expect(page.get_by_test_id("level-gov_roles-2")).to_be_checked()
    await expect(page.get_by_test_id("level-gov_review-4")).to_be_checked()


async def test_answering_pages_on_a_phone(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, aw: AnsweringWorld
) -> None:
    page = await make_page(**PHONE, locale="fr-FR")
    await LoginPage(page, live_server, aw.slug).sign_in(aw.people["chloe"])
    await BasePage(page, live_server, aw.slug).switch_language("fr")
    await page.goto(live_server.url(aw.slug, aw.base("FR")))
    await expect(page.get_by_test_id("progress-overall")).to_be_visible()
    assert not await BasePage(page, live_server, aw.slug).has_horizontal_overflow()
    await screenshot(page, "overview-phone")
    await page.goto(live_server.url(aw.slug, f"{aw.base('FR')}/governance"))
    async with saves(page, "gov_standards", "answer", "2"):
        await page.get_by_test_id("level-gov_standards-2").check()
    await expect(page.get_by_test_id("saved-gov_standards")).to_be_visible()
    assert not await BasePage(page, live_server, aw.slug).has_horizontal_overflow()
    await assert_accessible(page)
    await screenshot(page, "section-phone")
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    await page.get_by_test_id("question-gov_standards").screenshot(
        path=str(ARTIFACTS_DIR / "answering-question-phone.png")
    )


async def test_conflict_between_two_tabs_keep_mine_and_take_theirs(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, aw: AnsweringWorld
) -> None:
    section = live_server.url(aw.slug, f"{aw.base('DE')}/governance")
    tabs = []
    for _ in range(2):
        tab = await make_page()
        await LoginPage(tab, live_server, aw.slug).sign_in(aw.people["anna"])
        await tab.goto(section)
        tabs.append(tab)
    first, second = tabs

    async with saves(first, "gov_roles", "answer", "2"):
        await first.get_by_test_id("level-gov_roles-2").check()
    await expect(first.get_by_test_id("saved-gov_roles")).to_be_visible()

    # The second tab still holds the page as loaded: its change is refused, not lost.
    async with saves(second, "gov_roles", "answer", "4"):
        await second.get_by_test_id("level-gov_roles-4").check()
    conflict = second.get_by_test_id("conflict-gov_roles")
    await expect(conflict).to_be_visible()
    await expect(conflict).to_contain_text("level 2 (Repeatable)")
    await expect(conflict).to_contain_text("level 4 (Managed)")
    await expect(second.get_by_test_id("level-gov_roles-4")).to_be_checked()
    await assert_accessible(second)
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    await second.get_by_test_id("question-gov_roles").screenshot(
        path=str(ARTIFACTS_DIR / "answering-conflict-desktop.png")
    )
    async with saves(second, "gov_roles", "keep_mine", "1"):
        await second.get_by_test_id("keep-mine-gov_roles").click()
    await expect(second.get_by_test_id("saved-gov_roles")).to_be_visible()
    await expect(second.get_by_test_id("saved-gov_roles")).to_be_focused()
    await expect(second.get_by_test_id("revision-gov_roles")).to_have_value("2")

    # Now the first tab is behind; it takes the other answer instead.
    async with saves(first, "gov_roles", "answer", "1"):
        await first.get_by_test_id("level-gov_roles-1").check()
    await expect(first.get_by_test_id("conflict-gov_roles")).to_be_visible()
    await first.get_by_test_id("take-theirs-gov_roles").click()
    await expect(first.get_by_test_id("theirs-gov_roles")).to_be_visible()
    await expect(first.get_by_test_id("level-gov_roles-4")).to_be_checked()
    await expect(first.get_by_test_id("level-gov_roles-4")).to_be_focused()
    await expect(first.get_by_test_id("revision-gov_roles")).to_have_value("2")
    async with saves(first, "gov_roles", "answer", "5"):
        await first.get_by_test_id("level-gov_roles-5").check()
    await expect(first.get_by_test_id("saved-gov_roles")).to_be_visible()
