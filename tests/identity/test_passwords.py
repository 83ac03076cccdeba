"""Password sign-in rules against a live server: throttling and reset by e-mail link."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from support.accounts import Credentials
from support.identity import Organisation, WebClient, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture(scope="module")
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, "pwd") as created:
        yield created


async def test_repeated_failures_lock_the_address_for_a_while(
    server: LiveServer, org: Organisation
) -> None:
    member = await person(org, "throttled", "contributor", "DE")
    async with WebClient(server, org.slug) as web:
        for _ in range(5):
            wrong = await web.sign_in(Credentials(member.email, "not-the-password"))
            assert wrong.status_code == 422
            assert "not correct" in wrong.text
        locked = await web.sign_in(member)
        assert locked.status_code == 429
        assert "Too many failed attempts" in locked.text
        assert web.session is None or (await web.get("/api/v1/me")).status_code != 200


async def test_a_successful_sign_in_resets_the_count(server: LiveServer, org: Organisation) -> None:
    member = await person(org, "recovers", "contributor", "DE")
    async with WebClient(server, org.slug) as web:
        for _ in range(4):
            assert (
                await web.sign_in(Credentials(member.email, "wrong-password"))
            ).status_code == 422
        assert (await web.sign_in(member)).status_code == 303
    async with WebClient(server, org.slug) as web:
        for _ in range(4):
            assert (
                await web.sign_in(Credentials(member.email, "wrong-password"))
            ).status_code == 422
        assert (await web.sign_in(member)).status_code == 303


async def test_password_reset_link_works_once(
    server: LiveServer, org: Organisation, db_pool: asyncpg.Pool
) -> None:
    member = await person(org, "forgetful", "contributor", "DE")
    async with WebClient(server, org.slug) as web:
        answer = await web.post("/password/forgot", {"email": member.email})
        assert answer.status_code == 200
        # The same answer for an unknown address: nothing tells whether an account exists.
        unknown = await web.post("/password/forgot", {"email": "nobody-here@identity.example"})
        assert unknown.status_code == 200
    async with db_pool.acquire() as conn:
        body = await conn.fetchval(
            "SELECT body_text FROM scalemark.mail_outbox WHERE recipient = $1"
            " ORDER BY id DESC LIMIT 1",
            member.email,
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM scalemark.mail_outbox WHERE recipient = $1",
                "nobody-here@identity.example",
            )
            == 0
        )
    path = re.search(r"https?://[^/\s]+(/password/reset/\S+)", body).group(1)
    async with WebClient(server, org.slug) as web:
        assert (await web.get(path)).status_code == 200
        mismatch = await web.post(path, {"password": "brand-new-pass-1", "password_confirm": "x"})
        assert mismatch.status_code == 422
        short = await web.post(path, {"password": "short", "password_confirm": "short"})
        assert short.status_code == 422
        done = await web.post(
            path, {"password": "brand-new-pass-1", "password_confirm": "brand-new-pass-1"}
        )
        assert done.status_code == 303
        assert (await web.get(path)).status_code == 410
    async with WebClient(server, org.slug) as web:
        assert (await web.sign_in(member)).status_code == 422
        assert (await web.sign_in(Credentials(member.email, "brand-new-pass-1"))).status_code == 303
