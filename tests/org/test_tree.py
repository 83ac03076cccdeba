"""Unit tree operations against a real tenant schema."""

from __future__ import annotations

import pytest

from scalemark.db import tenant_transaction
from scalemark.org import service
from scalemark.org.rules import UnitData, UnitError


def unit(code: str, kind: str = "country", **extra: str) -> UnitData:
    return UnitData(code=code, name=extra.pop("name", f"Unit {code}"), kind=kind, **extra)


async def build_tree() -> dict[str, service.UnitNode]:
    nodes = {}
    nodes["HQ"] = await service.create_unit(unit("HQ", "hq"), None)
    nodes["EU"] = await service.create_unit(unit("EU", "region"), "HQ")
    nodes["AM"] = await service.create_unit(unit("AM", "region"), "HQ")
    nodes["DE"] = await service.create_unit(unit("DE"), "EU")
    nodes["DE-B2B"] = await service.create_unit(unit("DE-B2B", "business_unit"), "DE")
    nodes["FR"] = await service.create_unit(unit("FR", locale="fr"), "EU")
    return nodes


async def test_create_builds_materialised_paths(make_tenant) -> None:
    tenant = await make_tenant("tree")
    async with tenant_transaction(tenant):
        nodes = await build_tree()
        assert nodes["HQ"].path == f"/{nodes['HQ'].id}/"
        assert nodes["DE-B2B"].path == (
            f"/{nodes['HQ'].id}/{nodes['EU'].id}/{nodes['DE'].id}/{nodes['DE-B2B'].id}/"
        )
        assert nodes["DE-B2B"].depth == 3
        sub = await service.subtree(nodes["EU"].id)
        assert [n.code for n in sub] == ["EU", "DE", "DE-B2B", "FR"]
        assert [n.code for n in await service.children_of(nodes["HQ"].id)] == ["EU", "AM"]
        assert (await service.get_unit(nodes["EU"].id)).child_count == 2


async def test_move_rewrites_subtree_and_refuses_cycles(make_tenant) -> None:
    tenant = await make_tenant("move")
    async with tenant_transaction(tenant):
        nodes = await build_tree()
        moved = await service.move_unit(nodes["DE"].id, nodes["AM"].id)
        assert moved.parent_id == nodes["AM"].id
        assert moved.path.startswith(nodes["AM"].path)
        child = await service.get_unit_by_code("DE-B2B")
        assert child.path == f"{moved.path}{child.id}/" and child.depth == 3
        assert [n.code for n in await service.subtree(nodes["AM"].id)] == ["AM", "DE", "DE-B2B"]
        with pytest.raises(UnitError) as below_itself:
            await service.move_unit(nodes["AM"].id, child.id)
        assert below_itself.value.field == "parent"
        with pytest.raises(UnitError):
            await service.move_unit(nodes["DE"].id, nodes["DE"].id)
        with pytest.raises(UnitError):
            await service.move_unit(nodes["HQ"].id, nodes["EU"].id)
    # Nothing changed by the refused moves.
    async with tenant_transaction(tenant):
        assert (await service.get_unit_by_code("AM")).parent_id == nodes["HQ"].id


async def test_validation_and_duplicates(make_tenant) -> None:
    tenant = await make_tenant("valid")
    async with tenant_transaction(tenant):
        await service.create_unit(unit("HQ", "hq"), None)
        with pytest.raises(UnitError) as duplicate:
            await service.create_unit(unit("hq"), "HQ")
        assert duplicate.value.field == "code"
        with pytest.raises(UnitError) as second_root:
            await service.create_unit(unit("HQ2", "hq"), None)
        assert second_root.value.field in {"parent", "kind"}
        bad_cases = [
            (unit("bad code!"), "code"),
            (unit("X1", timezone="Mars/Base"), "timezone"),
            (unit("X2", currency="EURO"), "currency"),
            (unit("X3", kind="galaxy"), "kind"),
            (unit("X4", locale="xx-notreal"), "locale"),
            (UnitData(code="X5", name="   ", kind="country"), "name"),
        ]
        for data, field in bad_cases:
            with pytest.raises(UnitError) as caught:
                await service.create_unit(data, "HQ")
            assert caught.value.field == field, data
        with pytest.raises(UnitError):
            await service.create_unit(unit("ORPHAN"), "NOPE")


async def test_archive_and_restore_subtree(make_tenant) -> None:
    tenant = await make_tenant("arch")
    async with tenant_transaction(tenant):
        nodes = await build_tree()
        assert await service.archive_unit(nodes["DE"].id) == 2
        assert {n.code for n in await service.whole_tree()} == {"HQ", "EU", "FR", "AM"}
        all_units = await service.whole_tree(include_archived=True)
        assert {n.code for n in all_units if n.archived} == {"DE", "DE-B2B"}
        assert await service.archive_unit(nodes["DE"].id, archived=False) == 2
        with pytest.raises(UnitError):
            await service.archive_unit(nodes["HQ"].id)


async def test_update_unit_fields(make_tenant) -> None:
    tenant = await make_tenant("upd")
    async with tenant_transaction(tenant):
        nodes = await build_tree()
        changed = await service.update_unit(
            nodes["FR"].id,
            UnitData(
                code="fr",
                name="France",
                kind="country",
                locale="fr",
                timezone="Europe/Paris",
                currency="eur",
            ),
        )
        assert (changed.code, changed.name, changed.timezone, changed.currency) == (
            "FR",
            "France",
            "Europe/Paris",
            "EUR",
        )
        with pytest.raises(UnitError):
            await service.update_unit(nodes["FR"].id, unit("DE"))


async def test_tenants_do_not_share_units(make_tenant) -> None:
    first, second = await make_tenant("one"), await make_tenant("two")
    async with tenant_transaction(first):
        await service.create_unit(unit("HQ", "hq", name="First HQ"), None)
    async with tenant_transaction(second):
        assert await service.whole_tree() == []
        await service.create_unit(unit("HQ", "hq", name="Second HQ"), None)
    async with tenant_transaction(first):
        assert [n.name for n in await service.whole_tree()] == ["First HQ"]
