"""Unit tree operations; every function runs in the current tenant's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scalemark.db import tenant_transaction
from scalemark.i18n import lazy_gettext as _l
from scalemark.org.rules import UnitData, UnitError, is_descendant_path, validate_unit

__all__ = [
    "UnitNode",
    "archive_unit",
    "children_of",
    "create_unit",
    "depth_first",
    "get_unit",
    "get_unit_by_code",
    "move_unit",
    "root_unit",
    "subtree",
    "update_unit",
    "whole_tree",
]

_COLUMNS = (
    "id, code, name, kind, parent_id, path, depth, position, locale, timezone, currency,"
    " archived_at, (SELECT count(*) FROM unit c WHERE c.parent_id = unit.id"
    " AND c.archived_at IS NULL) AS child_count"
)


@dataclass(frozen=True)
class UnitNode:
    """A unit as pages and the API show it."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    path: str
    depth: int
    position: int
    locale: str
    timezone: str
    currency: str
    archived: bool
    child_count: int

    @classmethod
    def from_row(cls, row: Any) -> UnitNode:
        """Build from a database row of :data:`_COLUMNS`."""
        return cls(
            id=row["id"],
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            parent_id=row["parent_id"],
            path=row["path"],
            depth=row["depth"],
            position=row["position"],
            locale=row["locale"],
            timezone=row["timezone"],
            currency=row["currency"].strip(),
            archived=row["archived_at"] is not None,
            child_count=row["child_count"],
        )


async def _fetch(sql: str, *args: Any) -> list[UnitNode]:
    async with tenant_transaction() as conn:
        return [UnitNode.from_row(r) for r in await conn.fetch(sql, *args)]


async def root_unit() -> UnitNode | None:
    """The HQ unit, if the tree has one."""
    found = await _fetch(f"SELECT {_COLUMNS} FROM unit WHERE parent_id IS NULL")
    return found[0] if found else None


async def get_unit(unit_id: int) -> UnitNode | None:
    """One unit by id."""
    found = await _fetch(f"SELECT {_COLUMNS} FROM unit WHERE id = $1", unit_id)
    return found[0] if found else None


async def get_unit_by_code(code: str) -> UnitNode | None:
    """One unit by code."""
    found = await _fetch(f"SELECT {_COLUMNS} FROM unit WHERE code = $1", code.upper())
    return found[0] if found else None


async def children_of(unit_id: int, *, include_archived: bool = False) -> list[UnitNode]:
    """Direct children in display order."""
    archived = "" if include_archived else " AND archived_at IS NULL"
    return await _fetch(
        f"SELECT {_COLUMNS} FROM unit WHERE parent_id = $1{archived} ORDER BY position, name",
        unit_id,
    )


def depth_first(nodes: list[UnitNode]) -> list[UnitNode]:
    """Order a subtree's units depth first, siblings by position then name."""
    present = {n.id for n in nodes}
    children: dict[int | None, list[UnitNode]] = {}
    for node in nodes:
        parent = node.parent_id if node.parent_id in present else None
        children.setdefault(parent, []).append(node)
    ordered: list[UnitNode] = []
    stack = sorted(children.get(None, []), key=lambda n: (n.position, n.name), reverse=True)
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(
            sorted(children.get(node.id, []), key=lambda n: (n.position, n.name), reverse=True)
        )
    return ordered


async def subtree(unit_id: int, *, include_archived: bool = False) -> list[UnitNode]:
    """The unit and all its descendants in depth-first order (one prefix scan)."""
    archived = "" if include_archived else " AND archived_at IS NULL"
    return depth_first(
        await _fetch(
            f"SELECT {_COLUMNS} FROM unit WHERE path LIKE (SELECT path FROM unit WHERE id = $1)"
            f" || '%'{archived}",
            unit_id,
        )
    )


async def whole_tree(*, include_archived: bool = False) -> list[UnitNode]:
    """Every unit in depth-first order."""
    archived = "" if include_archived else " WHERE archived_at IS NULL"
    return depth_first(await _fetch(f"SELECT {_COLUMNS} FROM unit{archived}"))


