"""The unit tree editor's operations: audited changes, scope checks and kind labels.

Each change runs in one tenant transaction together with its audit event (before and
after), so the log and the tree never disagree. Scope rules (plain functions):

- editing a unit needs ``edit_units`` at the unit;
- adding needs it at the parent; moving needs it at the unit and at the new parent;
- archiving and restoring need it at the unit's parent, so nobody archives the unit
  their own role hangs on (they would lock themselves out), and the headquarters stays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalemark.db import current_tenant, tenant_transaction
from scalemark.i18n import current_locale
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission
from scalemark.org import service
from scalemark.org.rules import UNIT_KINDS, UnitData, UnitError, is_descendant_path
from scalemark.org.service import UnitNode

__all__ = [
    "KIND_LABEL_MAX",
    "UnitChange",
    "add_unit",
    "archive_unit",
    "can_archive",
    "edit_unit",
    "editable_units",
    "kind_label_rows",
    "kind_labels",
    "move_targets",
    "move_unit",
    "parent_path",
    "restore_unit",
    "save_kind_labels",
    "snapshot",
    "unit_history",
]

EDIT = Permission.EDIT_UNITS
KIND_LABEL_MAX = 60
"""Longest tenant label of a unit kind."""


def parent_path(path: str) -> str | None:
    """The materialised path of a unit's parent (``None`` for the root)."""
    trimmed = path.rstrip("/")
    cut = trimmed.rfind("/")
    return trimmed[: cut + 1] if cut > 0 else None


def can_archive(principal: Principal, unit: UnitNode) -> bool:
    """Archive or restore: rights at the parent (never the headquarters)."""
    above = parent_path(unit.path)
    return above is not None and principal.can(EDIT, above)


def editable_units(principal: Principal, units: list[UnitNode]) -> list[UnitNode]:
    """The units ``principal`` may edit, in the given order."""
    return [u for u in units if principal.can(EDIT, u.path)]


def move_targets(principal: Principal, unit: UnitNode, units: list[UnitNode]) -> list[UnitNode]:
    """Where ``unit`` may go: active units in scope, not itself, below it or its parent."""
    if unit.parent_id is None or unit.archived:
        return []
    return [
        u
        for u in units
        if not u.archived
        and u.id != unit.parent_id
        and not is_descendant_path(u.path, unit.path)
        and principal.can(EDIT, u.path)
    ]


def snapshot(unit: UnitNode, parent_code: str | None = None) -> dict[str, Any]:
    """A unit's fields for the audit log."""
    data: dict[str, Any] = {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "locale": unit.locale,
        "timezone": unit.timezone,
        "currency": unit.currency,
        "archived": unit.archived,
    }
    if parent_code is not None:
        data["parent"] = parent_code
    return data


