"""Identity tests over HTTP: an organisation with a small unit tree, people, web clients.

- :func:`shared_live_server` starts one server per test process (stopped at exit), for
  HTTP-level tests outside ``tests/e2e`` that have no ``live_server`` fixture.
- :func:`organisation` provisions a throw-away tenant with the tree
  ``HQ → DACH → DE`` and ``HQ → WEST → FR`` and drops it afterwards.
- :func:`person` gives someone a role (a fresh, unique e-mail and a password).
- :class:`WebClient` is one visitor: a cookie jar on one host, signing in through the real
  ``POST /login`` and sending the CSRF token (the ``sm_csrf`` cookie) with forms.
"""

from __future__ import annotations

import atexit
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from support.accounts import SESSION_COOKIE, Credentials
from support.server import LiveServer, LiveServerFactory, compile_catalogs

__all__ = [
    "CSRF_COOKIE",
    "PASSWORD",
    "Organisation",
    "WebClient",
    "organisation",
    "person",
    "shared_live_server",
    "unique_email",
]

CSRF_COOKIE = "sm_csrf"
PASSWORD = "identity-test-password-1"
TREE = (
    ("HQ", "Test HQ", "hq", None),
    ("DACH", "Region DACH", "region", "HQ"),
    ("DE", "Germany", "country", "DACH"),
    ("WEST", "Region West", "region", "HQ"),
    ("FR", "France", "country", "WEST"),
)

_factory: LiveServerFactory | None = None


def _stop_at_exit() -> None:
    if _factory is None:
        return
    for server in _factory.servers:
        with suppress(ProcessLookupError):
            server.process.terminate()
            server.process.wait(10)


async def shared_live_server() -> LiveServer:
    """The process-wide server for HTTP tests (the database must be migrated already)."""
    global _factory
    if _factory is None:
        compile_catalogs()
        _factory = LiveServerFactory()
        atexit.register(_stop_at_exit)
    return await _factory()


def unique_email(label: str) -> str:
    """An address no other test uses."""
    return f"{label}-{uuid.uuid4().hex[:10]}@identity.example"


@dataclass
class Organisation:
    """A tenant and its units by code."""

    tenant: Any
    units: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """The tenant's slug (its host is ``<slug>.localhost``)."""
        return str(self.tenant.slug)

    def unit_id(self, code: str) -> int:
        """Id of the unit with this code."""
        return int(self.units[code].id)


@asynccontextmanager
async def organisation(pool: asyncpg.Pool, prefix: str = "idt") -> AsyncIterator[Organisation]:
    """A fresh tenant with the test tree; dropped afterwards (needs the ORM pool)."""
    from scalemark.db import tenant_transaction
    from scalemark.org import service
    from scalemark.org.rules import UnitData
    from scalemark.tenancy.provisioning import create_tenant, drop_tenant
    from scalemark.tenancy.registry import get_tenant
    from scalemark.tenancy.resolver import forget_tenant

    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await create_tenant(conn, slug, f"Org {slug}", default_locale="en")
    forget_tenant(slug)
    info = await get_tenant(slug)
    assert info is not None
    org = Organisation(tenant=info.ref)
    try:
        async with tenant_transaction(info.ref):
            for code, name, kind, parent in TREE:
                org.units[code] = await service.create_unit(
                    UnitData(code=code, name=name, kind=kind), parent
                )
        yield org
    finally:
        async with pool.acquire() as conn:
            await drop_tenant(conn, slug)
        forget_tenant(slug)


async def person(
    org: Organisation, label: str, role: str, unit_code: str | None = "HQ"
) -> Credentials:
    """A new account with ``role`` at the unit (``HQ`` by default)."""
    from scalemark.identity.provisioning import ensure_member

    email = unique_email(label)
    await ensure_member(
        email, tenant_slug=org.slug, role=role, unit_code=unit_code, name=label, password=PASSWORD
    )
    return Credentials(email=email, password=PASSWORD)


class WebClient:
    """One visitor on one host: keeps cookies, signs in, posts forms with the CSRF token."""

    def __init__(self, server: LiveServer, slug: str | None, **kwargs: Any) -> None:
        self.server = server
        self.slug = slug
        self.http = server.client(slug, cookies=httpx.Cookies(), **kwargs)

    async def __aenter__(self) -> WebClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    @property
    def session(self) -> str | None:
        """The session cookie's value."""
        return self.http.cookies.get(SESSION_COOKIE)

    async def csrf(self) -> str:
        """The CSRF token (loads the sign-in form once to get the cookie)."""
        token = self.http.cookies.get(CSRF_COOKIE)
        if token is None:
            response = await self.http.get("/login")
            assert response.status_code == 200, response.status_code
            token = self.http.cookies.get(CSRF_COOKIE)
        assert token, "no CSRF cookie"
        return str(token)

    async def sign_in(self, credentials: Credentials, next_path: str = "/") -> httpx.Response:
        """``POST /login``; returns the answer (303 when it worked)."""
        return await self.post(
            "/login",
            {"email": credentials.email, "password": credentials.password, "next": next_path},
        )

    async def signed_in(self, credentials: Credentials) -> WebClient:
        """Sign in and insist that it worked."""
        response = await self.sign_in(credentials)
        assert response.status_code == 303, (
            f"sign-in of {credentials.email} answered {response.status_code}: {response.text[:300]}"
        )
        return self

    async def get(self, path: str, *, htmx: bool = False, **kwargs: Any) -> httpx.Response:
        """GET, optionally as an htmx request."""
        headers = {"HX-Request": "true"} if htmx else {}
        return await self.http.get(path, headers=headers, **kwargs)

    async def post(
        self,
        path: str,
        data: Mapping[str, Any] | None = None,
        *,
        csrf: bool = True,
        htmx: bool = False,
    ) -> httpx.Response:
        """POST a form (with the CSRF field unless ``csrf=False``)."""
        form = dict(data or {})
        if csrf:
            form["_csrf_token"] = await self.csrf()
        headers = {"HX-Request": "true"} if htmx else {}
        return await self.http.post(path, data=form, headers=headers)
