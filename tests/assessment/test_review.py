"""The consultant's review over HTTP: answers side by side, spread, validating with htmx.

World: HQ > EU > DE, FR, IT, all in scope; DE answered by anna and bernd, FR by chloe
(see :mod:`support.assessment_results`).
"""

from __future__ import annotations

import json
import re

import asyncpg
import pytest

from scalemark.assessment import results, review, service
from scalemark.assessment.rules import AssessmentError
from scalemark.db import tenant_transaction
from support.assessment_results import ScoredWorld, answer, consultant, scored_world
from support.identity import Organisation, WebClient, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


async def client_for(
    server: LiveServer, scored: ScoredWorld, role: str, unit: str = "HQ"
) -> WebClient:
    org = Organisation(tenant=scored.tenant)
    if role == "consultant":
        credentials = await consultant(scored.tenant)
    else:
        credentials = await person(org, role, role, unit)
    client = WebClient(server, org.slug)
    await client.signed_in(credentials)
    return client


def block(html: str, key: str) -> str:
    """The review block of one question."""
    match = re.search(rf'<article[^>]*id="q-{key}".*?</article>', html, re.S)
    assert match, f"no question {key}"
    return match.group(0)


async def test_validate_needs_a_rationale_and_is_audited(make_tenant) -> None:
    scored = await scored_world(make_tenant)
    ids, aid = scored.units, scored.assessment_id
    async with tenant_transaction(scored.tenant) as conn:
        for blank in ("", "   "):
            with pytest.raises(AssessmentError) as refused:
                await review.validate(aid, ids["DE"], "gov_standards", "level", 4, blank)
            assert refused.value.field == "rationale"
        with pytest.raises(AssessmentError) as refused:
            await review.validate(aid, ids["DE"], "gov_roles", "na", None, "no roles")
        assert refused.value.field == "level"  # gov_roles offers no "not applicable"
        with pytest.raises(LookupError):
            await review.validate(aid, ids["DE"], "no_such_question", "level", 3, "x")
        saved = await review.validate(aid, ids["DE"], "gov_standards", "level", 4, " Seen it ")
        assert (saved.choice, saved.level, saved.rationale) == ("level", 4, "Seen it")
        row = await conn.fetchrow(
            "SELECT after FROM audit_event WHERE action = 'assessment.validate' ORDER BY id DESC"
        )
        assert json.loads(row["after"])["rationale"] == "Seen it"

        unit = await review.unit_review(aid, ids["DE"])
        assert unit is not None
        assert [p.email for p in unit.respondents] == ["anna@de.example", "bernd@de.example"]
        standards = unit.question("gov_standards")
        assert (standards.pooled, standards.spread, standards.disagreement) == (2.0, 2, True)
        assert standards.validation is not None and standards.validation.level == 4
        hidden = unit.question("gov_review")
        anna, bernd = hidden.answers
        assert anna is not None and anna.hidden and anna.level == 5
        assert bernd is not None and not bernd.hidden and bernd.choice == "na"
        overview = {row.unit.code: row for row in await review.review_overview(aid)}
        assert (overview["DE"].respondents, overview["DE"].answers) == (2, 10)
        assert overview["DE"].disagreements == 2  # gov_standards and exe_templates
        assert overview["DE"].validated == 1
        assert overview["FR"].disagreements == 0 and overview["IT"].answers == 0

        await service.change_status(aid, "review")
        await service.change_status(aid, "close")
        with pytest.raises(AssessmentError) as refused:
            await review.validate(aid, ids["DE"], "gov_standards", "level", 5, "Later")
        assert refused.value.field == "status"


