"""Answering pages over HTTP: autosave, validation, resume, progress with conditions,
conflicts between two places, and read-only assessments.

Framework ``mini.yaml``: ``governance`` (gov_standards; gov_roles without n/a; gov_review
shown only when gov_standards is 2–5, without don't know), ``execution`` (exe_templates,
exe_tools), tension field ``steering``.
"""

from __future__ import annotations

import re

import asyncpg
import pytest

from scalemark.assessment import answers, service
from scalemark.db import tenant_transaction
from support.answering import (
    AnsweringWorld,
    answering_world,
    progress_of,
    question_form,
    revision_in,
)
from support.identity import WebClient, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def aw(make_tenant) -> AnsweringWorld:
    return await answering_world(make_tenant)


async def client_for(server: LiveServer, aw: AnsweringWorld, who: str) -> WebClient:
    client = WebClient(server, aw.slug)
    await client.signed_in(aw.people[who])
    return client


async def stored(aw: AnsweringWorld, who: str, unit: str = "DE") -> dict[str, answers.Answer]:
    async with tenant_transaction(aw.world.tenant):
        seat = await answers.respondent_seat(
            aw.assessment_id, aw.world.units[unit], aw.people[who].email
        )
        return await answers.load_answers(seat)


async def history(aw: AnsweringWorld, who: str, key: str) -> list[answers.Revision]:
    async with tenant_transaction(aw.world.tenant):
        seat = await answers.respondent_seat(
            aw.assessment_id, aw.world.units["DE"], aw.people[who].email
        )
        return await answers.history(seat, key)


async def test_entry_overview_and_section(server: LiveServer, aw: AnsweringWorld) -> None:
    async with await client_for(server, aw, "anna") as anna:
        entry = await anna.get(f"/assessments/{aw.assessment_id}/answer")
        assert entry.status_code == 303 and entry.headers["location"] == aw.base()
        page = await anna.get(aw.base())
        assert page.status_code == 200, page.text[:500]
        # gov_review shows only once gov_standards is answered with 2-5.
        assert progress_of(page.text, "overall") == (0, 5)
        assert progress_of(page.text, "governance") == (0, 2)
        assert progress_of(page.text, "positioning") == (0, 1)
        assert 'data-testid="position-steering"' in page.text
        assert "Central steering" in page.text and "Local execution" in page.text
        assert "Not answered yet" in page.text
        assert re.search(rf'href="{aw.base()}/governance" data-testid="continue"', page.text)
        assert 'href="/static/css/assessment.css"' in page.text

        section = await anna.get(f"{aw.base()}/governance")
        assert section.status_code == 200
        html = section.text
        for key in ("gov_standards", "gov_roles", "gov_review"):
            assert f'data-testid="question-{key}"' in html
        assert '<legend class="question__text">Are there written marketing standards' in html
        assert 'data-testid="level-gov_standards-3"' in html and "Written standards, shared" in html
        assert 'data-testid="na-gov_standards"' in html and 'data-testid="dk-gov_standards"' in html
        assert 'data-testid="na-gov_roles"' not in html  # not_applicable: false
        assert 'data-testid="dk-gov_review"' not in html  # dont_know: false
        assert 'hx-post="' + aw.base() + '/q/gov_standards"' in html
        assert 'data-testid="next-section"' in html and f'href="{aw.base()}/execution"' in html
        assert (await anna.get(f"{aw.base()}/nope")).status_code == 404


