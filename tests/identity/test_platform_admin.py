"""Platform admin pages on a live server: consultants (create, set-password link, assign,
unassign, all audited) and the mail outbox; the shared password-link mechanism."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from scalemark.db import shared_transaction, tenant_transaction
from scalemark.identity.users import check_password, get_user_by_email
from scalemark.mail import MailMessage, send_mail
from scalemark.mail.outbox import list_messages
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData
from support.accounts import Credentials
from support.platform import WebSession, ensure_staff, follow_handoff
from support.server import LiveServer, compile_catalogs, running_server

PASSWORD = "platform-admin-test-pw"
_RESET_LINK = re.compile(r"https?://[^\s/]+(/password/reset/[A-Za-z0-9_-]+)")


def address(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@admin.example"


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> AsyncIterator[LiveServer]:
    compile_catalogs()
    async with running_server() as live:
        yield live


@pytest.fixture
async def admin(app_db: None) -> Credentials:
    return await ensure_staff(address("admin"), PASSWORD, "platform_admin")


async def reset_path(recipient: str) -> str:
    [message] = await list_messages(recipient=recipient, limit=1)
    found = _RESET_LINK.search(message.body_text)
    assert found, message.body_text
    return found.group(1)


async def platform_actions(target: str) -> list[tuple[str, str]]:
    async with shared_transaction() as conn:
        rows = await conn.fetch(
            "SELECT action, actor_label FROM scalemark.platform_event WHERE target = $1"
            " ORDER BY id",
            target,
        )
    return [(r["action"], r["actor_label"]) for r in rows]


async def test_admin_pages_are_for_platform_admins_on_the_platform_host(
    server: LiveServer, make_tenant, admin: Credentials
) -> None:
    tenant = await make_tenant("adm")
    consultant = await ensure_staff(address("consultant"), PASSWORD, "consultant")
    for path in ("/admin/consultants", "/admin/outbox", "/admin/outbox/1"):
        async with WebSession(server) as web:
            anonymous = await web.get(path)
            assert anonymous.status_code == 303 and "/login?next=" in anonymous.headers["location"]
        async with WebSession(server, tenant.slug) as web:
            assert (await web.get(path)).status_code == 404
        async with WebSession(server) as web:
            await web.sign_in(consultant)
            assert (await web.get(path)).status_code == 403
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        forbidden = await web.post("/admin/consultants", {"email": address("x"), "name": "X"})
        assert forbidden.status_code == 403
    async with WebSession(server) as web:
        await web.sign_in(admin)
        assert (await web.get("/admin/consultants")).status_code == 200
        assert (await web.get("/admin/outbox")).status_code == 200


async def test_admin_creates_and_assigns_a_consultant_who_then_opens_the_tenant(
    server: LiveServer, make_tenant, admin: Credentials
) -> None:
    tenant = await make_tenant("assign", name="Assigned Client")
    async with tenant_transaction(tenant):
        await org_service.create_unit(UnitData(code="HQ", name="Assigned HQ", kind="hq"), None)
    email = address("new-consultant")

    async with WebSession(server) as staff:
        await staff.sign_in(admin)
        await staff.get("/admin/consultants")
        created = await staff.post("/admin/consultants", {"email": email, "name": "Nora New"})
        assert created.status_code == 303
        page = await staff.get(created.headers["location"])
        assert f'data-testid="consultant-{email}"' in page.text
        assert 'data-testid="consultant-notice"' in page.text
    user = await get_user_by_email(email)
    assert user is not None and user.platform_role == "consultant" and not user.has_password

    # The consultant chooses a password through the mailed link and is signed in.
    path = await reset_path(email)
    async with WebSession(server) as consultant:
        assert (await consultant.get(path)).status_code == 200
        chosen = await consultant.post(
            path, {"password": "nora-password-1", "password_confirm": "nora-password-1"}
        )
        assert chosen.status_code == 303
        console = await consultant.get("/console")
        assert console.status_code == 200 and tenant.slug not in console.text
        assert (await consultant.post(f"/console/clients/{tenant.slug}/open")).status_code == 404

        async with WebSession(server) as staff:
            await staff.sign_in(admin)
            await staff.get("/admin/consultants")
            assigned = await staff.post(
                f"/admin/consultants/{user.id}/assign", {"tenant_id": str(tenant.id)}
            )
            assert assigned.status_code == 303
            page = await staff.get(assigned.headers["location"])
            assert f'data-testid="assignment-{email}-{tenant.slug}"' in page.text

        console = await consultant.get("/console")
        assert f'data-testid="open-{tenant.slug}"' in console.text
        opened = await consultant.post(f"/console/clients/{tenant.slug}/open")
        assert opened.status_code == 303
        tenant_web, handoff = await follow_handoff(server, opened.headers["location"])
        async with tenant_web:
            assert handoff.status_code == 303
            home = await tenant_web.get(handoff.headers["location"])
            assert home.status_code == 200 and "Assigned Client" in home.text
        async with tenant_transaction(tenant) as conn:
            access = await conn.fetchval(
                "SELECT count(*) FROM audit_event WHERE action = 'auth.consultant_access'"
                " AND actor_id = $1",
                user.id,
            )
        assert access == 1

        async with WebSession(server) as staff:
            await staff.sign_in(admin)
            await staff.get("/admin/consultants")
            removed = await staff.post(f"/admin/consultants/{user.id}/unassign/{tenant.id}")
            assert removed.status_code == 303
        assert (await consultant.get(f"/console/clients/{tenant.slug}")).status_code == 404
        assert (await consultant.post(f"/console/clients/{tenant.slug}/open")).status_code == 404

    assert await platform_actions(f"user:{user.id}") == [
        ("consultant.create", admin.email),
        ("auth.password_reset", "system"),
        ("consultant.assign", admin.email),
        ("consultant.unassign", admin.email),
    ]


async def test_consultant_form_errors_come_back_in_the_form(
    server: LiveServer, admin: Credentials
) -> None:
    existing = await ensure_staff(address("exists"), PASSWORD, "consultant")
    async with WebSession(server) as staff:
        await staff.sign_in(admin)
        await staff.get("/admin/consultants")
        bad = await staff.post("/admin/consultants", {"email": "not-an-address", "name": "N"})
        assert bad.status_code == 422
        assert "Enter a valid e-mail address." in html.unescape(bad.text)
        assert 'value="not-an-address"' in bad.text
        taken = await staff.post("/admin/consultants", {"email": existing.email, "name": ""})
        assert taken.status_code == 422
        assert "An account with this e-mail address exists already." in html.unescape(taken.text)
        missing = await staff.post("/admin/consultants/999999999/assign", {"tenant_id": "1"})
        assert missing.status_code == 404
        user = await get_user_by_email(existing.email)
        assert user is not None
        unknown_tenant = await staff.post(
            f"/admin/consultants/{user.id}/assign", {"tenant_id": "999999999"}
        )
        assert unknown_tenant.status_code == 404
        not_a_consultant = await get_user_by_email(admin.email)
        assert not_a_consultant is not None
        assert (
            await staff.post(f"/admin/consultants/{not_a_consultant.id}/password-link")
        ).status_code == 404


async def test_outbox_lists_newest_first_and_shows_the_text(
    server: LiveServer, admin: Credentials
) -> None:
    tag = uuid.uuid4().hex[:8]
    first, second = f"first-{tag}@outbox.example", f"second-{tag}@outbox.example"
    await send_mail(MailMessage(to=first, subject=f"Older {tag}", body="older body"))
    await send_mail(MailMessage(to=second, subject=f"Newer {tag}", body=f"Line one\n<b>{tag}</b>"))
    [newer] = await list_messages(recipient=second)
    async with WebSession(server) as staff:
        await staff.sign_in(admin)
        page = await staff.get("/admin/outbox")
        assert page.status_code == 200
        assert page.text.index(f"Newer {tag}") < page.text.index(f"Older {tag}")
        filtered = await staff.get("/admin/outbox", params={"q": f"second-{tag}"})
        assert f"Newer {tag}" in filtered.text and f"Older {tag}" not in filtered.text
        shown = await staff.get(f"/admin/outbox/{newer.id}")
        assert shown.status_code == 200
        assert f"Line one\n&lt;b&gt;{tag}&lt;/b&gt;" in shown.text  # plain text, escaped
        assert "Logged (no SMTP)" in shown.text
        assert (await staff.get("/admin/outbox/999999999")).status_code == 404
        older = await staff.get("/admin/outbox", params={"before": str(newer.id)})
        assert f"Newer {tag}" not in older.text and f"Older {tag}" in older.text


async def test_forgotten_password_link_works_once(server: LiveServer, app_db: None) -> None:
    credentials = await ensure_staff(address("forgetful"), PASSWORD, None)
    async with WebSession(server) as web:
        await web.get("/password/forgot")
        sent = await web.post("/password/forgot", {"email": credentials.email})
        assert sent.status_code == 200
    path = await reset_path(credentials.email)
    assert urlsplit(path).path.startswith("/password/reset/")
    async with WebSession(server) as web:
        await web.get(path)
        done = await web.post(
            path, {"password": "new-password-123", "password_confirm": "new-password-123"}
        )
        assert done.status_code == 303
        assert (await web.get(path)).status_code == 410
    assert await check_password(credentials.email, "new-password-123") is not None
