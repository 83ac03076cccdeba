"""API tokens: the ``/tokens`` page, bearer access to ``/api/v1``, ``scalemark tokens create``."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import AsyncIterator

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from support import PROJECT_ROOT
from support.accounts import Credentials
from support.identity import Organisation, WebClient, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(120)

SECRET = re.compile(r'value="(smk_[A-Za-z0-9_-]+)" data-testid="token-secret"')


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, "tok") as created:
        yield created


async def create_on_page(client: WebClient, name: str) -> tuple[int, str]:
    """Create a token on the page; returns its id and the secret shown once."""
    response = await client.post("/tokens", {"name": name}, htmx=True)
    assert response.status_code == 201, response.text[:300]
    assert response.headers["cache-control"] == "no-store"
    secret = SECRET.search(response.text)
    assert secret, "the new token is not shown"
    row = re.search(rf'data-testid="token-(\d+)" data-name="{re.escape(name)}"', response.text)
    assert row
    return int(row.group(1)), secret.group(1)


async def me(server: LiveServer, slug: str | None, secret: str) -> int:
    async with server.client(slug, headers={"authorization": f"Bearer {secret}"}) as api:
        return (await api.get("/api/v1/me")).status_code


async def test_a_token_works_for_its_organisation_only(
    server: LiveServer, org: Organisation, db_pool: asyncpg.Pool
) -> None:
    member = await person(org, "api", "contributor", "FR")
    async with organisation(db_pool, "tok-b") as other:
        # The same person belongs to the other organisation too.
        from scalemark.identity.provisioning import ensure_member

        await ensure_member(member.email, tenant_slug=other.slug, role="hq_admin", unit_code="HQ")
        async with WebClient(server, org.slug) as client:
            await client.signed_in(member)
            _, secret = await create_on_page(client, "Reporting")
            listed = await client.get("/tokens")
            assert secret not in listed.text  # shown once only
            assert secret[:12] in listed.text

        headers = {"authorization": f"Bearer {secret}"}
        async with server.client(org.slug, headers=headers) as api:
            answer = await api.get("/api/v1/me")
            assert answer.status_code == 200
            body = answer.json()
            assert (body["email"], body["tenant"]) == (member.email, org.slug)
            assert [(r["role"], r["unit_id"]) for r in body["roles"]] == [
                ("contributor", org.unit_id("FR"))
            ]
            units = await api.get("/api/v1/units")
            assert units.status_code == 200 and len(units.json()) == 5
            # A bearer token opens the API, never the pages.
            page = await api.get("/members")
            assert page.status_code == 303

        assert await me(server, other.slug, secret) == 401
        assert await me(server, None, secret) == 404
        assert await me(server, org.slug, secret + "x") == 401
        assert await me(server, org.slug, "smk_" + "A" * 43) == 401
        assert await me(server, org.slug, "not-a-token") == 401

    async with WebClient(server, org.slug) as client:
        await client.signed_in(member)
        page = await client.get("/tokens")
        used = re.search(r'data-name="Reporting".*?</tr>', page.text, re.S)
        assert used and "never" not in used.group(0)  # last use is shown


async def test_revoked_tokens_and_deactivated_members_lose_access(
    server: LiveServer, org: Organisation
) -> None:
    member = await person(org, "leaver", "stakeholder", "DE")
    admin = await person(org, "admin", "hq_admin", "HQ")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(member)
        first_id, first = await create_on_page(client, "First")
        _, second = await create_on_page(client, "Second")
        assert await me(server, org.slug, first) == 200

        revoked = await client.post(f"/tokens/{first_id}/revoke", htmx=True)
        assert revoked.status_code == 200
        assert re.search(
            rf'data-testid="token-{first_id}" data-name="First" data-revoked="true"', revoked.text
        )
        assert await me(server, org.slug, first) == 401
        again = await client.post(f"/tokens/{first_id}/revoke", htmx=True)
        assert again.status_code == 422 and "revoked already" in again.text

    async with tenant_transaction(org.tenant) as conn:
        membership = await conn.fetchval(
            "SELECT m.id FROM membership m JOIN scalemark.user_account a ON a.id = m.user_id"
            " WHERE a.email = $1",
            member.email,
        )
    async with WebClient(server, org.slug) as client:
        await client.signed_in(admin)
        off = await client.post(f"/members/{membership}/status", {"status": "disabled"})
        assert off.status_code == 303
    # The token still exists, but its owner has no role here any more.
    assert await me(server, org.slug, second) == 403


async def test_members_manage_their_own_tokens_admins_everyone(
    server: LiveServer, org: Organisation
) -> None:
    alice = await person(org, "alice", "contributor", "DE")
    bob = await person(org, "bob", "unit_lead", "FR")
    it = await person(org, "it", "it_owner", "HQ")
    async with WebClient(server, org.slug) as a, WebClient(server, org.slug) as b:
        await a.signed_in(alice)
        await b.signed_in(bob)
        alice_id, alice_secret = await create_on_page(a, "Alice token")
        bob_id, _ = await create_on_page(b, "Bob token")

        alice_page = await a.get("/tokens")
        assert "Alice token" in alice_page.text and "Bob token" not in alice_page.text
        stolen = await b.post(f"/tokens/{alice_id}/revoke")
        assert stolen.status_code == 404
        assert await me(server, org.slug, alice_secret) == 200

        empty = await a.post("/tokens", {"name": "   "}, htmx=True)
        assert empty.status_code == 422 and "Give the token a name." in empty.text
        long = await a.post("/tokens", {"name": "x" * 101})
        assert long.status_code == 422 and "<html" in long.text

    async with WebClient(server, org.slug) as owner:
        await owner.signed_in(it)
        page = await owner.get("/tokens")
        assert "Alice token" in page.text and "Bob token" in page.text
        assert alice.email in page.text and bob.email in page.text
        done = await owner.post(f"/tokens/{bob_id}/revoke")
        assert done.status_code == 303 and done.headers["location"] == "/tokens?revoked=1"


async def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(PROJECT_ROOT / ".venv" / "bin" / "scalemark"), *args]
    return await asyncio.to_thread(
        subprocess.run,
        command,
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_cli_prints_a_working_token(server: LiveServer, org: Organisation) -> None:
    member = await person(org, "cli", "unit_lead", "DE")
    done = await _cli(
        "tokens", "create", "--tenant", org.slug, "--user", member.email, "--name", "Nightly"
    )
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip().splitlines()[-1]
    assert secret.startswith("smk_")
    assert await me(server, org.slug, secret) == 200

    async with WebClient(server, org.slug) as client:
        await client.signed_in(member)
        page = await client.get("/tokens")
        assert 'data-name="Nightly"' in page.text and secret not in page.text

    stranger = Credentials("nobody@identity.example", "x")
    refused = await _cli("tokens", "create", "--tenant", org.slug, "--user", stranger.email)
    assert refused.returncode != 0 and "no user" in refused.stderr
