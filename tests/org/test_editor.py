"""The unit tree editor over HTTP (``/units/manage``, ``/units/kinds``) and ``POST /api/v1/units``.

A live server, real PostgreSQL and Redis; each test gets a fresh organisation with the
tree ``HQ → DACH → DE`` and ``HQ → WEST → FR``. People sign in through ``POST /login``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.org import service
from support.accounts import SESSION_COOKIE, Credentials
from support.identity import (
    Organisation,
    WebClient,
    organisation,
    person,
    shared_live_server,
)
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, "edit") as created:
        yield created


async def signed_in(server: LiveServer, org: Organisation, credentials: Credentials) -> WebClient:
    client = WebClient(server, org.slug)
    await client.signed_in(credentials)
    return client


async def unit(org: Organisation, code: str) -> service.UnitNode | None:
    async with tenant_transaction(org.tenant):
        return await service.get_unit_by_code(code)


async def audit_actions(org: Organisation, object_id: int) -> list[tuple[str, Any, Any]]:
    async with tenant_transaction(org.tenant) as conn:
        rows = await conn.fetch(
            "SELECT action, before, after FROM audit_event WHERE object_type = 'unit'"
            " AND object_id = $1 ORDER BY id",
            str(object_id),
        )
    return [
        (r["action"], json.loads(r["before"] or "null"), json.loads(r["after"] or "null"))
        for r in rows
    ]


def unit_form(**values: Any) -> dict[str, Any]:
    base = {
        "code": "AT",
        "name": "Austria",
        "kind": "country",
        "locale": "de",
        "timezone": "Europe/Vienna",
        "currency": "EUR",
    }
    return {**base, **values}


# --------------------------------------------------------------------------- HQ admin


async def test_hq_admin_adds_edits_and_sees_history(server: LiveServer, org: Organisation) -> None:
    admin = await person(org, "admin", "hq_admin")
    async with await signed_in(server, org, admin) as client:
        page = await client.get("/units/manage")
        assert page.status_code == 200
        for code in ("HQ", "DACH", "DE", "WEST", "FR"):
            assert f'data-testid="manage-row-{code}"' in page.text

        added = await client.post("/units/manage", unit_form(parent_id=org.unit_id("DACH")))
        assert added.status_code == 303, added.text[:500]
        austria = await unit(org, "AT")
        assert austria is not None and austria.parent_id == org.unit_id("DACH")
        assert (austria.locale, austria.timezone) == ("de", "Europe/Vienna")

        # Duplicate code: the form again, with the message and the input kept.
        again = await client.post(
            "/units/manage", unit_form(code="de", name="Kept name", parent_id=org.unit_id("HQ"))
        )
        assert again.status_code == 422
        assert "Another unit already uses this code." in again.text
        assert 'value="Kept name"' in again.text
        assert 'aria-invalid="true"' in again.text

        changed = await client.post(
            f"/units/manage/{austria.id}",
            unit_form(name="Österreich", currency="eur", timezone="Europe/Vienna"),
        )
        assert changed.status_code == 303
        assert changed.headers["location"] == f"/units/manage/{austria.id}?saved=1"
        assert (await unit(org, "AT")).name == "Österreich"

        bad = await client.post(
            f"/units/manage/{austria.id}", unit_form(name="Österreich", timezone="Mars/Base")
        )
        assert bad.status_code == 422
        assert "Choose a time zone such as Europe/Berlin." in bad.text
        assert 'value="Mars/Base"' in bad.text

        detail = await client.get(f"/units/manage/{austria.id}")
        assert detail.status_code == 200
        assert 'data-testid="unit-history"' in detail.text

    actions = await audit_actions(org, austria.id)
    assert [a for a, _, _ in actions] == ["unit.create", "unit.update"]
    _, before, after = actions[1]
    assert (before["name"], after["name"]) == ("Austria", "Österreich")
    assert actions[0][2]["parent"] == "DACH"


async def test_move_refuses_cycles_and_keeps_the_tree(
    server: LiveServer, org: Organisation
) -> None:
    admin = await person(org, "admin", "hq_admin")
    async with await signed_in(server, org, admin) as client:
        form = await client.get(f"/units/manage/{org.unit_id('DACH')}")
        targets = re.search(r'name="new_parent_id".*?</select>', form.text, re.S)
        assert targets is not None
        offered = set(re.findall(r'option value="(\d+)"', targets.group(0)))
        # Not itself, not below itself, not its current parent.
        assert offered == {str(org.unit_id("WEST")), str(org.unit_id("FR"))}

        cycle = await client.post(
            f"/units/manage/{org.unit_id('DACH')}/move", {"new_parent_id": org.unit_id("DE")}
        )
        assert cycle.status_code == 422
        assert "A unit cannot move below itself or its own sub-units." in cycle.text
        assert (await unit(org, "DACH")).parent_id == org.unit_id("HQ")

        moved = await client.post(
            f"/units/manage/{org.unit_id('DE')}/move", {"new_parent_id": org.unit_id("WEST")}
        )
        assert moved.status_code == 303
        de = await unit(org, "DE")
        assert de.parent_id == org.unit_id("WEST") and de.path.startswith(org.units["WEST"].path)

        hq_move = await client.post(
            f"/units/manage/{org.unit_id('HQ')}/move", {"new_parent_id": org.unit_id("FR")}
        )
        assert hq_move.status_code == 422
        assert "The headquarters cannot be moved." in hq_move.text

        missing = await client.post(
            f"/units/manage/{org.unit_id('FR')}/move", {"new_parent_id": "999999"}
        )
        assert missing.status_code == 404
        blank = await client.post(f"/units/manage/{org.unit_id('FR')}/move", {"new_parent_id": ""})
        assert blank.status_code == 422
        assert "Choose a unit from the list." in blank.text

    moves = [a for a in await audit_actions(org, org.unit_id("DE")) if a[0] == "unit.move"]
    assert len(moves) == 1
    assert (moves[0][1]["parent"], moves[0][2]["parent"]) == ("DACH", "WEST")


async def test_archive_and_restore_keep_history(server: LiveServer, org: Organisation) -> None:
    admin = await person(org, "admin", "hq_admin")
    async with await signed_in(server, org, admin) as client:
        hq = await client.post(f"/units/manage/{org.unit_id('HQ')}/archive")
        assert hq.status_code == 422
        assert "The headquarters cannot be archived." in hq.text

        archived = await client.post(f"/units/manage/{org.unit_id('DACH')}/archive")
        assert archived.status_code == 303
        assert (await unit(org, "DACH")).archived and (await unit(org, "DE")).archived
        page = await client.get("/units/manage")
        assert 'data-testid="archived-DACH"' in page.text
        assert 'data-testid="manage-row-DACH"' not in page.text

        # An archived child cannot come back while its parent is archived.
        child = await client.post(f"/units/manage/{org.unit_id('DE')}/restore")
        assert child.status_code == 422
        assert "Restore the parent first." in child.text
        # Nor can an archived unit be changed or used as a parent.
        edit = await client.post(f"/units/manage/{org.unit_id('DACH')}", unit_form(code="DACH"))
        assert edit.status_code == 422
        add = await client.post("/units/manage", unit_form(parent_id=org.unit_id("DACH")))
        assert add.status_code == 422 and await unit(org, "AT") is None

        restored = await client.post(f"/units/manage/{org.unit_id('DACH')}/restore")
        assert restored.status_code == 303
        assert not (await unit(org, "DACH")).archived and not (await unit(org, "DE")).archived

    actions = [a for a, _, _ in await audit_actions(org, org.unit_id("DACH"))]
    assert actions == ["unit.archive", "unit.restore"]


async def test_htmx_gets_partials_and_errors_in_the_panel(
    server: LiveServer, org: Organisation
) -> None:
    admin = await person(org, "admin", "hq_admin")
    async with await signed_in(server, org, admin) as client:
        panel = await client.get(f"/units/manage/{org.unit_id('FR')}", htmx=True)
        assert panel.status_code == 200
        assert "<html" not in panel.text and 'data-testid="unit-edit-form"' in panel.text

        saved = await client.post(
            f"/units/manage/{org.unit_id('FR')}",
            unit_form(code="FR", name="France", locale="fr", timezone="Europe/Paris"),
            htmx=True,
        )
        assert saved.status_code == 200
        assert 'id="unit-workspace"' in saved.text and "<html" not in saved.text
        assert 'data-testid="editor-message"' in saved.text

        wrong = await client.post(
            f"/units/manage/{org.unit_id('FR')}", unit_form(code="bad code!"), htmx=True
        )
        assert wrong.status_code == 422
        assert wrong.headers["hx-retarget"] == "#unit-panel"
        assert "Use 1–32 capital letters, digits, hyphens or underscores." in wrong.text
        assert "<html" not in wrong.text


# --------------------------------------------------------------------------- unit leads


async def test_unit_lead_sees_and_edits_only_their_subtree(
    server: LiveServer, org: Organisation
) -> None:
    lead = await person(org, "lead", "unit_lead", "DACH")
    before = {code: await unit(org, code) for code in ("HQ", "DACH", "DE", "WEST", "FR")}
    async with await signed_in(server, org, lead) as client:
        page = await client.get("/units/manage")
        assert page.status_code == 200
        assert 'data-testid="manage-row-DACH"' in page.text
        assert 'data-testid="manage-row-DE"' in page.text
        for outside in ("HQ", "WEST", "FR"):
            assert f'data-testid="manage-row-{outside}"' not in page.text
        assert 'href="/units/kinds"' not in page.text

        # URLs naming units outside the subtree.
        fr = org.unit_id("FR")
        assert (await client.get(f"/units/manage/{fr}")).status_code == 403
        assert (await client.post(f"/units/manage/{fr}", unit_form(code="FR"))).status_code == 403
        assert (await client.post(f"/units/manage/{fr}/archive")).status_code == 403
        assert (await client.get("/units/manage/999999")).status_code == 404
        assert (await client.get(f"/units/manage?parent={fr}")).status_code == 403

        # Forged form fields naming units outside the subtree.
        forged_parent = await client.post("/units/manage", unit_form(parent_id=org.unit_id("WEST")))
        assert forged_parent.status_code == 403
        forged_target = await client.post(
            f"/units/manage/{org.unit_id('DE')}/move", {"new_parent_id": org.unit_id("WEST")}
        )
        assert forged_target.status_code == 403
        unknown_parent = await client.post("/units/manage", unit_form(parent_id="999999"))
        assert unknown_parent.status_code == 404
        # Their own top unit: rights are needed at its parent to archive it.
        assert (
            await client.post(f"/units/manage/{org.unit_id('DACH')}/archive")
        ).status_code == 403

        # Inside the subtree everything works.
        added = await client.post("/units/manage", unit_form(parent_id=org.unit_id("DACH")))
        assert added.status_code == 303
        renamed = await client.post(
            f"/units/manage/{org.unit_id('DE')}",
            unit_form(code="DE", name="Deutschland", locale="de", timezone="Europe/Berlin"),
        )
        assert renamed.status_code == 303
        moved = await client.post(
            f"/units/manage/{org.unit_id('DE')}/move", {"new_parent_id": (await unit(org, "AT")).id}
        )
        assert moved.status_code == 303
        archived = await client.post(f"/units/manage/{org.unit_id('DE')}/archive")
        assert archived.status_code == 303

    for code in ("HQ", "WEST", "FR"):
        assert await unit(org, code) == before[code], code
    assert (await unit(org, "DACH")).parent_id == before["DACH"].parent_id
    assert (await unit(org, "DE")).name == "Deutschland"


async def test_people_without_edit_rights_get_403(server: LiveServer, org: Organisation) -> None:
    for role in ("contributor", "stakeholder", "it_owner"):
        member = await person(org, role, role, "HQ")
        async with await signed_in(server, org, member) as client:
            assert (await client.get("/units/manage")).status_code == 403, role
            response = await client.post("/units/manage", unit_form(parent_id=org.unit_id("HQ")))
            assert response.status_code == 403, role
    assert await unit(org, "AT") is None


async def test_another_tenant_cannot_read_or_change_anything(
    server: LiveServer, org: Organisation, db_pool: asyncpg.Pool
) -> None:
    async with organisation(db_pool, "other") as other:
        outsider = await person(other, "neighbour", "hq_admin")
        async with WebClient(server, other.slug) as home:
            await home.signed_in(outsider)
            session = home.session
        async with WebClient(server, org.slug) as visitor:
            csrf = await visitor.csrf()  # a valid CSRF pair, so only authorisation can refuse
        cookie = {"cookie": f"{SESSION_COOKIE}={session}; sm_csrf={csrf}"}
        async with server.client(org.slug, headers=cookie) as client:
            assert (await client.get("/units/manage")).status_code == 403
            assert (await client.get(f"/units/manage/{org.unit_id('DE')}")).status_code == 403
            for path, form in (
                (f"/units/manage/{org.unit_id('DE')}", unit_form(code="DE", name="Hacked")),
                ("/units/manage", unit_form(parent_id=org.unit_id("HQ"))),
                (f"/units/manage/{org.unit_id('DE')}/archive", {}),
                ("/units/kinds", {"label_region_en": "Hacked"}),
            ):
                posted = await client.post(path, data={**form, "_csrf_token": csrf})
                assert posted.status_code == 403, (path, posted.status_code)
        # Their own editor lists only their own units (ids may coincide, names do not).
        async with WebClient(server, other.slug) as mine:
            await mine.signed_in(outsider)
            page = await mine.get("/units/manage")
            assert f"Org {org.slug}" not in page.text
    assert (await unit(org, "DE")).name == "Germany"


# --------------------------------------------------------------------------- kind labels


async def test_tenant_names_unit_kinds(server: LiveServer, org: Organisation) -> None:
    admin = await person(org, "admin", "hq_admin")
    lead = await person(org, "lead", "unit_lead", "DACH")
    async with await signed_in(server, org, admin) as client:
        form = await client.get("/units/kinds")
        assert form.status_code == 200
        too_long = await client.post("/units/kinds", {"label_region_en": "x" * 61})
        assert too_long.status_code == 422
        assert "Use at most 60 characters." in too_long.text
        saved = await client.post("/units/kinds", {"label_region_en": "Cluster"})
        assert saved.status_code == 303
        page = await client.get("/units/manage")
        assert ">Cluster</td>" in page.text
        tree = await client.get("/units")
        assert "Cluster" in tree.text
        cleared = await client.post("/units/kinds", {"label_region_en": ""})
        assert cleared.status_code == 303
        assert ">Cluster</td>" not in (await client.get("/units/manage")).text
    async with await signed_in(server, org, lead) as client:
        assert (await client.get("/units/kinds")).status_code == 403
        assert (await client.post("/units/kinds", {"label_region_en": "X"})).status_code == 403


# --------------------------------------------------------------------------- API


async def api_token(org: Organisation, email: str) -> str:
    from scalemark.identity.tokens import create_token
    from scalemark.identity.users import get_user_by_email

    user = await get_user_by_email(email)
    assert user is not None
    _, secret = await create_token(org.tenant.id, user.id, "test")
    return secret


async def test_api_creates_units_with_checks(
    server: LiveServer, org: Organisation, db_pool: asyncpg.Pool
) -> None:
    admin = await person(org, "admin", "hq_admin")
    lead = await person(org, "lead", "unit_lead", "DACH")
    admin_token, lead_token = await api_token(org, admin.email), await api_token(org, lead.email)

    def body(**values: Any) -> dict[str, Any]:
        return {"code": "AT", "name": "Austria", "kind": "country", "parent_code": "DACH", **values}

    async with server.client(org.slug, headers={"authorization": f"Bearer {admin_token}"}) as api:
        created = await api.post("/api/v1/units", json=body())
        assert created.status_code == 201, created.text
        assert created.json()["code"] == "AT" and created.json()["locale"] == "en"
        duplicate = await api.post("/api/v1/units", json=body(name="Again"))
        assert duplicate.status_code == 409
        assert duplicate.json()["field"] == "code"
        assert duplicate.json()["detail"] == "Another unit already uses this code."
        unknown = await api.post("/api/v1/units", json=body(code="XX", parent_code="NOPE"))
        assert unknown.status_code == 404 and unknown.json()["field"] == "parent_code"
        invalid = await api.post("/api/v1/units", json=body(code="bad code!"))
        assert invalid.status_code == 400 and invalid.json()["field"] == "code"
        second_hq = await api.post("/api/v1/units", json=body(code="HQ2", kind="hq"))
        assert second_hq.status_code == 400 and second_hq.json()["field"] == "kind"
        missing = await api.post("/api/v1/units", json={"code": "ZZ"})
        assert missing.status_code == 400
        listed = await api.get("/api/v1/units")
        assert "AT" in {u["code"] for u in listed.json()}
        schema = await api.get("/api/v1/schema/openapi.json")
        assert schema.status_code == 200
        post_units = schema.json()["paths"]["/api/v1/units"]["post"]
        assert {"201", "400", "403", "404", "409"} <= set(post_units["responses"])

    async with server.client(org.slug, headers={"authorization": f"Bearer {lead_token}"}) as api:
        inside = await api.post("/api/v1/units", json=body(code="CH", name="Schweiz"))
        assert inside.status_code == 201
        outside = await api.post("/api/v1/units", json=body(code="ES", parent_code="WEST"))
        assert outside.status_code == 403

    # Without a bearer token (a session cookie is not enough for changes), and with
    # another tenant's token: nothing.
    async with organisation(db_pool, "apio") as other:
        outsider = await person(other, "neighbour", "hq_admin")
        foreign = await api_token(other, outsider.email)
        async with server.client(org.slug, headers={"authorization": f"Bearer {foreign}"}) as api:
            assert (await api.post("/api/v1/units", json=body(code="EVIL"))).status_code == 401
            assert (await api.get("/api/v1/units")).status_code == 401
    async with server.client(org.slug) as api:
        assert (await api.post("/api/v1/units", json=body(code="EVIL"))).status_code == 401
    assert await unit(org, "EVIL") is None and await unit(org, "ES") is None
    created_audit = await audit_actions(org, (await unit(org, "AT")).id)
    assert [a for a, _, _ in created_audit] == ["unit.create"]


async def test_tree_pages_work_one_migration_behind(
    server: LiveServer, org: Organisation, db_pool: asyncpg.Pool
) -> None:
    """Code runs against schemas one version apart: no kind-label table, built-in names."""
    await db_pool.execute(f'DROP TABLE "{org.tenant.schema}".unit_kind_label')
    admin = await person(org, "admin", "hq_admin")
    async with await signed_in(server, org, admin) as client:
        for path in ("/", "/units", f"/units/{org.unit_id('HQ')}/children", "/units/manage"):
            response = await client.get(path)
            assert response.status_code == 200, path
        assert "Region" in (await client.get("/units")).text
