"""CSV/XLSX export of answers and scores, and HQ's maturity targets as defaults."""

from __future__ import annotations

import csv
import io
import re

import asyncpg
import pytest
from openpyxl import load_workbook

from scalemark.db import tenant_transaction
from support.assessment_pages import org_of, signed_in
from support.assessments import assessment_world
from support.identity import person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


async def seed_answers(world) -> None:
    anna = world.respondents["anna@de.example"].id
    chloe = world.respondents["chloe@fr.example"].id
    async with tenant_transaction(world.tenant) as conn:
        for respondent, key, choice, level, comment in (
            (anna, "gov_standards", "level", 4, '=HYPERLINK("http://evil")'),
            (anna, "exe_tools", "dk", None, ""),
            (chloe, "gov_standards", "level", 2, "Très bien"),
        ):
            await conn.execute(
                "INSERT INTO assessment_answer (respondent_id, question_key, choice, level,"
                " comment) VALUES ($1, $2, $3, $4, $5)",
                respondent,
                key,
                choice,
                level,
                comment,
            )


async def test_runner_downloads_answers_and_scores(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, prefix="exp")
    await seed_answers(world)
    admin = await person(org_of(world), "admin", "hq_admin")
    base = f"/assessments/{world.assessment.id}/export"
    async with await signed_in(server, world, admin) as client:
        answers = await client.get(f"{base}/answers.csv")
        assert answers.status_code == 200
        assert answers.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(answers.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["Unit code", "Unit", "Respondent"]
        by_key = {(r[2], r[4]): r for r in rows[1:]}
        assert by_key[("anna@de.example", "gov_standards")][6] == "4"
        assert by_key[("anna@de.example", "exe_tools")][6] == "Don't know"
        assert by_key[("chloe@fr.example", "gov_standards")][9] == "Très bien"
        # A comment that looks like a formula is neutralised for spreadsheet programs.
        assert by_key[("anna@de.example", "gov_standards")][9].startswith("'=")

        scores = await client.get(f"{base}/scores.csv")
        assert scores.status_code == 200
        score_rows = list(csv.reader(io.StringIO(scores.content.decode("utf-8-sig"))))
        de_gov = next(r for r in score_rows if r[0] == "DE" and r[2] == "governance")
        assert float(de_gov[4]) == pytest.approx(4.0)

        book = await client.get(f"{base}/assessment.xlsx")
        assert book.status_code == 200
        workbook = load_workbook(io.BytesIO(book.content), read_only=True)
        assert workbook.sheetnames == ["Answers", "Scores"]
        answer_sheet = list(workbook["Answers"].iter_rows(values_only=True))
        assert len(answer_sheet) == len(rows)


async def test_export_is_for_runners_of_this_tenant_only(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, prefix="exq")
    other = await assessment_world(make_tenant, prefix="exr")
    lead = await person(org_of(world), "lead", "unit_lead", "DE")
    admin = await person(org_of(world), "admin", "hq_admin")
    async with await signed_in(server, world, lead) as client:
        for name in ("answers.csv", "scores.csv", "assessment.xlsx"):
            response = await client.get(f"/assessments/{world.assessment.id}/export/{name}")
            assert response.status_code == 403, name
    async with await signed_in(server, world, admin) as client:
        unknown = other.assessment.id + 1000
        response = await client.get(f"/assessments/{unknown}/export/answers.csv")
        assert response.status_code == 404


async def test_hq_targets_prefill_new_assessments(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, prefix="tgt")
    admin = await person(org_of(world), "admin", "hq_admin")
    lead = await person(org_of(world), "lead", "unit_lead", "DE")
    async with await signed_in(server, world, admin) as client:
        page = await client.get("/governance/maturity-targets")
        assert page.status_code == 200
        assert "Maturity targets" in page.text
        bad = await client.post(
            "/governance/maturity-targets/marketing-scalability",
            {"target_governance": "7", "target_execution": "2.5"},
        )
        assert bad.status_code == 422
        assert "Enter a level from 1 to 5" in bad.text
        assert 'value="2.5"' in bad.text  # the input is kept
        saved = await client.post(
            "/governance/maturity-targets/marketing-scalability",
            {"target_governance": "4.5", "target_execution": ""},
        )
        assert saved.status_code in (200, 303)
        form = await client.get("/assessments/new")
        field = re.search(r'<input[^>]*name="target_governance"[^>]*>', form.text)
        assert field is not None and 'value="4.5"' in field.group(0)
        other = re.search(r'<input[^>]*name="target_execution"[^>]*>', form.text)
        # Not set by HQ: the latest assessment's target (the test framework's 4).
        assert other is not None and 'value="4"' in other.group(0)
    async with await signed_in(server, world, lead) as client:
        assert (await client.get("/governance/maturity-targets")).status_code == 403
        refused = await client.post(
            "/governance/maturity-targets/marketing-scalability", {"target_governance": "2"}
        )
        assert refused.status_code == 403
