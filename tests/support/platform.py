"""Helpers for platform-host tests: staff accounts, cookie-keeping HTTP sessions with CSRF,
following a hand-off onto a tenant host, and an SMTP sink that collects delivered mail.

    async with WebSession(server) as staff:          # platform host
        await staff.sign_in(credentials)
        response = await staff.post("/console/new", {"name": "Acme", ...})
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiosmtpd.controller import Controller

from support.accounts import Credentials
from support.server import LOOPBACK, LiveServer, free_port

__all__ = [
    "CSRF_COOKIE",
    "ReceivedMail",
    "SmtpSink",
    "WebSession",
    "ensure_staff",
    "follow_handoff",
]

CSRF_COOKIE = "sm_csrf"
_CSRF_FIELD = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


async def ensure_staff(email_address: str, password: str, platform_role: str | None) -> Credentials:
    """An account with this password and platform role (``None``: no platform role).

    Needs the ORM pool in this process (the ``app_db`` fixture).
    """
    from scalemark.identity.blueprint_identity import ensure_platform_account

    await ensure_platform_account(email_address, password=password, platform_role=platform_role)
    return Credentials(email=email_address, password=password)


class WebSession:
    """An httpx client for one host that keeps its cookies and sends the CSRF token."""

    def __init__(self, server: LiveServer, slug: str | None = None) -> None:
        self.server = server
        self.slug = slug
        self.client = server.client(slug, cookies=httpx.Cookies())
        self._token: str | None = None

    async def __aenter__(self) -> WebSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.client.aclose()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET without following redirects; remembers the page's CSRF token."""
        response = await self.client.get(path, **kwargs)
        found = _CSRF_FIELD.search(response.text)
        if found:
            self._token = found.group(1)
        return response

    async def csrf_token(self) -> str:
        """The CSRF token of this session (loads the sign-in form once if needed)."""
        if self._token is None:
            await self.get("/login")
        assert self._token, "no CSRF token on the sign-in form"
        return self._token

    async def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        csrf: bool = True,
    ) -> httpx.Response:
        """POST a form (multipart when ``files`` is given) with the CSRF field."""
        fields = dict(data or {})
        if csrf:
            fields["_csrf_token"] = await self.csrf_token()
        return await self.client.post(path, data=fields, files=files, headers=headers)

    async def sign_in(self, credentials: Credentials, next_path: str = "/") -> httpx.Response:
        """Sign in through the form; fails unless it redirects."""
        response = await self.post(
            "/login",
            {"email": credentials.email, "password": credentials.password, "next": next_path},
        )
        assert response.status_code in (302, 303), (
            f"sign-in of {credentials.email} answered {response.status_code}: {response.text[:300]}"
        )
        self._token = None  # the session rotated; take a fresh token from the next page
        return response


async def follow_handoff(server: LiveServer, location: str) -> tuple[WebSession, httpx.Response]:
    """Follow a hand-off link onto its tenant host with a fresh cookie jar.

    Returns the tenant-host session and the response to the hand-off itself (a redirect
    when it worked). The link's host must be ``<slug>.<base domain>:<server port>``.
    """
    parts = urlsplit(location)
    assert parts.hostname and parts.hostname.endswith("." + server.base_domain), location
    assert parts.port == server.port, f"hand-off points at port {parts.port}: {location}"
    slug = parts.hostname[: -len(server.base_domain) - 1]
    session = WebSession(server, slug)
    response = await session.get(parts.path + (f"?{parts.query}" if parts.query else ""))
    return session, response


@dataclass(frozen=True)
class ReceivedMail:
    """A message the sink accepted."""

    sender: str
    recipients: list[str]
    subject: str
    body: str


@dataclass
class _Collector:
    messages: list[ReceivedMail] = field(default_factory=list)
    arrived: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        self.messages.append(
            ReceivedMail(
                sender=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                subject=str(parsed["subject"]),
                body=body.get_content() if body is not None else "",
            )
        )
        if self.loop is not None and self.arrived is not None:
            self.loop.call_soon_threadsafe(self.arrived.set)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps what it receives (aiosmtpd, own thread).

    ``SMTP_URL`` for the server under test is :attr:`url`.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self._collector = _Collector()
        self._controller = Controller(self._collector, hostname=LOOPBACK, port=self.port)

    @property
    def url(self) -> str:
        """``smtp://127.0.0.1:<port>``."""
        return f"smtp://{LOOPBACK}:{self.port}"

    @property
    def messages(self) -> list[ReceivedMail]:
        """Everything received so far."""
        return list(self._collector.messages)

    def start(self) -> None:
        """Start listening."""
        self._collector.loop = asyncio.get_running_loop()
        self._collector.arrived = asyncio.Event()
        self._controller.start()

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()

    async def wait_for(self, recipient: str, timeout_s: float = 10.0) -> ReceivedMail:
        """The first message to ``recipient``, waiting (event-driven) until it arrives."""
        assert self._collector.arrived is not None, "start() the sink first"

        async def find() -> ReceivedMail:
            arrived = self._collector.arrived
            assert arrived is not None
            while True:
                arrived.clear()  # before looking, so a message arriving meanwhile is not missed
                for message in self._collector.messages:
                    if recipient in message.recipients:
                        return message
                await arrived.wait()

        return await asyncio.wait_for(find(), timeout_s)
