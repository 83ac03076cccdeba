"""Who may answer where: respondents only for their own unit and only their own answers;
stakeholders, other units' respondents, other tenants and drafts stay out.
"""

from __future__ import annotations

import asyncpg
import pytest

from scalemark.assessment import answers, service
from scalemark.db import tenant_transaction
from scalemark.identity.tokens import create_token
from scalemark.identity.users import get_user_by_email
from support.answering import AnsweringWorld, answering_world, question_form
from support.assessments import mini_framework
from support.identity import WebClient, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def aw(make_tenant) -> AnsweringWorld:
    return await answering_world(make_tenant, prefix="iso")


async def client_for(server: LiveServer, aw: AnsweringWorld, who: str) -> WebClient:
    client = WebClient(server, aw.slug)
    await client.signed_in(aw.people[who])
    return client


async def token_for(aw: AnsweringWorld, who: str) -> str:
    user = await get_user_by_email(aw.people[who].email)
    assert user is not None
    _, secret = await create_token(aw.world.tenant.id, user.id, "test")  # type: ignore[attr-defined]
    return secret


def bearer(token: str) -> dict[str, str]:
    """Headers for an API call with ``token``."""
    return {"authorization": f"Bearer {token}"}


async def save_as(
    server: LiveServer, aw: AnsweringWorld, who: str, path: str, form: dict[str, str]
) -> None:
    """``who`` saves ``form`` at ``path`` (as htmx does), and it is accepted."""
    async with await client_for(server, aw, who) as client:
        saved = await client.post(path, form, htmx=True)
        assert saved.status_code == 200


async def answers_of(aw: AnsweringWorld, who: str, unit: str) -> dict[str, answers.Answer]:
    async with tenant_transaction(aw.world.tenant):
        seat = await answers.respondent_seat(
            aw.assessment_id, aw.world.units[unit], aw.people[who].email
        )
        return await answers.load_answers(seat)


async def test_a_de_respondent_cannot_read_or_write_france(
    server: LiveServer, aw: AnsweringWorld
) -> None:
    await save_as(
        server,
        aw,
        "chloe",
        f"{aw.base('FR')}/q/gov_standards",
        question_form("gov_standards", answer="4", comment="secret FR note"),
    )
    async with await client_for(server, aw, "anna") as anna:
        fr = aw.base("FR")
        for path in (fr, f"{fr}/governance", f"{fr}/q/gov_standards"):
            response = await anna.get(path, htmx=path.endswith("gov_standards"))
            assert response.status_code == 403, path
            assert "secret FR note" not in response.text
        for path, form in (
            (f"{fr}/q/gov_standards", question_form("gov_standards", answer="1", revision=1)),
            (f"{fr}/governance", question_form("gov_standards", answer="1", revision=1)),
            (fr, {"steering.position": "10", "steering.initial": "50", "steering.revision": "0"}),
        ):
            assert (await anna.post(path, form, htmx=True)).status_code == 403, path
            assert (await anna.post(path, form)).status_code == 403, path
        # Form fields cannot point elsewhere: only the URL's unit and the caller count.
        await anna.post(
            f"{aw.base('DE')}/q/gov_standards",
            {
                **question_form("gov_standards", answer="2"),
                "unit_id": str(aw.world.units["FR"]),
                "respondent": aw.people["chloe"].email,
                "respondent_id": "1",
            },
            htmx=True,
        )
        # IT is in scope but anna is no respondent there; HQ is not in scope at all.
        assert (await anna.get(aw.base("IT"))).status_code == 403
        assert (await anna.get(aw.base("HQ"))).status_code == 404

    token = await token_for(aw, "anna")
    async with server.client(aw.slug, headers=bearer(token)) as api:
        assert (await api.get(aw.api("FR"))).status_code == 403
        put = await api.put(
            f"{aw.api('FR')}/gov_standards", json={"choice": "level", "level": 1, "revision": 1}
        )
        assert put.status_code == 403
    fr_answers = await answers_of(aw, "chloe", "FR")
    assert fr_answers["gov_standards"].level == 4
    assert fr_answers["gov_standards"].comment == "secret FR note"
    assert (await answers_of(aw, "anna", "DE"))["gov_standards"].level == 2


async def test_respondents_see_only_their_own_answers(
    server: LiveServer, aw: AnsweringWorld
) -> None:
    await save_as(
        server,
        aw,
        "bernd",
        f"{aw.base()}/q/gov_roles",
        question_form("gov_roles", answer="5", comment="bernd's private view"),
    )
    async with await client_for(server, aw, "anna") as anna:
        page = await anna.get(f"{aw.base()}/governance")
        assert page.status_code == 200
        assert "bernd's private view" not in page.text
        assert 'data-testid="level-gov_roles-5" checked' not in page.text
        overview = await anna.get(aw.base())
        assert 'data-answered="0"' in overview.text
        # Anna's first save of the same question is no conflict with Bernd's answer.
        mine = await anna.post(
            f"{aw.base()}/q/gov_roles", question_form("gov_roles", answer="2"), htmx=True
        )
        assert mine.status_code == 200
    token = await token_for(aw, "anna")
    async with server.client(aw.slug, headers=bearer(token)) as api:
        own = (await api.get(aw.api())).json()
        roles = next(a for a in own["answers"] if a["question_key"] == "gov_roles")
        assert (roles["level"], roles["comment"]) == (2, "")
        assert own["respondent"] == aw.people["anna"].email
        other = await api.get(aw.api(), params={"respondent": aw.people["bernd"].email})
        assert other.status_code == 403
    assert (await answers_of(aw, "bernd", "DE"))["gov_roles"].level == 5


