"""Uploading an own framework in a real browser: the HQ admin of the demo organisation pastes
a framework with mistakes, sees them listed, corrects the text and uploads it.

axe checks the frameworks page empty, with the mistakes and with the upload; screenshots of
the desktop page go to ``artifacts/``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from scalemark.db import TenantRef
from support import PROJECT_ROOT
from support.accounts import Credentials
from support.assessments import MINI_FRAMEWORK
from support.axe import assert_accessible
from support.pages import BasePage, LoginPage
from support.server import LiveServer

pytestmark = pytest.mark.timeout(240)

ARTIFACTS = PROJECT_ROOT / "artifacts"


class FrameworksPage(BasePage):
    """``/assessments/frameworks``."""

    path = "/assessments/frameworks"


async def test_admin_corrects_and_uploads_a_framework(
    make_page: Callable[..., Awaitable[Page]],
    live_server: LiveServer,
    demo_tenant: TenantRef,
    demo_admin: Credentials,
) -> None:
    key = f"own-{uuid.uuid4().hex[:6]}"
    good = MINI_FRAMEWORK.read_text(encoding="utf-8").replace(
        "id: mini-scalability", f"id: {key}", 1
    )
    broken = good.replace("weight: 2", "weight: -1", 1).replace("target: 4", "target: 9", 1)
    page = await make_page(viewport={"width": 1280, "height": 900})
    await LoginPage(page, live_server, demo_tenant.slug).sign_in(
        demo_admin, next_path="/assessments"
    )
    async with page.expect_navigation(wait_until="load"):
        await page.get_by_test_id("frameworks-link").click()
    frameworks = FrameworksPage(page, live_server, demo_tenant.slug)
    await expect(page.get_by_test_id("frameworks-table")).to_be_visible()
    await assert_accessible(page)

    await page.get_by_test_id("upload-text").fill(broken)
    async with page.expect_navigation(wait_until="load"):
        await page.get_by_test_id("upload-submit").click()
    await expect(page.get_by_test_id("upload-issues")).to_contain_text("mistakes")
    await expect(page.get_by_test_id("upload-issue")).to_have_count(2)
    await expect(page.get_by_test_id("upload-text")).to_have_value(broken)
    await assert_accessible(page)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "frameworks-mistakes-desktop.png"), full_page=True)

    await page.get_by_test_id("upload-text").fill(good)
    async with page.expect_navigation(wait_until="load"):
        await page.get_by_test_id("upload-submit").click()
    await expect(page.get_by_test_id("frameworks-message")).to_be_visible()
    await expect(page.locator(f'[data-testid="framework-row"][data-key="{key}"]')).to_be_visible()
    await assert_accessible(page)
    await page.screenshot(path=str(ARTIFACTS / "frameworks-desktop.png"), full_page=True)
    assert frameworks.url.endswith("/assessments/frameworks")
