"""KPI services against a real tenant schema: definitions, local additions, targets,
the starter set, the audit trail and the snapshot publishing takes.

Tree: HQ → DACH → DE and HQ → WEST → FR; the tenant works in English, German and French.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import use_tenant
from scalemark.governance import kpi_starter, kpi_targets, kpis
from scalemark.governance.kpi_rules import KpiData, KpiError
from scalemark.governance.kpi_targets import TargetError
from scalemark.governance.targets import Bounds
from scalemark.i18n import gettext, use_locale
from scalemark.tenancy.resolver import forget_tenant
from support.identity import Organisation, organisation

D = Decimal
LOCALES = ["en", "de", "fr"]


@pytest.fixture
async def org(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[Organisation]:
    async with organisation(db_pool, prefix="kpi") as created:
        await db_pool.execute(
            "UPDATE scalemark.tenant SET locales = $2 WHERE slug = $1", created.slug, LOCALES
        )
        forget_tenant(created.slug)
        with use_tenant(created.tenant), use_locale("en"):
            yield created


def data(key: str = "cost_per_lead", **changes: object) -> KpiData:
    values: dict[str, object] = {
        "key": key,
        "level": "central",
        "unit_of_measure": "currency",
        "direction": "lower",
        "owner_role": "hq_admin",
        "measurement": "Spend ÷ qualified leads",
        "mandatory": True,
        "bounds": Bounds(min_value=D(0), max_deviation_pct=D(20)),
        "names": {"en": "Cost per lead", "de": "Kosten pro Lead", "fr": "Coût par lead"},
        "descriptions": {"en": "Spend per lead", "de": "Ausgaben pro Lead"},
    }
    values.update(changes)
    return KpiData(**values)  # type: ignore[arg-type]


async def audit_rows(org: Organisation, action: str) -> list[asyncpg.Record]:
    async with tenant_transaction(org.tenant) as conn:
        return list(
            await conn.fetch(
                "SELECT object_id, before, after FROM audit_event WHERE action = $1 ORDER BY id",
                action,
            )
        )


async def test_tenant_locales_put_the_default_first(org: Organisation) -> None:
    assert await kpis.tenant_locales() == LOCALES


async def test_create_list_and_read_a_central_kpi(org: Organisation) -> None:
    created = await kpis.create_kpi(data(), scope_unit_id=None, locales=LOCALES)
    assert created.is_central and created.mandatory
    assert created.bounds == Bounds(min_value=D(0), max_deviation_pct=D(20))
    assert created.name_in("de") == "Kosten pro Lead"
    assert created.name_in("it", "en") == "Cost per lead"  # fallback to the tenant default
    assert created.description_in("fr", "en") == "Spend per lead"  # French left empty
    assert [k.key for k in await kpis.list_kpis()] == ["cost_per_lead"]
    assert (await kpis.find_kpi("cost_per_lead")) == created
    assert await kpis.find_kpi("cost_per_lead", org.unit_id("DE")) is None

    [event] = await audit_rows(org, "kpi.create")
    assert event["object_id"] == str(created.id)
    assert event["before"] is None and '"Kosten pro Lead"' in event["after"]


async def test_missing_translations_and_duplicate_keys_are_refused(org: Organisation) -> None:
    with pytest.raises(KpiError) as caught:
        await kpis.create_kpi(
            data(names={"en": "Cost per lead"}), scope_unit_id=None, locales=LOCALES
        )
    assert set(caught.value.errors) == {"name-de", "name-fr"}
    await kpis.create_kpi(data(), scope_unit_id=None, locales=LOCALES)
    with pytest.raises(KpiError) as caught:
        await kpis.create_kpi(data(), scope_unit_id=None, locales=LOCALES)
    assert set(caught.value.errors) == {"key"}


async def test_local_additions_never_shadow_central_or_inherited_kpis(org: Organisation) -> None:
    await kpis.create_kpi(data(), scope_unit_id=None, locales=LOCALES)
    local = data(
        "store_visits",
        level="local",
        unit_of_measure="count",
        direction="higher",
        owner_role="unit_lead",
        mandatory=False,
        names={"en": "Store visits", "de": "Filialbesuche"},
    )
    # The central key cannot be reused below.
    with pytest.raises(KpiError) as caught:
        await kpis.create_kpi(
            data(level="local", names={"en": "Mine"}),
            scope_unit_id=org.unit_id("DE"),
            locales=LOCALES,
        )
    assert "key" in caught.value.errors
    # A local KPI cannot be of the central level.
    with pytest.raises(KpiError) as caught:
        await kpis.create_kpi(
            data("own_roi", names={"en": "Own ROI"}),
            scope_unit_id=org.unit_id("DE"),
            locales=LOCALES,
        )
    assert set(caught.value.errors) == {"level"}

    dach = await kpis.create_kpi(local, scope_unit_id=org.unit_id("DACH"), locales=LOCALES)
    assert not dach.is_central and dach.scope_code == "DACH"
    assert dach.applies_to(org.units["DE"].path) and not dach.applies_to(org.units["FR"].path)
    # Below DACH the key is taken; a sibling branch may use it for its own KPI.
    with pytest.raises(KpiError):
        await kpis.create_kpi(local, scope_unit_id=org.unit_id("DE"), locales=LOCALES)
    france = await kpis.create_kpi(
        data(
            "store_visits",
            level="local",
            unit_of_measure="count",
            names={"en": "Store visits", "fr": "Visites en magasin"},
        ),
        scope_unit_id=org.unit_id("FR"),
        locales=LOCALES,
    )
    assert france.scope_code == "FR"
    # A central KPI with a key some unit uses is refused too.
    with pytest.raises(KpiError):
        await kpis.create_kpi(data("store_visits"), scope_unit_id=None, locales=LOCALES)
    # Defining at the HQ itself means a central KPI.
    hq_own = await kpis.create_kpi(
        data("hq_metric"), scope_unit_id=org.unit_id("HQ"), locales=LOCALES
    )
    assert hq_own.is_central


async def test_update_keeps_key_and_scope_and_audits_before_and_after(org: Organisation) -> None:
    created = await kpis.create_kpi(data(), scope_unit_id=None, locales=LOCALES)
    changed = data(
        "renamed_key",
        bounds=Bounds(max_deviation_pct=D(10)),
        names={"en": "CPL", "de": "Kosten je Lead", "fr": "CPL"},
    )
    updated = await kpis.update_kpi(created.id, changed, locales=LOCALES)
    assert updated.key == "cost_per_lead"
    assert updated.bounds == Bounds(max_deviation_pct=D(10))
    assert updated.name_in("de") == "Kosten je Lead"
    [event] = await audit_rows(org, "kpi.update")
    assert '"Kosten pro Lead"' in event["before"] and '"Kosten je Lead"' in event["after"]
    # Saving the same values again records nothing.
    await kpis.update_kpi(created.id, changed, locales=LOCALES)
    assert len(await audit_rows(org, "kpi.update")) == 1


async def test_archive_and_restore(org: Organisation) -> None:
    created = await kpis.create_kpi(data(), scope_unit_id=None, locales=LOCALES)
    archived = await kpis.set_archived(created.id, True)
    assert archived.archived
    assert await kpis.list_kpis() == []
    assert [k.key for k in await kpis.list_kpis(include_archived=True)] == ["cost_per_lead"]
    restored = await kpis.set_archived(created.id, False)
    assert not restored.archived
    assert len(await audit_rows(org, "kpi.archive")) == 1
    assert len(await audit_rows(org, "kpi.restore")) == 1


async def test_targets_inherit_and_overrides_respect_the_bounds(org: Organisation) -> None:
    kpi = await kpis.create_kpi(data(), scope_unit_id=None, locales=LOCALES)
    hq, de, dach, fr = (org.units[c] for c in ("HQ", "DE", "DACH", "FR"))

    # Without a central target, a relative bound cannot be checked: refused.
    with pytest.raises(TargetError) as caught:
        await kpi_targets.set_target(kpi, de, "current", D(30))
    assert "central target" in caught.value.message

    await kpi_targets.set_target(kpi, hq, "current", D(25), note="Group target")
    await kpi_targets.set_target(kpi, de, "current", D(28))  # +12 %: fine
    with pytest.raises(TargetError) as caught:
        await kpi_targets.set_target(kpi, fr, "current", D(31))  # +24 %: too far
    assert caught.value.field == "value"
    assert "20" in caught.value.message and "30" in caught.value.message
    with pytest.raises(TargetError):
        await kpi_targets.set_target(kpi, fr, "current", D(-1))  # below the minimum
    with pytest.raises(TargetError) as caught:
        await kpi_targets.set_target(kpi, fr, "next year", D(25))
    assert caught.value.field == "period"

    table = await kpi_targets.target_table(kpi, "current")
    rows = {r.unit.code: r for r in table.rows}
    assert table.central_value == D(25) and table.top is not None and table.top.code == "HQ"
    assert (rows["HQ"].value, rows["HQ"].source.code, rows["HQ"].is_top) == (D(25), "HQ", True)
    assert (rows["DACH"].value, rows["DACH"].source.code, rows["DACH"].own) == (D(25), "HQ", None)
    assert (rows["DE"].value, rows["DE"].source.code) == (D(28), "DE")
    assert (rows["FR"].value, rows["FR"].source.code) == (D(25), "HQ")
    assert (rows["FR"].low, rows["FR"].high) == (D(20), D(30))
    # Another period has its own targets.
    other = await kpi_targets.target_table(kpi, "2027")
    assert all(r.value is None for r in other.rows)

    # Tighter bounds flag the existing override, they do not change it.
    tighter = data(bounds=Bounds(min_value=D(0), max_deviation_pct=D(5)))
    kpi = await kpis.update_kpi(kpi.id, tighter, locales=LOCALES)
    rows = {r.unit.code: r for r in (await kpi_targets.target_table(kpi, "current")).rows}
    assert rows["DE"].out_of_bounds and not rows["HQ"].out_of_bounds

    assert await kpi_targets.clear_target(kpi, de, "current")
    assert not await kpi_targets.clear_target(kpi, de, "current")
    rows = {r.unit.code: r for r in (await kpi_targets.target_table(kpi, "current")).rows}
    assert (rows["DE"].value, rows["DE"].source.code) == (D(25), "HQ")
    assert await kpi_targets.central_targets("current") == {kpi.id: D(25)}

    sets = await audit_rows(org, "kpi_target.set")
    assert [s["object_id"] for s in sets] == [
        "cost_per_lead@HQ/current",
        "cost_per_lead@DE/current",
    ]
    [cleared] = await audit_rows(org, "kpi_target.clear")
    assert cleared["after"] is None and '"value": 28' in cleared["before"]
    assert dach.code == "DACH"


async def test_local_kpi_targets_stay_in_their_subtree(org: Organisation) -> None:
    local = await kpis.create_kpi(
        data(
            "store_visits",
            level="local",
            unit_of_measure="count",
            direction="higher",
            bounds=Bounds(max_deviation_pct=D(10)),
            names={"en": "Store visits"},
        ),
        scope_unit_id=org.unit_id("DACH"),
        locales=LOCALES,
    )
    # The top of the scope sets the central target without a deviation check.
    await kpi_targets.set_target(local, org.units["DACH"], "2027", D(1000))
    await kpi_targets.set_target(local, org.units["DE"], "2027", D(1100))
    with pytest.raises(TargetError):
        await kpi_targets.set_target(local, org.units["DE"], "2027", D(1101))
    with pytest.raises(LookupError):
        await kpi_targets.set_target(local, org.units["FR"], "2027", D(1000))
    with pytest.raises(LookupError):
        await kpi_targets.set_target(local, org.units["HQ"], "2027", D(1000))
    table = await kpi_targets.target_table(local, "2027")
    assert [r.unit.code for r in table.rows] == ["DACH", "DE"]
    assert [r.depth for r in table.rows] == [0, 1]


async def test_starter_set_in_every_tenant_language(org: Organisation) -> None:
    created = await kpi_starter.install_starter_set(LOCALES)
    keys = {k.key for k in created}
    assert keys == {item.key for item in kpi_starter.STARTER_KPIS}
    assert {k.level for k in created} == {"central", "local", "campaign"}
    roi = next(k for k in created if k.key == "campaign_roi")
    for locale in LOCALES:
        with use_locale(locale):
            assert roi.name_in(locale) == gettext("Overall campaign ROI")
    assert set(roi.translations) == set(LOCALES)
    # Installing again adds nothing.
    assert await kpi_starter.install_starter_set(LOCALES) == []
    attainment = next(k for k in created if k.key == "market_target_attainment")
    assert (await kpi_targets.central_targets())[attainment.id] == D(100)
    [event] = await audit_rows(org, "kpi.starter_set")
    assert "campaign_roi" in event["after"]


async def test_snapshot_for_publishing(org: Organisation) -> None:
    central = await kpis.create_kpi(data(), scope_unit_id=None, locales=LOCALES)
    await kpi_targets.set_target(central, org.units["HQ"], "current", D("25.5"))
    await kpi_targets.set_target(central, org.units["HQ"], "2027", D(24))
    await kpi_targets.set_target(central, org.units["DE"], "current", D(27))  # not central
    local = await kpis.create_kpi(
        data("store_visits", level="local", names={"en": "Store visits"}),
        scope_unit_id=org.unit_id("DE"),
        locales=LOCALES,
    )
    archived = await kpis.create_kpi(data("old_kpi"), scope_unit_id=None, locales=LOCALES)
    await kpis.set_archived(archived.id, True)

    snapshot = await kpis.kpi_snapshot()
    by_key = {item["key"]: item for item in snapshot["kpis"]}
    assert set(by_key) == {"cost_per_lead", "store_visits"}
    item = by_key["cost_per_lead"]
    assert item["id"] == central.id and item["scope_unit_id"] is None
    assert item["name"] == {"en": "Cost per lead", "de": "Kosten pro Lead", "fr": "Coût par lead"}
    assert next(iter(item["name"])) == "en"  # the tenant's default language first
    assert item["description"]["de"] == "Ausgaben pro Lead"
    assert item["bounds"] == {"min_value": 0, "max_value": None, "max_deviation_pct": 20}
    assert item["targets"] == {"current": 25.5, "2027": 24}
    assert item["mandatory"] is True and item["level"] == "central"
    assert by_key["store_visits"]["scope_unit_id"] == local.scope_unit_id
    assert by_key["store_visits"]["scope_code"] == "DE"
    import json

    json.dumps(snapshot)  # plain JSON
