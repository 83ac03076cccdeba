"""Tenant blueprints: declarative TOML files that ``tenants apply`` makes true.

A blueprint names the organisation and lists its units with their parents by code.
Applying it creates the tenant if needed and then creates, updates, moves, archives and
restores units until the tree matches; applying it twice changes nothing the second time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from scalemark.db.tenant_context import tenant_transaction
from scalemark.i18n.locale import supported_locales
from scalemark.identity.blueprint_identity import (
    BlueprintIdentity,
    IdentitySectionError,
    apply_identity,
    parse_identity,
)
from scalemark.org import service
from scalemark.org.rules import UnitData, UnitError, validate_unit
from scalemark.tenancy.provisioning import create_tenant
from scalemark.tenancy.registry import get_tenant
from scalemark.tenancy.resolver import forget_tenant
from scalemark.tenancy.slugs import InvalidSlugError, validate_slug

__all__ = [
    "ApplyResult",
    "Blueprint",
    "BlueprintError",
    "BlueprintUnit",
    "apply_blueprint",
    "load_blueprint",
]


class BlueprintError(ValueError):
    """A blueprint that cannot be applied; the message names the place."""


@dataclass
class BlueprintUnit:
    """One unit line of a blueprint."""

    data: UnitData
    """Fields of the unit."""
    parent: str | None
    """Parent's code; ``None`` for the HQ."""


@dataclass
class Blueprint:
    """A parsed, validated blueprint."""

    slug: str
    name: str
    default_locale: str
    locales: list[str]
    units: list[BlueprintUnit]
    extra: dict[str, Any] = field(default_factory=dict)
    """Sections other domains read (users, roles, identity provider)."""
    identity: BlueprintIdentity = field(default_factory=BlueprintIdentity)
    """``[[users]]``, ``[[consultants]]``, ``[identity_provider]``
    (see :mod:`scalemark.identity.blueprint_identity`)."""


@dataclass
class ApplyResult:
    """What applying changed."""

    created_tenant: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    identity: list[str] = field(default_factory=list)
    """Accounts, memberships, consultant assignments and the identity provider written."""

    @property
    def changed(self) -> bool:
        """True when anything was changed."""
        return bool(
            self.created_tenant
            or self.created
            or self.updated
            or self.moved
            or self.archived
            or self.restored
            or self.identity
        )


def _text(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise BlueprintError(f"{where}: '{key}' must be a non-empty text")
    return value.strip()


def parse_blueprint(document: dict[str, Any]) -> Blueprint:
    """Validate a decoded TOML document; errors name the section and unit."""
    tenant = document.get("tenant")
    if not isinstance(tenant, dict):
        raise BlueprintError("missing [tenant] section")
    slug = _text(tenant, "slug", "[tenant]")
    try:
        validate_slug(slug)
    except InvalidSlugError as exc:
        raise BlueprintError(f"[tenant]: {exc}") from exc
    default_locale = _text(tenant, "default_locale", "[tenant]", "en")
    locales = tenant.get("locales", [default_locale])
    if not isinstance(locales, list) or not all(isinstance(x, str) for x in locales):
        raise BlueprintError("[tenant]: 'locales' must be a list of language codes")
    unknown = [x for x in [default_locale, *locales] if x not in supported_locales()]
    if unknown:
        raise BlueprintError(f"[tenant]: unsupported languages {unknown}")
    raw_units = document.get("units", [])
    if not isinstance(raw_units, list):
        raise BlueprintError("'units' must be an array of tables ([[units]])")
    units: list[BlueprintUnit] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_units, start=1):
        where = f"[[units]] #{index}"
        if not isinstance(raw, dict):
            raise BlueprintError(f"{where}: must be a table")
        parent = raw.get("parent")
        data = UnitData(
            code=_text(raw, "code", where),
            name=_text(raw, "name", where),
            kind=_text(raw, "kind", where),
            locale=_text(raw, "locale", where, default_locale),
            timezone=_text(raw, "timezone", where, "UTC"),
            currency=_text(raw, "currency", where, "EUR"),
        )
        try:
            validate_unit(data, is_root=parent is None)
        except UnitError as exc:
            raise BlueprintError(f"{where} ({data.code}): {exc.field}: {exc}") from exc
        if data.code in seen:
            raise BlueprintError(f"{where}: duplicate code {data.code}")
        if parent is not None and (not isinstance(parent, str) or parent.upper() not in seen):
            raise BlueprintError(
                f"{where} ({data.code}): parent {parent!r} must be listed before it"
            )
        seen.add(data.code)
        units.append(BlueprintUnit(data=data, parent=parent.upper() if parent else None))
    roots = [u for u in units if u.parent is None]
    if units and len(roots) != 1:
        raise BlueprintError("exactly one unit without parent (the HQ) is required")
    extra = {k: v for k, v in document.items() if k not in {"tenant", "units"}}
    try:
        identity = parse_identity(document, seen)
    except IdentitySectionError as exc:
        raise BlueprintError(str(exc)) from exc
    return Blueprint(
        slug=slug,
        name=_text(tenant, "name", "[tenant]"),
        default_locale=default_locale,
        locales=list(dict.fromkeys([default_locale, *locales])),
        units=units,
        extra=extra,
        identity=identity,
    )