async def test_autosave_level_na_dk_comment_and_evidence(
    server: LiveServer, aw: AnsweringWorld
) -> None:
    async with tenant_transaction(aw.world.tenant) as conn:
        await conn.execute("UPDATE assessment_unit SET scores_stale = false")
    async with await client_for(server, aw, "anna") as anna:
        saved = await anna.post(
            f"{aw.base()}/q/gov_standards",
            question_form("gov_standards", answer="3", target="4"),
            htmx=True,
        )
        assert saved.status_code == 200, saved.text[:500]
        assert 'data-testid="saved-gov_standards"' in saved.text and "Saved at" in saved.text
        assert revision_in(saved.text, "gov_standards") == 1
        assert progress_of(saved.text, "overall") == (1, 6)
        assert progress_of(saved.text, "governance") == (1, 3)
        assert 'hx-swap-oob="true"' in saved.text
        assert saved.headers["hx-retarget"] == "#qstatus-gov_standards"

        na = await anna.post(
            f"{aw.base()}/q/exe_templates",
            question_form("exe_templates", answer="na", comment="We have no templates yet."),
            htmx=True,
        )
        assert na.status_code == 200 and progress_of(na.text, "execution") == (1, 2)
        dk = await anna.post(
            f"{aw.base()}/q/exe_tools",
            question_form("exe_tools", answer="dk", evidence="https://intranet.example/tools"),
            htmx=True,
        )
        assert dk.status_code == 200
        comment_only = await anna.post(
            f"{aw.base()}/q/gov_roles",
            question_form("gov_roles", comment="Roles are being written"),
            htmx=True,
        )
        assert comment_only.status_code == 200
        assert progress_of(comment_only.text, "governance") == (1, 3)  # a comment is no answer
        not_offered = await anna.post(
            f"{aw.base()}/q/gov_roles",
            question_form("gov_roles", answer="na", revision=1, comment="Roles are being written"),
            htmx=True,
        )
        assert not_offered.status_code == 422
        assert "is not offered for this question" in not_offered.text
        position = await anna.post(
            f"{aw.base()}/q/steering",
            {"steering.position": "70", "steering.revision": "0"},
            htmx=True,
        )
        assert position.status_code == 200 and progress_of(position.text, "positioning") == (1, 1)

    got = await stored(aw, "anna")
    assert (got["gov_standards"].choice, got["gov_standards"].level) == ("level", 3)
    assert got["gov_standards"].target_level == 4
    assert (got["exe_templates"].choice, got["exe_templates"].comment) == (
        "na",
        "We have no templates yet.",
    )
    assert (got["exe_tools"].choice, got["exe_tools"].evidence_url) == (
        "dk",
        "https://intranet.example/tools",
    )
    assert got["gov_roles"].choice is None and got["gov_roles"].comment.startswith("Roles")
    assert (got["steering"].choice, got["steering"].position) == ("position", 70)
    async with tenant_transaction(aw.world.tenant) as conn:
        stale = await conn.fetchval(
            "SELECT scores_stale FROM assessment_unit WHERE unit_id = $1", aw.world.units["DE"]
        )
        untouched = await conn.fetchval(
            "SELECT scores_stale FROM assessment_unit WHERE unit_id = $1", aw.world.units["FR"]
        )
    assert stale is True and untouched is False
    assert [r.revision for r in await history(aw, "anna", "gov_standards")] == [1]


async def test_bad_evidence_link_keeps_the_input(server: LiveServer, aw: AnsweringWorld) -> None:
    async with await client_for(server, aw, "anna") as anna:
        bad = await anna.post(
            f"{aw.base()}/q/gov_standards",
            question_form("gov_standards", answer="2", evidence="javascript:alert(1)"),
            htmx=True,
        )
        assert bad.status_code == 422
        assert "starting with https:// or http://" in bad.text
        assert 'id="evidence-error-gov_standards"' in bad.text  # out of band, next to the field
        # The level was saved; the link was not.
        got = await stored(aw, "anna")
        assert got["gov_standards"].level == 2 and got["gov_standards"].evidence_url == ""

        # Without JavaScript the section comes back with the input kept.
        page = await anna.post(
            f"{aw.base()}/governance",
            {
                **question_form("gov_standards", answer="3", revision=1, evidence="ftp://files"),
                **question_form("gov_roles", answer="2"),
            },
        )
        assert page.status_code == 422
        assert 'value="ftp://files"' in page.text and 'aria-invalid="true"' in page.text
        assert "starting with https:// or http://" in page.text
        got = await stored(aw, "anna")
        assert got["gov_standards"].level == 3 and got["gov_roles"].level == 2
        assert got["gov_standards"].evidence_url == ""

        fixed = await anna.post(
            f"{aw.base()}/governance",
            question_form(
                "gov_standards", answer="3", revision=2, evidence="https://wiki.example/std"
            ),
        )
        assert fixed.status_code == 303
        assert fixed.headers["location"] == f"{aw.base()}/governance?saved=1"
    got = await stored(aw, "anna")
    assert got["gov_standards"].evidence_url == "https://wiki.example/std"


