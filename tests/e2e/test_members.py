"""Members in a real browser: invite by e-mail, join through the link, change the role.

The invitation mail lands in ``scalemark.mail_outbox`` (no SMTP in tests); the link is
read from there. axe checks the members, tokens, audit and invitation pages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import asyncpg
from playwright.async_api import Page, Response, expect

from scalemark.db import TenantRef
from support.accounts import Credentials
from support.axe import assert_accessible
from support.browser import PHONE
from support.pages import BasePage, LoginPage
from support.server import LiveServer

PASSWORD = "invited-password-0123"


def _is(method: str, suffix: str) -> Callable[[Response], bool]:
    return lambda r: r.request.method == method and urlsplit(r.url).path.endswith(suffix)


async def _invitation_path(pool: asyncpg.Pool, email: str) -> str:
    body = await pool.fetchval(
        "SELECT body_text FROM scalemark.mail_outbox WHERE recipient = $1 ORDER BY id DESC LIMIT 1",
        email,
    )
    assert body, f"no invitation mail to {email}"
    match = re.search(r"https?://[^/\s]+(/invite/[A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


async def _open_members(page: Page, server: LiveServer, slug: str) -> None:
    response = await page.goto(server.url(slug, "/members"))
    assert response is not None and response.status == 200
    await expect(page.get_by_test_id("invite-form")).to_be_visible()


async def test_admin_invites_invitee_joins_admin_changes_role(
    make_page: Callable[..., Awaitable[Page]],
    live_server: LiveServer,
    demo_tenant: TenantRef,
    demo_admin: Credentials,
    db_pool: asyncpg.Pool,
) -> None:
    slug = demo_tenant.slug
    email = f"invitee-{uuid.uuid4().hex[:8]}@nordlicht.example"
    admin = await make_page()
    await LoginPage(admin, live_server, slug).sign_in(demo_admin, next_path="/members")
    await _open_members(admin, live_server, slug)
    await assert_accessible(admin)

    # A mistake first: the form comes back with a message and the input kept.
    form = admin.get_by_test_id("invite-form")
    await form.get_by_test_id("invite-email").fill("not-an-address")
    async with admin.expect_response(_is("POST", "/members/invite")) as info:
        await form.get_by_test_id("invite-submit").click()
    assert (await info.value).status == 422
    await expect(admin.locator("#invite-email-error")).to_have_text("Enter a valid e-mail address.")
    await expect(admin.get_by_test_id("invite-email")).to_have_value("not-an-address")
    await assert_accessible(admin)

    # The real invitation: contributor for Germany.
    germany = await admin.locator('#invite-unit option[data-code="DE"]').get_attribute("value")
    assert germany
    await admin.get_by_test_id("invite-email").fill(email)
    await admin.get_by_test_id("invite-role").select_option("contributor")
    await admin.get_by_test_id("invite-unit").select_option(germany)
    async with admin.expect_response(_is("POST", "/members/invite")) as info:
        await admin.get_by_test_id("invite-submit").click()
    assert (await info.value).status == 200
    await expect(admin.get_by_test_id("invite-sent")).to_contain_text(email)
    invitation = admin.get_by_test_id("invitations-table").locator(f'tr[data-email="{email}"]')
    await expect(invitation).to_have_attribute("data-state", "open")

    # The invitee opens the link from the mail, sets a password and lands in the tenant.
    path = await _invitation_path(db_pool, email)
    invitee = await make_page()
    response = await invitee.goto(live_server.url(slug, path))
    assert response is not None and response.status == 200
    await expect(invitee.get_by_test_id("invite-email")).to_have_text(email)
    await expect(invitee.get_by_test_id("invite-unit")).to_have_text("Deutschland")
    await assert_accessible(invitee)
    await invitee.get_by_test_id("invite-name").fill("Ina Invitee")
    await invitee.get_by_test_id("invite-password").fill(PASSWORD)
    await invitee.get_by_test_id("invite-password-confirm").fill(PASSWORD)
    async with invitee.expect_navigation(wait_until="load") as navigation:
        await invitee.get_by_test_id("invite-register").click()
    landed = await navigation.value
    assert landed is not None and landed.status == 200
    assert invitee.url == live_server.url(slug, "/")
    await expect(invitee.get_by_test_id("org-name")).to_have_text("Nordlicht Group")
    await expect(invitee.get_by_test_id("user-menu")).to_contain_text("Ina Invitee")

    # The admin sees the new member and makes them unit lead, inline.
    await _open_members(admin, live_server, slug)
    row = admin.get_by_test_id("members-table").locator(f'tr[data-email="{email}"]')
    await expect(row.get_by_test_id("member-role")).to_have_text("Contributor")
    async with admin.expect_response(lambda r: urlsplit(r.url).path.endswith("/edit")) as info:
        await row.get_by_test_id("member-edit").click()
    assert (await info.value).status == 200
    await expect(row.get_by_test_id("member-edit-form")).to_be_visible()
    await expect(row.get_by_test_id("member-role-select")).to_be_focused()
    await assert_accessible(admin)
    await row.get_by_test_id("member-role-select").select_option("unit_lead")
    async with admin.expect_response(
        lambda r: r.request.method == "POST" and "/members/" in r.url
    ) as info:
        await row.get_by_test_id("member-save").click()
    assert (await info.value).status == 200
    await expect(row.get_by_test_id("member-role")).to_have_text("Unit lead")
    await expect(row.get_by_test_id("member-unit")).to_contain_text("Deutschland")
    await expect(invitation).to_have_count(1)

    # The invitation is used up now; its link says so.
    response = await invitee.goto(live_server.url(slug, path))
    assert response is not None and response.status == 410
    await expect(invitee.get_by_test_id("invite-gone")).to_be_visible()
    await assert_accessible(invitee)

    # The audit log tells the story.
    response = await admin.goto(live_server.url(slug, "/audit?action=member."))
    assert response is not None and response.status == 200
    results = admin.get_by_test_id("audit-table")
    await expect(results.locator('tr[data-action="member.invite"]').first).to_be_visible()
    await expect(results.locator('tr[data-action="member.join"]').first).to_be_visible()
    await expect(results.locator('tr[data-action="member.change"]').first).to_contain_text(
        "Unit lead"
    )
    await assert_accessible(admin)


async def test_tokens_page_shows_a_new_token_once(
    page: Page, live_server: LiveServer, demo_tenant: TenantRef, demo_admin: Credentials
) -> None:
    slug = demo_tenant.slug
    await LoginPage(page, live_server, slug).sign_in(demo_admin, next_path="/tokens")
    assert urlsplit(page.url).path == "/tokens"
    await assert_accessible(page)
    await page.get_by_test_id("token-name").fill("Browser test")
    async with page.expect_response(_is("POST", "/tokens")) as info:
        await page.get_by_test_id("token-create").click()
    assert (await info.value).status == 201
    secret = page.get_by_test_id("token-secret")
    await expect(secret).to_have_value(re.compile(r"^smk_"))
    await page.get_by_test_id("token-copy").click()
    await expect(page.locator("#new-token-status")).to_have_text("Copied to the clipboard.")
    await assert_accessible(page)

    token = await secret.input_value()
    await page.reload()
    await expect(page.get_by_test_id("token-secret")).to_have_count(0)
    assert token not in await page.content()


async def test_audit_filter_and_phone_layout(
    make_page: Callable[..., Awaitable[Page]],
    live_server: LiveServer,
    demo_tenant: TenantRef,
    demo_admin: Credentials,
) -> None:
    slug = demo_tenant.slug
    page = await make_page(**PHONE)
    await LoginPage(page, live_server, slug).sign_in(demo_admin, next_path="/audit")
    await expect(page.get_by_test_id("audit-results")).to_be_visible()
    await assert_accessible(page)

    await page.get_by_test_id("audit-action").fill("auth.")
    async with page.expect_response(lambda r: urlsplit(r.url).path == "/audit") as info:
        await page.get_by_test_id("audit-filter").click()
    assert (await info.value).status == 200
    await expect(page).to_have_url(re.compile(r"action=auth\."))
    rows = page.get_by_test_id("audit-table").locator("tbody tr")
    await expect(rows.first).to_be_visible()
    actions = await rows.evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions and all(action.startswith("auth.") for action in actions)

    for path in ("/audit", "/members", "/tokens"):
        view = BasePage(page, live_server, slug)
        view.path = path
        await view.goto()
        assert not await view.has_horizontal_overflow(), path
        await assert_accessible(page)
