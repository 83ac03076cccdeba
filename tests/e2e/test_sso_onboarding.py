"""Journey 2 in headless Chromium: self-onboarding with company SSO, colleagues joining,
an outsider refused, domain claims verified through a DNS server the test runs.

Everything is real: the live server, the npm ``oidc-provider`` on 127.0.0.1, a dnslib
DNS server on 127.0.0.1 (``DNS_RESOLVER``). Pages are checked with axe.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from uuid import uuid4

import asyncpg
import pytest
from playwright.async_api import Page, expect

from support.axe import assert_accessible
from support.browser import PHONE
from support.dns_server import TestDnsServer
from support.oidc_provider import TestProvider, start_provider, stop_provider
from support.pages import BasePage, TenantHomePage
from support.server import LiveServer, LiveServerFactory, free_port

pytestmark = pytest.mark.timeout(300)

MakePage = Callable[..., Awaitable[Page]]


@pytest.fixture(scope="module")
def dns_server() -> Iterator[TestDnsServer]:
    """dnslib answering the TXT records the test publishes."""
    server = TestDnsServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def sso_server(
    live_server_factory: LiveServerFactory, dns_server: TestDnsServer
) -> LiveServer:
    """A live server that knows its public port, the test DNS and local http issuers."""
    port = free_port()
    env = {"PORT": str(port), "DNS_RESOLVER": dns_server.address, "OIDC_ALLOW_HTTP": "1"}
    return await live_server_factory(env, port=port)


@pytest.fixture(scope="module")
async def provider(sso_server: LiveServer) -> AsyncIterator[TestProvider]:
    """The company's identity provider (npm ``oidc-provider``)."""
    started = await start_provider([sso_server.url(None, "/auth/oidc/callback")])
    yield started
    await stop_provider(started)


class Sso:
    """What a person does around company login, in terms of ``data-testid`` hooks."""

    def __init__(self, page: Page, server: LiveServer, provider: TestProvider) -> None:
        self.page = page
        self.server = server
        self.provider = provider

    async def provider_sign_in(self, login: str) -> None:
        """The provider's login form (its dev interaction): login name = e-mail."""
        await self.page.wait_for_url(re.compile(re.escape(self.provider.issuer) + "/interaction/"))
        await self.page.locator('input[name="login"]').fill(login)
        await self.page.locator('input[name="password"]').fill("any-password")
        await self.page.locator('button[type="submit"]').click()

    async def tenant_sso(self, slug: str, login: str) -> None:
        """Tenant sign-in page → "Sign in with your company login" → provider."""
        await self.page.goto(self.server.url(slug, "/login"))
        button = self.page.get_by_test_id("sso-login")
        await expect(button).to_be_visible()
        await button.click()
        await self.provider_sign_in(login)

    async def expect_tenant_home(self, slug: str) -> None:
        """Landed on the organisation's home page, signed in."""
        await self.page.wait_for_url(self.server.url(slug, "/"))
        await expect(TenantHomePage(self.page, self.server, slug).org_name).to_be_visible()
        await expect(self.page.get_by_test_id("user-menu")).to_be_visible()


async def _timed_axe(page: Page) -> float:
    """Run the axe check and say how long it took (kept out of the journey's timing)."""
    started = time.perf_counter()
    await assert_accessible(page)
    return time.perf_counter() - started


async def _audit_actions(pool: asyncpg.Pool, slug: str) -> list[tuple[str, str]]:
    schema = "t_" + slug.replace("-", "_")
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT action, coalesce(after::text, '') AS after FROM \"{schema}\".audit_event"
            " ORDER BY id"
        )
    return [(r["action"], r["after"]) for r in rows]