async def test_resume_where_left_off(server: LiveServer, aw: AnsweringWorld) -> None:
    async with await client_for(server, aw, "anna") as anna:
        revision = 0
        for key, level in (("gov_standards", "4"), ("gov_roles", "3"), ("gov_review", "2")):
            saved = await anna.post(
                f"{aw.base()}/q/{key}", question_form(key, answer=level), htmx=True
            )
            assert saved.status_code == 200, key
            revision = revision_in(saved.text, key)
        assert revision == 1
    # A new visit (a fresh session) shows the answers and continues at the next section.
    async with await client_for(server, aw, "anna") as again:
        overview = await again.get(aw.base())
        assert progress_of(overview.text, "governance") == (3, 3)
        assert re.search(rf'href="{aw.base()}/execution" data-testid="continue"', overview.text)
        assert "Continue where you left off" in overview.text
        section = await again.get(f"{aw.base()}/governance")
        assert re.search(r'data-testid="level-gov_standards-4" checked', section.text)
        assert re.search(r'data-testid="level-gov_review-2" checked', section.text)
        assert revision_in(section.text, "gov_standards") == 1


async def test_conditions_show_hide_and_progress(server: LiveServer, aw: AnsweringWorld) -> None:
    async with await client_for(server, aw, "anna") as anna:
        first = await anna.post(
            f"{aw.base()}/q/gov_standards", question_form("gov_standards", answer="3"), htmx=True
        )
        assert progress_of(first.text, "governance") == (1, 3)
        # The follow-up gov_review shows once gov_standards is answered with 2-5.
        assert re.search(r'<fieldset class="question[^"]*" id="question-gov_review"', first.text)
        assert "A follow-up question is shown now." in first.text
        review = await anna.post(
            f"{aw.base()}/q/gov_review", question_form("gov_review", answer="4"), htmx=True
        )
        assert progress_of(review.text, "governance") == (2, 3)

        hide = await anna.post(
            f"{aw.base()}/q/gov_standards",
            question_form("gov_standards", answer="1", revision=1),
            htmx=True,
        )
        assert hide.status_code == 200
        assert re.search(
            r'id="question-gov_review" data-testid="question-gov_review" hidden', hide.text
        )
        assert "its answer is kept but does not count" in hide.text
        assert progress_of(hide.text, "governance") == (1, 2)
        assert progress_of(hide.text, "overall") == (1, 5)
        page = await anna.get(f"{aw.base()}/governance")
        assert re.search(r'data-testid="question-gov_review" hidden', page.text)

        show = await anna.post(
            f"{aw.base()}/q/gov_standards",
            question_form("gov_standards", answer="2", revision=2),
            htmx=True,
        )
        assert progress_of(show.text, "governance") == (2, 3)
        # The hidden answer was kept and shows again.
        assert re.search(r'data-testid="level-gov_review-4" checked', show.text)
    got = await stored(aw, "anna")
    assert got["gov_review"].level == 4