async def _code_of(unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    parent = await service.get_unit(unit_id)
    return parent.code if parent else None


async def add_unit(data: UnitData, parent: UnitNode) -> UnitNode:
    """Create a unit below ``parent`` (audited)."""
    async with tenant_transaction():
        created = await service.create_unit(data, parent.code)
        await audit.record(
            "unit.create",
            object_type="unit",
            object_id=created.id,
            after=snapshot(created, parent.code),
        )
    return created


async def edit_unit(unit: UnitNode, data: UnitData) -> UnitNode:
    """Change a unit's fields (audited with before and after)."""
    async with tenant_transaction():
        before = await service.get_unit(unit.id)
        if before is None:
            raise UnitError("unit", _l("This unit does not exist."))
        updated = await service.update_unit(unit.id, data)
        if snapshot(before) != snapshot(updated):
            await audit.record(
                "unit.update",
                object_type="unit",
                object_id=unit.id,
                before=snapshot(before),
                after=snapshot(updated),
            )
    return updated


async def move_unit(unit: UnitNode, new_parent: UnitNode) -> UnitNode:
    """Put a unit under another parent; cycles are refused (audited)."""
    async with tenant_transaction():
        old_parent = await _code_of(unit.parent_id)
        moved = await service.move_unit(unit.id, new_parent.id)
        await audit.record(
            "unit.move",
            object_type="unit",
            object_id=unit.id,
            before={"code": unit.code, "parent": old_parent, "depth": unit.depth},
            after={"code": moved.code, "parent": new_parent.code, "depth": moved.depth},
        )
    return moved


async def archive_unit(unit: UnitNode) -> int:
    """Archive a unit and its sub-units (history stays; audited). Returns units changed."""
    async with tenant_transaction():
        changed = await service.archive_unit(unit.id, archived=True)
        await audit.record(
            "unit.archive",
            object_type="unit",
            object_id=unit.id,
            before=snapshot(unit),
            after={**snapshot(unit), "archived": True, "units_archived": changed},
        )
    return changed


async def restore_unit(unit: UnitNode) -> int:
    """Bring an archived unit and its sub-units back (audited). Returns units changed."""
    async with tenant_transaction() as conn:
        if unit.parent_id is not None:
            parent_archived = await conn.fetchval(
                "SELECT archived_at IS NOT NULL FROM unit WHERE id = $1", unit.parent_id
            )
            if parent_archived:
                raise UnitError(
                    "unit", _l("Its parent unit is archived too. Restore the parent first.")
                )
        changed = await service.archive_unit(unit.id, archived=False)
        await audit.record(
            "unit.restore",
            object_type="unit",
            object_id=unit.id,
            before=snapshot(unit),
            after={**snapshot(unit), "archived": False, "units_restored": changed},
        )
    return changed


@dataclass(frozen=True)
class UnitChange:
    """One audit event about a unit, for its history."""

    created_at: datetime
    actor_label: str
    action: str
    before: Any
    after: Any


async def unit_history(unit_id: int, limit: int = 10) -> list[UnitChange]:
    """The newest changes of a unit from the audit log."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT created_at, actor_label, action, before, after FROM audit_event"
            " WHERE object_type = 'unit' AND object_id = $1 ORDER BY id DESC LIMIT $2",
            str(unit_id),
            limit,
        )
    return [
        UnitChange(
            created_at=r["created_at"],
            actor_label=r["actor_label"],
            action=r["action"],
            before=json.loads(r["before"]) if r["before"] else None,
            after=json.loads(r["after"]) if r["after"] else None,
        )
        for r in rows
    ]


# --------------------------------------------------------------------------- kind labels


async def _label_rows() -> dict[tuple[str, str], str]:
    async with tenant_transaction() as conn:
        rows = await conn.fetch("SELECT kind, locale, label FROM unit_kind_label")
    return {(r["kind"], r["locale"]): r["label"] for r in rows}


_schemas_with_labels: set[str] = set()
"""Tenant schemas known to have ``unit_kind_label`` (tables are never dropped)."""


async def kind_labels(locale: str | None = None) -> dict[str, str]:
    """Every unit kind's name in ``locale`` (default: the current one), tenant's first.

    Tree pages call this too, so it copes with a schema one migration behind (no
    ``unit_kind_label`` yet): then the built-in names are used.
    """
    locale = locale or current_locale()
    rows: list[Any] = []
    async with tenant_transaction() as conn:
        schema = current_tenant().schema
        if schema not in _schemas_with_labels and await conn.fetchval(
            "SELECT to_regclass('unit_kind_label') IS NOT NULL"
        ):
            _schemas_with_labels.add(schema)
        if schema in _schemas_with_labels:
            rows = await conn.fetch(
                "SELECT kind, label FROM unit_kind_label WHERE locale = $1", locale
            )
    own = {r["kind"]: r["label"] for r in rows}
    return {kind: own.get(kind) or str(label) for kind, label in UNIT_KINDS.items()}


async def kind_label_rows() -> dict[tuple[str, str], str]:
    """The tenant's own labels by (kind, locale)."""
    return await _label_rows()


async def save_kind_labels(
    form: Mapping[str, str], locales: list[str]
) -> tuple[dict[tuple[str, str], str], dict[str, object]]:
    """Save ``label_<kind>_<locale>`` fields; blank removes a label (built-in name again).

    Returns the labels as saved and errors by field name (nothing is saved then).
    """
    wanted: dict[tuple[str, str], str] = {}
    errors: dict[str, object] = {}
    for kind in UNIT_KINDS:
        for locale in locales:
            name = f"label_{kind}_{locale}"
            value = " ".join((form.get(name) or "").split())
            if len(value) > KIND_LABEL_MAX:
                errors[name] = _l("Use at most 60 characters.")
            elif value:
                wanted[(kind, locale)] = value
    if errors:
        return wanted, errors
    async with tenant_transaction() as conn:
        before = await _label_rows()
        for kind in UNIT_KINDS:
            for locale in locales:
                key = (kind, locale)
                if key in wanted and before.get(key) != wanted[key]:
                    await conn.execute(
                        "INSERT INTO unit_kind_label (kind, locale, label) VALUES ($1, $2, $3)"
                        " ON CONFLICT (kind, locale) DO UPDATE SET label = EXCLUDED.label,"
                        " updated_at = now()",
                        kind,
                        locale,
                        wanted[key],
                    )
                elif key not in wanted and key in before:
                    await conn.execute(
                        "DELETE FROM unit_kind_label WHERE kind = $1 AND locale = $2", kind, locale
                    )
        after = await _label_rows()
        if after != before:
            await audit.record(
                "unit_kind_label.update",
                object_type="unit_kind_label",
                before={f"{k}/{loc}": v for (k, loc), v in sorted(before.items())},
                after={f"{k}/{loc}": v for (k, loc), v in sorted(after.items())},
            )
    return after, {}
