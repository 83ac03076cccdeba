"""Setting an assessment up over HTTP: the new-assessment form (defaults, prefill, mistakes),
the setup edit, respondents with htmx, progress, and the list for runners and others.

Tree HQ > EU > DE, FR, IT (``support.assessments``); the world's assessment runs the test
framework over DE, FR and IT, new ones run the built-in framework.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import asyncpg
import pytest

from scalemark.assessment import registry, service
from scalemark.db import tenant_transaction
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData
from support.assessment_pages import org_of, set_locales, signed_in
from support.assessments import assessment_world
from support.identity import person, shared_live_server, unique_email
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


def builtin():
    """The framework the new-assessment form preselects (the newest built-in one)."""
    frameworks = registry.builtin_frameworks()
    first = frameworks[0].key
    return registry.latest_builtin(first)


def value_of(html: str, testid: str) -> str | None:
    """The ``value`` of the input with this ``data-testid``."""
    tag = re.search(rf'<input[^>]*data-testid="{re.escape(testid)}"[^>]*>', html)
    if tag is None:
        return None
    found = re.search(r'value="([^"]*)"', tag.group(0))
    return found.group(1) if found else None


def checked(html: str) -> set[str]:
    """Unit codes whose scope checkbox is ticked."""
    return set(re.findall(r'data-testid="unit-([A-Z0-9_-]+)" checked', html))


def new_form(world, **fields) -> dict:
    framework = builtin()
    form = {
        "title": "Scalability 2030",
        "framework": f"{framework.key}:{framework.version}",
        "due_date": (date.today() + timedelta(days=60)).isoformat(),
        "unit_ids": [str(world.units["DE"]), str(world.units["FR"])],
    }
    form.update(fields)
    return form


async def test_new_form_prefills_targets_and_creates_a_draft(
    server: LiveServer, make_tenant
) -> None:
    world = await assessment_world(make_tenant, status="draft")
    admin = await person(org_of(world), "admin", "hq_admin")
    framework = builtin()
    first, *others = framework.dimensions
    async with tenant_transaction(world.tenant):
        await service.update_setup(
            world.assessment.id,
            service.AssessmentSetup(
                title="Scalability 2026",
                unit_ids=[world.units["DE"]],
                targets={"governance": 2.5, "execution": 3.5},
            ),
        )
        earlier = await service.targets(world.assessment.id)
    assert any(d.key in earlier for d in framework.dimensions)
    async with await signed_in(server, world, admin) as client:
        page = await client.get("/assessments/new")
        assert page.status_code == 200
        for code in ("HQ", "EU", "DE", "FR", "IT"):
            assert f'data-testid="unit-{code}"' in page.text
        # Targets come from the latest assessment where it has the dimension, else the
        # framework's default.
        for dimension in framework.dimensions:
            expected = earlier.get(dimension.key, dimension.target)
            assert value_of(page.text, f"target-{dimension.key}") == f"{expected:g}"
        assert f'value="{framework.key}:{framework.version}" selected' in page.text

        created = await client.post(
            "/assessments/new", new_form(world, **{f"target_{first.key}": "4,5"})
        )
        assert created.status_code == 303, created.text
        location = created.headers["location"]
        assert re.fullmatch(r"/assessments/\d+\?done=created", location)
        detail = await client.get(location)
        assert "The assessment is created as a draft" in detail.text
        assert 'data-status="draft"' in detail.text
        assessment_id = int(location.split("/")[2].split("?")[0])

        # The next new assessment starts from these targets.
        again = await client.get("/assessments/new")
        assert value_of(again.text, f"target-{first.key}") == "4.5"
        for dimension in others:
            assert value_of(again.text, f"target-{dimension.key}") == f"{dimension.target:g}"

    async with tenant_transaction(world.tenant):
        found = await service.get_assessment(assessment_id)
        scope = {u.code for u in await service.scope(assessment_id)}
        goals = await service.targets(assessment_id)
    assert found is not None and found.framework_key == framework.key
    assert scope == {"DE", "FR"}
    assert goals[first.key] == 4.5
    assert {k: v for k, v in goals.items() if k != first.key} == {
        d.key: float(d.target) for d in others
    }


async def test_create_refuses_mistakes_and_keeps_the_input(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, status="draft")
    async with tenant_transaction(world.tenant):
        await org_service.archive_unit(world.units["IT"])
        before = len(await service.list_assessments())
    admin = await person(org_of(world), "admin", "hq_admin")
    dimension = builtin().dimensions[0]
    cases = [
        ({"unit_ids": []}, "Choose at least one unit to assess."),
        ({f"target_{dimension.key}": "9"}, "Enter a target level from 1 to 5."),
        ({f"target_{dimension.key}": "high"}, "Enter a target level from 1 to 5."),
        ({f"target_{dimension.key}": ""}, "Enter a target level from 1 to 5."),
        ({"unit_ids": ["999999"]}, "Some of the chosen units do not exist or are archived."),
        ({"unit_ids": ["DE"]}, "Some of the chosen units do not exist or are archived."),
        (
            {"unit_ids": [str(world.units["DE"]), str(world.units["IT"])]},
            "Some of the chosen units do not exist or are archived.",
        ),
        ({"due_date": "2001-02-03"}, "The due date lies in the past."),
        ({"due_date": "next week"}, "Enter the due date as a date."),
        ({"title": "   "}, "Please give the assessment a title."),
        ({"framework": "nonsense:9"}, "Choose a framework from the list."),
    ]
    async with await signed_in(server, world, admin) as client:
        for fields, message in cases:
            refused = await client.post("/assessments/new", new_form(world, **fields))
            assert refused.status_code == 422, (fields, refused.status_code)
            assert message in refused.text, fields
            assert 'aria-invalid="true"' in refused.text or "units" in str(fields)
            if "title" not in fields:
                assert value_of(refused.text, "assessment-title") == "Scalability 2030"
        kept = await client.post(
            "/assessments/new", new_form(world, **{f"target_{dimension.key}": "9"})
        )
        assert value_of(kept.text, f"target-{dimension.key}") == "9"
        assert checked(kept.text) == {"DE", "FR"}
        assert 'data-testid="unit-IT"' not in kept.text  # archived units are not offered

        partial = await client.post("/assessments/new", new_form(world, unit_ids=[]), htmx=True)
        assert partial.status_code == 422 and "<html" not in partial.text
        assert partial.headers["hx-retarget"] == "#setup-form"
    async with tenant_transaction(world.tenant):
        assert len(await service.list_assessments()) == before


async def test_select_subtree_works_without_javascript(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, status="draft")
    admin = await person(org_of(world), "admin", "hq_admin")
    async with await signed_in(server, world, admin) as client:
        shown = await client.post(
            "/assessments/new",
            new_form(world, unit_ids=[], select_subtree=str(world.units["EU"])),
        )
        assert shown.status_code == 200
        assert checked(shown.text) == {"EU", "DE", "FR", "IT"}
        assert value_of(shown.text, "assessment-title") == "Scalability 2030"
        async with tenant_transaction(world.tenant):
            assert len(await service.list_assessments()) == 1


async def test_setup_edit_saves_and_reports_mistakes(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant)
    admin = await person(org_of(world), "admin", "hq_admin")
    path = f"/assessments/{world.assessment.id}"
    due = (date.today() + timedelta(days=10)).isoformat()
    form = {
        "title": "Scalability 2026 (EU)",
        "due_date": due,
        "unit_ids": [str(world.units[c]) for c in ("EU", "DE", "FR", "IT")],
        "target_governance": "4",
        "target_execution": "2.5",
    }
    async with await signed_in(server, world, admin) as client:
        page = await client.get(path)
        assert checked(page.text) == {"DE", "FR", "IT"}
        assert value_of(page.text, "target-governance") == "3"

        bad = await client.post(f"{path}/setup", {**form, "target_execution": "0"})
        assert bad.status_code == 422
        assert "Enter a target level from 1 to 5." in bad.text
        assert value_of(bad.text, "assessment-title") == "Scalability 2026 (EU)"
        assert "<details" in bad.text and re.search(r"<details[^>]*\sopen", bad.text)
        partial = await client.post(f"{path}/setup", {**form, "unit_ids": []}, htmx=True)
        assert partial.status_code == 422 and "<html" not in partial.text
        assert partial.headers["hx-retarget"] == "#setup-form"
        assert "Choose at least one unit to assess." in partial.text

        saved = await client.post(f"{path}/setup", form)
        assert saved.status_code == 303
        assert saved.headers["location"] == f"{path}?done=saved"
        swapped = await client.post(f"{path}/setup", form, htmx=True)
        assert swapped.status_code == 200
        assert swapped.headers["hx-retarget"] == "#assessment-detail"
        assert "The setup is saved." in swapped.text
    async with tenant_transaction(world.tenant):
        found = await service.get_assessment(world.assessment.id)
        scope = {u.code for u in await service.scope(world.assessment.id)}
        goals = await service.targets(world.assessment.id)
    assert found is not None and found.title == "Scalability 2026 (EU)"
    assert found.due_date is not None and found.due_date.isoformat() == due
    assert scope == {"EU", "DE", "FR", "IT"}
    assert goals == {"governance": 4.0, "execution": 2.5}


async def test_respondents_are_added_and_removed_with_htmx(
    server: LiveServer, make_tenant, db_pool: asyncpg.Pool
) -> None:
    world = await assessment_world(make_tenant, status="draft")
    await set_locales(db_pool, world, ["en", "fr"])
    admin = await person(org_of(world), "admin", "hq_admin")
    path = f"/assessments/{world.assessment.id}"
    italy = str(world.units["IT"])
    async with await signed_in(server, world, admin) as client:
        page = await client.get(path)
        assert page.text.count('data-testid="respondent-row"') == 3
        assert 'data-testid="respondents-unit-IT"' in page.text
        assert re.search(r'<option value="fr" lang="fr"\s*>Français</option>', page.text)

        email = unique_email("giulia")
        added = await client.post(
            f"{path}/respondents",
            {"unit_id": italy, "email": email.upper(), "locale": "fr"},
            htmx=True,
        )
        assert added.status_code == 200 and "<html" not in added.text
        assert added.text.lstrip().startswith("<section") and 'id="respondents"' in added.text
        assert f'data-email="{email}"' in added.text
        assert "The respondent is added." in added.text
        assert "E-mailed when the assessment opens" in added.text

        for fields, message, status in [
            ({"email": "not-an-address"}, "Enter a valid e-mail address.", 422),
            ({"email": email}, "This person is already a respondent for this unit.", 422),
            ({"locale": "it"}, "Choose a language from the list.", 422),
            ({"unit_id": str(world.units["HQ"])}, "This unit is not part of the assessment.", 422),
            ({"unit_id": "999999"}, "This unit is not part of the assessment.", 422),
        ]:
            form = {"unit_id": italy, "email": unique_email("x"), "locale": "en", **fields}
            refused = await client.post(f"{path}/respondents", form, htmx=True)
            assert refused.status_code == status, fields
            assert message in refused.text, fields
            assert refused.headers["hx-retarget"] == "#respondents"
        kept = await client.post(
            f"{path}/respondents",
            {"unit_id": italy, "email": "not-an-address", "locale": "en"},
        )
        assert kept.status_code == 422 and "<html" in kept.text
        assert 'value="not-an-address"' in kept.text

        async with tenant_transaction(world.tenant):
            giulia = next(
                r for r in await service.respondents(world.assessment.id) if r.email == email
            )
        removed = await client.post(f"{path}/respondents/{giulia.id}/remove", htmx=True)
        assert removed.status_code == 200 and f'data-email="{email}"' not in removed.text
        assert "The respondent is removed." in removed.text
        gone = await client.post(f"{path}/respondents/{giulia.id}/remove")
        assert gone.status_code == 404
    async with tenant_transaction(world.tenant):
        assert len(await service.respondents(world.assessment.id)) == 3


async def test_progress_counts_answers_of_the_questions_shown(
    server: LiveServer, make_tenant
) -> None:
    world = await assessment_world(make_tenant)
    anna = world.respondents["anna@de.example"]
    async with tenant_transaction(world.tenant) as conn:
        for key, choice, level in [("gov_standards", "level", 3), ("exe_tools", "na", None)]:
            await conn.execute(
                "INSERT INTO assessment_answer (respondent_id, question_key, choice, level)"
                " VALUES ($1, $2, $3, $4)",
                anna.id,
                key,
                choice,
                level,
            )
    admin = await person(org_of(world), "admin", "hq_admin")
    async with await signed_in(server, world, admin) as client:
        page = await client.get(f"/assessments/{world.assessment.id}")
        anna_row = re.search(
            r'data-email="anna@de.example".*?(\d+ of \d+ answered)', page.text, re.S
        )
        assert anna_row and anna_row.group(1) == "2 of 5 answered"  # gov_review shows at 3
        bernd = re.search(r'data-email="bernd@de.example".*?(\d+ of \d+ answered)', page.text, re.S)
        assert bernd and bernd.group(1) == "0 of 4 answered"
        assert re.search(r'data-testid="fact-progress">1 of 3<', page.text)
        listing = await client.get("/assessments")
        assert listing.status_code == 200
        assert re.search(r'data-testid="assessment-progress">.*?1 of 3', listing.text, re.S)
        assert 'data-testid="new-assessment"' in listing.text


async def test_list_shows_others_what_they_answer_and_results_never_drafts(
    server: LiveServer, make_tenant
) -> None:
    world = await assessment_world(make_tenant, status="draft")
    org = org_of(world)
    respondent = await person(org, "resp", "contributor", "DE")
    reader = await person(org, "reader", "stakeholder", "FR")
    async with tenant_transaction(world.tenant):
        await org_service.create_unit(UnitData("UK", "Unit UK", "country"), "HQ")
    outsider = await person(org, "outsider", "stakeholder", "UK")
    assessment_id = world.assessment.id
    path = f"/assessments/{assessment_id}"
    async with tenant_transaction(world.tenant):
        await service.add_respondent(assessment_id, world.units["DE"], respondent.email, "en")
    async with await signed_in(server, world, respondent) as client:
        listing = await client.get("/assessments")
        assert listing.status_code == 200
        assert 'data-testid="nothing-to-answer"' in listing.text
        assert "Scalability 2026" not in listing.text
        assert 'data-testid="new-assessment"' not in listing.text
        assert (await client.get(path)).status_code == 404
        async with tenant_transaction(world.tenant):
            await service.change_status(assessment_id, "open")
        listing = await client.get("/assessments")
        assert f'href="{path}/answer"' in listing.text
        redirected = await client.get(path)
        assert redirected.status_code == 303
        assert redirected.headers["location"] == f"{path}/answer"
    async with await signed_in(server, world, reader) as client:
        listing = await client.get("/assessments")
        assert "Scalability 2026" not in listing.text  # open: no results yet
        assert (await client.get(path)).status_code == 403
        async with tenant_transaction(world.tenant):
            await service.change_status(assessment_id, "review")
        listing = await client.get("/assessments")
        assert f'href="{path}/results"' in listing.text
        redirected = await client.get(path)
        assert redirected.headers["location"] == f"{path}/results"
    async with await signed_in(server, world, outsider) as client:
        listing = await client.get("/assessments")
        assert "Scalability 2026" not in listing.text  # UK is not in scope
        assert (await client.get(path)).status_code == 403