async def test_conflict_between_two_places(server: LiveServer, aw: AnsweringWorld) -> None:
    async with (
        await client_for(server, aw, "anna") as tab_one,
        await client_for(server, aw, "anna") as tab_two,
    ):
        first = await tab_one.post(
            f"{aw.base()}/q/gov_standards", question_form("gov_standards", answer="2"), htmx=True
        )
        assert revision_in(first.text, "gov_standards") == 1
        # Both tabs loaded the page at revision 1 and both change it.
        one = await tab_one.post(
            f"{aw.base()}/q/gov_standards",
            question_form("gov_standards", answer="4", revision=1, comment="from tab one"),
            htmx=True,
        )
        assert one.status_code == 200 and revision_in(one.text, "gov_standards") == 2
        two = await tab_two.post(
            f"{aw.base()}/q/gov_standards",
            question_form("gov_standards", answer="5", revision=1, comment="from tab two"),
            htmx=True,
        )
        assert two.status_code == 409
        assert two.headers["hx-retarget"] == "#qstatus-gov_standards"
        assert two.headers["hx-reswap"] == "innerHTML"
        assert 'data-testid="conflict-gov_standards"' in two.text
        assert "Changed elsewhere at" in two.text
        assert "level 4 (Managed)" in two.text and "level 5 (Optimised)" in two.text
        assert "from tab one" in two.text and "from tab two" in two.text
        # The refused tab keeps sending its old revision until the person decides.
        assert revision_in(two.text, "gov_standards") == 1
        assert 'name="gov_standards.keep_mine" value="2"' in two.text

        # Both values are kept: the saved one and the refused one.
        versions = await history(aw, "anna", "gov_standards")
        assert [(v.level, v.conflicted) for v in versions] == [
            (2, False),
            (4, False),
            (5, True),
        ]
        assert versions[-1].comment == "from tab two"

        theirs = await tab_two.get(f"{aw.base()}/q/gov_standards?theirs=1", htmx=True)
        assert theirs.status_code == 200
        assert re.search(r'data-testid="level-gov_standards-4" checked autofocus', theirs.text)
        assert "from tab one" in theirs.text

        mine = await tab_two.post(
            f"{aw.base()}/q/gov_standards",
            question_form(
                "gov_standards",
                answer="5",
                revision=1,
                comment="from tab two",
                **{"gov_standards.keep_mine": "2"},
            ),
            htmx=True,
        )
        assert mine.status_code == 200, mine.text[:400]
        assert revision_in(mine.text, "gov_standards") == 3
        assert 'data-testid="saved-gov_standards"' in mine.text
    got = await stored(aw, "anna")
    assert (got["gov_standards"].level, got["gov_standards"].comment) == (5, "from tab two")


async def test_same_input_from_a_stale_page_is_no_conflict(
    server: LiveServer, aw: AnsweringWorld
) -> None:
    async with await client_for(server, aw, "anna") as anna:
        await anna.post(
            f"{aw.base()}/q/gov_roles", question_form("gov_roles", answer="3"), htmx=True
        )
        again = await anna.post(
            f"{aw.base()}/q/gov_roles", question_form("gov_roles", answer="3"), htmx=True
        )
        assert again.status_code == 200 and revision_in(again.text, "gov_roles") == 1


async def test_no_script_section_save_with_conflict_and_take_theirs(
    server: LiveServer, aw: AnsweringWorld
) -> None:
    async with (
        await client_for(server, aw, "anna") as anna,
        await client_for(server, aw, "anna") as other,
    ):
        await other.post(
            f"{aw.base()}/q/exe_tools", question_form("exe_tools", answer="4"), htmx=True
        )
        page = await anna.post(
            f"{aw.base()}/execution",
            {
                **question_form("exe_templates", answer="2"),
                **question_form("exe_tools", answer="1"),
            },
        )
        assert page.status_code == 409
        assert 'data-testid="conflict-exe_tools"' in page.text
        assert re.search(r'data-testid="level-exe_tools-1" checked', page.text)  # input kept
        taken = await anna.post(
            f"{aw.base()}/execution",
            {
                **question_form("exe_templates", answer="2", revision=1),
                **question_form("exe_tools", answer="1"),
                "take_theirs": "exe_tools",
            },
        )
        assert taken.status_code == 303
    got = await stored(aw, "anna")
    assert got["exe_templates"].level == 2 and got["exe_tools"].level == 4


