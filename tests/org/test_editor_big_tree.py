"""The unit editor on a big tree: a bounded first page, deeper units on demand, search.

Tree: ``HQ → DACH → DE`` and ``HQ → WEST → FR`` from the test organisation, then 40
business units below DE and below FR, each with two teams (245 units). The editor shows
the levels that fit in the row budget and loads deeper units when asked, within the
editor's own part of the tree.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.org import service
from scalemark.org.rules import UnitData
from scalemark.org.tree_view import ROW_BUDGET
from support.identity import Organisation, WebClient, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)

UNITS_PER_COUNTRY = 40


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, "big") as created:
        yield created


async def grow(org: Organisation) -> None:
    """40 business units below DE and FR, two teams below each."""
    async with tenant_transaction(org.tenant):
        for country in ("DE", "FR"):
            for i in range(UNITS_PER_COUNTRY):
                code = f"{country}-B{i:02d}"
                await service.create_unit(
                    UnitData(code, f"{country} business {i:02d}", "business_unit"), country
                )
                for t in (1, 2):
                    await service.create_unit(
                        UnitData(f"{code}-T{t}", f"{country} team {i:02d}.{t}", "team"), code
                    )


def rows(html: str) -> list[str]:
    """Codes of the units table's rows, in order."""
    return re.findall(r'<tr data-testid="manage-row-([A-Z0-9_-]+)"', html)


async def signed_in(server: LiveServer, org: Organisation, role: str, unit: str) -> WebClient:
    client = WebClient(server, org.slug)
    await client.signed_in(await person(org, role, role, unit))
    return client


async def test_first_page_stays_small_however_big_the_tree(
    server: LiveServer, org: Organisation
) -> None:
    async with await signed_in(server, org, "hq_admin", "HQ") as client:
        small = await client.get("/units/manage")
        assert small.status_code == 200
        await grow(org)
        page = await client.get("/units/manage")
        assert page.status_code == 200
        assert "(245)" in page.text  # the heading counts every unit
        # 240 more units, yet the same five rows: the units below DE and FR wait.
        assert rows(page.text) == ["HQ", "DACH", "DE", "WEST", "FR"]
        assert len(page.content) - len(small.content) < 3_000, len(page.content)
        assert "Show its 40 sub-units" in page.text
        assert f'href="/units/manage?unit={org.unit_id("DE")}"' in page.text  # without JS
        assert f'hx-get="/units/manage/{org.unit_id("DE")}/children?indent=2"' in page.text
        # The add form offers the upper levels; deeper parents come with "Add below".
        parents = re.search(r'name="parent_id".*?</select>', page.text, re.S)
        assert parents is not None and parents.group(0).count("<option") == 5
        assert 'data-testid="add-parent-hint"' in page.text


async def test_deeper_units_load_on_demand(server: LiveServer, org: Organisation) -> None:
    await grow(org)
    de = org.unit_id("DE")
    async with await signed_in(server, org, "hq_admin", "HQ") as client:
        # htmx: DE's row again (without the link) and its 40 units below it.
        loaded = await client.get(f"/units/manage/{de}/children?indent=2", htmx=True)
        assert loaded.status_code == 200 and "<html" not in loaded.text
        codes = rows(loaded.text)
        assert codes == ["DE", *(f"DE-B{i:02d}" for i in range(UNITS_PER_COUNTRY))]
        assert 'data-testid="open-DE"' not in loaded.text
        assert "--depth: 3" in loaded.text and "Show its 2 sub-units" in loaded.text
        # The first loaded unit takes the focus; nothing else does.
        assert loaded.text.count(" autofocus") == 1
        assert re.search(r'data-testid="edit-DE-B00" autofocus', loaded.text)

        # The row of the unit open in the panel stays marked.
        current = server.url(org.slug, f"/units/manage/{de}")
        marked = await client.http.get(
            f"/units/manage/{de}/children",
            headers={"HX-Request": "true", "HX-Current-URL": current},
        )
        assert 'class="is-current" aria-current="true"' in marked.text

        # Without JavaScript the same link opens the editor starting at DE.
        for path in (f"/units/manage/{de}/children", f"/units/manage?unit={de}"):
            page = await client.get(path)
            assert page.status_code == 200 and "<html" in page.text, path
            assert rows(page.text) == ["DE", *(f"DE-B{i:02d}" for i in range(40))], path
            assert "Showing Germany and the units below it." in page.text
            assert f'href="/units/manage?unit={org.unit_id("DACH")}"' in page.text  # one up
            assert 'data-testid="units-top"' in page.text
            assert f'<option value="{de}" selected>' in page.text  # add below DE by default

        # A unit without sub-units has nothing to load; unknown and archived ones are 404.
        team = (await unit(org, "DE-B00-T1")).id
        empty = await client.get(f"/units/manage/{team}/children", htmx=True)
        assert rows(empty.text) == ["DE-B00-T1"]
        assert (await client.get("/units/manage/999999/children", htmx=True)).status_code == 404
        assert (await client.get("/units/manage?unit=999999")).status_code == 404
        assert (await client.get("/units/manage?unit=abc")).status_code == 404
        archived = await client.post(f"/units/manage/{org.unit_id('FR')}/archive")
        assert archived.status_code == 303
        fr = org.unit_id("FR")
        assert (await client.get(f"/units/manage/{fr}/children", htmx=True)).status_code == 404


