"""The demo organisation's sample assessment cycles."""

from __future__ import annotations

from scalemark.assessment import service
from scalemark.assessment.demo import seed_demo_assessments
from scalemark.db import tenant_transaction
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData


async def test_demo_cycles_are_seeded_once(make_tenant) -> None:
    tenant = await make_tenant("demoasm")
    async with tenant_transaction(tenant):
        for code, kind, parent in (
            ("HQ", "hq", None),
            ("EU", "region", "HQ"),
            ("DE", "country", "EU"),
            ("FR", "country", "EU"),
        ):
            await org_service.create_unit(UnitData(code, f"Unit {code}", kind), parent)
    assert await seed_demo_assessments(tenant, {"FR": "lead.fr@nordlicht.example"})
    assert not await seed_demo_assessments(tenant)

    async with tenant_transaction(tenant) as conn:
        first, second = sorted(await service.list_assessments(), key=lambda a: a.id)
        assert (first.status, first.cycle) == ("closed", 1)
        assert (second.status, second.cycle, second.previous_id) == ("open", 2, first.id)
        assert {u.code for u in await service.scope(second.id)} == {"DE", "FR"}
        emails = {p.email for p in await service.respondents(second.id)}
        assert "lead.fr@nordlicht.example" in emails
        waiting = await conn.fetchval(
            "SELECT count(*) FROM assessment_answer a JOIN assessment_respondent r"
            " ON r.id = a.respondent_id WHERE r.assessment_id = $1 AND r.email = $2",
            second.id,
            "lead.fr@nordlicht.example",
        )
        answered_before = await conn.fetchval(
            "SELECT count(*) FROM assessment_answer a JOIN assessment_respondent r"
            " ON r.id = a.respondent_id WHERE r.assessment_id = $1",
            first.id,
        )
    # The demo lead still has the whole questionnaire in front of them.
    assert waiting == 0
    assert answered_before > 40
