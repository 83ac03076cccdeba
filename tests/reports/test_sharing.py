"""Share links: mailed in the right language, open without an account, expire, revoke.

World: a closed assessment over HQ > EU > DE, FR, IT with a ready report (a stand-in PDF).
"""

from __future__ import annotations

import re
from datetime import timedelta

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.i18n.formatting import format_date
from scalemark.i18n.locale import use_locale
from scalemark.identity.users import create_user
from scalemark.reports import sharing
from support.assessment_results import ScoredWorld, scored_world
from support.identity import WebClient, shared_live_server, unique_email
from support.report_pages import (
    FAKE_PDF,
    client_as,
    make_ready,
    outbox,
    report_id_of,
    request_form,
    token_of,
)
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def world(make_tenant) -> ScoredWorld:
    return await scored_world(make_tenant, prefix="rsh", status="closed")


async def ready_report(admin: WebClient, world: ScoredWorld, **values: str) -> int:
    report_id = report_id_of(
        await admin.post(f"/assessments/{world.assessment_id}/reports", request_form(**values))
    )
    await make_ready(world.tenant, report_id)
    return report_id


async def share(admin: WebClient, report_id: int, emails: str, **fields: str):
    return await admin.post(f"/reports/{report_id}/shares", {"emails": emails, **fields})


