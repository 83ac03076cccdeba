"""Blueprints: parsing errors, idempotent apply, the shipped demo organisation."""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path

import pytest

from scalemark import PROJECT_ROOT
from scalemark.db import tenant_transaction
from scalemark.org import service
from scalemark.tenancy.blueprints import (
    BlueprintError,
    apply_blueprint,
    load_blueprint,
    parse_blueprint,
)
from scalemark.tenancy.provisioning import drop_tenant
from scalemark.tenancy.registry import get_tenant
from scalemark.tenancy.resolver import forget_tenant


def document(slug: str, **changes) -> dict:
    units = [
        {"code": "HQ", "name": "Group HQ", "kind": "hq", "timezone": "Europe/Berlin"},
        {"code": "EU", "name": "Europe", "kind": "region", "parent": "HQ"},
        {"code": "DE", "name": "Germany", "kind": "country", "parent": "EU", "locale": "de"},
        {"code": "FR", "name": "France", "kind": "country", "parent": "EU", "locale": "fr"},
    ]
    doc = {
        "tenant": {
            "slug": slug,
            "name": "Blueprint Co",
            "default_locale": "de",
            "locales": ["de", "fr"],
        },
        "units": units,
    }
    doc.update(changes)
    return doc


@pytest.fixture
async def slug(db_pool, app_db):
    value = f"bp-{uuid.uuid4().hex[:8]}"
    yield value
    async with db_pool.acquire() as conn:
        await drop_tenant(conn, value)
    forget_tenant(value)


async def snapshot(slug: str) -> list[tuple]:
    info = await get_tenant(slug)
    async with tenant_transaction(info.ref):
        return [
            (
                n.code,
                n.name,
                n.kind,
                n.path.count("/"),
                n.locale,
                n.timezone,
                n.currency,
                n.archived,
            )
            for n in await service.whole_tree(include_archived=True)
        ]


async def test_apply_twice_gives_same_state(db_pool, slug) -> None:
    blueprint = parse_blueprint(document(slug))
    async with db_pool.acquire() as conn:
        first = await apply_blueprint(conn, blueprint)
        state = await snapshot(slug)
        second = await apply_blueprint(conn, blueprint)
    assert first.created_tenant and len(first.created) == 4
    assert not second.changed
    assert await snapshot(slug) == state


async def test_apply_updates_moves_archives_and_restores(db_pool, slug) -> None:
    async with db_pool.acquire() as conn:
        await apply_blueprint(conn, parse_blueprint(document(slug)))
        changed = document(slug)
        changed["tenant"]["name"] = "Blueprint Company"
        changed["units"] = [
            {"code": "HQ", "name": "Group HQ", "kind": "hq", "timezone": "Europe/Berlin"},
            {"code": "AM", "name": "Americas", "kind": "region", "parent": "HQ"},
            {
                "code": "DE",
                "name": "Deutschland",
                "kind": "country",
                "parent": "AM",
                "locale": "de",
            },
            {"code": "FR", "name": "France", "kind": "country", "parent": "HQ", "locale": "fr"},
        ]  # EU disappears → archived once its children have moved away
        result = await apply_blueprint(conn, parse_blueprint(changed))
        assert result.created == ["AM"]
        assert set(result.moved) == {"DE", "FR"}
        assert "DE" in result.updated and "[tenant]" in result.updated
        assert result.archived == ["EU"]
        state = {row[0]: row for row in await snapshot(slug)}
        assert state["EU"][-1] is True and state["DE"][-1] is False
        assert (await get_tenant(slug)).name == "Blueprint Company"
        restored = await apply_blueprint(conn, parse_blueprint(document(slug)))
        assert "EU" in restored.restored
        again = await apply_blueprint(conn, parse_blueprint(document(slug)))
        assert not again.changed


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("tenant"), "[tenant]"),
        (lambda d: d["tenant"].update(slug="Bad Slug"), "slug"),
        (lambda d: d["tenant"].update(locales=["de", "xx"]), "unsupported"),
        (lambda d: d["units"][1].update(parent="NOPE"), "parent"),
        (lambda d: d["units"].append(dict(d["units"][2])), "duplicate"),
        (lambda d: d["units"][2].update(timezone="Nowhere/City"), "timezone"),
        (lambda d: d["units"][1].pop("parent"), "root"),
        (lambda d: d["units"][3].update(kind="planet"), "kind"),
    ],
)
def test_invalid_blueprints_name_the_problem(mutate, message: str) -> None:
    doc = document("bp-errors")
    mutate(doc)
    with pytest.raises(BlueprintError) as caught:
        parse_blueprint(doc)
    assert message in str(caught.value)


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[tenant\nslug = 'x'", encoding="utf-8")
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(path)
    assert "broken.toml" in str(caught.value)


async def test_demo_blueprint_loads_and_applies(db_pool, app_db) -> None:
    path = PROJECT_ROOT / "tenants" / "demo.toml"
    blueprint = load_blueprint(path)
    kinds = [u.data.kind for u in blueprint.units]
    assert kinds.count("region") == 3 and kinds.count("country") >= 8
    assert {u.data.locale for u in blueprint.units} >= {"de", "fr", "es", "it", "en"}
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    blueprint = parse_blueprint({**raw, "tenant": {**raw["tenant"], "slug": "demo-bp-check"}})
    try:
        async with db_pool.acquire() as conn:
            result = await apply_blueprint(conn, blueprint)
            assert len(result.created) == len(blueprint.units)
            assert not (await apply_blueprint(conn, blueprint)).changed
    finally:
        async with db_pool.acquire() as conn:
            await drop_tenant(conn, "demo-bp-check")
        forget_tenant("demo-bp-check")
