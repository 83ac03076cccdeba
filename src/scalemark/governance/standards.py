"""Process and campaign standards: central ones from HQ, local additions for a subtree.

Rules are plain functions (:func:`validate_standard`, :func:`title_conflict`); the
service functions run in the current tenant's transaction and record every change in
the audit log with before and after.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from scalemark.db import tenant_transaction
from scalemark.governance.vocabulary import (
    CATEGORIES,
    GOVERNANCE_ROLES,
    LEVELS,
    TEXT_MAX,
    TITLE_MAX,
    UNIT_KINDS,
    GovernanceError,
    GovernanceErrors,
    clean_text,
    storable_id,
)
from scalemark.i18n import gettext as _
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit

__all__ = [
    "Standard",
    "StandardData",
    "archive_standard",
    "create_standard",
    "get_standard",
    "list_standards",
    "title_conflict",
    "update_standard",
    "validate_standard",
]


@dataclass(frozen=True)
class Standard:
    """A standard as pages, snapshots and the API show it."""

    id: int
    scope_unit_id: int | None
    """``None`` for central standards, else the unit whose subtree it holds for."""
    scope_code: str
    scope_name: str
    scope_path: str | None
    category: str
    title: str
    description: str
    level: str
    applies_to_kinds: tuple[str, ...]
    """Unit kinds it applies to; empty means every unit."""
    owner_role: str

    @property
    def central(self) -> bool:
        """Set by HQ for the whole organisation."""
        return self.scope_unit_id is None

    def snapshot(self) -> dict[str, Any]:
        """The standard in a published version (no paths: the tree may change)."""
        return {
            "id": self.id,
            "scope_unit_id": self.scope_unit_id,
            "scope_code": self.scope_code,
            "scope_name": self.scope_name,
            "category": self.category,
            "title": self.title,
            "description": self.description,
            "level": self.level,
            "applies_to_kinds": list(self.applies_to_kinds),
            "owner_role": self.owner_role,
        }

    def values(self) -> dict[str, Any]:
        """The editable fields, as the form shows them."""
        return {
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "level": self.level,
            "applies_to_kinds": list(self.applies_to_kinds),
            "owner_role": self.owner_role,
            "scope_unit_id": "" if self.scope_unit_id is None else str(self.scope_unit_id),
        }


@dataclass
class StandardData:
    """The editable fields of a standard."""

    title: str
    description: str = ""
    category: str = "process"
    level: str = "mandatory"
    applies_to_kinds: list[str] = field(default_factory=list)
    owner_role: str = "hq_admin"
    scope_unit_id: int | None = None


def validate_standard(data: StandardData) -> StandardData:
    """Normalise and check; raises :class:`GovernanceErrors` naming every bad field."""
    data.title = " ".join(clean_text(data.title, TITLE_MAX).split())
    data.description = clean_text(data.description)
    kinds = [k for k in dict.fromkeys(k.strip() for k in data.applies_to_kinds) if k]
    errors: dict[str, str] = {}
    if not data.title:
        errors["title"] = _("Give the standard a title.")
    elif len(data.title) > TITLE_MAX:
        errors["title"] = _("Use at most %(max)s characters for the title.", max=TITLE_MAX)
    if len(data.description) > TEXT_MAX:
        errors["description"] = _("Use at most %(max)s characters.", max=TEXT_MAX)
    if data.category not in CATEGORIES:
        errors["category"] = _("Choose process or campaign standard.")
    if data.level not in LEVELS:
        errors["level"] = _("Choose whether the standard is mandatory or recommended.")
    if any(k not in UNIT_KINDS for k in kinds):
        errors["applies_to_kinds"] = _("Choose unit kinds from the list.")
    if data.owner_role not in GOVERNANCE_ROLES:
        errors["owner_role"] = _("Choose the role that owns the standard.")
    if errors:
        raise GovernanceErrors(errors)
    data.applies_to_kinds = [k for k in UNIT_KINDS if k in kinds]
    return data


def _related(a: str | None, b: str | None) -> bool:
    """One scope lies within the other (central is above everything)."""
    pa, pb = a or "", b or ""
    return pa.startswith(pb) or pb.startswith(pa)


def title_conflict(
    title: str, scope_path: str | None, others: Iterable[Standard], *, exclude_id: int | None = None
) -> str | None:
    """Why ``title`` cannot be used at ``scope_path``, or ``None``.

    Two standards may share a title only when neither scope contains the other: a local
    addition never replaces (or weakens) a central or inherited standard, and a unit never
    gets two standards of the same name.
    """
    wanted = title.casefold()
    for other in others:
        if other.id == exclude_id or other.title.casefold() != wanted:
            continue
        if not _related(scope_path, other.scope_path):
            continue
        if (other.scope_path or "") == (scope_path or ""):
            return _("Another standard here already has this title.")
        if other.central:
            return _(
                "A central standard with this title already applies. A local addition"
                " cannot replace or weaken it; choose another title."
            )
        if scope_path is None or (other.scope_path or "").startswith(scope_path):
            return _(
                "%(unit)s already has a local standard with this title. Choose another title.",
                unit=other.scope_name,
            )
        return _(
            "A standard with this title already applies here from %(unit)s. Choose another title.",
            unit=other.scope_name,
        )
    return None


_SELECT = (
    "SELECT s.id, s.scope_unit_id, coalesce(u.code, '') AS scope_code,"
    " coalesce(u.name, '') AS scope_name, u.path AS scope_path, s.category, s.title,"
    " s.description, s.level, s.applies_to_kinds, s.owner_role"
    " FROM governance_standard s LEFT JOIN unit u ON u.id = s.scope_unit_id"
)
_ORDER = (
    " ORDER BY s.scope_unit_id IS NOT NULL, u.path, s.category DESC, s.position, lower(s.title)"
)


def _from_row(row: Any) -> Standard:
    return Standard(
        id=row["id"],
        scope_unit_id=row["scope_unit_id"],
        scope_code=row["scope_code"],
        scope_name=row["scope_name"],
        scope_path=row["scope_path"],
        category=row["category"],
        title=row["title"],
        description=row["description"],
        level=row["level"],
        applies_to_kinds=tuple(row["applies_to_kinds"] or ()),
        owner_role=row["owner_role"],
    )


async def list_standards(within: list[str] | None = None) -> list[Standard]:
    """Active standards: all of them, or central ones plus local ones in these subtrees."""
    async with tenant_transaction() as conn:
        if within is None:
            rows = await conn.fetch(f"{_SELECT} WHERE s.archived_at IS NULL{_ORDER}")
        else:
            rows = await conn.fetch(
                f"{_SELECT} WHERE s.archived_at IS NULL AND (s.scope_unit_id IS NULL"
                " OR EXISTS (SELECT 1 FROM unnest($1::text[]) p WHERE u.path LIKE p || '%'))"
                f"{_ORDER}",
                within,
            )
    return [_from_row(r) for r in rows]


async def get_standard(standard_id: int) -> Standard | None:
    """An active standard by id."""
    if not storable_id(standard_id):
        return None
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            f"{_SELECT} WHERE s.id = $1 AND s.archived_at IS NULL", standard_id
        )
    return _from_row(row) if row else None


async def _scope_path(conn: Any, scope_unit_id: int | None) -> str | None:
    if scope_unit_id is None:
        return None
    row = await conn.fetchrow(
        "SELECT path, parent_id FROM unit WHERE id = $1 AND archived_at IS NULL", scope_unit_id
    )
    if row is None:
        raise GovernanceError("scope_unit_id", _l("Choose a unit from the list."))
    if row["parent_id"] is None:
        raise GovernanceError(
            "scope_unit_id", _l("Standards of the headquarters are central: leave the unit empty.")
        )
    return str(row["path"])


async def _check_title(conn: Any, data: StandardData, exclude_id: int | None) -> None:
    path = await _scope_path(conn, data.scope_unit_id)
    rows = await conn.fetch(
        f"{_SELECT} WHERE s.archived_at IS NULL AND lower(s.title) = lower($1)", data.title
    )
    problem = title_conflict(data.title, path, map(_from_row, rows), exclude_id=exclude_id)
    if problem:
        raise GovernanceError("title", problem)


async def create_standard(data: StandardData) -> Standard:
    """Add a central standard or a local addition; checked and audited."""
    validate_standard(data)
    try:
        async with tenant_transaction() as conn:
            await _check_title(conn, data, None)
            standard_id = await conn.fetchval(
                "INSERT INTO governance_standard (scope_unit_id, category, title, description,"
                " level, applies_to_kinds, owner_role, position)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT coalesce(max(position) + 1, 0)"
                " FROM governance_standard)) RETURNING id",
                data.scope_unit_id,
                data.category,
                data.title,
                data.description,
                data.level,
                data.applies_to_kinds,
                data.owner_role,
            )
            created = await get_standard(standard_id)
            assert created is not None
            await audit.record(
                "governance.standard.create",
                object_type="governance_standard",
                object_id=standard_id,
                after=asdict(data),
            )
    except asyncpg.UniqueViolationError as exc:
        raise GovernanceError("title", _l("Another standard here already has this title.")) from exc
    return created


async def update_standard(standard_id: int, data: StandardData) -> Standard:
    """Change a standard's fields (its scope stays)."""
    validate_standard(data)
    try:
        async with tenant_transaction() as conn:
            before = await get_standard(standard_id)
            if before is None:
                raise GovernanceError("form", _l("This standard no longer exists."))
            data.scope_unit_id = before.scope_unit_id
            await _check_title(conn, data, standard_id)
            await conn.execute(
                "UPDATE governance_standard SET category = $2, title = $3, description = $4,"
                " level = $5, applies_to_kinds = $6, owner_role = $7, updated_at = now()"
                " WHERE id = $1",
                standard_id,
                data.category,
                data.title,
                data.description,
                data.level,
                data.applies_to_kinds,
                data.owner_role,
            )
            after = await get_standard(standard_id)
            assert after is not None
            await audit.record(
                "governance.standard.update",
                object_type="governance_standard",
                object_id=standard_id,
                before=before.snapshot(),
                after=after.snapshot(),
            )
    except asyncpg.UniqueViolationError as exc:
        raise GovernanceError("title", _l("Another standard here already has this title.")) from exc
    return after


async def archive_standard(standard_id: int) -> Standard:
    """Take a standard out of the draft (published versions keep it)."""
    async with tenant_transaction() as conn:
        before = await get_standard(standard_id)
        if before is None:
            raise GovernanceError("form", _l("This standard no longer exists."))
        await conn.execute(
            "UPDATE governance_standard SET archived_at = now(), updated_at = now() WHERE id = $1",
            standard_id,
        )
        await audit.record(
            "governance.standard.archive",
            object_type="governance_standard",
            object_id=standard_id,
            before=before.snapshot(),
        )
    return before