async def test_a_link_is_mailed_and_works_without_an_account(
    server: LiveServer, world: ScoredWorld, db_pool: asyncpg.Pool
) -> None:
    stranger, colleague = unique_email("board"), unique_email("cfo")
    # The colleague has an account in French: the mail speaks French; the stranger gets
    # the report's language (English here).
    await create_user(colleague, name="CFO", password="a-long-password-1", locale="fr")
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        report_id = await ready_report(admin, world)
        sent = await share(
            admin, report_id, f"{stranger}, {colleague.upper()}", message="Bitte lesen.", days="7"
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/reports/{report_id}?shared=2#shares"
        page = await admin.get(f"/reports/{report_id}?shared=2")
        assert "The links are sent to 2 addresses." in page.text
        assert page.text.count('data-state="active"') == 2

    mails = await outbox(db_pool, stranger)
    assert len(mails) == 1
    body = mails[0]["body_text"]
    assert "Bitte lesen." in body and "Scalability 2026" in body
    assert mails[0]["tenant_id"] == world.tenant.id  # type: ignore[attr-defined]
    token = token_of(body)
    assert f"http://{world.tenant.slug}.localhost:" in body  # type: ignore[attr-defined]

    async with tenant_transaction(world.tenant) as conn:
        shares = await conn.fetch("SELECT id, email, token_hash, expires_at FROM report_share")
        audited = await conn.fetch(
            "SELECT after FROM audit_event WHERE action = 'report.share' ORDER BY id"
        )
        now = await conn.fetchval("SELECT now()")
    assert {s["email"] for s in shares} == {stranger, colleague}
    assert all(token not in s["token_hash"] for s in shares)  # only the digest is stored
    assert sharing.token_digest(token) in {s["token_hash"] for s in shares}
    assert all(
        abs(s["expires_at"] - now - timedelta(days=7)) < timedelta(minutes=1) for s in shares
    )
    assert len(audited) == 2

    french = await outbox(db_pool, colleague)
    expires = next(s["expires_at"] for s in shares if s["email"] == colleague)
    with use_locale("fr"):
        assert format_date(expires, "long") in french[0]["body_text"]
    with use_locale("en"):
        assert format_date(expires, "long") in body

    async with server.client(world.tenant.slug) as visitor:  # type: ignore[attr-defined]
        landing = await visitor.get(f"/r/{token}")
        assert landing.status_code == 200, landing.text[:300]
        assert world.tenant.name in landing.text  # type: ignore[attr-defined]
        assert "Scalability 2026" in landing.text and "English" in landing.text
        assert f'href="/r/{token}/download"' in landing.text
        assert landing.headers["referrer-policy"] == "no-referrer"
        got = await visitor.get(f"/r/{token}/download", headers={"user-agent": "Board-Reader/1.0"})
        assert got.status_code == 200 and got.content == FAKE_PDF
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"].endswith('-scalability-2026-en.pdf"')
    async with tenant_transaction(world.tenant) as conn:
        log = await conn.fetch("SELECT share_id, user_id, ip, user_agent FROM report_download")
    share_id = next(s["id"] for s in shares if s["email"] == stranger)
    assert [(r["share_id"], r["user_id"], r["ip"], r["user_agent"]) for r in log] == [
        (share_id, None, "127.0.0.1", "Board-Reader/1.0")
    ]
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        page = await admin.get(f"/reports/{report_id}")
        row = re.search(rf'data-testid="share-row-{share_id}".*?</tr>', page.text, re.S)
        assert row and "1, last on" in row.group(0)
        assert "Downloads: 1, last on" in page.text


async def test_expired_revoked_and_unknown_links_are_refused(
    server: LiveServer, world: ScoredWorld, db_pool: asyncpg.Pool
) -> None:
    first, second = unique_email("one"), unique_email("two")
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        report_id = await ready_report(admin, world)
        assert (await share(admin, report_id, f"{first}\n{second}")).status_code == 303
        old = token_of((await outbox(db_pool, first))[0]["body_text"])
        withdrawn = token_of((await outbox(db_pool, second))[0]["body_text"])
        async with tenant_transaction(world.tenant) as conn:
            await conn.execute(
                "UPDATE report_share SET expires_at = now() - interval '1 minute' WHERE email = $1",
                first,
            )
            second_id = await conn.fetchval("SELECT id FROM report_share WHERE email = $1", second)
        revoked = await admin.post(f"/reports/{report_id}/shares/{second_id}/revoke")
        assert revoked.status_code == 303
        page = await admin.get(f"/reports/{report_id}")
        assert 'data-state="expired"' in page.text and 'data-state="revoked"' in page.text
        assert f'data-testid="share-revoke-{second_id}"' not in page.text
        # Revoking twice is harmless; another report's share is unknown.
        assert (
            await admin.post(f"/reports/{report_id}/shares/{second_id}/revoke")
        ).status_code == 303
        assert (
            await admin.post(f"/reports/{report_id}/shares/{second_id + 999}/revoke")
        ).status_code == 404

    async with server.client(world.tenant.slug) as visitor:  # type: ignore[attr-defined]
        for token in (old, withdrawn):
            for path in (f"/r/{token}", f"/r/{token}/download"):
                gone = await visitor.get(path)
                assert gone.status_code == 410, path
                assert 'data-testid="share-gone"' in gone.text
                assert "Scalability 2026" not in gone.text and "%PDF" not in gone.text
        for path in ("/r/not-a-real-token-at-all-0123456789", "/r/x/download"):
            missing = await visitor.get(path)
            assert missing.status_code == 404 and 'data-testid="share-gone"' in missing.text
        # In the visitor's language.
        german = await visitor.get(f"/r/{old}", headers={"accept-language": "de-DE,de;q=0.9"})
        assert german.status_code == 410 and '<html lang="de">' in german.text
    async with tenant_transaction(world.tenant) as conn:
        assert await conn.fetchval("SELECT count(*) FROM report_download") == 0
        audited = await conn.fetch(
            "SELECT before FROM audit_event WHERE action = 'report.share.revoke'"
        )
    assert len(audited) == 1


async def test_a_link_of_another_tenant_is_unknown_here(
    server: LiveServer, world: ScoredWorld, make_tenant, db_pool: asyncpg.Pool
) -> None:
    other = await scored_world(make_tenant, prefix="rso", status="closed")
    reader = unique_email("reader")
    async with await client_as(server, other.tenant, "hq_admin") as admin:
        report_id = await ready_report(admin, other)
        assert (await share(admin, report_id, reader)).status_code == 303
    token = token_of((await outbox(db_pool, reader))[0]["body_text"])
    async with server.client(world.tenant.slug) as visitor:  # type: ignore[attr-defined]
        assert (await visitor.get(f"/r/{token}")).status_code == 404
        assert (await visitor.get(f"/r/{token}/download")).status_code == 404
    async with server.client(other.tenant.slug) as visitor:  # type: ignore[attr-defined]
        assert (await visitor.get(f"/r/{token}")).status_code == 200
    async with server.client(None) as platform:  # the platform host has no share links
        assert (await platform.get(f"/r/{token}")).status_code == 404


async def test_share_mistakes_come_back_with_the_input_kept(
    server: LiveServer, world: ScoredWorld
) -> None:
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        pending = report_id_of(
            await admin.post(f"/assessments/{world.assessment_id}/reports", request_form())
        )
        early = await share(admin, pending, "a@example.com")
        assert early.status_code == 422
        assert "The report can be shared once it is ready." in early.text
        report_id = await ready_report(admin, world, audience="full")
        bad = await share(
            admin, report_id, "ok@example.com, not-an-address", message="x" * 2001, days="91"
        )
        assert bad.status_code == 422
        assert "“not-an-address” is not a valid e-mail address." in bad.text
        assert "The message is too long (2,000 characters at most)." in bad.text
        assert "Choose how long the link works: 1 to 90 days." in bad.text
        assert "ok@example.com, not-an-address</textarea>" in bad.text
        assert 'value="91"' in bad.text
        empty = await share(admin, report_id, " ", days="0")
        assert "Enter at least one e-mail address." in empty.text
        assert "Choose how long the link works: 1 to 90 days." in empty.text
    async with tenant_transaction(world.tenant) as conn:
        assert await conn.fetchval("SELECT count(*) FROM report_share") == 0


def test_the_share_form_rules() -> None:
    found = sharing.parse_share_form("A@Example.com; b@example.com\na@example.com", "", "")
    assert found.emails == ["a@example.com", "b@example.com"] and found.days == 14
    assert found.errors == {}
    assert sharing.parse_share_form("a@example.com", "", "90").days == 90
    assert "days" in sharing.parse_share_form("a@example.com", "", "1.5").errors
    many = ", ".join(f"p{i}@example.com" for i in range(51))
    assert "emails" in sharing.parse_share_form(many, "", "").errors
