"""A consultant's review and the results in a real browser.

An HQ admin opens the review of a unit that two respondents answered (answers saved
through the answering service), validates a question with a rationale (after being told
that a rationale is needed), closes the assessment through the lifecycle buttons of its
overview, and reads the results: radar, heatmap and tension chart are drawn and visible.
axe checks the review and results pages; screenshots at desktop and phone width go to
``artifacts/`` for a person to look at; the phone has no sideways scrolling.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from scalemark.assessment import answers, review, service
from scalemark.db import tenant_transaction
from support import ARTIFACTS_DIR
from support.assessment_results import ANSWERS, answer_all, scored_world
from support.assessments import AssessmentWorld, assessment_world
from support.axe import assert_accessible
from support.browser import PHONE
from support.identity import Organisation, person
from support.pages import LoginPage
from support.server import LiveServer

pytestmark = pytest.mark.timeout(240)


async def seed_answers(world: AssessmentWorld) -> None:
    """DE (anna, bernd) and FR (chloe) answer through the answering service."""
    async with tenant_transaction(world.tenant):
        for email, given in ANSWERS.items():
            unit = world.units["DE"] if email.endswith("@de.example") else world.units["FR"]
            for key, (choice, value) in given.items():
                seat = await answers.respondent_seat(world.assessment.id, unit, email)
                framework = await answers.seat_framework(seat)
                if choice == "position":
                    data = answers.answer_input(framework, key, position=value)
                else:
                    data = answers.answer_input(framework, key, choice=choice, level=value)
                saved = await answers.save_answer(seat, key, data, 0)
                assert saved.saved, (email, key)


async def shoot(page: Page, name: str) -> None:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS_DIR / f"assessment-{name}.png"), full_page=True)


async def no_sideways_scrolling(page: Page) -> None:
    wide = await page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert not wide, "the page scrolls sideways"


async def lifecycle_step(
    page: Page, live_server: LiveServer, slug: str, world, action: str
) -> None:
    """Click the overview's lifecycle button when it is there, else take the step directly."""
    await page.goto(live_server.url(slug, f"/assessments/{world.assessment.id}"))
    button = page.get_by_test_id(f"status-action-{action}")
    if await button.count():
        async with page.expect_response(lambda r: r.request.method == "POST") as info:
            await button.click()
        assert (await info.value).status < 400
        await page.wait_for_load_state()
        return
    async with tenant_transaction(world.tenant):
        await service.change_status(world.assessment.id, action)


