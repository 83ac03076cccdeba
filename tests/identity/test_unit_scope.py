"""Unit scope: a unit lead for France cannot read or change Germany's people.

Tried by URL (object ids of Germany), by forged form fields (Germany's unit id, roles the
lead may not give) and through the API; every attempt is refused with 403/404 and the
database is exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from support.accounts import Credentials
from support.identity import (
    Organisation,
    WebClient,
    organisation,
    person,
    shared_live_server,
    unique_email,
)
from support.server import LiveServer

pytestmark = pytest.mark.timeout(120)


@dataclass
class Setup:
    org: Organisation
    admin: Credentials
    lead: Credentials
    ids: dict[str, int]
    emails: dict[str, str]


async def _member_id(org: Organisation, email: str) -> int:
    async with tenant_transaction(org.tenant) as conn:
        return int(
            await conn.fetchval(
                "SELECT m.id FROM membership m JOIN scalemark.user_account a ON a.id = m.user_id"
                " WHERE a.email = $1",
                email,
            )
        )


async def _snapshot(org: Organisation) -> tuple[list[tuple], list[tuple]]:
    async with tenant_transaction(org.tenant) as conn:
        members = await conn.fetch(
            "SELECT id, user_id, role, unit_id, status, updated_at FROM membership ORDER BY id"
        )
        invitations = await conn.fetch(
            "SELECT id, email, role, unit_id, accepted_at, revoked_at FROM invitation ORDER BY id"
        )
    return [tuple(r) for r in members], [tuple(r) for r in invitations]


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def setup(server: LiveServer, db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Setup]:
    async with organisation(db_pool, "scope") as org:
        admin = await person(org, "admin", "hq_admin", "HQ")
        lead = await person(org, "lead-fr", "unit_lead", "FR")
        de_member = await person(org, "de-member", "contributor", "DE")
        fr_member = await person(org, "fr-member", "contributor", "FR")
        fr_it = await person(org, "fr-it", "it_owner", "FR")
        de_invitee = unique_email("de-invitee")
        fr_invitee = unique_email("fr-invitee")
        async with WebClient(server, org.slug) as client:
            await client.signed_in(admin)
            for email, role, unit in (
                (de_invitee, "contributor", "DE"),
                (fr_invitee, "it_owner", "FR"),
            ):
                response = await client.post(
                    "/members/invite", {"email": email, "role": role, "unit_id": org.unit_id(unit)}
                )
                assert response.status_code == 303
        async with tenant_transaction(org.tenant) as conn:
            invitation_ids = {
                r["email"]: int(r["id"])
                for r in await conn.fetch("SELECT id, email FROM invitation")
            }
        yield Setup(
            org=org,
            admin=admin,
            lead=lead,
            ids={
                "de_member": await _member_id(org, de_member.email),
                "fr_member": await _member_id(org, fr_member.email),
                "fr_it": await _member_id(org, fr_it.email),
                "lead": await _member_id(org, lead.email),
                "de_invitation": invitation_ids[de_invitee],
                "fr_it_invitation": invitation_ids[fr_invitee],
            },
            emails={
                "de_member": de_member.email,
                "fr_member": fr_member.email,
                "de_invitee": de_invitee,
                "fr_invitee": fr_invitee,
            },
        )


async def test_the_lead_sees_only_their_subtree(server: LiveServer, setup: Setup) -> None:
    org = setup.org
    async with WebClient(server, org.slug) as lead:
        await lead.signed_in(setup.lead)
        page = await lead.get("/members")
        assert page.status_code == 200
        assert setup.emails["fr_member"] in page.text
        assert setup.emails["fr_invitee"] in page.text
        assert setup.emails["de_member"] not in page.text
        assert setup.emails["de_invitee"] not in page.text
        assert setup.admin.email not in page.text
        offered_units = set(re.findall(r'<option value="(\d+)" data-code="([A-Z-]+)"', page.text))
        assert {code for _, code in offered_units} == {"FR"}
        invite_form = page.text.split('data-testid="invite-form"', 1)[1]
        roles = re.findall(r'<option value="([a-z_]+)"', invite_form)
        assert set(roles) == {"unit_lead", "contributor", "stakeholder"}
        # France's IT owner is listed but the lead may not change that role.
        it_row = re.search(rf'<tr id="member-{setup.ids["fr_it"]}".*?</tr>', page.text, re.S)
        assert it_row and 'data-testid="member-edit"' not in it_row.group(0)


async def test_germany_cannot_be_read_or_changed_by_url(server: LiveServer, setup: Setup) -> None:
    org, ids = setup.org, setup.ids
    before = await _snapshot(org)
    async with WebClient(server, org.slug) as lead:
        await lead.signed_in(setup.lead)
        attempts = [
            ("GET", f"/members/{ids['de_member']}/edit", {}),
            ("GET", f"/members/{ids['de_member']}", {}),
            (
                "POST",
                f"/members/{ids['de_member']}",
                {"role": "stakeholder", "unit_id": org.unit_id("FR")},
            ),
            ("POST", f"/members/{ids['de_member']}/status", {"status": "disabled"}),
            ("POST", f"/members/{ids['de_member']}/reject", {}),
            ("POST", f"/members/invitations/{ids['de_invitation']}/revoke", {}),
        ]
        for htmx in (False, True):
            for method, path, data in attempts:
                if method == "GET":
                    response = await lead.get(path, htmx=htmx)
                else:
                    response = await lead.post(path, data, htmx=htmx)
                assert response.status_code == 404, (method, path, htmx, response.status_code)
                assert setup.emails["de_member"] not in response.text
    assert await _snapshot(org) == before


async def test_forged_form_fields_are_refused(server: LiveServer, setup: Setup) -> None:
    org, ids = setup.org, setup.ids
    before = await _snapshot(org)
    germany, france = org.unit_id("DE"), org.unit_id("FR")
    async with WebClient(server, org.slug) as lead:
        await lead.signed_in(setup.lead)
        forged = [
            (
                "/members/invite",
                {"email": unique_email("x"), "role": "contributor", "unit_id": germany},
            ),
            (
                "/members/invite",
                {"email": unique_email("x"), "role": "contributor", "unit_id": org.unit_id("HQ")},
            ),
            (
                "/members/invite",
                {"email": unique_email("x"), "role": "hq_admin", "unit_id": france},
            ),
            (
                "/members/invite",
                {"email": unique_email("x"), "role": "it_owner", "unit_id": france},
            ),
            (f"/members/{ids['fr_member']}", {"role": "contributor", "unit_id": germany}),
            (f"/members/{ids['fr_member']}", {"role": "hq_admin", "unit_id": france}),
            (f"/members/{ids['lead']}", {"role": "it_owner", "unit_id": france}),
            (f"/members/{ids['lead']}", {"role": "unit_lead", "unit_id": org.unit_id("WEST")}),
            # Visible, but a role the lead may not take away or change.
            (f"/members/{ids['fr_it']}", {"role": "contributor", "unit_id": france}),
            (f"/members/{ids['fr_it']}/status", {"status": "disabled"}),
            (f"/members/invitations/{ids['fr_it_invitation']}/revoke", {}),
        ]
        for htmx in (False, True):
            for path, data in forged:
                response = await lead.post(path, data, htmx=htmx)
                assert response.status_code == 403, (path, data, htmx, response.status_code)
        assert (await lead.get(f"/members/{ids['fr_it']}/edit")).status_code == 403
    assert await _snapshot(org) == before


async def test_the_api_gives_no_more_than_the_pages(server: LiveServer, setup: Setup) -> None:
    from scalemark.identity.tokens import create_token
    from scalemark.identity.users import get_user_by_email

    org = setup.org
    user = await get_user_by_email(setup.lead.email)
    assert user is not None
    _, secret = await create_token(org.tenant.id, user.id, "scope test")
    before = await _snapshot(org)
    headers = {"authorization": f"Bearer {secret}"}
    async with server.client(org.slug, headers=headers) as api:
        units = {u["code"]: u for u in (await api.get("/api/v1/units")).json()}
        assert units["FR"]["can_edit"] is True
        assert units["DE"]["can_edit"] is False and units["HQ"]["can_edit"] is False
        germany = await api.get(f"/api/v1/units/{org.unit_id('DE')}")
        assert germany.status_code == 200 and germany.json()["can_edit"] is False
        # No API exposes memberships or invitations, and bearer tokens do not open pages.
        for path in ("/api/v1/members", f"/api/v1/members/{setup.ids['de_member']}"):
            assert (await api.get(path)).status_code == 404, path
        page = await api.get(f"/members/{setup.ids['de_member']}/edit")
        assert page.status_code == 303
        changed = await api.post(
            f"/members/{setup.ids['de_member']}/status", data={"status": "disabled"}
        )
        assert changed.status_code == 403  # no CSRF token, no session: refused
    assert await _snapshot(org) == before


async def test_inside_their_subtree_the_lead_can_act(server: LiveServer, setup: Setup) -> None:
    org, ids = setup.org, setup.ids
    async with WebClient(server, org.slug) as lead:
        await lead.signed_in(setup.lead)
        invited = await lead.post(
            "/members/invite",
            {"email": unique_email("fr-new"), "role": "stakeholder", "unit_id": org.unit_id("FR")},
        )
        assert invited.status_code == 303
        changed = await lead.post(
            f"/members/{ids['fr_member']}", {"role": "unit_lead", "unit_id": org.unit_id("FR")}
        )
        assert changed.status_code == 303
        off = await lead.post(f"/members/{ids['fr_member']}/status", {"status": "disabled"})
        assert off.status_code == 303
    async with tenant_transaction(org.tenant) as conn:
        row = await conn.fetchrow(
            "SELECT role, status FROM membership WHERE id = $1", ids["fr_member"]
        )
    assert (row["role"], row["status"]) == ("unit_lead", "disabled")
