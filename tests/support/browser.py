"""Headless Debian Chromium through Playwright's async API.

The async API runs on the pytest-asyncio session loop (the sync API would start a loop
of its own and clash with it). Playwright's own browser download does not work here, so
the system Chromium is launched by path (``CHROMIUM`` overrides ``/usr/bin/chromium``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

__all__ = [
    "CHROMIUM_ARGS",
    "DESKTOP",
    "PHONE",
    "PageSession",
    "chromium_path",
    "launch_chromium",
    "new_page",
    "safe_filename",
]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
"""Context options of the default desktop page."""

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
"""Context options of a phone-sized page (iPhone 12-ish)."""


def chromium_path() -> str:
    """The Chromium binary: ``$CHROMIUM`` or Debian's ``/usr/bin/chromium``."""
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        raise FileNotFoundError(
            f"no Chromium at {path}; install it (apt-get install chromium) or set CHROMIUM"
        )
    return path


async def launch_chromium(playwright: Playwright, **options: Any) -> Browser:
    """Launch headless Chromium with flags that keep it quiet and container-friendly."""
    options.setdefault("headless", True)
    options.setdefault("args", CHROMIUM_ARGS)
    return await playwright.chromium.launch(executable_path=chromium_path(), **options)


@dataclass
class PageSession:
    """A page in its own context, plus what the browser reported while the test ran."""

    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    async def close(self) -> None:
        """Close the context (and its page)."""
        await self.context.close()


async def new_page(browser: Browser, **context_options: Any) -> PageSession:
    """A fresh context (no cookies, no storage) with one page; desktop and en-US by default."""
    options = {**DESKTOP, "locale": "en-US", **context_options}
    context = await browser.new_context(**options)
    context.set_default_timeout(10_000)
    context.set_default_navigation_timeout(15_000)
    page = await context.new_page()
    session = PageSession(context=context, page=page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            session.console_errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: session.page_errors.append(str(error)))
    return session


def safe_filename(text: str, limit: int = 150) -> str:
    """A test id as a file name: ``tests/e2e/test_x.py::test_y[a]`` → ``test_x.py-test_y-a``."""
    name = text.split("/")[-1]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    return name[:limit] or "page"