async def test_consultant_reviews_validates_closes_and_reads_results(
    live_server: LiveServer, make_tenant, make_page: Callable[..., Awaitable[Page]]
) -> None:
    world = await assessment_world(make_tenant, prefix="e2erev")
    await seed_answers(world)
    org = Organisation(tenant=world.tenant)
    admin = await person(org, "admin", "hq_admin", "HQ")
    aid, de = world.assessment.id, world.units["DE"]

    page = await make_page()
    await LoginPage(page, live_server, org.slug).sign_in(admin)
    await page.goto(live_server.url(org.slug, f"/assessments/{aid}/review"))
    await expect(page.get_by_test_id("review-unit-DE")).to_be_visible()
    await expect(page.get_by_test_id("disagreement-DE")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "review-desktop")

    await page.get_by_test_id("review-open-DE").click()
    await expect(page.get_by_test_id("review-q-gov_standards")).to_be_visible()
    await expect(page.get_by_test_id("spread-gov_standards")).to_contain_text("2 levels")
    await assert_accessible(page)

    # Without a rationale the block comes back with the message and the chosen level.
    await page.get_by_test_id("level-exe_templates").select_option("4")
    async with page.expect_response(lambda r: r.request.method == "POST") as info:
        await page.get_by_test_id("validate-exe_templates").click()
    assert (await info.value).status == 422
    await expect(page.get_by_test_id("rationale-error-exe_templates")).to_have_text(
        "Please give a rationale for the validated level."
    )
    await expect(page.get_by_test_id("level-exe_templates")).to_have_value("4")
    await expect(page.get_by_test_id("rationale-exe_templates")).to_be_focused()

    await page.get_by_test_id("level-gov_standards").select_option("4")
    await page.get_by_test_id("rationale-gov_standards").fill(
        "The brand book and approval rules are written down and shared."
    )
    async with page.expect_response(lambda r: r.request.method == "POST") as info:
        await page.get_by_test_id("validate-gov_standards").click()
    assert (await info.value).status == 200
    validated = page.get_by_test_id("validated-gov_standards")
    await expect(validated).to_be_visible()
    await expect(validated).to_contain_text("Level 4")
    await expect(validated).to_contain_text("The brand book and approval rules")
    await assert_accessible(page)
    await shoot(page, "review-unit-desktop")

    await lifecycle_step(page, live_server, org.slug, world, "review")
    await lifecycle_step(page, live_server, org.slug, world, "close")
    async with tenant_transaction(world.tenant):
        closed = await service.get_assessment(aid)
    assert closed is not None and closed.status == "closed"

    await page.goto(live_server.url(org.slug, f"/assessments/{aid}/results"))
    for testid in ("radar", "heatmap", "tension-chart"):
        chart = page.get_by_test_id(testid).locator("svg").first
        await expect(chart).to_be_visible()
    await expect(page.get_by_test_id("gap-list")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "results-desktop")

    await page.get_by_test_id("unit-select").select_option(str(de))
    await page.get_by_test_id("unit-select-submit").click()
    await expect(page.get_by_test_id("dimension-governance")).to_contain_text("4.0")
    await expect(page.get_by_test_id("dimension-governance")).to_contain_text("2.0")
    await assert_accessible(page)
    await shoot(page, "results-unit-desktop")

    phone = await make_page(**PHONE)
    await LoginPage(phone, live_server, org.slug).sign_in(admin)
    await phone.goto(live_server.url(org.slug, f"/assessments/{aid}/results?unit={de}"))
    await expect(phone.get_by_test_id("radar").locator("svg").first).to_be_visible()
    await no_sideways_scrolling(phone)
    await assert_accessible(phone)
    await shoot(phone, "results-phone")
    await phone.get_by_test_id("results-summary").screenshot(
        path=str(ARTIFACTS_DIR / "assessment-results-phone-summary.png")
    )
    await phone.goto(live_server.url(org.slug, f"/assessments/{aid}/review/{de}"))
    await no_sideways_scrolling(phone)
    await shoot(phone, "review-unit-phone")
    await phone.get_by_test_id("review-q-gov_standards").screenshot(
        path=str(ARTIFACTS_DIR / "assessment-review-phone-question.png")
    )


async def test_second_cycle_results_in_french(
    live_server: LiveServer, make_tenant, make_page: Callable[..., Awaitable[Page]]
) -> None:
    """A stakeholder reads the second cycle's results in French: gaps, parent, comparison."""
    scored = await scored_world(make_tenant, prefix="e2ecmp")
    ids, aid = scored.units, scored.assessment_id
    async with tenant_transaction(scored.tenant):
        await review.validate(aid, ids["DE"], "gov_standards", "level", 4, "Standards seen")
        await service.change_status(aid, "review")
        await service.change_status(aid, "close")
        following = await service.start_next_cycle(aid, "Scalability 2027")
        people = {p.email: p for p in await service.respondents(following.id)}
        fours = {k: ("level", 4) for k in ("gov_standards", "gov_roles", "exe_templates")}
        await answer_all(people, {"anna@de.example": fours, "chloe@fr.example": fours})
        await service.change_status(following.id, "open")
        await service.change_status(following.id, "review")
    org = Organisation(tenant=scored.tenant)
    reader = await person(org, "reader", "stakeholder", "HQ")

    for name, options in (("desktop", {}), ("phone", PHONE)):
        page = await make_page(**options)
        await LoginPage(page, live_server, org.slug).sign_in(reader)
        await page.get_by_test_id("locale-select").select_option("fr")
        async with page.expect_navigation():
            await page.get_by_test_id("locale-submit").click()
        await page.goto(live_server.url(org.slug, f"/assessments/{following.id}/results"))
        await expect(page.get_by_test_id("comparison")).to_be_visible()
        await expect(page.get_by_test_id("heatmap").locator("svg").first).to_be_visible()
        await assert_accessible(page)
        await no_sideways_scrolling(page)
        await shoot(page, f"results-cycle2-{name}")
        await page.get_by_test_id("comparison").screenshot(
            path=str(ARTIFACTS_DIR / f"assessment-comparison-{name}.png")
        )
        de_path = f"/assessments/{following.id}/results?unit={ids['DE']}"
        await page.goto(live_server.url(org.slug, de_path))
        await expect(page.get_by_test_id("gap-list")).to_be_visible()
        await expect(page.get_by_test_id("overall-validated")).to_have_text("4,0")
        await assert_accessible(page)
        await shoot(page, f"results-cycle2-de-{name}")
