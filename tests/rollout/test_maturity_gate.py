"""Rollout gates read assessment maturity once an assessment over the unit is closed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scalemark.assessment import service as assessments
from scalemark.db import tenant_transaction
from scalemark.rollout import service
from scalemark.rollout.rules import CriterionStatus, GateCriterion, RolloutError
from support.assessments import assessment_world


async def answer_all(conn, respondent_id: int, level: int, keys: list[str]) -> None:
    for key in keys:
        await conn.execute(
            "INSERT INTO assessment_answer (respondent_id, question_key, choice, level)"
            " VALUES ($1, $2, 'level', $3)",
            respondent_id,
            key,
            level,
        )


async def test_maturity_gate_uses_the_latest_closed_assessment(make_tenant) -> None:
    world = await assessment_world(make_tenant, prefix="gate")
    keys = [q.key for q in world.framework.questions()]
    de, fr = world.units["DE"], world.units["FR"]
    async with tenant_transaction(world.tenant) as conn:
        await service.replace_gates(
            [GateCriterion(2, "assessment_maturity_at_least", Decimal("3"))]
        )
        await answer_all(conn, world.respondents["anna@de.example"].id, 4, keys)
        await answer_all(conn, world.respondents["chloe@fr.example"].id, 2, keys)
        await conn.execute("UPDATE assessment_unit SET scores_stale = true")
        # While the assessment runs, its scores are no gate data yet.
        open_gate = await service.gate_for(de, 2)
        assert open_gate is not None
        assert [r.status for r in open_gate.results] == [CriterionStatus.NO_DATA]

    async with tenant_transaction(world.tenant):
        await assessments.change_status(world.assessment.id, "review")
        await assessments.change_status(world.assessment.id, "close")
        facts = await service.unit_facts([de, fr, world.units["IT"]])
        assert facts[de].maturity == pytest.approx(4.0)
        assert facts[fr].maturity == pytest.approx(2.0)
        assert facts[world.units["IT"]].maturity is None

        moved = await service.move_unit(de, 2, note="", sign_off=False)
        assert moved.to_stage == 2
        with pytest.raises(RolloutError):
            await service.move_unit(fr, 2, note="", sign_off=False)
