"""The governance workspace in a real browser.

An HQ admin defines a standard, an approval workflow (two steps, added with htmx) and a
RACI row (first with two A's, which the form refuses), publishes version 1; the French
unit lead, who works in French, then reads the published governance of France. axe
checks every main page; phones get no sideways scrolling.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import asyncpg
import pytest
from playwright.async_api import Page, Response, expect

from scalemark.db.tenant_context import use_tenant
from scalemark.governance import publishing, raci, standards, workflows
from scalemark.governance.raci import ActivityData
from scalemark.governance.standards import StandardData
from scalemark.governance.workflows import StepData, WorkflowData
from scalemark.i18n import use_locale
from scalemark.i18n.locale import translations_for
from support.accounts import Credentials
from support.axe import assert_accessible
from support.browser import PHONE
from support.identity import Organisation, organisation, person
from support.pages import BasePage, LoginPage
from support.server import LiveServer

pytestmark = pytest.mark.timeout(240)


@dataclass
class Team:
    org: Organisation
    admin: Credentials
    lead_fr: Credentials


@pytest.fixture
async def team(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Team]:
    from scalemark.identity.users import get_user_by_email, update_preferences

    async with organisation(db_pool, prefix="gov-e2e") as org:
        admin = await person(org, "hq-admin", "hq_admin", "HQ")
        lead_fr = await person(org, "lead-fr", "unit_lead", "FR")
        user = await get_user_by_email(lead_fr.email)
        assert user is not None
        await update_preferences(user.id, locale="fr")
        yield Team(org, admin, lead_fr)


def _is(method: str, suffix: str) -> Callable[[Response], bool]:
    return lambda r: r.request.method == method and urlsplit(r.url).path.endswith(suffix)


async def _open(page: Page, server: LiveServer, slug: str, path: str) -> None:
    response = await page.goto(server.url(slug, path))
    assert response is not None and response.status == 200, (
        f"{path}: {response and response.status}"
    )


async def _wide(page: Page) -> list[str]:
    """Elements that stick out of the viewport (for the failure message)."""
    return list(
        await page.evaluate(
            """() => { const w = document.documentElement.clientWidth; const out = [];
            for (const el of document.querySelectorAll('body *')) {
              const r = el.getBoundingClientRect();
              if (r.right > w + 1 && !el.closest('.table-wrap')) out.push(
                el.tagName + '.' + el.className + '#' + (el.id || '') + ' ' + Math.round(r.right));
            } return out.slice(0, 8); }"""
        )
    )


async def _submit_and_reload(page: Page, button: str, url_part: str) -> None:
    """Click a save button whose htmx answer redirects (HX-Redirect) to a full page."""
    async with page.expect_navigation(url=re.compile(re.escape(url_part))):
        await page.get_by_test_id(button).click()


async def test_hq_admin_publishes_and_the_french_lead_reads_it_in_french(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, team: Team
) -> None:
    slug = team.org.slug
    page = await make_page()
    await LoginPage(page, live_server, slug).sign_in(team.admin, next_path="/governance")
    assert urlsplit(page.url).path == "/governance"
    await expect(page.get_by_test_id("apply-template")).to_be_visible()
    await expect(page.get_by_test_id("latest-version")).to_contain_text(
        "Nothing has been published"
    )
    await assert_accessible(page)

    # A standard, through the subnavigation.
    await page.get_by_test_id("subnav-standards").click()
    await expect(page).to_have_url(re.compile(r"/governance/standards$"))
    editor = page.get_by_test_id("standard-editor")
    await editor.get_by_test_id("standard-title").fill("Campaign process")
    await editor.get_by_test_id("standard-description").fill("Brief, plan, localise, approve.")
    await editor.get_by_test_id("standard-category").select_option("campaign")
    await editor.get_by_test_id("standard-kinds-country").check()
    await _submit_and_reload(page, "standard-save", "saved=1")
    await expect(page.get_by_test_id("standards-message")).to_be_visible()
    row = page.locator('[data-testid^="standard-"][data-title="Campaign process"]')
    await expect(row).to_be_visible()
    await assert_accessible(page)

    # An approval workflow: a second step comes from the server through htmx.
    await _open(page, live_server, slug, "/governance/workflows")
    await page.get_by_test_id("workflow-name").fill("Campaign approval")
    await page.get_by_test_id("step-1-approver_role").select_option("unit_lead")
    await page.get_by_test_id("step-1-approver_level").select_option("same_unit")
    await page.get_by_test_id("step-1-days").fill("3")
    await page.get_by_test_id("step-1-escalation_role").select_option("unit_lead")
    await page.get_by_test_id("step-1-escalation_level").select_option("parent")
    async with page.expect_response(_is("POST", "/governance/workflows")) as added:
        await page.get_by_test_id("workflow-add-step").click()
    assert (await added.value).status == 200
    await expect(page.get_by_test_id("workflow-step-2")).to_be_visible()
    await expect(page.get_by_test_id("workflow-name")).to_have_value("Campaign approval")
    await page.get_by_test_id("step-2-approver_role").select_option("hq_admin")
    await page.get_by_test_id("step-2-approver_level").select_option("hq")
    await page.get_by_test_id("step-2-days").fill("-5")
    async with page.expect_response(_is("POST", "/governance/workflows")) as refused:
        await page.get_by_test_id("workflow-save").click()
    assert (await refused.value).status == 422
    await expect(page.get_by_test_id("step-2-days-error")).to_be_visible()
    await expect(page.get_by_test_id("step-2-days")).to_have_value("-5")
    await assert_accessible(page)
    await page.get_by_test_id("step-2-days").fill("5")
    await _submit_and_reload(page, "workflow-save", "saved=1")
    workflow = page.locator('[data-testid^="workflow-"][data-name="Campaign approval"]')
    await expect(workflow.locator("ol > li")).to_have_count(2)
    await assert_accessible(page)

    # A RACI row: two A's are refused with a clear message, the input stays.
    await _open(page, live_server, slug, "/governance/raci")
    await page.get_by_test_id("raci-title").fill("Campaign planning")
    await page.get_by_test_id("raci-role-hq_admin").select_option("A")
    await page.get_by_test_id("raci-role-unit_lead").select_option("A")
    await page.get_by_test_id("raci-role-stakeholder").select_option("I")
    async with page.expect_response(_is("POST", "/governance/raci")) as two_as:
        await page.get_by_test_id("raci-save").click()
    assert (await two_as.value).status == 422
    error = page.get_by_test_id("raci-assignments-error")
    await expect(error).to_contain_text("Only one role can be accountable (A)")
    await expect(page.get_by_test_id("raci-title")).to_have_value("Campaign planning")
    await expect(page.get_by_test_id("raci-role-stakeholder")).to_have_value("I")
    await assert_accessible(page)
    await page.get_by_test_id("raci-role-unit_lead").select_option("R")
    await _submit_and_reload(page, "raci-save", "saved=1")
    matrix_row = page.locator('[data-testid^="raci-row-"][data-title="Campaign planning"]')
    await expect(matrix_row.locator('td[data-role="hq_admin"]')).to_have_attribute(
        "data-letter", "A"
    )
    await assert_accessible(page)

    await _open(page, live_server, slug, "/governance/operating-model")
    await assert_accessible(page)

    await _open(page, live_server, slug, "/governance/maturity-targets")
    await page.get_by_test_id("target-governance").fill("4.5")
    await _submit_and_reload(page, "targets-save", "/governance/maturity-targets")
    await expect(page.get_by_test_id("targets-message")).to_be_visible()
    await expect(page.get_by_test_id("target-governance")).to_have_value("4.5")
    await assert_accessible(page)

    # Publish version 1 with a note.
    await _open(page, live_server, slug, "/governance/publish")
    await expect(page.get_by_test_id("change")).to_have_count(3)
    await page.get_by_test_id("publish-note").fill("Erste Fassung für alle Einheiten")
    await assert_accessible(page)
    await _submit_and_reload(page, "publish-submit", "/governance/versions/1")
    await expect(page.get_by_test_id("published-message")).to_be_visible()
    await expect(page.get_by_test_id("version-note")).to_have_text(
        "Erste Fassung für alle Einheiten"
    )
    await assert_accessible(page)

    # A draft after publishing stays invisible to France.
    await _open(page, live_server, slug, "/governance/standards")
    await page.get_by_test_id("standard-title").fill("Unpublished idea")
    await _submit_and_reload(page, "standard-save", "saved=1")

    # The French unit lead reads what applies to France, in French.
    fr_page = await make_page(locale="fr-FR")
    await LoginPage(fr_page, live_server, slug).sign_in(team.lead_fr)
    await fr_page.get_by_test_id("nav-governance").click()
    await expect(fr_page).to_have_url(re.compile(r"/governance$"))
    await fr_page.get_by_test_id("subnav-published").click()
    await expect(fr_page).to_have_url(re.compile(r"/governance/published$"))
    fr = translations_for("fr")
    assert await BasePage(fr_page, live_server, slug).document_language() == "fr"
    await expect(fr_page.get_by_test_id("language-switcher")).to_contain_text("Langue")
    await expect(fr_page.get_by_test_id("published-heading")).to_have_text(
        fr.gettext("Governance for %(unit)s") % {"unit": "France"}
    )
    standard_row = fr_page.locator('[data-testid="view-standard"][data-title="Campaign process"]')
    await expect(standard_row).to_contain_text(fr.gettext("Mandatory"))
    await expect(standard_row).to_contain_text(fr.gettext("Central"))
    await expect(fr_page.get_by_text("Unpublished idea")).to_have_count(0)
    await expect(fr_page.get_by_test_id("view-workflows")).to_contain_text("Campaign approval")
    await expect(fr_page.get_by_test_id("view-raci")).to_contain_text(fr.gettext("Unit lead"))
    await expect(fr_page.get_by_test_id("version-note")).to_have_text(
        "Erste Fassung für alle Einheiten"
    )
    await assert_accessible(fr_page)


async def test_unit_lead_adds_a_local_standard_and_drafts_stay_hidden(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, team: Team
) -> None:
    with use_tenant(team.org.tenant), use_locale("en"):
        await standards.create_standard(StandardData("Campaign process"))
        await publishing.publish("v1")
        await standards.create_standard(StandardData("Central draft"))
    slug = team.org.slug
    page = await make_page(locale="fr-FR")
    await LoginPage(page, live_server, slug).sign_in(
        team.lead_fr, next_path="/governance/standards"
    )
    await expect(page.locator('[data-title="Campaign process"]')).to_be_visible()
    await expect(page.get_by_text("Central draft")).to_have_count(0)
    # Central standards have no edit buttons for a unit lead.
    await expect(
        page.get_by_test_id("central-standards").get_by_test_id("standard-edit")
    ).to_have_count(0)
    await page.get_by_test_id("standard-title").fill("Mentions légales")
    await page.get_by_test_id("standard-level").select_option("mandatory")
    await _submit_and_reload(page, "standard-save", "saved=1")
    await expect(page.get_by_test_id("local-standards")).to_contain_text("Mentions légales")
    await assert_accessible(page)

    # Edit in place: htmx brings the filled-in form into the editor panel.
    local_row = page.get_by_test_id("local-standards").locator('[data-title="Mentions légales"]')
    async with page.expect_response(lambda r: r.url.endswith("/edit")) as loaded:
        await local_row.get_by_test_id("standard-edit").click()
    assert (await loaded.value).status == 200
    editor = page.get_by_test_id("standard-editor")
    await expect(editor.get_by_test_id("standard-title")).to_have_value("Mentions légales")
    await expect(editor.get_by_test_id("standard-scope")).to_contain_text("France")
    await editor.get_by_test_id("standard-level").select_option("recommended")
    await _submit_and_reload(page, "standard-save", "saved=1")
    await expect(
        page.get_by_test_id("local-standards").locator('[data-title="Mentions légales"]')
    ).to_contain_text(translations_for("fr").gettext("Recommended"))

    # Its own publication makes it visible to France.
    await _open(page, live_server, slug, "/governance/publish")
    await expect(page.get_by_test_id("change")).to_have_count(1)
    await _submit_and_reload(page, "publish-submit", "/governance/versions/2")
    await _open(page, live_server, slug, "/governance/published")
    await expect(
        page.locator('[data-testid="view-standard"][data-title="Mentions légales"]')
    ).to_be_visible()
    await expect(page.get_by_text("Central draft")).to_have_count(0)
    await _open(page, live_server, slug, "/governance/changes?since=1")
    await expect(
        page.locator('[data-testid="change"][data-title="Mentions légales"]')
    ).to_be_visible()
    await assert_accessible(page)


async def test_governance_pages_fit_a_phone(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, team: Team
) -> None:
    with use_tenant(team.org.tenant), use_locale("en"):
        await standards.create_standard(
            StandardData(
                "A rather long standard title for campaign localisation within guardrails",
                "Local teams adapt language, images and offers within the central guardrails.",
                applies_to_kinds=["country", "business_unit", "brand"],
            )
        )
        await workflows.create_workflow(
            WorkflowData(
                "Campaign approval",
                steps=[
                    StepData("unit_lead", "same_unit", "3", "unit_lead", "parent"),
                    StepData("hq_admin", "hq", "5"),
                ],
            )
        )
        await raci.create_activity(
            ActivityData(
                "Campaign planning",
                assignments={"hq_admin": "C", "unit_lead": "A", "contributor": "R"},
            )
        )
        await publishing.publish("v1")
    slug = team.org.slug
    page = await make_page(**PHONE)
    await LoginPage(page, live_server, slug).sign_in(team.admin, next_path="/governance")
    for path in (
        "/governance",
        "/governance/standards",
        "/governance/workflows",
        "/governance/raci",
        "/governance/operating-model",
        "/governance/publish",
        "/governance/versions/1",
        "/governance/published",
        "/governance/changes?since=1",
    ):
        await _open(page, live_server, slug, path)
        overflow = await BasePage(page, live_server, slug).has_horizontal_overflow()
        assert not overflow, f"{path} scrolls sideways on a phone: {await _wide(page)}"
    await _open(page, live_server, slug, "/governance/changes?since=1")
    await assert_accessible(page)

    fr_page = await make_page(**PHONE, locale="fr-FR")
    await LoginPage(fr_page, live_server, slug).sign_in(
        team.lead_fr, next_path="/governance/published"
    )
    await expect(fr_page.get_by_test_id("view-raci")).to_be_visible()
    assert not await BasePage(fr_page, live_server, slug).has_horizontal_overflow()
    await assert_accessible(fr_page)
