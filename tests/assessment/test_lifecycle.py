"""The assessment lifecycle: moves and refusals, reasons, the closed lock, invitations,
the next cycle and framework snapshots — in the service and over HTTP (pages and API).

Tree HQ > EU > DE, FR, IT; the assessment runs the test framework over DE, FR and IT.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import asyncpg
import pytest

from scalemark.assessment import registry, rules, service
from scalemark.assessment.framework_loader import load_text
from scalemark.assessment.rules import AssessmentError
from scalemark.db import tenant_transaction
from support.assessment_pages import api_client, mails_to, org_of, set_locales, signed_in
from support.assessments import MINI_FRAMEWORK, assessment_world, mini_framework
from support.identity import person, shared_live_server, unique_email
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


# -- rules ---------------------------------------------------------------------------------


def test_moves_follow_the_lifecycle() -> None:
    assert rules.next_status("draft", "open") == "open"
    assert rules.next_status("open", "review") == "in_review"
    assert rules.next_status("in_review", "close") == "closed"
    assert rules.next_status("closed", "reopen", "late answers") == "open"
    assert rules.next_status("closed", "back_to_review", "typo") == "in_review"
    assert [m.action for m in rules.moves_from("draft")] == ["open"]
    assert [m.action for m in rules.moves_from("closed")] == ["reopen", "back_to_review"]
    for current, action in [
        ("draft", "close"),
        ("draft", "review"),
        ("open", "open"),
        ("closed", "close"),
        ("open", "explode"),
    ]:
        with pytest.raises(AssessmentError) as refused:
            rules.next_status(current, action)
        assert refused.value.field == "action"
    with pytest.raises(AssessmentError) as no_reason:
        rules.next_status("closed", "reopen", "   ")
    assert no_reason.value.field == "reason"


def test_setup_form_values_are_parsed_with_a_message_per_field() -> None:
    parsed = rules.parse_setup(
        "  ",
        ["12", "x"],
        "31.12.2030",
        {"governance": "9", "execution": "3,45"},
        ["governance", "execution"],
    )
    assert set(parsed.errors) == {"title", "units", "due_date", "target_governance"}
    assert parsed.targets == {"execution": 3.5}
    past = rules.parse_setup("T", ["1"], "2001-01-01", {}, [], today=date(2026, 1, 1))
    assert past.errors == {"due_date": "The due date lies in the past."}
    empty = rules.parse_setup("T", [], "", {"governance": ""}, ["governance"])
    assert set(empty.errors) == {"units", "target_governance"}


# -- service -------------------------------------------------------------------------------


async def test_service_moves_reasons_events_and_audit(make_tenant) -> None:
    world = await assessment_world(make_tenant, status="draft")
    assessment_id = world.assessment.id
    async with tenant_transaction(world.tenant):
        with pytest.raises(AssessmentError):
            await service.change_status(assessment_id, "close")
        await service.change_status(assessment_id, "open")
        await service.change_status(assessment_id, "review")
        closed = await service.change_status(assessment_id, "close")
        assert closed.locked and closed.closed_at is not None
        with pytest.raises(AssessmentError) as refused:
            await service.change_status(assessment_id, "reopen", "")
        assert refused.value.field == "reason"
        reopened = await service.change_status(assessment_id, "reopen", "Two late answers")
        assert reopened.status == "open" and reopened.closed_at is None
        history = await service.events(assessment_id)
        assert [(e.from_status, e.to_status) for e in history] == [
            (None, "draft"),
            ("draft", "open"),
            ("open", "in_review"),
            ("in_review", "closed"),
            ("closed", "open"),
        ]
        assert history[-1].reason == "Two late answers"
        async with tenant_transaction() as conn:
            audited = await conn.fetch(
                "SELECT action, after::text AS after FROM audit_event"
                " WHERE object_type = 'assessment' AND object_id = $1 ORDER BY id",
                str(assessment_id),
            )
    actions = [r["action"] for r in audited]
    assert actions[0] == "assessment.create"
    assert actions[-4:] == [
        "assessment.open",
        "assessment.review",
        "assessment.close",
        "assessment.reopen",
    ]
    assert "Two late answers" in audited[-1]["after"]


async def test_closed_assessment_refuses_every_setup_change(make_tenant) -> None:
    world = await assessment_world(make_tenant)
    assessment_id = world.assessment.id
    anna = world.respondents["anna@de.example"]
    async with tenant_transaction(world.tenant):
        await service.change_status(assessment_id, "review")
        await service.change_status(assessment_id, "close")
        setup = service.AssessmentSetup(title="Changed", unit_ids=[world.units["DE"]])
        for attempt in (
            service.update_setup(assessment_id, setup),
            service.add_respondent(assessment_id, world.units["IT"], "new@it.example", "en"),
            service.remove_respondent(assessment_id, anna.id),
        ):
            with pytest.raises(AssessmentError) as refused:
                await attempt
            assert refused.value.field == "status"
        assert (await service.get_assessment(assessment_id)).title == "Scalability 2026"  # type: ignore[union-attr]
        assert len(await service.respondents(assessment_id)) == 3


async def test_next_cycle_copies_the_setup(make_tenant) -> None:
    world = await assessment_world(make_tenant)
    first = world.assessment
    async with tenant_transaction(world.tenant):
        framework = world.framework
        await service.update_setup(
            first.id,
            service.AssessmentSetup(
                title=first.title,
                unit_ids=[world.units[c] for c in ("DE", "FR", "IT")],
                targets={"governance": 4.5, "execution": 2},
                weights={world.units["DE"]: 2.5},
            ),
        )
        with pytest.raises(AssessmentError) as too_early:
            await service.start_next_cycle(first.id, "Scalability 2027")
        assert too_early.value.field == "cycle"
        await service.change_status(first.id, "review")
        await service.change_status(first.id, "close")
        second = await service.start_next_cycle(first.id, "Scalability 2027")
        assert (second.status, second.previous_id, second.cycle) == ("draft", first.id, 2)
        assert second.framework_id == first.framework_id
        scope = {u.code: u.weight for u in await service.scope(second.id)}
        assert scope == {"DE": 2.5, "FR": 1.0, "IT": 1.0}
        assert await service.targets(second.id) == {"governance": 4.5, "execution": 2.0}
        people = await service.respondents(second.id)
        assert {(p.email, p.locale) for p in people} == {
            ("anna@de.example", "en"),
            ("bernd@de.example", "en"),
            ("chloe@fr.example", "fr"),
        }
        assert all(p.invited_at is None for p in people)
        assert (await service.successor(first.id)).id == second.id  # type: ignore[union-attr]
        with pytest.raises(AssessmentError) as twice:
            await service.start_next_cycle(first.id, "Again")
        assert twice.value.field == "cycle"
        await service.change_status(second.id, "open")
        await service.change_status(second.id, "review")
        await service.change_status(second.id, "close")
        third = await service.start_next_cycle(second.id, "Scalability 2028")
        assert (third.previous_id, third.cycle) == (second.id, 3)
        assert framework.key == "mini-scalability"


async def test_a_changed_framework_file_does_not_change_a_running_assessment(
    make_tenant,
) -> None:
    world = await assessment_world(make_tenant)
    framework, source = mini_framework()
    edited = source.replace("Are there written marketing standards", "Do written standards exist")
    assert edited != source
    changed = load_text(edited, str(MINI_FRAMEWORK))
    assert (changed.key, changed.version) == (framework.key, framework.version)
    async with tenant_transaction(world.tenant):
        later = await service.create_assessment(
            service.AssessmentSetup(title="Later", unit_ids=[world.units["DE"]]), changed, edited
        )
        assert later.framework_id != world.assessment.framework_id
        running = await service.framework_of(world.assessment.id)
        newer = await service.framework_of(later.id)
        async with tenant_transaction() as conn:
            stored = await conn.fetchval(
                "SELECT source FROM assessment_framework WHERE id = $1",
                world.assessment.framework_id,
            )
    assert running.question("gov_standards").text.get("en").startswith("Are there written")
    assert newer.question("gov_standards").text.get("en").startswith("Do written standards")
    assert stored == source
    registry._parsed.clear()  # a fresh process parses the stored source again
    async with tenant_transaction(world.tenant):
        reparsed = await service.framework_of(world.assessment.id)
    assert reparsed.question("gov_standards").text.get("en").startswith("Are there written")


# -- over HTTP -----------------------------------------------------------------------------


async def test_opening_mails_each_respondent_once_in_their_language(
    server: LiveServer, make_tenant, db_pool: asyncpg.Pool
) -> None:
    suffix = unique_email("x").split("@")[0]
    newcomer = f"chloe-{suffix}@fr.example"
    world = await assessment_world(
        make_tenant, status="draft", respondents=(("FR", newcomer, "fr"),)
    )
    await set_locales(db_pool, world, ["en", "fr"])
    org = org_of(world)
    admin = await person(org, "admin", "hq_admin")
    member = await person(org, "member", "contributor", "FR")
    due = date.today() + timedelta(days=30)
    async with tenant_transaction(world.tenant):
        await service.update_setup(
            world.assessment.id,
            service.AssessmentSetup(
                title="Scalability 2026",
                unit_ids=[world.units[c] for c in ("DE", "FR", "IT")],
                due_date=due,
            ),
        )
        await service.add_respondent(world.assessment.id, world.units["FR"], member.email, "fr")
    path = f"/assessments/{world.assessment.id}"
    async with await signed_in(server, world, admin) as client:
        opened = await client.post(f"{path}/status", {"action": "open"})
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"] == f"{path}?done=opened"

        # Someone with access gets the "please answer" mail, in French (the date says so).
        answer_mails = await mails_to(db_pool, member.email)
        assert len(answer_mails) == 1
        assert f"/assessments/{world.assessment.id}/answer" in answer_mails[0].body
        assert "Scalability 2026" in answer_mails[0].subject
        months = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ]
        assert f"{due.day} {months[due.month - 1]} {due.year}" in answer_mails[0].body
        assert re.search(rf"https?://{org.slug}\.localhost[:/]", answer_mails[0].body)

        # Someone without access is invited to join (one mail, in French, as contributor).
        invitations = await mails_to(db_pool, newcomer)
        assert len(invitations) == 1
        assert "Vous êtes invité" in invitations[0].body
        assert "/invite/" in invitations[0].body
        async with tenant_transaction(world.tenant), tenant_transaction() as conn:
            invited = await conn.fetchrow(
                "SELECT role, unit_id FROM invitation WHERE email = $1", newcomer
            )
            stamps = await conn.fetch(
                "SELECT invited_at FROM assessment_respondent WHERE assessment_id = $1",
                world.assessment.id,
            )
            ways = await conn.fetch(
                "SELECT after->>'email' AS email, after->>'via' AS via FROM audit_event"
                " WHERE action = 'assessment.respondent.invite' ORDER BY id"
            )
        assert (invited["role"], invited["unit_id"]) == ("contributor", world.units["FR"])
        assert all(r["invited_at"] is not None for r in stamps)
        assert {(r["email"], r["via"]) for r in ways} == {
            (newcomer, "invitation"),
            (member.email, "mail"),
        }

        # Review, reopen: nobody is mailed twice.
        assert (await client.post(f"{path}/status", {"action": "review"})).status_code == 303
        again = await client.post(f"{path}/status", {"action": "reopen", "reason": "One more week"})
        assert again.status_code == 303
        assert len(await mails_to(db_pool, member.email)) == 1
        assert len(await mails_to(db_pool, newcomer)) == 1

        # Added while open: mailed at once (English this time).
        late = unique_email("late")
        added = await client.post(
            f"{path}/respondents",
            {"unit_id": str(world.units["IT"]), "email": late, "locale": "en"},
        )
        assert added.status_code == 303
        assert added.headers["location"].startswith(f"{path}?done=invited")
        assert len(await mails_to(db_pool, late)) == 1
        page = await client.get(path)
        assert re.search(
            rf'data-testid="respondent-row" data-email="{re.escape(late)}"'
            r'\s+data-invited="yes"',
            page.text,
        )


async def test_reopen_needs_a_reason_and_refused_moves_say_why(
    server: LiveServer, make_tenant
) -> None:
    world = await assessment_world(make_tenant)
    admin = await person(org_of(world), "admin", "hq_admin")
    path = f"/assessments/{world.assessment.id}"
    async with await signed_in(server, world, admin) as client:
        wrong = await client.post(f"{path}/status", {"action": "close"})
        assert wrong.status_code == 409
        assert "This step is not possible now: the assessment is Open." in wrong.text
        assert (await client.post(f"{path}/status", {"action": "review"})).status_code == 303
        no_reason = await client.post(f"{path}/status", {"action": "reopen", "reason": " "})
        assert no_reason.status_code == 422
        assert "Please give a reason for reopening." in no_reason.text
        assert 'id="lifecycle-reason-error"' in no_reason.text

        partial = await client.post(f"{path}/status", {"action": "reopen", "reason": ""}, htmx=True)
        assert partial.status_code == 422 and "<html" not in partial.text
        assert 'id="lifecycle"' in partial.text

        done = await client.post(
            f"{path}/status", {"action": "reopen", "reason": "Missing Italy"}, htmx=True
        )
        assert done.status_code == 200
        assert done.headers["hx-retarget"] == "#assessment-detail"
        assert 'data-status="open"' in done.text and "Missing Italy" in done.text

        audit = await client.get("/audit?action=assessment.reopen")
        assert audit.status_code == 200 and "Missing Italy" in audit.text


async def test_closed_assessment_answers_409_to_forms_and_api(
    server: LiveServer, make_tenant
) -> None:
    world = await assessment_world(make_tenant)
    assessment_id = world.assessment.id
    anna = world.respondents["anna@de.example"]
    async with tenant_transaction(world.tenant):
        await service.change_status(assessment_id, "review")
        await service.change_status(assessment_id, "close")
    admin = await person(org_of(world), "admin", "hq_admin")
    path = f"/assessments/{assessment_id}"
    locked = "This assessment is closed: nothing can change. Reopen it first, with a reason."
    async with await signed_in(server, world, admin) as client:
        page = await client.get(path)
        assert page.status_code == 200 and 'data-testid="locked-notice"' in page.text
        assert 'data-testid="add-respondent-form"' not in page.text
        assert 'data-testid="setup-form"' not in page.text
        attempts = [
            (f"{path}/setup", {"title": "X", "unit_ids": [str(world.units["DE"])]}),
            (
                f"{path}/respondents",
                {"unit_id": str(world.units["DE"]), "email": "x@de.example", "locale": "en"},
            ),
            (f"{path}/respondents/{anna.id}/remove", {}),
        ]
        for url, form in attempts:
            for htmx in (False, True):
                refused = await client.post(url, form, htmx=htmx)
                assert refused.status_code == 409, (url, htmx, refused.status_code)
                assert locked in refused.text
                assert ("<html" in refused.text) is not htmx
    async with await api_client(server, world, "hq_admin") as api:
        refused = await api.post(
            f"/api/v1{path}/respondents", json={"email": "y@de.example", "unit_code": "DE"}
        )
        assert refused.status_code == 409
        assert refused.json()["detail"].startswith("Respondents can only be added")
        bad = await api.post(f"/api/v1{path}/status", json={"action": "reopen"})
        assert bad.status_code == 422 and bad.json()["field"] == "reason"
        wrong = await api.post(f"/api/v1{path}/status", json={"action": "open"})
        assert wrong.status_code == 409 and wrong.json()["field"] == "action"
    async with tenant_transaction(world.tenant):
        assert len(await service.respondents(assessment_id)) == 3


async def test_next_cycle_page_creates_a_draft_copy(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant)
    async with tenant_transaction(world.tenant):
        await service.change_status(world.assessment.id, "review")
    admin = await person(org_of(world), "admin", "hq_admin")
    path = f"/assessments/{world.assessment.id}"
    async with await signed_in(server, world, admin) as client:
        page = await client.get(path)
        assert 'data-testid="next-cycle-panel"' in page.text
        started = await client.post(f"{path}/next-cycle", {"title": "Scalability 2027"})
        assert started.status_code == 303
        new_path = started.headers["location"].split("?")[0]
        draft = await client.get(started.headers["location"])
        assert draft.status_code == 200
        assert "Scalability 2027" in draft.text and 'data-status="draft"' in draft.text
        assert "The next cycle is created as a draft" in draft.text
        assert draft.text.count('data-testid="respondent-row"') == 3
        twice = await client.post(f"{path}/next-cycle", {"title": "Again"})
        assert twice.status_code == 409
        assert "The next cycle of this assessment exists already." in twice.text
        back = await client.get(path)
        assert f'href="{new_path}"' in back.text