async def test_review_pages_and_htmx_validation(server: LiveServer, make_tenant) -> None:
    scored = await scored_world(make_tenant, status="in_review")
    ids, aid = scored.units, scored.assessment_id
    async with tenant_transaction(scored.tenant):
        await answer(
            scored.respondents["anna@de.example"].id,
            "exe_tools",
            "level",
            4,
            comment="We use one CRM <b>everywhere</b>",
            evidence_url="https://intranet.example/crm",
            target_level=5,
        )
    async with await client_for(server, scored, "hq_admin") as client:
        overview = await client.get(f"/assessments/{aid}/review")
        assert overview.status_code == 200, overview.text[:500]
        for code in ("HQ", "EU", "DE", "FR", "IT"):
            assert f'data-testid="review-unit-{code}"' in overview.text
        assert 'data-testid="disagreement-DE"' in overview.text
        assert 'data-testid="disagreement-FR"' not in overview.text

        page = await client.get(f"/assessments/{aid}/review/{ids['DE']}")
        assert page.status_code == 200
        standards = block(page.text, "gov_standards")
        assert "anna@de.example" in standards and "bernd@de.example" in standards
        assert "review-q--spread" in standards and "the respondents disagree" in standards
        assert 'data-testid="pooled-gov_standards">2.0<' in standards
        tools = block(page.text, "exe_tools")
        assert "We use one CRM &lt;b&gt;everywhere&lt;/b&gt;" in tools
        assert 'href="https://intranet.example/crm"' in tools
        assert "Not asked (its condition was not met): ignored" in block(page.text, "gov_review")

        path = f"/assessments/{aid}/review/{ids['DE']}/questions/gov_standards"
        missing = await client.post(path, {"level": "4", "rationale": "  "}, htmx=True)
        assert missing.status_code == 422
        assert "<html" not in missing.text
        assert "Please give a rationale for the validated level." in missing.text
        assert '<option value="4" selected>' in missing.text  # the input is kept
        assert 'data-testid="validated-gov_standards"' not in missing.text

        saved = await client.post(
            path, {"level": "4", "rationale": "Standards document seen"}, htmx=True
        )
        assert saved.status_code == 200 and "<html" not in saved.text
        assert 'data-testid="validated-gov_standards"' in saved.text
        assert "Standards document seen" in saved.text

        plain = await client.post(path, {"level": "na", "rationale": "Not relevant"})
        assert plain.status_code == 303
        assert plain.headers["location"].endswith("?saved=gov_standards#q-gov_standards")
        again = await client.get(plain.headers["location"].split("#")[0])
        assert "The validated level is saved." in block(again.text, "gov_standards")

        plain_missing = await client.post(path, {"level": "3", "rationale": ""})
        assert plain_missing.status_code == 422 and "<html" in plain_missing.text

        assert (await client.get(f"/assessments/{aid}/review/999999")).status_code == 404
        bad = await client.post(
            f"/assessments/{aid}/review/{ids['DE']}/questions/nope",
            {"level": "3", "rationale": "x"},
        )
        assert bad.status_code == 404
        assert (await client.get("/assessments/999999/review")).status_code == 404

    async with tenant_transaction(scored.tenant):
        found = await service.get_assessment(aid)
        assert found is not None
        loaded = await results.load_results(found)
        de = loaded.own[ids["DE"]]
        assert de["governance"].self_score == 2.0 and de["governance"].validated_score is None
        await service.change_status(aid, "close")

    async with await client_for(server, scored, "consultant") as client:
        closed = await client.post(
            f"/assessments/{aid}/review/{ids['DE']}/questions/gov_standards",
            {"level": "5", "rationale": "Too late"},
            htmx=True,
        )
        assert closed.status_code == 409
        assert "The assessment is closed" in closed.text
        page = await client.get(f"/assessments/{aid}/review/{ids['DE']}")
        assert page.status_code == 200
        assert 'data-testid="review-locked"' in page.text
        assert 'data-testid="validate-gov_standards"' not in page.text


async def test_only_runners_review(server: LiveServer, make_tenant) -> None:
    scored = await scored_world(make_tenant, status="in_review")
    aid, de = scored.assessment_id, scored.units["DE"]
    for role, unit in (("unit_lead", "DE"), ("contributor", "DE"), ("stakeholder", "HQ")):
        async with await client_for(server, scored, role, unit) as client:
            assert (await client.get(f"/assessments/{aid}/review")).status_code == 403
            assert (await client.get(f"/assessments/{aid}/review/{de}")).status_code == 403
            forged = await client.post(
                f"/assessments/{aid}/review/{de}/questions/gov_standards",
                {"level": "5", "rationale": "forged"},
            )
            assert forged.status_code == 403


async def test_a_validation_can_be_removed(server: LiveServer, make_tenant) -> None:
    scored = await scored_world(make_tenant)
    ids, aid = scored.units, scored.assessment_id
    async with tenant_transaction(scored.tenant) as conn:
        await review.validate(aid, ids["DE"], "gov_standards", "level", 5, "Checked the docs")
        await results.refresh_scores(aid)
        validated = await conn.fetchval(
            "SELECT validated_score FROM assessment_score WHERE assessment_id = $1"
            " AND unit_id = $2 AND dimension_key = 'governance'",
            aid,
            ids["DE"],
        )
    client = await client_for(server, scored, "consultant")
    async with client:
        path = f"/assessments/{aid}/review/{ids['DE']}/questions/gov_standards/clear"
        cleared = await client.post(path, htmx=True)
        assert cleared.status_code == 200
        assert 'data-testid="validated-gov_standards"' not in block(cleared.text, "gov_standards")
        # Nothing left to remove: still a calm answer, and unknown questions are 404.
        assert (await client.post(path, htmx=True)).status_code == 200
        unknown = f"/assessments/{aid}/review/{ids['DE']}/questions/nope/clear"
        assert (await client.post(unknown)).status_code == 404
    async with tenant_transaction(scored.tenant) as conn:
        assert await review.clear_validation(aid, ids["DE"], "gov_standards") is False
        await results.refresh_scores(aid)
        after = await conn.fetchval(
            "SELECT validated_score FROM assessment_score WHERE assessment_id = $1"
            " AND unit_id = $2 AND dimension_key = 'governance'",
            aid,
            ids["DE"],
        )
        row = await conn.fetchrow(
            "SELECT before FROM audit_event WHERE action = 'assessment.validation.remove'"
        )
        await service.change_status(aid, "review")
        await service.change_status(aid, "close")
        with pytest.raises(AssessmentError) as refused:
            await review.clear_validation(aid, ids["DE"], "gov_standards")
        assert refused.value.field == "status"
    assert float(after) < float(validated)  # the respondents' 1 and 3 count again
    assert json.loads(row["before"])["level"] == 5
    lead = await client_for(server, scored, "unit_lead", "DE")
    async with lead:
        path = f"/assessments/{aid}/review/{ids['DE']}/questions/gov_standards/clear"
        assert (await lead.post(path)).status_code == 403
