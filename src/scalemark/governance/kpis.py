"""KPI definitions: reading, creating, changing and archiving them, and the snapshot that
publishing takes of the whole framework.

Every function runs in the current tenant's transaction; writes are audited with before
and after values. Services do not check who asks: routes and the API do (see
:mod:`scalemark.governance.kpi_rules` for the access rules).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.governance.kpi_rules import KpiData, KpiError, validate_kpi
from scalemark.governance.targets import Bounds
from scalemark.i18n import gettext as _
from scalemark.i18n.locale import supported_locales
from scalemark.identity import audit

__all__ = [
    "Kpi",
    "Translation",
    "create_kpi",
    "find_kpi",
    "get_kpi",
    "json_number",
    "kpi_snapshot",
    "list_kpis",
    "set_archived",
    "tenant_locales",
    "update_kpi",
]

_SELECT = (
    "SELECT d.id, d.key, d.scope_unit_id, u.code AS scope_code, u.name AS scope_name,"
    " u.path AS scope_path, u.locale AS scope_locale, d.level, d.unit_of_measure,"
    " d.direction, d.owner_role, d.measurement, d.mandatory, d.min_value, d.max_value,"
    " d.max_deviation_pct, d.archived_at, d.updated_at,"
    " coalesce((SELECT jsonb_object_agg(t.locale, jsonb_build_array(t.name, t.description))"
    " FROM kpi_translation t WHERE t.kpi_id = d.id), '{}'::jsonb)::text AS translations"
    " FROM kpi_definition d LEFT JOIN unit u ON u.id = d.scope_unit_id"
)
_ORDER = (
    " ORDER BY array_position(ARRAY['central', 'local', 'campaign']::varchar[], d.level),"
    " d.scope_unit_id NULLS FIRST, d.key"
)


@dataclass(frozen=True)
class Translation:
    """A KPI's name and description in one language."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class Kpi:
    """A KPI definition with its names in every language it has."""

    id: int
    key: str
    scope_unit_id: int | None
    """``None``: central; else the unit whose subtree this local addition applies to."""
    scope_code: str | None
    scope_name: str | None
    scope_path: str | None
    scope_locale: str | None
    level: str
    unit_of_measure: str
    direction: str
    owner_role: str
    measurement: str
    mandatory: bool
    bounds: Bounds
    archived: bool
    updated_at: datetime
    translations: dict[str, Translation] = field(default_factory=dict)

    @property
    def is_central(self) -> bool:
        """Defined by headquarters for every unit."""
        return self.scope_unit_id is None

    def applies_to(self, unit_path: str) -> bool:
        """The KPI holds at the unit with this path."""
        return self.scope_path is None or unit_path.startswith(self.scope_path)

    def name_in(self, locale: str, fallback: str | None = None) -> str:
        """Name in ``locale``, else in ``fallback`` (the tenant default), else any."""
        for candidate in (locale, fallback):
            if candidate and candidate in self.translations:
                return self.translations[candidate].name
        return next(iter(self.translations.values()), Translation(self.key)).name

    def description_in(self, locale: str, fallback: str | None = None) -> str:
        """Description in ``locale``, else in ``fallback``, else empty."""
        for candidate in (locale, fallback):
            if candidate and candidate in self.translations:
                text = self.translations[candidate].description
                if text:
                    return text
        return ""

    def as_record(self) -> dict[str, Any]:
        """Plain values for the audit log and the snapshot."""
        return {
            "key": self.key,
            "scope": self.scope_code,
            "level": self.level,
            "unit_of_measure": self.unit_of_measure,
            "direction": self.direction,
            "owner_role": self.owner_role,
            "measurement": self.measurement,
            "mandatory": self.mandatory,
            "bounds": {
                "min_value": json_number(self.bounds.min_value),
                "max_value": json_number(self.bounds.max_value),
                "max_deviation_pct": json_number(self.bounds.max_deviation_pct),
            },
            "archived": self.archived,
            "translations": {
                locale: {"name": t.name, "description": t.description}
                for locale, t in sorted(self.translations.items())
            },
        }


def json_number(value: Decimal | None) -> int | float | None:
    """A stored number for JSON: an integer when it is whole, else a float."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _kpi(row: Any) -> Kpi:
    raw = json.loads(row["translations"])
    return Kpi(
        id=row["id"],
        key=row["key"],
        scope_unit_id=row["scope_unit_id"],
        scope_code=row["scope_code"],
        scope_name=row["scope_name"],
        scope_path=row["scope_path"],
        scope_locale=row["scope_locale"],
        level=row["level"],
        unit_of_measure=row["unit_of_measure"],
        direction=row["direction"],
        owner_role=row["owner_role"],
        measurement=row["measurement"],
        mandatory=row["mandatory"],
        bounds=Bounds(row["min_value"], row["max_value"], row["max_deviation_pct"]),
        archived=row["archived_at"] is not None,
        updated_at=row["updated_at"],
        translations={k: Translation(v[0], v[1]) for k, v in sorted(raw.items())},
    )


async def tenant_locales() -> list[str]:
    """The tenant's languages, default first (call outside a tenant transaction)."""
    from scalemark.tenancy.resolver import resolve_tenant

    tenant = current_tenant()
    info = await resolve_tenant(tenant.slug)
    wanted = [tenant.default_locale, *(info.locales if info else [])]
    supported = supported_locales()
    return [code for code in dict.fromkeys(wanted) if code in supported] or ["en"]


