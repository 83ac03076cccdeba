"""Journey 1 in a real browser: a consultant signs in on the platform host, creates a client
organisation with the form, opens it (hand-off) and lands in its home; the platform admin
pages pass axe on desktop and phone."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import asyncpg
import pytest
from playwright.async_api import Page, expect

from scalemark.db import TenantRef
from scalemark.mail import MailMessage, send_mail
from scalemark.mail.outbox import list_messages
from scalemark.tenancy.console import suggest_slug
from scalemark.tenancy.provisioning import drop_tenant
from scalemark.tenancy.resolver import forget_tenant
from support.axe import assert_accessible
from support.browser import PHONE
from support.pages import BasePage, LoginPage
from support.platform import ensure_staff
from support.server import LiveServer

PASSWORD = "e2e-console-password"


@pytest.fixture
async def dropped_afterwards(db_pool: asyncpg.Pool) -> AsyncIterator[list[str]]:
    slugs: list[str] = []
    yield slugs
    async with db_pool.acquire() as conn:
        for slug in slugs:
            await drop_tenant(conn, slug)
            forget_tenant(slug)


async def test_consultant_creates_a_client_and_opens_it(
    page: Page,
    live_server: LiveServer,
    app_db: None,
    make_tenant: Callable[..., Awaitable[TenantRef]],
    dropped_afterwards: list[str],
) -> None:
    tag = uuid.uuid4().hex[:6]
    consultant = await ensure_staff(f"consultant-{tag}@e2e.example", PASSWORD, "consultant")
    taken = await make_tenant("taken")
    name, slug, admin_email = f"Sonnenschein {tag} AG", f"sonne-{tag}", f"hq-{tag}@sonne.example"

    login = LoginPage(page, live_server)
    await login.sign_in(consultant, next_path="/console")
    assert urlsplit(page.url).path == "/console"
    await expect(page.get_by_test_id("no-clients")).to_be_visible()
    await assert_accessible(page)

    async with page.expect_navigation(wait_until="load"):
        await page.get_by_test_id("new-client").click()
    form = page.get_by_test_id("client-form")
    await expect(form).to_be_visible()
    await assert_accessible(page)

    # Typing the name asks the server for a slug suggestion.
    async with page.expect_response(lambda r: "/console/new/slug" in r.url) as hint:
        await page.get_by_test_id("client-name").fill(name)
    assert (await hint.value).ok
    await expect(page.get_by_test_id("slug-hint")).to_contain_text(suggest_slug(name))

    # A taken slug comes back as a message in the form, with everything still filled in.
    async with page.expect_response(lambda r: "/console/new/slug" in r.url):
        await page.get_by_test_id("client-slug").fill(taken.slug)
    await expect(page.get_by_test_id("slug-problem")).to_be_visible()
    await page.get_by_test_id("client-locale").select_option("de")
    await page.get_by_test_id("client-admin-email").fill(admin_email)
    async with page.expect_response(
        lambda r: r.url.endswith("/console/new") and r.request.method == "POST"
    ) as refused:
        await page.get_by_test_id("client-submit").click()
    assert (await refused.value).status == 422
    await expect(page.get_by_test_id("client-slug-error")).to_be_visible()
    await expect(page.get_by_test_id("client-name")).to_have_value(name)
    await expect(page.get_by_test_id("client-locale")).to_have_value("de")
    await expect(page.get_by_test_id("client-admin-email")).to_have_value(admin_email)
    await assert_accessible(page)

    await page.get_by_test_id("client-slug").fill(slug)
    dropped_afterwards.append(slug)
    async with page.expect_navigation(url=re.compile(rf"/console/clients/{slug}\?created=1$")):
        await page.get_by_test_id("client-submit").click()
    await expect(page.get_by_test_id("client-created")).to_be_visible()
    await expect(page.get_by_test_id(f"invitation-{admin_email}")).to_be_visible()
    await assert_accessible(page)
    [invitation] = await list_messages(recipient=admin_email)
    assert "/invite/" in invitation.body_text

    # Open: the sign-in is handed over to the tenant host; the consultant lands in its home.
    async with page.expect_navigation(url=live_server.url(slug, "/")):
        await page.get_by_test_id(f"open-{slug}").click()
    await expect(page.get_by_test_id("org-name")).to_have_text(name)
    await expect(page.get_by_test_id("user-menu")).to_be_visible()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_platform_pages_are_accessible(
    make_page: Callable[..., Awaitable[Page]], live_server: LiveServer, app_db: None, viewport: str
) -> None:
    page = await make_page(**(PHONE if viewport == "phone" else {}))
    tag = uuid.uuid4().hex[:6]
    admin = await ensure_staff(f"admin-{tag}@e2e.example", PASSWORD, "platform_admin")
    await ensure_staff(f"consultant-{tag}@e2e.example", PASSWORD, "consultant")
    await send_mail(MailMessage(to=f"reader-{tag}@e2e.example", subject="Hello", body="Text"))
    [message] = await list_messages(recipient=f"reader-{tag}@e2e.example")

    await LoginPage(page, live_server).sign_in(admin, next_path="/console")
    for path, testid in [
        ("/console", "new-client"),
        ("/console/new", "client-form"),
        ("/admin/consultants", "consultant-form"),
        ("/admin/outbox", "outbox-list"),
        (f"/admin/outbox/{message.id}", "message-body"),
    ]:
        screen = BasePage(page, live_server)
        screen.path = path
        await screen.goto()
        await expect(page.get_by_test_id(testid)).to_be_visible()
        await assert_accessible(page)
        assert not await screen.has_horizontal_overflow(), f"{path} scrolls sideways"
