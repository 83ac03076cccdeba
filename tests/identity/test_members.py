"""``/members`` and ``/invite/<token>`` over HTTP against a live server, plus the audit log.

Real PostgreSQL and Redis; every organisation is provisioned for its test and dropped.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from support.accounts import Credentials
from support.identity import (
    PASSWORD,
    Organisation,
    WebClient,
    organisation,
    person,
    shared_live_server,
    unique_email,
)
from support.server import LiveServer

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool) as created:
        yield created


@pytest.fixture
async def admin(org: Organisation) -> Credentials:
    return await person(org, "admin", "hq_admin", "HQ")


async def membership(org: Organisation, email: str) -> list[asyncpg.Record]:
    async with tenant_transaction(org.tenant) as conn:
        return list(
            await conn.fetch(
                "SELECT m.id, m.role, u.code, m.status FROM membership m"
                " JOIN unit u ON u.id = m.unit_id JOIN scalemark.user_account a"
                " ON a.id = m.user_id WHERE a.email = $1 ORDER BY m.id",
                email,
            )
        )


async def membership_id(org: Organisation, email: str) -> int:
    rows = await membership(org, email)
    assert len(rows) == 1, rows
    return int(rows[0]["id"])


async def invitation_link(pool: asyncpg.Pool, email: str) -> str:
    """The path of the newest invitation mailed to ``email`` (from the outbox)."""
    body = await pool.fetchval(
        "SELECT body_text FROM scalemark.mail_outbox WHERE recipient = $1 ORDER BY id DESC LIMIT 1",
        email,
    )
    assert body, f"no mail to {email}"
    match = re.search(r"https?://[^/\s]+(/invite/[A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


async def invite(client: WebClient, org: Organisation, email: str, role: str, unit: str) -> None:
    response = await client.post(
        "/members/invite", {"email": email, "role": role, "unit_id": org.unit_id(unit)}
    )
    assert response.status_code == 303, response.text[:500]


# --- the members page ---------------------------------------------------------------------


async def test_admin_sees_members_and_invites_someone(
    server: LiveServer, org: Organisation, admin: Credentials, db_pool: asyncpg.Pool
) -> None:
    lead = await person(org, "lead", "unit_lead", "FR")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        page = await client.get("/members")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert admin.email in page.text and lead.email in page.text
        assert 'data-testid="invite-form"' in page.text

        email = unique_email("invitee")
        response = await client.post(
            "/members/invite",
            {"email": email.upper(), "role": "contributor", "unit_id": org.unit_id("DE")},
            htmx=True,
        )
        assert response.status_code == 200
        assert 'data-testid="invite-sent"' in response.text
        assert f'data-email="{email}" data-state="open"' in response.text
        # The form is empty again after a successful invitation.
        assert f'value="{email}"' not in response.text

    link = await invitation_link(db_pool, email)
    assert link.startswith("/invite/")
    async with tenant_transaction(org.tenant) as conn:
        row = await conn.fetchrow("SELECT role, unit_id FROM invitation WHERE email = $1", email)
    assert (row["role"], row["unit_id"]) == ("contributor", org.unit_id("DE"))


@pytest.mark.parametrize("htmx", [True, False])
async def test_invite_form_errors_keep_the_input(
    server: LiveServer, org: Organisation, admin: Credentials, htmx: bool
) -> None:
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        response = await client.post(
            "/members/invite",
            {"email": "not an address", "role": "unit_lead", "unit_id": org.unit_id("FR")},
            htmx=htmx,
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert "Enter a valid e-mail address." in response.text
        assert 'value="not an address"' in response.text
        assert re.search(r'<option value="unit_lead"\s+selected', response.text)
        assert re.search(rf'<option value="{org.unit_id("FR")}"[^>]*selected', response.text)
        # A whole page without htmx, only the section with it.
        assert ("<html" in response.text) is not htmx

        missing_unit = await client.post(
            "/members/invite",
            {"email": unique_email("x"), "role": "contributor", "unit_id": "999999"},
            htmx=htmx,
        )
        assert missing_unit.status_code == 422
        assert "Choose a unit from the list." in missing_unit.text
    async with tenant_transaction(org.tenant) as conn:
        assert await conn.fetchval("SELECT count(*) FROM invitation") == 0


async def test_inline_edit_changes_role_and_unit(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    member = await person(org, "member", "contributor", "DE")
    member_id = await membership_id(org, member.email)
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        form = await client.get(f"/members/{member_id}/edit", htmx=True)
        assert form.status_code == 200
        assert form.text.lstrip().startswith("<tr") and 'data-editing="true"' in form.text

        saved = await client.post(
            f"/members/{member_id}",
            {"role": "unit_lead", "unit_id": org.unit_id("FR")},
            htmx=True,
        )
        assert saved.status_code == 200
        assert saved.text.lstrip().startswith("<tr")
        assert "Unit lead" in saved.text and "France" in saved.text

        cancel = await client.get(f"/members/{member_id}", htmx=True)
        assert cancel.status_code == 200 and "Unit lead" in cancel.text

        # Without htmx: a full page form, then a redirect back to the list.
        page = await client.get(f"/members/{member_id}/edit")
        assert page.status_code == 200 and "<html" in page.text
        done = await client.post(
            f"/members/{member_id}", {"role": "stakeholder", "unit_id": org.unit_id("FR")}
        )
        assert done.status_code == 303 and done.headers["location"] == "/members?saved=1"

    rows = await membership(org, member.email)
    assert [(r["role"], r["code"]) for r in rows] == [("stakeholder", "FR")]


async def test_edit_errors_rerender_the_row_with_a_message(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    member = await person(org, "twice", "contributor", "DE")
    from scalemark.identity.provisioning import ensure_member

    await ensure_member(member.email, tenant_slug=org.slug, role="stakeholder", unit_code="FR")
    rows = await membership(org, member.email)
    first = next(r["id"] for r in rows if r["role"] == "contributor")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        clash = await client.post(
            f"/members/{first}", {"role": "stakeholder", "unit_id": org.unit_id("FR")}, htmx=True
        )
        assert clash.status_code == 422
        assert clash.text.lstrip().startswith("<tr")
        assert "This person already has this role at this unit." in clash.text
        assert re.search(r'<option value="stakeholder"\s+selected', clash.text)

        nonsense = await client.post(f"/members/{first}", {"role": "", "unit_id": "abc"}, htmx=True)
        assert nonsense.status_code == 422
        assert "Choose a role from the list." in nonsense.text
        assert "Choose a unit from the list." in nonsense.text

        unknown = await client.post(f"/members/{first}", {"role": "owner", "unit_id": "1"})
        assert unknown.status_code == 422 and "<html" in unknown.text
    assert sorted((r["role"], r["code"]) for r in await membership(org, member.email)) == [
        ("contributor", "DE"),
        ("stakeholder", "FR"),
    ]


async def test_deactivate_and_reactivate(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    member = await person(org, "leaver", "contributor", "DE")
    member_id = await membership_id(org, member.email)
    async with WebClient(server, org.slug) as member_client:
        await member_client.signed_in(member)
        assert (await member_client.get("/")).status_code == 200

        async with WebClient(server, org.slug) as client:
            await client.signed_in(admin)
            off = await client.post(
                f"/members/{member_id}/status", {"status": "disabled"}, htmx=True
            )
            assert off.status_code == 200 and 'data-status="disabled"' in off.text
            # The deactivated member's session no longer opens the organisation.
            assert (await member_client.get("/")).status_code == 403

            on = await client.post(f"/members/{member_id}/status", {"status": "active"})
            assert on.status_code == 303
            assert (await member_client.get("/")).status_code == 200

            again = await client.post(
                f"/members/{member_id}/status", {"status": "active"}, htmx=True
            )
            assert again.status_code == 422
            assert "not possible in the current state" in again.text


async def test_the_last_hq_admin_cannot_be_removed(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    admin_id = await membership_id(org, admin.email)
    message = "This is the last active HQ admin of the organisation."
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        off = await client.post(f"/members/{admin_id}/status", {"status": "disabled"}, htmx=True)
        assert off.status_code == 422 and message in off.text
        page = await client.post(f"/members/{admin_id}/status", {"status": "disabled"})
        assert page.status_code == 422 and message in page.text and "<html" in page.text
        demote = await client.post(
            f"/members/{admin_id}", {"role": "unit_lead", "unit_id": org.unit_id("HQ")}, htmx=True
        )
        assert demote.status_code == 422 and message in demote.text
        move = await client.post(
            f"/members/{admin_id}", {"role": "hq_admin", "unit_id": org.unit_id("FR")}, htmx=True
        )
        assert move.status_code == 422 and message in move.text
        assert [
            (r["role"], r["code"], r["status"]) for r in await membership(org, admin.email)
        ] == [("hq_admin", "HQ", "active")]

        # With a second HQ admin the first may step down.
        await person(org, "admin2", "hq_admin", "HQ")
        demote = await client.post(
            f"/members/{admin_id}", {"role": "unit_lead", "unit_id": org.unit_id("HQ")}, htmx=True
        )
        assert demote.status_code == 200
    assert [r["role"] for r in await membership(org, admin.email)] == ["unit_lead"]


async def test_pending_members_are_approved_or_turned_down(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    from scalemark.db import use_tenant
    from scalemark.identity.memberships import add_membership
    from scalemark.identity.users import create_user

    waiting = [await create_user(unique_email(f"sso{n}"), name=f"SSO {n}") for n in range(2)]
    with use_tenant(org.tenant):
        ids = [
            await add_membership(u.id, "contributor", org.unit_id("DE"), status="pending")
            for u in waiting
        ]
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        page = await client.get("/members")
        assert 'data-testid="pending-table"' in page.text
        approved = await client.post(f"/members/{ids[0]}/status", {"status": "active"}, htmx=True)
        assert approved.status_code == 200 and 'data-status="active"' in approved.text
        rejected = await client.post(f"/members/{ids[1]}/reject", htmx=True)
        assert rejected.status_code == 200 and rejected.text == ""
        page = await client.get("/members")
        assert 'data-testid="pending-table"' not in page.text
    assert [r["status"] for r in await membership(org, waiting[0].email)] == ["active"]
    assert await membership(org, waiting[1].email) == []


async def test_invitations_are_listed_with_their_state_and_can_be_withdrawn(
    server: LiveServer, org: Organisation, admin: Credentials, db_pool: asyncpg.Pool
) -> None:
    emails = [unique_email(f"inv{n}") for n in range(3)]
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        for email in emails:
            await invite(client, org, email, "contributor", "DE")
        async with tenant_transaction(org.tenant) as conn:
            await conn.execute(
                "UPDATE invitation SET expires_at = now() - interval '1 day' WHERE email = $1",
                emails[1],
            )
            revoke_id = await conn.fetchval("SELECT id FROM invitation WHERE email = $1", emails[2])
            expired_id = await conn.fetchval(
                "SELECT id FROM invitation WHERE email = $1", emails[1]
            )
        response = await client.post(f"/members/invitations/{revoke_id}/revoke", htmx=True)
        assert response.status_code == 200
        assert f'data-email="{emails[0]}" data-state="open"' in response.text
        assert f'data-email="{emails[1]}" data-state="expired"' in response.text
        assert f'data-email="{emails[2]}" data-state="revoked"' in response.text

        twice = await client.post(f"/members/invitations/{revoke_id}/revoke", htmx=True)
        assert twice.status_code == 422 and "no longer open" in twice.text
        expired = await client.post(f"/members/invitations/{expired_id}/revoke")
        assert expired.status_code == 422

    async with WebClient(server, org.slug) as visitor:
        gone = await visitor.get(await invitation_link(db_pool, emails[2]))
        assert gone.status_code == 410 and "withdrawn" in gone.text
        old = await visitor.get(await invitation_link(db_pool, emails[1]))
        assert old.status_code == 410 and "expired" in old.text
        unknown = await visitor.get("/invite/no-such-token")
        assert unknown.status_code == 404 and 'data-testid="invite-gone"' in unknown.text


# --- accepting invitations ----------------------------------------------------------------


async def test_new_person_creates_an_account_from_the_invitation(
    server: LiveServer, org: Organisation, admin: Credentials, db_pool: asyncpg.Pool
) -> None:
    email = unique_email("newbie")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        await invite(client, org, email, "contributor", "DE")
    link = await invitation_link(db_pool, email)

    async with WebClient(server, org.slug) as visitor:
        page = await visitor.get(link)
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer"
        assert 'data-state="register"' in page.text and email in page.text
        assert "Germany" in page.text and "Contributor" in page.text

        mismatch = await visitor.post(
            link + "/register",
            {"name": "New Bie", "password": PASSWORD, "password_confirm": "something else"},
        )
        assert mismatch.status_code == 422
        assert "The two passwords do not match." in mismatch.text
        assert 'value="New Bie"' in mismatch.text
        short = await visitor.post(
            link + "/register",
            {"name": "New Bie", "password": "short", "password_confirm": "short"},
        )
        assert short.status_code == 422 and "at least 10 characters" in short.text

        before = visitor.session
        joined = await visitor.post(
            link + "/register",
            {"name": "New Bie", "password": PASSWORD, "password_confirm": PASSWORD},
        )
        assert joined.status_code == 303 and joined.headers["location"] == "/"
        assert visitor.session and visitor.session != before
        home = await visitor.get("/")
        assert home.status_code == 200

        used = await visitor.get(link)
        assert used.status_code == 410 and 'data-state="accepted"' in used.text
    assert [(r["role"], r["code"]) for r in await membership(org, email)] == [("contributor", "DE")]

    # The new password works on the sign-in form.
    async with WebClient(server, org.slug) as again:
        await again.signed_in(Credentials(email, PASSWORD))


async def test_existing_account_signs_in_first_then_accepts(
    server: LiveServer, org: Organisation, admin: Credentials, db_pool: asyncpg.Pool
) -> None:
    from scalemark.identity.users import create_user

    email = unique_email("known")
    await create_user(email, name="Known", password=PASSWORD)
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        await invite(client, org, email, "stakeholder", "FR")
    link = await invitation_link(db_pool, email)

    async with WebClient(server, org.slug) as visitor:
        page = await visitor.get(link)
        assert 'data-state="sign_in"' in page.text
        assert f'href="/login?next=%2Finvite%2F{link.rsplit("/", 1)[1]}"' in page.text
        forged = await visitor.post(
            link + "/register", {"name": "x", "password": PASSWORD, "password_confirm": PASSWORD}
        )
        assert forged.status_code == 409

        signed = await visitor.sign_in(Credentials(email, PASSWORD), next_path=link)
        assert signed.status_code == 303 and signed.headers["location"] == link
        # Signed in but not a member yet: the organisation stays closed.
        assert (await visitor.get("/")).status_code == 403
        page = await visitor.get(link)
        assert 'data-state="accept"' in page.text
        accepted = await visitor.post(link + "/accept")
        assert accepted.status_code == 303
        assert (await visitor.get("/")).status_code == 200
    assert [(r["role"], r["code"]) for r in await membership(org, email)] == [("stakeholder", "FR")]


async def test_someone_else_cannot_accept_an_invitation(
    server: LiveServer, org: Organisation, admin: Credentials, db_pool: asyncpg.Pool
) -> None:
    email = unique_email("target")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        await invite(client, org, email, "hq_admin", "HQ")
        link = await invitation_link(db_pool, email)
        page = await client.get(link)
        assert 'data-state="other_user"' in page.text
        refused = await client.post(link + "/accept")
        assert refused.status_code == 422
        assert "sent to another e-mail address" in refused.text
    async with WebClient(server, org.slug) as anonymous:
        assert (await anonymous.post(link + "/accept")).status_code == 303  # to the sign-in
    assert await membership(org, email) == []


async def test_invitation_links_do_not_work_on_the_platform_or_another_tenant(
    server: LiveServer, org: Organisation, admin: Credentials, db_pool: asyncpg.Pool
) -> None:
    email = unique_email("host")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        await invite(client, org, email, "contributor", "DE")
    link = await invitation_link(db_pool, email)
    async with organisation(db_pool, "other") as other, WebClient(server, other.slug) as elsewhere:
        assert (await elsewhere.get(link)).status_code == 404
    async with WebClient(server, None) as platform:
        assert (await platform.get(link)).status_code == 404


# --- the audit log ------------------------------------------------------------------------


async def test_every_change_appears_in_the_audit_log(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    member = await person(org, "audited", "contributor", "DE")
    member_id = await membership_id(org, member.email)
    invitee = unique_email("audit-invitee")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        await invite(client, org, invitee, "stakeholder", "FR")
        changed = await client.post(
            f"/members/{member_id}", {"role": "unit_lead", "unit_id": org.unit_id("DE")}
        )
        assert changed.status_code == 303
        off = await client.post(f"/members/{member_id}/status", {"status": "disabled"})
        assert off.status_code == 303
        created = await client.post("/tokens", {"name": "Audit token"})
        assert created.status_code == 201
        token_id = int(re.search(r'data-testid="token-(\d+)"', created.text).group(1))
        revoked = await client.post(f"/tokens/{token_id}/revoke")
        assert revoked.status_code == 303

        log = await client.get("/audit")
        assert log.status_code == 200
        for action in (
            "auth.login",
            "member.invite",
            "member.change",
            "member.deactivate",
            "token.create",
            "token.revoke",
        ):
            assert f'data-action="{action}"' in log.text, action
        assert admin.email in log.text
        # Before and after of the role change, in words.
        assert re.search(r"<del>Contributor</del> → <ins>Unit lead</ins>", log.text)
        assert invitee in log.text

        members_only = await client.get("/audit", params={"action": "member."})
        actions = set(re.findall(r'data-action="([^"]+)"', members_only.text))
        assert actions == {"member.add", "member.invite", "member.change", "member.deactivate"}

        by_member = await client.get("/audit", params={"actor": member.email[:12]})
        assert 'data-testid="audit-empty"' in by_member.text
        by_admin = await client.get("/audit", params={"actor": admin.email.split("@")[0]})
        assert 'data-action="token.create"' in by_admin.text
        wildcard = await client.get("/audit", params={"actor": "%"})
        assert 'data-testid="audit-empty"' in wildcard.text

        partial = await client.get("/audit", params={"action": "token."}, htmx=True)
        assert partial.status_code == 200 and "<html" not in partial.text
        assert 'id="audit-results"' in partial.text


async def test_audit_log_pages_by_id(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    from scalemark.db import use_tenant
    from scalemark.identity import audit

    with use_tenant(org.tenant):
        for n in range(60):
            await audit.record("test.event", object_type="n", object_id=n, after={"n": n})
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        first = await client.get("/audit", params={"action": "test."})
        ids = [int(i) for i in re.findall(r'data-testid="audit-(\d+)"', first.text)]
        assert len(ids) == 50 and ids == sorted(ids, reverse=True)
        older = re.search(r'href="(/audit\?[^"]+)" data-testid="audit-older"', first.text)
        assert older, "no link to older entries"
        second = await client.get(older.group(1).replace("&amp;", "&"))
        rest = [int(i) for i in re.findall(r'data-testid="audit-(\d+)"', second.text)]
        assert len(rest) == 10 and max(rest) < min(ids)
        assert 'data-testid="audit-older"' not in second.text
        assert 'data-testid="audit-newest"' in second.text
        bad = await client.get("/audit", params={"before": "x' OR 1=1"})
        assert bad.status_code == 200


async def test_audit_dates_follow_the_readers_language_and_time_zone(
    server: LiveServer, org: Organisation, admin: Credentials
) -> None:
    from scalemark.identity.users import get_user_by_email, update_preferences

    user = await get_user_by_email(admin.email)
    assert user is not None
    await update_preferences(user.id, locale="de", timezone="Asia/Tokyo")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        log = await client.get("/audit")
        assert 'lang="de"' in log.text
        match = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', log.text)
        assert match
        from datetime import datetime
        from zoneinfo import ZoneInfo

        from babel.dates import format_datetime

        stamp = datetime.fromisoformat(match.group(1))
        expected = format_datetime(stamp, "medium", tzinfo=ZoneInfo("Asia/Tokyo"), locale="de")
        assert match.group(2) == expected
