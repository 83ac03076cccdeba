"""The rollout board on a big tree: each stage column shows its first cards and "Show N
more", while the counts and the chart count every unit; filters and scope hold for every
page.

Tree: ``HQ → DACH → DE`` and ``HQ → WEST → FR``, then 100 business units below DE and 30
teams below FR, all in stage 1 (135 units).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData
from scalemark.rollout.routes import PAGE_SIZE
from support.identity import Organisation, WebClient, organisation, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, "page") as created:
        async with tenant_transaction(created.tenant):
            for i in range(100):
                await org_service.create_unit(
                    UnitData(f"DE-B{i:03d}", f"Germany unit {i:03d}", "business_unit"), "DE"
                )
            for i in range(30):
                await org_service.create_unit(
                    UnitData(f"FR-T{i:03d}", f"France team {i:03d}", "team"), "FR"
                )
        yield created


async def signed_in(server: LiveServer, org: Organisation, role: str, unit: str) -> WebClient:
    client = WebClient(server, org.slug)
    await client.signed_in(await person(org, role, role, unit))
    return client


def column(html: str, number: int) -> list[str]:
    """Unit codes of the cards in one stage column, in order."""
    match = re.search(rf'data-testid="column-{number}"(.*?)</section>', html, re.S)
    assert match, f"no column {number}"
    return cards(match.group(1))


def cards(html: str) -> list[str]:
    return re.findall(r'data-testid="card-([A-Z0-9_-]+)"', html)


def count(html: str, number: int) -> int:
    found = re.search(
        rf'data-testid="count-{number}">.*?<strong[^>]*>([\d,]+)</strong>', html, re.S
    )
    assert found, f"no count {number}"
    return int(found.group(1).replace(",", ""))


async def test_columns_show_a_page_and_count_everything(
    server: LiveServer, org: Organisation
) -> None:
    async with await signed_in(server, org, "hq_admin", "HQ") as client:
        board = await client.get("/rollout")
        assert board.status_code == 200
        first = column(board.text, 1)
        assert len(first) == PAGE_SIZE == 40
        assert first[:5] == ["HQ", "DACH", "DE", "DE-B000", "DE-B001"]  # tree order
        assert count(board.text, 1) == 135 and "(135)" in board.text
        assert re.search(r'<span class="board__count">135<', board.text)
        assert "40 of 135 shown" in board.text and "Show 40 more units" in board.text
        assert re.search(r"1 · Governance.*?135", board.text, re.S)  # the chart's bar
        link = "/rollout?stage=1&amp;page=2#card-"
        assert f'href="{link}' in board.text  # without JavaScript
        assert 'hx-get="/rollout?stage=1&amp;page=2"' in board.text

        # htmx: the next 40 cards, and the control again (out of band) for page 3.
        second = await client.get("/rollout?stage=1&page=2", htmx=True)
        assert second.status_code == 200 and "<html" not in second.text
        assert cards(second.text) == [f"DE-B{i:03d}" for i in range(37, 77)]
        assert 'hx-swap-oob="true"' in second.text
        assert 'hx-get="/rollout?stage=1&amp;page=3"' in second.text
        assert "80 of 135 shown" in second.text
        assert second.text.count(" autofocus") == 1  # the first new card takes the focus
        last = await client.get("/rollout?stage=1&page=4", htmx=True)
        assert len(cards(last.text)) == 15 and "Show" not in last.text
        assert re.search(r'id="more-1"[^>]*hx-swap-oob="true"></div>', last.text)
        beyond = await client.get("/rollout?stage=1&page=9", htmx=True)
        assert beyond.status_code == 200 and cards(beyond.text) == []

        # Without JavaScript: the board with two pages in that column.
        page = await client.get("/rollout?stage=1&page=2")
        assert len(column(page.text, 1)) == 80 and count(page.text, 1) == 135
        assert 'hx-get="/rollout?stage=1&amp;page=3"' in page.text
        # Nonsense paging is ignored rather than an error.
        for query in ("stage=9&page=2", "stage=x", "stage=1&page=-1", "stage=1&page=99999"):
            odd = await client.get(f"/rollout?{query}")
            assert odd.status_code == 200, query
            assert len(column(odd.text, 1)) in (40, 135), query


async def test_paging_keeps_the_filters(server: LiveServer, org: Organisation) -> None:
    de = org.unit_id("DE")
    async with await signed_in(server, org, "hq_admin", "HQ") as client:
        board = await client.get(f"/rollout?within={de}&kind=business_unit")
        assert count(board.text, 1) == 100 and len(column(board.text, 1)) == 40
        assert f'hx-get="/rollout?within={de}&amp;kind=business_unit&amp;stage=1&amp;page=2"' in (
            board.text
        )
        third = await client.get(
            f"/rollout?within={de}&kind=business_unit&stage=1&page=3", htmx=True
        )
        assert cards(third.text) == [f"DE-B{i:03d}" for i in range(80, 100)]
        teams = await client.get("/rollout?kind=team&stage=1&page=1", htmx=True)
        assert cards(teams.text) == [f"FR-T{i:03d}" for i in range(30)]
        assert "Show" not in teams.text

        # A card in a later page comes into view when it was just moved (or named).
        moved = await client.post(
            f"/rollout/units/{org.unit_id('DE')}/move",
            {"to_stage": "2", "from_stage": "1", "back": "board"},
        )
        assert moved.status_code == 303
        deep = await unit_id(org, "DE-B090")
        named = await client.get(f"/rollout?moved={deep}")
        assert "DE-B090" in column(named.text, 1) and len(column(named.text, 1)) == 120
        assert re.search(rf'href="/rollout/units/{deep}"[^>]*autofocus', named.text)
        # Back from the unit's own page: its card again, with the focus, without a message.
        unit_page = await client.get(f"/rollout/units/{deep}")
        assert f'href="/rollout?card={deep}#card-{deep}"' in unit_page.text
        back = await client.get(f"/rollout?card={deep}")
        assert "DE-B090" in column(back.text, 1) and 'data-testid="board-message"' not in back.text
        assert re.search(rf'href="/rollout/units/{deep}"[^>]*autofocus', back.text)


async def unit_id(org: Organisation, code: str) -> int:
    async with tenant_transaction(org.tenant):
        found = await org_service.get_unit_by_code(code)
    assert found is not None
    return found.id


async def test_pages_respect_the_readers_part_of_the_tree(
    server: LiveServer, org: Organisation
) -> None:
    async with await signed_in(server, org, "unit_lead", "WEST") as client:
        board = await client.get("/rollout")
        assert column(board.text, 1) == ["WEST", "FR", *(f"FR-T{i:03d}" for i in range(30))]
        assert count(board.text, 1) == 32 and "Show" not in column_html(board.text, 1)
        # Asking for more pages never shows units of another part of the tree.
        for page in (1, 2, 3):
            more = await client.get(f"/rollout?stage=1&page={page}", htmx=True)
            assert more.status_code == 200
            assert all(code.startswith(("WEST", "FR")) for code in cards(more.text)), page
        de = org.unit_id("DE")
        assert (
            await client.get(f"/rollout?within={de}&stage=1&page=2", htmx=True)
        ).status_code == 403
        assert (await client.get("/rollout?within=999999&stage=1&page=2")).status_code == 404
    async with await signed_in(server, org, "unit_lead", "DACH") as client:
        board = await client.get("/rollout")
        assert count(board.text, 1) == 102 and len(column(board.text, 1)) == 40
        second = await client.get("/rollout?stage=1&page=3", htmx=True)
        assert cards(second.text) == [f"DE-B{i:03d}" for i in range(78, 100)]
        fr = org.unit_id("FR")
        assert (await client.get(f"/rollout?within={fr}&stage=1&page=1")).status_code == 403


def column_html(html: str, number: int) -> str:
    match = re.search(rf'data-testid="column-{number}"(.*?)</section>', html, re.S)
    assert match
    return match.group(1)