async def create_unit(data: UnitData, parent_code: str | None) -> UnitNode:
    """Add a unit under ``parent_code`` (``None`` creates the HQ root)."""
    validate_unit(data, is_root=parent_code is None)
    async with tenant_transaction() as conn:
        if await conn.fetchval("SELECT 1 FROM unit WHERE code = $1", data.code):
            raise UnitError("code", _l("Another unit already uses this code."))
        if parent_code is None:
            if await conn.fetchval("SELECT 1 FROM unit WHERE parent_id IS NULL"):
                raise UnitError("parent", _l("The organisation already has a headquarters."))
            parent_id, parent_path, depth = None, "/", 0
        else:
            parent = await conn.fetchrow(
                "SELECT id, path, depth FROM unit WHERE code = $1 AND archived_at IS NULL",
                parent_code.upper(),
            )
            if parent is None:
                raise UnitError("parent", _l("Choose an existing parent unit."))
            parent_id, parent_path, depth = parent["id"], parent["path"], parent["depth"] + 1
        row = await conn.fetchrow(
            "WITH n AS (SELECT nextval(pg_get_serial_sequence('unit', 'id')) AS id)"
            " INSERT INTO unit (id, code, name, kind, parent_id, path, depth, position,"
            " locale, timezone, currency)"
            " SELECT n.id, $1, $2, $3, $4, $5 || n.id || '/', $6,"
            " (SELECT coalesce(max(position) + 1, 0) FROM unit WHERE parent_id = $4),"
            " $7, $8, $9 FROM n RETURNING id",
            data.code,
            data.name,
            data.kind,
            parent_id,
            parent_path,
            depth,
            data.locale,
            data.timezone,
            data.currency,
        )
        created = await get_unit(row["id"])
    assert created is not None
    return created


async def update_unit(unit_id: int, data: UnitData) -> UnitNode:
    """Change a unit's fields (not its place in the tree)."""
    current = await get_unit(unit_id)
    if current is None:
        raise UnitError("unit", _l("This unit does not exist."))
    validate_unit(data, is_root=current.parent_id is None)
    async with tenant_transaction() as conn:
        clash = await conn.fetchval(
            "SELECT 1 FROM unit WHERE code = $1 AND id <> $2", data.code, unit_id
        )
        if clash:
            raise UnitError("code", _l("Another unit already uses this code."))
        await conn.execute(
            "UPDATE unit SET code = $2, name = $3, kind = $4, locale = $5, timezone = $6,"
            " currency = $7, updated_at = now() WHERE id = $1",
            unit_id,
            data.code,
            data.name,
            data.kind,
            data.locale,
            data.timezone,
            data.currency,
        )
    updated = await get_unit(unit_id)
    assert updated is not None
    return updated


async def move_unit(unit_id: int, new_parent_id: int) -> UnitNode:
    """Put a unit (and its subtree) under another parent; refuses cycles."""
    async with tenant_transaction() as conn:
        # Lock the whole tree: concurrent moves must not interleave path rewrites.
        await conn.execute("LOCK TABLE unit IN SHARE ROW EXCLUSIVE MODE")
        unit = await conn.fetchrow(
            "SELECT id, path, depth, parent_id FROM unit WHERE id = $1", unit_id
        )
        parent = await conn.fetchrow(
            "SELECT id, path, depth FROM unit WHERE id = $1 AND archived_at IS NULL", new_parent_id
        )
        if unit is None or parent is None:
            raise UnitError("parent", _l("Choose an existing parent unit."))
        if unit["parent_id"] is None:
            raise UnitError("parent", _l("The headquarters cannot be moved."))
        if is_descendant_path(parent["path"], unit["path"]):
            raise UnitError("parent", _l("A unit cannot move below itself or its own sub-units."))
        new_path = f"{parent['path']}{unit_id}/"
        await conn.execute(
            "UPDATE unit SET path = $2 || substr(path, length($1) + 1),"
            " depth = depth + $3, updated_at = now() WHERE path LIKE $1 || '%'",
            unit["path"],
            new_path,
            parent["depth"] + 1 - unit["depth"],
        )
        await conn.execute(
            "UPDATE unit SET parent_id = $2, position = (SELECT coalesce(max(position) + 1, 0)"
            " FROM unit WHERE parent_id = $2) WHERE id = $1",
            unit_id,
            new_parent_id,
        )
    moved = await get_unit(unit_id)
    assert moved is not None
    return moved


async def archive_unit(unit_id: int, *, archived: bool = True) -> int:
    """Archive (or restore) a unit and its subtree; history stays. Returns units changed."""
    async with tenant_transaction() as conn:
        unit = await conn.fetchrow("SELECT path, parent_id FROM unit WHERE id = $1", unit_id)
        if unit is None:
            raise UnitError("unit", _l("This unit does not exist."))
        if unit["parent_id"] is None:
            raise UnitError("unit", _l("The headquarters cannot be archived."))
        stamp = "now()" if archived else "NULL"
        result = await conn.execute(
            f"UPDATE unit SET archived_at = {stamp}, updated_at = now()"
            " WHERE path LIKE $1 || '%' AND (archived_at IS NULL) = $2",
            unit["path"],
            archived,
        )
    return int(result.split()[-1])
