"""The rollout board and API over HTTP: who sees and moves what, gates, htmx, other tenants.

Tree: ``HQ → DACH → DE`` and ``HQ → WEST → FR``; people sign in through ``POST /login``,
API callers use bearer tokens.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.rollout import service
from support.accounts import SESSION_COOKIE, Credentials
from support.identity import Organisation, WebClient, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, "roll") as created:
        yield created


async def signed_in(server: LiveServer, org: Organisation, credentials: Credentials) -> WebClient:
    client = WebClient(server, org.slug)
    await client.signed_in(credentials)
    return client


async def stage(org: Organisation, code: str) -> int:
    async with tenant_transaction(org.tenant):
        return await service.stage_of_unit(org.unit_id(code))


def cards(html: str, column: int) -> set[str]:
    """Unit codes shown in one stage column of the board."""
    match = re.search(rf'data-testid="column-{column}"(.*?)</section>', html, re.S)
    assert match, f"no column {column}"
    return set(re.findall(r'data-testid="card-([A-Z0-9_-]+)"', match.group(1)))


async def test_hq_admin_moves_units_and_sees_counts(server: LiveServer, org: Organisation) -> None:
    admin = await person(org, "admin", "hq_admin")
    async with await signed_in(server, org, admin) as client:
        board = await client.get("/rollout")
        assert board.status_code == 200
        assert cards(board.text, 1) == {"HQ", "DACH", "DE", "WEST", "FR"}
        assert 'role="img"' in board.text and "Units per rollout stage" in board.text
        for name in ("Central governance defined", "Pilot of an initial use case"):
            assert name in board.text

        moved = await client.post(
            f"/rollout/units/{org.unit_id('DE')}/move",
            {"to_stage": "2", "from_stage": "1", "note": "", "back": "board"},
        )
        assert moved.status_code == 303
        assert moved.headers["location"] == f"/rollout?moved={org.unit_id('DE')}"
        after = await client.get(moved.headers["location"])
        assert cards(after.text, 2) == {"DE"}
        assert "Germany is now in stage 2: Structure." in after.text
        assert re.search(r'data-testid="count-2">.*?<strong[^>]*>1</strong>', after.text, re.S)

        unit_page = await client.get(f"/rollout/units/{org.unit_id('DE')}")
        assert unit_page.status_code == 200
        assert 'data-testid="rollout-history"' in unit_page.text and admin.email in unit_page.text


async def test_gates_need_signoff_with_a_note(server: LiveServer, org: Organisation) -> None:
    admin = await person(org, "admin", "hq_admin")
    async with await signed_in(server, org, admin) as client:
        bad = await client.post("/rollout/gates", {"maturity_2": "9"})
        assert bad.status_code == 422 and "Enter a maturity level from 0 to 5." in bad.text
        saved = await client.post("/rollout/gates", {"signoff_2": "1", "maturity_3": "3"})
        assert saved.status_code == 303
        board = await client.get("/rollout")
        assert "manual sign-off" in board.text and "assessment maturity at least 3" in board.text

        path = f"/rollout/units/{org.unit_id('FR')}/move"
        blocked = await client.post(path, {"to_stage": "2", "from_stage": "1", "note": "ok"})
        assert blocked.status_code == 422
        assert "The gate into this stage is not met by data." in blocked.text
        assert "ok</textarea>" in blocked.text  # input kept
        no_note = await client.post(
            path, {"to_stage": "2", "from_stage": "1", "note": " ", "sign_off": "1"}
        )
        assert no_note.status_code == 422 and "A manual sign-off needs a note." in no_note.text
        assert await stage(org, "FR") == 1
        signed = await client.post(
            path, {"to_stage": "2", "from_stage": "1", "note": "Board approved", "sign_off": "1"}
        )
        assert signed.status_code == 303
        assert await stage(org, "FR") == 2
        skip = await client.post(path, {"to_stage": "4", "from_stage": "2", "sign_off": "1"})
        assert skip.status_code == 422 and "Move forward one stage at a time." in skip.text
        stale = await client.post(
            path, {"to_stage": "3", "from_stage": "1", "note": "x", "sign_off": "1"}
        )
        assert stale.status_code == 422 and "Someone moved this unit meanwhile." in stale.text
        assert await stage(org, "FR") == 2


async def test_htmx_move_returns_the_board_and_errors_in_the_card(
    server: LiveServer, org: Organisation
) -> None:
    admin = await person(org, "admin", "hq_admin")
    async with await signed_in(server, org, admin) as client:
        form = await client.get(f"/rollout/units/{org.unit_id('DACH')}", htmx=True)
        assert form.status_code == 200
        assert "<html" not in form.text and 'data-testid="move-form-DACH"' in form.text
        path = f"/rollout/units/{org.unit_id('DACH')}/move"
        board = await client.post(
            path, {"to_stage": "2", "from_stage": "1", "back": "board"}, htmx=True
        )
        assert board.status_code == 200
        assert 'id="board"' in board.text and "<html" not in board.text
        assert cards(board.text, 2) == {"DACH"}
        wrong = await client.post(
            path, {"to_stage": "1", "from_stage": "2", "back": "board", "note": ""}, htmx=True
        )
        assert wrong.status_code == 422
        assert wrong.headers["hx-retarget"] == f"#move-slot-{org.unit_id('DACH')}"
        assert "Say in a note why the unit goes back." in wrong.text


async def test_unit_leads_see_and_move_only_their_subtree(
    server: LiveServer, org: Organisation
) -> None:
    lead = await person(org, "lead", "unit_lead", "DACH")
    async with await signed_in(server, org, lead) as client:
        board = await client.get("/rollout")
        assert board.status_code == 200
        assert cards(board.text, 1) == {"DACH", "DE"}
        fr = org.unit_id("FR")
        assert (await client.get(f"/rollout/units/{fr}")).status_code == 403
        assert (await client.get("/rollout/units/999999")).status_code == 404
        assert (await client.get(f"/rollout?within={fr}")).status_code == 403
        forged = await client.post(f"/rollout/units/{fr}/move", {"to_stage": "2"})
        assert forged.status_code == 403
        own = await client.post(f"/rollout/units/{org.unit_id('DE')}/move", {"to_stage": "2"})
        assert own.status_code == 303
        # Gates are the headquarters' business.
        assert (await client.post("/rollout/gates", {"signoff_2": "1"})).status_code == 403
        gates_page = await client.get("/rollout/gates")
        assert gates_page.status_code == 200 and 'data-testid="gates-submit"' not in gates_page.text
    assert await stage(org, "FR") == 1 and await stage(org, "DE") == 2


async def test_read_only_roles_see_the_board_but_cannot_move(
    server: LiveServer, org: Organisation
) -> None:
    for role, unit in (("stakeholder", "HQ"), ("contributor", "FR")):
        member = await person(org, role, role, unit)
        async with await signed_in(server, org, member) as client:
            board = await client.get("/rollout")
            assert board.status_code == 200, role
            assert 'data-testid="move-' not in board.text, role
            target = org.unit_id(unit)
            assert (await client.get(f"/rollout/units/{target}")).status_code == 200
            assert (await client.get(f"/rollout/units/{target}", htmx=True)).status_code == 403
            posted = await client.post(f"/rollout/units/{target}/move", {"to_stage": "2"})
            assert posted.status_code == 403, role
    assert await stage(org, "HQ") == 1 and await stage(org, "FR") == 1


async def api_token(org: Organisation, email: str) -> str:
    from scalemark.identity.tokens import create_token
    from scalemark.identity.users import get_user_by_email

    user = await get_user_by_email(email)
    assert user is not None
    _, secret = await create_token(org.tenant.id, user.id, "test")
    return secret


async def test_api_reads_and_moves_with_checks(server: LiveServer, org: Organisation) -> None:
    admin = await person(org, "admin", "hq_admin")
    lead = await person(org, "lead", "unit_lead", "DACH")
    tokens = {"admin": await api_token(org, admin.email), "lead": await api_token(org, lead.email)}

    def client(who: str) -> Any:
        return server.client(org.slug, headers={"authorization": f"Bearer {tokens[who]}"})

    async with client("admin") as api:
        state = await api.get("/api/v1/rollout")
        assert state.status_code == 200
        body = state.json()
        assert [s["number"] for s in body["stages"]] == [1, 2, 3, 4, 5]
        assert {u["code"]: u["stage"] for u in body["units"]}["DE"] == 1
        moved = await api.post("/api/v1/rollout", json={"unit_code": "DE", "to_stage": 2})
        assert moved.status_code == 200, moved.text
        assert moved.json() == {
            "unit_id": org.unit_id("DE"),
            "code": "DE",
            "from_stage": 1,
            "to_stage": 2,
            "note": "",
            "signed_off": False,
        }
        async with tenant_transaction(org.tenant):
            from scalemark.rollout.rules import GateCriterion

            await service.replace_gates([GateCriterion(3, "adoption_at_least", 50)])
        gate = await api.post("/api/v1/rollout", json={"unit_code": "DE", "to_stage": 3})
        assert gate.status_code == 409 and gate.json()["field"] == "sign_off"
        no_note = await api.post(
            "/api/v1/rollout", json={"unit_code": "DE", "to_stage": 3, "sign_off": True}
        )
        assert no_note.status_code == 400 and no_note.json()["field"] == "note"
        signed = await api.post(
            "/api/v1/rollout",
            json={"unit_code": "DE", "to_stage": 3, "sign_off": True, "note": "Pilot go"},
        )
        assert signed.status_code == 200 and signed.json()["signed_off"] is True
        stale = await api.post(
            "/api/v1/rollout", json={"unit_code": "DE", "to_stage": 4, "from_stage": 2}
        )
        assert stale.status_code == 409
        bad = await api.post("/api/v1/rollout", json={"unit_code": "DE", "to_stage": 9})
        assert bad.status_code == 400
        unknown = await api.post("/api/v1/rollout", json={"unit_code": "NOPE", "to_stage": 2})
        assert unknown.status_code == 404
        schema = (await api.get("/api/v1/schema/openapi.json")).json()
        assert {"get", "post"} <= set(schema["paths"]["/api/v1/rollout"])

    async with client("lead") as api:
        state = (await api.get("/api/v1/rollout")).json()
        assert {u["code"] for u in state["units"]} == {"DACH", "DE"}
        outside = await api.post("/api/v1/rollout", json={"unit_code": "FR", "to_stage": 2})
        assert outside.status_code == 403
    assert await stage(org, "FR") == 1 and await stage(org, "DE") == 3


async def test_another_tenant_cannot_read_or_move(
    server: LiveServer, org: Organisation, db_pool: asyncpg.Pool
) -> None:
    async with organisation(db_pool, "rother") as other:
        outsider = await person(other, "neighbour", "hq_admin")
        async with WebClient(server, other.slug) as home:
            await home.signed_in(outsider)
            session = home.session
        async with WebClient(server, org.slug) as visitor:
            csrf = await visitor.csrf()
        cookie = {"cookie": f"{SESSION_COOKIE}={session}; sm_csrf={csrf}"}
        async with server.client(org.slug, headers=cookie) as client:
            assert (await client.get("/rollout")).status_code == 403
            assert (await client.get(f"/rollout/units/{org.unit_id('DE')}")).status_code == 403
            for path, form in (
                (f"/rollout/units/{org.unit_id('DE')}/move", {"to_stage": "2"}),
                ("/rollout/gates", {"signoff_2": "1"}),
            ):
                posted = await client.post(path, data={**form, "_csrf_token": csrf})
                assert posted.status_code == 403, path
        foreign = await api_token(other, outsider.email)
        async with server.client(org.slug, headers={"authorization": f"Bearer {foreign}"}) as api:
            assert (await api.get("/api/v1/rollout")).status_code == 401
            moved = await api.post("/api/v1/rollout", json={"unit_code": "DE", "to_stage": 2})
            assert moved.status_code == 401
    assert await stage(org, "DE") == 1
    async with tenant_transaction(org.tenant):
        assert await service.gates() == []
