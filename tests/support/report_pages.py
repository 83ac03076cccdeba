"""Helpers for the report page tests: people, requests through the form, finished rows.

The world is :func:`support.assessment_results.scored_world` (HQ > EU > DE, FR, IT on the
test framework). Rows are moved along their lifecycle with the service's job steps, so
no worker is needed unless a test wants a real PDF.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx

from scalemark.db import tenant_transaction
from scalemark.reports import service
from support.assessment_results import consultant
from support.identity import Organisation, WebClient, person
from support.server import LiveServer

__all__ = [
    "FAKE_PDF",
    "client_as",
    "fail",
    "make_ready",
    "move_to",
    "outbox",
    "report_id_of",
    "request_form",
    "token_of",
]

FAKE_PDF = b"%PDF-1.4\n% a stand-in for a rendered report\n%%EOF\n"
"""Bytes stored as a "rendered" PDF where the test does not need a real one."""

_LINK = re.compile(r"/r/([A-Za-z0-9_-]{20,})")


async def client_as(server: LiveServer, tenant: Any, role: str, unit: str = "HQ") -> WebClient:
    """A signed-in web client of a new person with ``role`` at ``unit``.

    ``consultant``: a platform consultant assigned to the tenant (acts at the root).
    """
    org = Organisation(tenant=tenant)
    if role == "consultant":
        credentials = await consultant(tenant)
    else:
        credentials = await person(org, role, role, unit)
    client = WebClient(server, org.slug)
    await client.signed_in(credentials)
    client.email = credentials.email  # type: ignore[attr-defined]
    return client


def request_form(**values: str) -> dict[str, str]:
    """The request form's fields (whole organisation, English board summary, UTC)."""
    return {"scope": "", "locale": "en", "audience": "board", "timezone": "UTC", **values}


def report_id_of(response: httpx.Response) -> int:
    """The report id a request's redirect (``/reports/<id>…``) points to."""
    assert response.status_code == 303, (response.status_code, response.text[:500])
    match = re.match(r"/reports/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def move_to(tenant: Any, report_id: int, status: str) -> None:
    """Set a row's status as the worker would (``collecting`` or ``rendering``)."""
    async with tenant_transaction(tenant):
        if status == "collecting":
            await service.claim_report(report_id)
        elif status == "rendering":
            await service.claim_report(report_id)
            await service.mark_rendering(report_id)
        else:
            raise ValueError(status)


async def make_ready(tenant: Any, report_id: int, pdf: bytes = FAKE_PDF, pages: int = 3) -> None:
    """Store ``pdf`` as the report's file and mark it ready."""
    async with tenant_transaction(tenant):
        await service.claim_report(report_id)
        assert await service.store_pdf(report_id, pdf, pages)


async def fail(tenant: Any, report_id: int, reason: str) -> None:
    """Give up on the report with ``reason``."""
    async with tenant_transaction(tenant):
        await service.fail_report(report_id, reason)


async def outbox(pool: asyncpg.Pool, recipient: str) -> list[asyncpg.Record]:
    """Mails to ``recipient``, oldest first."""
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT subject, body_text, tenant_id FROM scalemark.mail_outbox"
            " WHERE recipient = $1 ORDER BY id",
            recipient,
        )


def token_of(body: str) -> str:
    """The share token in a mail's text."""
    match = _LINK.search(body)
    assert match, body
    return match.group(1)