async def list_kpis(*, include_archived: bool = False) -> list[Kpi]:
    """Every KPI, by level, central before local, then by key."""
    where = "" if include_archived else " WHERE d.archived_at IS NULL"
    async with tenant_transaction() as conn:
        return [_kpi(r) for r in await conn.fetch(_SELECT + where + _ORDER)]


async def get_kpi(kpi_id: int) -> Kpi | None:
    """One KPI by id (archived ones too)."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(_SELECT + " WHERE d.id = $1", kpi_id)
    return _kpi(row) if row else None


async def find_kpi(key: str, scope_unit_id: int | None = None) -> Kpi | None:
    """The KPI with this key in this scope (``None``: central)."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            _SELECT + " WHERE d.key = $1 AND d.scope_unit_id IS NOT DISTINCT FROM $2",
            key,
            scope_unit_id,
        )
    return _kpi(row) if row else None


async def _check_key(conn: Any, key: str, scope_path: str | None, exclude_id: int = 0) -> None:
    """Keys are unique among the KPIs that apply at any one unit.

    A central key clashes with every KPI of that key; a local one with central KPIs and
    with local ones of units above or below its unit (siblings may share keys).
    """
    clash = await conn.fetchval(
        "SELECT d.id FROM kpi_definition d LEFT JOIN unit u ON u.id = d.scope_unit_id"
        " WHERE d.key = $1 AND d.id <> $3 AND ($2::text IS NULL OR d.scope_unit_id IS NULL"
        " OR starts_with($2::text, u.path) OR starts_with(u.path, $2::text)) LIMIT 1",
        key,
        scope_path,
        exclude_id,
    )
    if clash is not None:
        raise KpiError({"key": _("Another KPI that applies here already uses this key.")})


async def _write_translations(conn: Any, kpi_id: int, data: KpiData) -> None:
    await conn.execute("DELETE FROM kpi_translation WHERE kpi_id = $1", kpi_id)
    await conn.executemany(
        "INSERT INTO kpi_translation (kpi_id, locale, name, description) VALUES ($1, $2, $3, $4)",
        [
            (kpi_id, locale, name, data.descriptions.get(locale, ""))
            for locale, name in sorted(data.names.items())
        ],
    )


async def _scope_unit(conn: Any, scope_unit_id: int | None) -> Any:
    if scope_unit_id is None:
        return None
    unit = await conn.fetchrow(
        "SELECT id, path, locale, parent_id FROM unit WHERE id = $1 AND archived_at IS NULL",
        scope_unit_id,
    )
    if unit is None:
        raise KpiError({"scope": _("Choose a unit from the list.")})
    return unit


async def create_kpi(data: KpiData, *, scope_unit_id: int | None, locales: list[str]) -> Kpi:
    """Define a KPI: central (``scope_unit_id`` ``None``) or a unit's local addition.

    ``locales`` are the tenant's languages, default first (:func:`tenant_locales`).
    """
    async with tenant_transaction() as conn:
        unit = await _scope_unit(conn, scope_unit_id)
        is_local = unit is not None and unit["parent_id"] is not None
        if unit is not None and not is_local:
            scope_unit_id, unit = None, None  # the HQ's own KPIs are central ones
        validate_kpi(
            data,
            tenant_locales=locales,
            scope_locale=unit["locale"] if unit else None,
            is_local=is_local,
        )
        await _check_key(conn, data.key, unit["path"] if unit else None)
        kpi_id = await conn.fetchval(
            "INSERT INTO kpi_definition (key, scope_unit_id, level, unit_of_measure, direction,"
            " owner_role, measurement, mandatory, min_value, max_value, max_deviation_pct)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            data.key,
            scope_unit_id,
            data.level,
            data.unit_of_measure,
            data.direction,
            data.owner_role,
            data.measurement,
            data.mandatory,
            data.bounds.min_value,
            data.bounds.max_value,
            data.bounds.max_deviation_pct,
        )
        await _write_translations(conn, kpi_id, data)
        created = await get_kpi(kpi_id)
        assert created is not None
        await audit.record(
            "kpi.create", object_type="kpi", object_id=kpi_id, after=created.as_record()
        )
    return created


