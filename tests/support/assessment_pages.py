"""HTTP helpers for the assessment setup tests: signed-in clients, API clients, mails.

Builds on :func:`support.assessments.assessment_world` (tree HQ > EU > DE, FR, IT) and the
identity helpers (:func:`support.identity.person`, :class:`support.identity.WebClient`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import httpx

from scalemark.identity.tokens import create_token
from scalemark.identity.users import get_user_by_email
from scalemark.tenancy.resolver import forget_tenant
from support.accounts import Credentials
from support.assessments import AssessmentWorld
from support.identity import Organisation, WebClient, person
from support.server import LiveServer

__all__ = [
    "Mail",
    "api_client",
    "mails_to",
    "org_of",
    "set_locales",
    "signed_in",
]


@dataclass(frozen=True)
class Mail:
    """One message from ``scalemark.mail_outbox``."""

    subject: str
    body: str


def org_of(world: AssessmentWorld) -> Organisation:
    """The world's tenant as the identity helpers know it (``person()`` needs the slug)."""
    return Organisation(tenant=world.tenant)


async def set_locales(pool: asyncpg.Pool, world: AssessmentWorld, locales: Sequence[str]) -> None:
    """Give the tenant these languages (before the server first resolves it)."""
    slug = world.tenant.slug  # type: ignore[attr-defined]
    await pool.execute(
        "UPDATE scalemark.tenant SET locales = $2 WHERE slug = $1", slug, list(locales)
    )
    forget_tenant(slug)


async def signed_in(
    server: LiveServer, world: AssessmentWorld, credentials: Credentials
) -> WebClient:
    """A browser-like client of the world's tenant, signed in."""
    client = WebClient(server, org_of(world).slug)
    await client.signed_in(credentials)
    return client


async def api_client(
    server: LiveServer, world: AssessmentWorld, role: str, unit: str = "HQ"
) -> httpx.AsyncClient:
    """A client with a fresh member's API token (``role`` at ``unit``)."""
    credentials = await person(org_of(world), role, role, unit)
    user = await get_user_by_email(credentials.email)
    assert user is not None
    tenant_id = world.tenant.id  # type: ignore[attr-defined]
    _, secret = await create_token(tenant_id, user.id, "assessment tests")
    return server.client(org_of(world).slug, headers={"authorization": f"Bearer {secret}"})


async def mails_to(pool: asyncpg.Pool, email: str) -> list[Mail]:
    """Every mail to ``email``, oldest first."""
    rows = await pool.fetch(
        "SELECT subject, body_text FROM scalemark.mail_outbox WHERE recipient = $1 ORDER BY id",
        email.lower(),
    )
    return [Mail(r["subject"], r["body_text"]) for r in rows]