def load_blueprint(path: Path) -> Blueprint:
    """Read and validate a blueprint file."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BlueprintError(f"{path}: {exc}") from exc
    return parse_blueprint(document)


def _differs(node: service.UnitNode, data: UnitData) -> bool:
    return (node.name, node.kind, node.locale, node.timezone, node.currency) != (
        data.name,
        data.kind,
        data.locale,
        data.timezone,
        data.currency,
    )


async def apply_blueprint(conn: asyncpg.Connection, blueprint: Blueprint) -> ApplyResult:
    """Make the tenant match the blueprint (``conn`` is used for provisioning only)."""
    result = ApplyResult()
    info = await get_tenant(blueprint.slug)
    if info is None:
        await create_tenant(
            conn,
            blueprint.slug,
            blueprint.name,
            default_locale=blueprint.default_locale,
            locales=blueprint.locales,
        )
        result.created_tenant = True
        forget_tenant(blueprint.slug)
        info = await get_tenant(blueprint.slug)
        assert info is not None
    elif (info.name, info.default_locale, info.locales) != (
        blueprint.name,
        blueprint.default_locale,
        blueprint.locales,
    ):
        await conn.execute(
            "UPDATE scalemark.tenant SET name = $2, default_locale = $3, locales = $4,"
            " updated_at = now() WHERE slug = $1",
            blueprint.slug,
            blueprint.name,
            blueprint.default_locale,
            blueprint.locales,
        )
        forget_tenant(blueprint.slug)
        result.updated.append("[tenant]")
    async with tenant_transaction(info.ref):
        await _apply_units(blueprint, result)
    # Identity sections write shared tables: outside the tenant transaction, step by step.
    try:
        result.identity = await apply_identity(info, blueprint.identity)
    except IdentitySectionError as exc:
        raise BlueprintError(str(exc)) from exc
    return result


async def _apply_units(blueprint: Blueprint, result: ApplyResult) -> None:
    existing = {n.code: n for n in await service.whole_tree(include_archived=True)}
    for unit in blueprint.units:
        code = unit.data.code
        node = existing.get(code)
        if node is None:
            await service.create_unit(unit.data, unit.parent)
            result.created.append(code)
            continue
        if node.archived:
            await service.archive_unit(node.id, archived=False)
            result.restored.append(code)
        if _differs(node, unit.data):
            await service.update_unit(node.id, unit.data)
            result.updated.append(code)
        parent = existing.get(unit.parent) if unit.parent else None
        current_parent_code = next((c for c, n in existing.items() if n.id == node.parent_id), None)
        if unit.parent and current_parent_code != unit.parent:
            target = parent or await service.get_unit_by_code(unit.parent)
            assert target is not None
            await service.move_unit(node.id, target.id)
            result.moved.append(code)
    wanted = {u.data.code for u in blueprint.units}
    for code, node in existing.items():
        if code not in wanted and not node.archived and node.parent_id is not None:
            fresh = await service.get_unit(node.id)
            if fresh and not fresh.archived:
                await service.archive_unit(node.id)
                result.archived.append(code)