@pytest.mark.parametrize("action", ["review", "close"])
async def test_review_and_closed_are_read_only(
    server: LiveServer, aw: AnsweringWorld, action: str
) -> None:
    async with await client_for(server, aw, "anna") as anna:
        await anna.post(
            f"{aw.base()}/q/gov_standards", question_form("gov_standards", answer="3"), htmx=True
        )
        async with tenant_transaction(aw.world.tenant):
            await service.change_status(aw.assessment_id, "review")
            if action == "close":
                await service.change_status(aw.assessment_id, "close")
        word = "closed" if action == "close" else "in review"
        refused = await anna.post(
            f"{aw.base()}/q/gov_standards",
            question_form("gov_standards", answer="5", revision=1),
            htmx=True,
        )
        assert refused.status_code == 409
        assert f"This assessment is {word}: answers can no longer be changed." in refused.text
        form = await anna.post(
            f"{aw.base()}/governance", question_form("gov_standards", answer="5", revision=1)
        )
        assert form.status_code == 409
        page = await anna.get(f"{aw.base()}/governance")
        assert page.status_code == 200
        assert 'data-testid="answer-notice"' in page.text
        assert re.search(r'data-testid="level-gov_standards-3" checked disabled', page.text)
        assert "hx-post" not in page.text
        overview = await anna.get(aw.base())
        assert overview.status_code == 200 and 'data-testid="answer-notice"' in overview.text
    got = await stored(aw, "anna")
    assert got["gov_standards"].level == 3


async def test_french_respondent_reads_french_questions(
    server: LiveServer, aw: AnsweringWorld
) -> None:
    async with await client_for(server, aw, "chloe") as chloe:
        switched = await chloe.post("/locale", {"locale": "fr", "next": aw.base("FR")})
        assert switched.status_code in (302, 303)
        page = await chloe.get(f"{aw.base('FR')}/governance")
        assert page.status_code == 200
        assert "Existe-t-il des standards marketing écrits" in page.text
        assert "Standards écrits, partagés avec toutes les unités." in page.text
        assert "Reproductible" in page.text


async def test_positions_without_javascript(server: LiveServer, aw: AnsweringWorld) -> None:
    async with await client_for(server, aw, "anna") as anna:
        untouched = await anna.post(
            aw.base(),
            {"steering.position": "50", "steering.initial": "50", "steering.revision": "0"},
        )
        assert untouched.status_code == 303
        assert "steering" not in await stored(aw, "anna")  # an unmoved slider says nothing
        moved = await anna.post(
            aw.base(),
            {"steering.position": "20", "steering.initial": "50", "steering.revision": "0"},
        )
        assert moved.status_code == 303 and moved.headers["location"] == f"{aw.base()}?saved=1"
        page = await anna.get(moved.headers["location"])
        assert 'data-testid="answer-saved"' in page.text
        assert re.search(r'data-testid="position-value-steering">20<', page.text)
        assert progress_of(page.text, "positioning") == (1, 1)
        far = await anna.post(
            aw.base(),
            {"steering.position": "130", "steering.initial": "20", "steering.revision": "1"},
        )
        assert far.status_code == 422 and "from 0 to 100" in far.text
        theirs = await anna.get(f"{aw.base()}/q/steering?theirs=1", htmx=True)
        assert theirs.status_code == 200 and 'data-testid="position-steering"' in theirs.text
    assert (await stored(aw, "anna"))["steering"].position == 20


async def test_a_respondent_of_two_units_chooses_one(
    server: LiveServer, aw: AnsweringWorld
) -> None:
    async with tenant_transaction(aw.world.tenant):
        await service.add_respondent(
            aw.assessment_id, aw.world.units["IT"], aw.people["bernd"].email, "it"
        )
    from scalemark.identity.provisioning import ensure_member

    await ensure_member(
        aw.people["bernd"].email, tenant_slug=aw.slug, role="contributor", unit_code="IT"
    )
    async with await client_for(server, aw, "bernd") as bernd:
        await bernd.post(
            f"{aw.base('IT')}/q/gov_standards",
            question_form("gov_standards", answer="2"),
            htmx=True,
        )
        listing = await bernd.get(f"/assessments/{aw.assessment_id}/answer")
        assert listing.status_code == 200
        assert 'data-testid="answer-unit-DE"' in listing.text
        assert 'data-testid="answer-unit-IT"' in listing.text
        assert progress_of(listing.text, "unit-IT") == (1, 6)
        assert progress_of(listing.text, "unit-DE") == (0, 5)