async def test_self_onboarding_colleagues_and_domain_claim(
    sso_server: LiveServer,
    provider: TestProvider,
    dns_server: TestDnsServer,
    make_page: MakePage,
    db_pool: asyncpg.Pool,
) -> None:
    tag = uuid4().hex[:6]
    domain = f"acme{tag}.example"
    slug = f"acme{tag}"
    admin_email = f"hanna@{domain}"

    # 1. Self-onboarding, timed from the click on "Start with your company login".
    page = await make_page()
    sso = Sso(page, sso_server, provider)
    await page.goto(sso_server.url(None, "/login"))
    axe_s = 0.0
    started = time.perf_counter()
    await page.get_by_test_id("start-sso").click()
    await page.wait_for_url(sso_server.url(None, "/start"))
    axe_s += await _timed_axe(page)
    await page.get_by_test_id("start-email").fill(admin_email)
    await page.get_by_test_id("start-submit").click()
    await page.wait_for_url(sso_server.url(None, "/start/register"))
    await expect(page.get_by_test_id("redirect-uri")).to_have_text(
        sso_server.url(None, "/auth/oidc/callback")
    )
    axe_s += await _timed_axe(page)
    await page.get_by_test_id("register-issuer").fill(provider.issuer)
    await page.get_by_test_id("register-client-id").fill(provider.client.client_id)
    await page.get_by_test_id("register-client-secret").fill(provider.client.client_secret)
    await page.get_by_test_id("register-submit").click()
    await sso.provider_sign_in(admin_email)
    await page.wait_for_url(sso_server.url(None, "/start/organisation"))
    await expect(page.get_by_test_id("org-slug-input")).to_have_value(slug)
    axe_s += await _timed_axe(page)
    await page.get_by_test_id("org-name-input").fill(f"Acme {tag} Group")
    await page.get_by_test_id("register-org-submit").click()
    await sso.expect_tenant_home(slug)
    onboarding_s = time.perf_counter() - started
    print(
        "\nself-onboarding, click on 'Start with your company login' → tenant home:"
        f" {onboarding_s - axe_s:.2f} s without the axe checks"
        f" ({onboarding_s:.2f} s with them; browser typing included)"
    )
    # The new HQ admin sees the admin navigation.
    await expect(page.get_by_test_id("nav-settings")).to_be_visible()
    await expect(page.get_by_test_id("nav-members")).to_be_visible()

    # 2. The domain claim made at registration: refused without the TXT record, then verified.
    await page.get_by_test_id("nav-settings").click()
    await page.wait_for_url(sso_server.url(slug, "/settings/sso"))
    await expect(page.get_by_test_id("sso-issuer")).to_have_value(provider.issuer)
    await assert_accessible(page)
    claim = page.get_by_test_id(f"claim-{domain}")
    await expect(claim.get_by_test_id("claim-status")).to_have_text("Waiting for DNS record")
    await claim.get_by_test_id("claim-verify").click()
    await expect(page.get_by_test_id("claim-error")).to_be_visible()
    await assert_accessible(page)
    claim = page.get_by_test_id(f"claim-{domain}")
    name = await claim.get_by_test_id("claim-record-name").inner_text()
    value = await claim.get_by_test_id("claim-record-value").inner_text()
    assert name == f"_scalemark-challenge.{domain}" and value.startswith("scalemark-verify=")
    dns_server.set_txt(name, value)
    await claim.get_by_test_id("claim-verify").click()
    await expect(page.get_by_test_id("sso-notice")).to_have_text("Domain verified.")
    await expect(
        page.get_by_test_id(f"claim-{domain}").get_by_test_id("claim-status")
    ).to_have_text("Verified")

    # 3. A colleague of the same domain joins through the tenant's button.
    colleague = Sso(await make_page(), sso_server, provider)
    await colleague.page.goto(sso_server.url(slug, "/login"))
    await expect(colleague.page.get_by_test_id("sso-login")).to_be_visible()
    await assert_accessible(colleague.page)
    started = time.perf_counter()
    await colleague.tenant_sso(slug, f"jonas@{domain}")
    await colleague.expect_tenant_home(slug)
    print(f"first SSO sign-in of a colleague (joins): {time.perf_counter() - started:.2f} s")

    # 4. Home-realm discovery: the verified domain sends a third colleague straight to
    #    the tenant's provider from the platform's start page.
    third = Sso(await make_page(), sso_server, provider)
    await third.page.goto(sso_server.url(None, "/start"))
    await third.page.get_by_test_id("start-email").fill(f"mira@{domain}")
    await third.page.get_by_test_id("start-submit").click()
    await third.provider_sign_in(f"mira@{domain}")
    await third.expect_tenant_home(slug)

    # 5. Someone from another domain does not join.
    outsider = Sso(await make_page(), sso_server, provider)
    await outsider.tenant_sso(slug, f"eve@other{tag}.example")
    await expect(outsider.page.get_by_test_id("sso-error")).to_be_visible()
    await expect(outsider.page.get_by_test_id("sso-error-message")).to_contain_text("cannot join")
    await assert_accessible(outsider.page)

    # 6. Settings: a broken issuer is refused with a clear message and the form keeps the
    #    input; then join mode "approval" makes the next newcomer wait.
    await page.goto(sso_server.url(slug, "/settings/sso"))
    await page.get_by_test_id("sso-issuer").fill(f"http://127.0.0.1:{free_port()}")
    await page.get_by_test_id("sso-save").click()
    await expect(page.get_by_test_id("sso-issuer-error")).to_be_visible()
    await expect(page.get_by_test_id("sso-client-id")).to_have_value(provider.client.client_id)
    await assert_accessible(page)
    await page.get_by_test_id("sso-issuer").fill(provider.issuer)
    await page.get_by_test_id("sso-join-approval").check()
    await page.get_by_test_id("sso-save").click()
    await expect(page.get_by_test_id("sso-notice")).to_be_visible()
    await expect(page.get_by_test_id("sso-join-approval")).to_be_checked()

    newcomer = Sso(await make_page(), sso_server, provider)
    await newcomer.tenant_sso(slug, f"noah@{domain}")
    await expect(newcomer.page.get_by_test_id("sso-pending")).to_be_visible()
    await assert_accessible(newcomer.page)

    # 7. The audit log has the story, and never the secret.
    events = await _audit_actions(db_pool, slug)
    actions = [action for action, _ in events]
    for expected in (
        "tenant.onboard",
        "sso.provider_create",
        "sso.domain_verify",
        "member.join",
        "sso.provider_update",
        "auth.sso_refused",
    ):
        assert expected in actions, actions
    assert sum(1 for a, after in events if a == "auth.login" and '"sso"' in after) >= 3
    assert not any(provider.client.client_secret in after for _, after in events)