async def update_kpi(kpi_id: int, data: KpiData, *, locales: list[str]) -> Kpi:
    """Change a definition; its key and scope stay as they are."""
    async with tenant_transaction() as conn:
        await conn.execute("SELECT 1 FROM kpi_definition WHERE id = $1 FOR UPDATE", kpi_id)
        before = await get_kpi(kpi_id)
        if before is None:
            raise KpiError({"form": _("This KPI does not exist.")})
        data.key = before.key
        validate_kpi(
            data,
            tenant_locales=locales,
            scope_locale=before.scope_locale,
            is_local=not before.is_central,
        )
        await conn.execute(
            "UPDATE kpi_definition SET level = $2, unit_of_measure = $3, direction = $4,"
            " owner_role = $5, measurement = $6, mandatory = $7, min_value = $8,"
            " max_value = $9, max_deviation_pct = $10, updated_at = now() WHERE id = $1",
            kpi_id,
            data.level,
            data.unit_of_measure,
            data.direction,
            data.owner_role,
            data.measurement,
            data.mandatory,
            data.bounds.min_value,
            data.bounds.max_value,
            data.bounds.max_deviation_pct,
        )
        await _write_translations(conn, kpi_id, data)
        after = await get_kpi(kpi_id)
        assert after is not None
        if after.as_record() != before.as_record():
            await audit.record(
                "kpi.update",
                object_type="kpi",
                object_id=kpi_id,
                before=before.as_record(),
                after=after.as_record(),
            )
    return after


async def set_archived(kpi_id: int, archived: bool = True) -> Kpi:
    """Archive a KPI (it stops applying; targets stay) or restore it."""
    async with tenant_transaction() as conn:
        before = await get_kpi(kpi_id)
        if before is None:
            raise KpiError({"form": _("This KPI does not exist.")})
        if before.archived == archived:
            return before
        if not archived:
            await _check_key(conn, before.key, before.scope_path, exclude_id=kpi_id)
        await conn.execute(
            "UPDATE kpi_definition SET archived_at = CASE WHEN $2 THEN now() END,"
            " updated_at = now() WHERE id = $1",
            kpi_id,
            archived,
        )
        after = await get_kpi(kpi_id)
        assert after is not None
        await audit.record(
            "kpi.archive" if archived else "kpi.restore",
            object_type="kpi",
            object_id=kpi_id,
            before={"archived": before.archived},
            after={"archived": after.archived},
        )
    return after


async def kpi_snapshot() -> dict[str, Any]:
    """The active KPI framework as plain JSON-ready data, for publishing a version.

    ``{"kpis": [...]}``, ordered by level, central before local, then key. Each entry:
    ``id``, ``key``, ``scope_unit_id`` / ``scope_code`` / ``scope_name`` (``None`` for
    central KPIs, else the unit whose subtree the local addition applies to), ``level``,
    ``unit_of_measure``, ``direction``, ``owner_role``, ``measurement``, ``mandatory``,
    ``bounds`` (``min_value``, ``max_value``, ``max_deviation_pct``), ``name`` and
    ``description`` (locale → text) and ``targets``: the central targets by period, i.e.
    those set at the top of the KPI's scope (the HQ for central KPIs). Numbers are ints
    when whole, else floats.
    """
    async with tenant_transaction() as conn:
        active = await conn.fetch(_SELECT + " WHERE d.archived_at IS NULL" + _ORDER)
        kpis = [_kpi(r) for r in active]
        rows = await conn.fetch(
            "SELECT t.kpi_id, t.period, t.value FROM kpi_target t"
            " JOIN kpi_definition d ON d.id = t.kpi_id"
            " JOIN unit u ON u.id = t.unit_id"
            " WHERE d.archived_at IS NULL AND u.id = coalesce(d.scope_unit_id,"
            " (SELECT id FROM unit WHERE parent_id IS NULL)) ORDER BY t.period"
        )
    central: dict[int, dict[str, int | float | None]] = {}
    for row in rows:
        central.setdefault(row["kpi_id"], {})[row["period"]] = json_number(row["value"])
    return {"kpis": [_snapshot_item(kpi, central.get(kpi.id, {})) for kpi in kpis]}


def _snapshot_item(kpi: Kpi, targets: dict[str, int | float | None]) -> dict[str, Any]:
    record = kpi.as_record()
    default = current_tenant().default_locale
    # The tenant's default language first: readers of a snapshot take the first name.
    translations = dict(
        sorted(record.pop("translations").items(), key=lambda item: (item[0] != default, item[0]))
    )
    record.pop("scope")
    record.pop("archived")
    return {
        "id": kpi.id,
        "key": kpi.key,
        "scope_unit_id": kpi.scope_unit_id,
        "scope_code": kpi.scope_code,
        "scope_name": kpi.scope_name,
        **{k: v for k, v in record.items() if k != "key"},
        "name": {locale: t["name"] for locale, t in translations.items()},
        "description": {locale: t["description"] for locale, t in translations.items()},
        "targets": targets,
    }