async def test_stakeholders_and_runners_who_are_no_respondents_get_403(
    server: LiveServer, aw: AnsweringWorld
) -> None:
    for who in ("stakeholder", "admin"):
        async with await client_for(server, aw, who) as client:
            assert (await client.get(f"/assessments/{aw.assessment_id}/answer")).status_code == 403
            assert (await client.get(aw.base())).status_code == 403
            assert (await client.get(f"{aw.base()}/governance")).status_code == 403
            posted = await client.post(
                f"{aw.base()}/q/gov_standards",
                question_form("gov_standards", answer="3"),
                htmx=True,
            )
            assert posted.status_code == 403, who
        token = await token_for(aw, who)
        async with server.client(aw.slug, headers=bearer(token)) as api:
            assert (await api.get(aw.api())).status_code == 403
            put = await api.put(
                f"{aw.api()}/gov_standards", json={"choice": "level", "level": 3, "revision": 0}
            )
            assert put.status_code == 403


async def test_respondent_without_view_at_the_unit_gets_403(
    server: LiveServer, aw: AnsweringWorld
) -> None:
    # chloe is a respondent for FR; a respondent entry for DE without any role at DE.
    async with tenant_transaction(aw.world.tenant):
        await service.add_respondent(
            aw.assessment_id, aw.world.units["DE"], aw.people["chloe"].email, "fr"
        )
    async with await client_for(server, aw, "chloe") as chloe:
        assert (await chloe.get(aw.base("DE"))).status_code == 403
        assert (await chloe.get(aw.base("FR"))).status_code == 200
        # Only the unit she can still view is listed, so she goes straight there.
        entry = await chloe.get(f"/assessments/{aw.assessment_id}/answer")
        assert entry.status_code == 303 and entry.headers["location"] == aw.base("FR")


async def test_unknown_other_tenant_and_draft_assessments_are_404(
    server: LiveServer, aw: AnsweringWorld, make_tenant
) -> None:
    # A second assessment exists only in this tenant; the other tenant has just one.
    framework, source = mini_framework()
    async with tenant_transaction(aw.world.tenant):
        draft = await service.create_assessment(
            service.AssessmentSetup(title="Next year", unit_ids=[aw.world.units["DE"]]),
            framework,
            source,
        )
        await service.add_respondent(draft.id, aw.world.units["DE"], aw.people["anna"].email, "en")
    other = await answering_world(make_tenant, prefix="iso2")
    async with await client_for(server, other, "anna") as outsider:
        foreign = f"/assessments/{draft.id}/answer/{aw.world.units['DE']}"
        assert (await outsider.get(foreign)).status_code == 404
        assert (await outsider.get(f"/assessments/{draft.id}/answer")).status_code == 404
        posted = await outsider.post(
            f"{foreign}/q/gov_standards", question_form("gov_standards", answer="1"), htmx=True
        )
        assert posted.status_code == 404
        assert (await outsider.get("/assessments/999999/answer/1")).status_code == 404
    async with await client_for(server, aw, "anna") as anna:
        # A draft is visible only to people who run assessments.
        draft_page = f"/assessments/{draft.id}/answer/{aw.world.units['DE']}"
        assert (await anna.get(draft_page)).status_code == 404
        assert (await anna.get(f"/assessments/{draft.id}/answer")).status_code == 404
    async with await client_for(server, aw, "stakeholder") as stakeholder:
        # Not even "forbidden": for people who do not run assessments a draft is not there.
        draft_page = f"/assessments/{draft.id}/answer/{aw.world.units['DE']}"
        assert (await stakeholder.get(draft_page)).status_code == 404
    # A session of the other tenant is nothing here.
    async with WebClient(server, other.slug) as home:
        await home.signed_in(other.people["anna"])
        session = home.session
    async with server.client(aw.slug, headers={"cookie": f"sm_session={session}"}) as stranger:
        assert (await stranger.get(aw.base())).status_code in (302, 303, 401, 403)
    token = await token_for(other, "anna")
    async with server.client(other.slug, headers=bearer(token)) as api:
        path = f"/api/v1/assessments/{draft.id}/units/{aw.world.units['DE']}/answers"
        assert (await api.get(path)).status_code == 404
    async with server.client(aw.slug, headers=bearer(token)) as api:
        assert (await api.get(aw.api())).status_code == 401
