"""People for tests: members of a tenant with a password, and signing in over HTTP.

Browser tests sign in through :class:`support.pages.LoginPage`; HTTP clients use
:func:`http_sign_in` and send the session cookie it returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from support.server import LiveServer

__all__ = ["SESSION_COOKIE", "Credentials", "ensure_member", "http_sign_in"]

SESSION_COOKIE = "sm_session"
_CSRF_FIELD = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


@dataclass(frozen=True)
class Credentials:
    """E-mail and password of a test account."""

    email: str
    password: str


async def ensure_member(
    slug: str,
    email: str,
    password: str,
    *,
    role: str = "hq_admin",
    unit_code: str | None = None,
    name: str = "",
) -> Credentials:
    """Create the account if needed, set its password and give it ``role`` in the tenant.

    Needs the ORM pool in this process (the ``app_db`` fixture).
    """
    from scalemark.identity.provisioning import ensure_member as provision_member

    await provision_member(
        email, tenant_slug=slug, role=role, unit_code=unit_code, name=name, password=password
    )
    return Credentials(email=email, password=password)


async def http_sign_in(server: LiveServer, slug: str | None, credentials: Credentials) -> str:
    """Sign in through the login form (CSRF included); returns the session id."""
    async with server.client(slug, cookies=httpx.Cookies()) as client:
        form = await client.get("/login")
        assert form.status_code == 200, f"GET /login answered {form.status_code}"
        token = _CSRF_FIELD.search(form.text)
        assert token, "no CSRF field in the login form"
        response = await client.post(
            "/login",
            data={
                "email": credentials.email,
                "password": credentials.password,
                "next": "/",
                "_csrf_token": token.group(1),
            },
        )
        assert response.status_code in (302, 303), (
            f"sign-in of {credentials.email} at {slug} answered {response.status_code}:"
            f" {response.text[:300]}"
        )
        session = client.cookies.get(SESSION_COOKIE)
    assert session, f"sign-in of {credentials.email} at {slug} set no session cookie"
    return session