async def test_start_pages_work_on_a_phone(sso_server: LiveServer, make_page: MakePage) -> None:
    page = await make_page(**PHONE)
    await page.goto(sso_server.url(None, "/start"))
    await expect(page.get_by_test_id("start-form")).to_be_visible()
    assert not await BasePage(page, sso_server).has_horizontal_overflow()
    await page.get_by_test_id("start-email").fill("someone@gmail.com")
    await page.get_by_test_id("start-submit").click()
    await expect(page.get_by_test_id("start-error")).to_be_visible()
    await expect(page.get_by_test_id("start-email")).to_have_value("someone@gmail.com")
    await assert_accessible(page)


async def test_another_tenant_cannot_claim_a_verified_domain(
    sso_server: LiveServer,
    provider: TestProvider,
    dns_server: TestDnsServer,
    make_page: MakePage,
) -> None:
    """Two organisations onboard; the second cannot take the first one's verified domain."""
    tag = uuid4().hex[:6]
    owned = f"owned{tag}.example"

    async def onboard(email: str, slug: str) -> Sso:
        sso = Sso(await make_page(), sso_server, provider)
        await sso.page.goto(sso_server.url(None, "/start"))
        await sso.page.get_by_test_id("start-email").fill(email)
        await sso.page.get_by_test_id("start-submit").click()
        await sso.page.get_by_test_id("register-issuer").fill(provider.issuer)
        await sso.page.get_by_test_id("register-client-id").fill(provider.clients[1].client_id)
        await sso.page.get_by_test_id("register-client-secret").fill(
            provider.clients[1].client_secret
        )
        await sso.page.get_by_test_id("register-submit").click()
        await sso.provider_sign_in(email)
        await sso.page.wait_for_url(sso_server.url(None, "/start/organisation"))
        await sso.page.get_by_test_id("org-slug-input").fill(slug)
        await sso.page.get_by_test_id("register-org-submit").click()
        await sso.expect_tenant_home(slug)
        return sso

    first = await onboard(f"ola@{owned}", f"first{tag}")
    await first.page.goto(sso_server.url(f"first{tag}", "/settings/sso"))
    claim = first.page.get_by_test_id(f"claim-{owned}")
    dns_server.set_txt(
        await claim.get_by_test_id("claim-record-name").inner_text(),
        await claim.get_by_test_id("claim-record-value").inner_text(),
    )
    await claim.get_by_test_id("claim-verify").click()
    await expect(first.page.get_by_test_id("sso-notice")).to_have_text("Domain verified.")

    second = await onboard(f"per@second{tag}.example", f"second{tag}")
    await second.page.goto(sso_server.url(f"second{tag}", "/settings/sso"))
    await second.page.get_by_test_id("domain-input").fill(owned)
    await second.page.get_by_test_id("domain-add").click()
    await expect(second.page.get_by_test_id("domain-error")).to_contain_text("another organisation")
    await expect(second.page.get_by_test_id("domain-input")).to_have_value(owned)
    await expect(second.page.get_by_test_id(f"claim-{owned}")).to_have_count(0)