async def unit(org: Organisation, code: str) -> service.UnitNode:
    async with tenant_transaction(org.tenant):
        found = await service.get_unit_by_code(code)
    assert found is not None, code
    return found


async def test_search_finds_deep_units_and_editing_keeps_them_in_view(
    server: LiveServer, org: Organisation
) -> None:
    await grow(org)
    async with await signed_in(server, org, "hq_admin", "HQ") as client:
        found = await client.get("/units/manage?q=team 07.2")
        assert found.status_code == 200
        assert rows(found.text) == ["DE-B07-T2", "FR-B07-T2"]
        assert "2 units match “team 07.2”." in found.text
        assert "Test HQ › Region DACH › Germany › DE business 07" in found.text
        by_code = await client.get("/units/manage?q=fr-b1")
        assert rows(by_code.text)[:3] == ["FR-B10", "FR-B10-T1", "FR-B10-T2"]
        many = await client.get("/units/manage?q=team")
        assert len(rows(many.text)) == ROW_BUDGET
        assert f"The first {ROW_BUDGET} of 160 units that match “team”." in many.text
        none = await client.get("/units/manage?q=nothing-like-this")
        assert "No unit matches “nothing-like-this”." in none.text and not rows(none.text)

        # Opening, saving and adding below a deep unit keep its branch open.
        deep = await unit(org, "FR-B33-T1")
        opened = await client.get(f"/units/manage/{deep.id}")
        assert "FR-B33-T1" in rows(opened.text) and len(rows(opened.text)) < ROW_BUDGET
        saved = await client.post(
            f"/units/manage/{deep.id}",
            {
                "code": "FR-B33-T1",
                "name": "Lyon team",
                "kind": "team",
                "locale": "fr",
                "timezone": "Europe/Paris",
                "currency": "EUR",
            },
            htmx=True,
        )
        assert saved.status_code == 200 and 'data-testid="editor-message"' in saved.text
        assert "FR-B33-T1" in rows(saved.text) and "Lyon team" in saved.text
        below = await client.get(f"/units/manage?parent={deep.id}")
        assert "FR-B33-T1" in rows(below.text)
        parents = re.search(r'name="parent_id".*?</select>', below.text, re.S)
        assert parents is not None and f'<option value="{deep.id}" selected>' in parents.group(0)
        added = await client.post(
            "/units/manage",
            {
                "parent_id": deep.id,
                "code": "FR-B33-T1-X",
                "name": "Lyon squad",
                "kind": "team",
                "locale": "fr",
                "timezone": "Europe/Paris",
                "currency": "EUR",
            },
        )
        assert added.status_code == 303
        after = await client.get(added.headers["location"])
        assert "FR-B33-T1-X" in rows(after.text)


async def test_unit_leads_load_only_their_own_subtree(
    server: LiveServer, org: Organisation, db_pool: asyncpg.Pool
) -> None:
    await grow(org)
    de, fr = org.unit_id("DE"), org.unit_id("FR")
    async with await signed_in(server, org, "unit_lead", "DACH") as client:
        page = await client.get("/units/manage")
        codes = rows(page.text)
        # DACH, DE and DE's 40 units fit; the teams below them wait.
        assert codes == ["DACH", "DE", *(f"DE-B{i:02d}" for i in range(UNITS_PER_COUNTRY))]
        assert 'data-testid="units-up"' not in page.text
        loaded = await client.get(f"/units/manage/{org.unit_id('DACH')}/children", htmx=True)
        assert loaded.status_code == 200 and rows(loaded.text) == ["DACH", "DE"]
        assert (await client.get(f"/units/manage/{de}/children", htmx=True)).status_code == 200
        # Another subtree: forbidden, with or without htmx, as a focus or a search.
        assert (await client.get(f"/units/manage/{fr}/children", htmx=True)).status_code == 403
        assert (await client.get(f"/units/manage/{fr}/children")).status_code == 403
        assert (await client.get(f"/units/manage?unit={fr}")).status_code == 403
        hq = org.unit_id("HQ")
        assert (await client.get(f"/units/manage/{hq}/children", htmx=True)).status_code == 403
        found = await client.get("/units/manage?q=team 07")
        assert {c[:2] for c in rows(found.text)} == {"DE"}
        # Another tenant's unit id (unknown here): 404.
        async with organisation(db_pool, "bigo") as other:
            async with tenant_transaction(other.tenant):
                extra = None
                for i in range(300):
                    extra = await service.create_unit(
                        UnitData(f"X{i}", f"Other {i}", "country"), "HQ"
                    )
            assert extra is not None
            foreign = extra.id
            assert await unit_by_id(org, foreign) is None
            assert (
                await client.get(f"/units/manage/{foreign}/children", htmx=True)
            ).status_code == 404
            assert (await client.get(f"/units/manage?unit={foreign}")).status_code == 404


async def unit_by_id(org: Organisation, unit_id: int) -> service.UnitNode | None:
    async with tenant_transaction(org.tenant):
        return await service.get_unit(unit_id)
