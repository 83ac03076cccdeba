"""Rollout services against a real tenant schema: stages, moves, history, gates, audit."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from scalemark.db import tenant_transaction
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData
from scalemark.rollout import service
from scalemark.rollout.rules import GateCriterion, RolloutError


async def tree(make_tenant) -> tuple[object, dict[str, int]]:
    tenant = await make_tenant("roll")
    ids: dict[str, int] = {}
    async with tenant_transaction(tenant):
        for code, kind, parent in (
            ("HQ", "hq", None),
            ("EU", "region", "HQ"),
            ("DE", "country", "EU"),
            ("FR", "country", "EU"),
        ):
            node = await org_service.create_unit(UnitData(code, f"Unit {code}", kind), parent)
            ids[code] = node.id
    return tenant, ids


async def test_units_start_in_stage_one_and_move_with_history(make_tenant) -> None:
    tenant, ids = await tree(make_tenant)
    async with tenant_transaction(tenant):
        units = await service.board_units()
        assert [(u.code, u.stage) for u in units] == [("HQ", 1), ("EU", 1), ("DE", 1), ("FR", 1)]
        await service.move_unit(ids["DE"], 2, note="", sign_off=False)
        await service.move_unit(ids["DE"], 3, note="", sign_off=False)
        back = await service.move_unit(ids["DE"], 2, note="Pilot paused", sign_off=False)
        assert (back.from_stage, back.to_stage) == (3, 2)
        assert await service.stage_of_unit(ids["DE"]) == 2
        moves = await service.history(ids["DE"])
        assert [(m.from_stage, m.to_stage, m.note) for m in moves] == [
            (3, 2, "Pilot paused"),
            (2, 3, ""),
            (1, 2, ""),
        ]
        assert all(m.actor_label == "system" for m in moves)
    async with tenant_transaction(tenant) as conn:
        rows = await conn.fetch(
            "SELECT before, after FROM audit_event WHERE action = 'rollout.move'"
            " AND object_id = $1 ORDER BY id",
            str(ids["DE"]),
        )
    assert [json.loads(r["after"])["stage"] for r in rows] == [2, 3, 2]
    assert json.loads(rows[0]["before"])["stage"] == 1


async def test_gates_block_until_signed_off(make_tenant) -> None:
    tenant, ids = await tree(make_tenant)
    async with tenant_transaction(tenant):
        await service.replace_gates(
            [
                GateCriterion(2, "manual_signoff"),
                GateCriterion(3, "assessment_maturity_at_least", Decimal("3")),
            ]
        )
        assert {(g.stage, g.criterion) for g in await service.gates()} == {
            (2, "manual_signoff"),
            (3, "assessment_maturity_at_least"),
        }
        with pytest.raises(RolloutError) as blocked:
            await service.move_unit(ids["FR"], 2, note="", sign_off=False)
        assert blocked.value.field == "sign_off"
        assert await service.stage_of_unit(ids["FR"]) == 1
        signed = await service.move_unit(ids["FR"], 2, note="Kick-off done", sign_off=True)
        assert signed.signed_off
        # Maturity has no data yet: the gate into stage 3 needs a sign-off too.
        gate = await service.gate_for(ids["FR"], 3)
        assert gate is not None and [r.status.value for r in gate.results] == ["no_data"]
        with pytest.raises(RolloutError):
            await service.move_unit(ids["FR"], 3, note="", sign_off=False)
        assert (await service.history(ids["FR"]))[0].signed_off


async def test_replacing_gates_is_audited_and_idempotent(make_tenant) -> None:
    tenant, _ = await tree(make_tenant)
    wanted = [GateCriterion(4, "adoption_at_least", Decimal("50.00"))]
    async with tenant_transaction(tenant) as conn:
        await service.replace_gates(wanted)
        await service.replace_gates(wanted)
        count = await conn.fetchval(
            "SELECT count(*) FROM audit_event WHERE action = 'rollout.gates'"
        )
        assert count == 1
        assert await service.gates() == [GateCriterion(4, "adoption_at_least", Decimal("50.00"))]


async def test_stale_moves_are_refused(make_tenant) -> None:
    tenant, ids = await tree(make_tenant)
    async with tenant_transaction(tenant):
        await service.move_unit(ids["EU"], 2, note="", sign_off=False, expected_from=1)
        with pytest.raises(RolloutError) as stale:
            await service.move_unit(ids["EU"], 2, note="", sign_off=False, expected_from=1)
        assert stale.value.field == "from_stage"


async def test_concurrent_moves_of_one_unit_do_not_both_win(make_tenant) -> None:
    tenant, ids = await tree(make_tenant)

    async def attempt() -> bool:
        try:
            async with tenant_transaction(tenant):
                await service.move_unit(ids["DE"], 2, note="", sign_off=False, expected_from=1)
        except RolloutError:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(4)))
    assert results.count(True) == 1
    async with tenant_transaction(tenant):
        assert len(await service.history(ids["DE"])) == 1


async def test_archived_units_leave_the_board_and_cannot_move(make_tenant) -> None:
    tenant, ids = await tree(make_tenant)
    async with tenant_transaction(tenant):
        await org_service.archive_unit(ids["FR"])
        assert "FR" not in {u.code for u in await service.board_units()}
        with pytest.raises(RolloutError):
            await service.move_unit(ids["FR"], 2, note="", sign_off=False)
        eu_path = (await org_service.get_unit(ids["EU"])).path
        assert [u.code for u in await service.board_units([eu_path])] == ["EU", "DE"]
