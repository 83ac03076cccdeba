"""The operating model: decision paths, escalation levels and coordination rhythms
(which meeting, how often, who takes part) — the whitepaper's "definierte
Abstimmungsmechanismen, klare Entscheidungswege, strukturierte Eskalationslogik".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from scalemark.db import tenant_transaction
from scalemark.governance.vocabulary import (
    CADENCES,
    GOVERNANCE_ROLES,
    OPERATING_MODEL_KINDS,
    TEXT_MAX,
    TITLE_MAX,
    GovernanceError,
    GovernanceErrors,
    clean_text,
    storable_id,
)
from scalemark.i18n import gettext as _
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit

__all__ = [
    "ModelItem",
    "ModelItemData",
    "archive_item",
    "create_item",
    "get_item",
    "list_items",
    "update_item",
    "validate_item",
]


@dataclass
class ModelItemData:
    """The editable fields of an operating model item."""

    kind: str
    title: str
    details: str = ""
    cadence: str = ""
    participants: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelItem:
    """An item as pages and snapshots show it."""

    id: int
    kind: str
    title: str
    details: str
    cadence: str
    participants: tuple[str, ...]

    def snapshot(self) -> dict[str, Any]:
        """The item in a published version."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "details": self.details,
            "cadence": self.cadence or None,
            "participants": list(self.participants),
        }

    def values(self) -> dict[str, Any]:
        """The editable fields, as the form shows them."""
        return {
            "kind": self.kind,
            "title": self.title,
            "details": self.details,
            "cadence": self.cadence,
            "participants": list(self.participants),
        }


def validate_item(data: ModelItemData) -> ModelItemData:
    """Normalise and check; raises :class:`GovernanceErrors` naming every bad field.

    Coordination rhythms need a cadence and at least one participating role; the other
    kinds take neither a cadence nor participants (they are dropped).
    """
    data.title = " ".join(clean_text(data.title, TITLE_MAX).split())
    data.details = clean_text(data.details)
    data.cadence = (data.cadence or "").strip()
    roles = [r for r in dict.fromkeys(p.strip() for p in data.participants) if r]
    errors: dict[str, str] = {}
    if data.kind not in OPERATING_MODEL_KINDS:
        errors["kind"] = _("Choose a decision path, an escalation level or a coordination rhythm.")
    if not data.title:
        errors["title"] = _("Give the item a title.")
    elif len(data.title) > TITLE_MAX:
        errors["title"] = _("Use at most %(max)s characters for the title.", max=TITLE_MAX)
    if len(data.details) > TEXT_MAX:
        errors["details"] = _("Use at most %(max)s characters.", max=TEXT_MAX)
    if any(r not in GOVERNANCE_ROLES for r in roles):
        errors["participants"] = _("Choose roles from the list.")
    if data.kind == "coordination_rhythm":
        if data.cadence not in CADENCES:
            errors["cadence"] = _("Choose how often the meeting takes place.")
        if not roles and "participants" not in errors:
            errors["participants"] = _("Choose at least one role that takes part.")
    if errors:
        raise GovernanceErrors(errors)
    if data.kind == "coordination_rhythm":
        data.participants = [r for r in GOVERNANCE_ROLES if r in roles]
    else:
        data.cadence, data.participants = "", []
    return data


_SELECT = (
    "SELECT id, kind, title, details, cadence, participants FROM operating_model_item"
    " WHERE archived_at IS NULL"
)
_ORDER = (
    " ORDER BY array_position(ARRAY['decision_path', 'escalation_level',"
    " 'coordination_rhythm']::text[], kind::text), position, id"
)


def _from_row(row: Any) -> ModelItem:
    return ModelItem(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        details=row["details"],
        cadence=row["cadence"] or "",
        participants=tuple(row["participants"] or ()),
    )


async def list_items() -> list[ModelItem]:
    """Every active item, by kind then position."""
    async with tenant_transaction() as conn:
        return [_from_row(r) for r in await conn.fetch(_SELECT + _ORDER)]


async def get_item(item_id: int) -> ModelItem | None:
    """An active item by id."""
    if not storable_id(item_id):
        return None
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(_SELECT + " AND id = $1", item_id)
    return _from_row(row) if row else None


_DUPLICATE = _l("This part of the operating model already has an item with this title.")


async def _check_title(conn: Any, data: ModelItemData, exclude_id: int | None) -> None:
    clash = await conn.fetchval(
        "SELECT 1 FROM operating_model_item WHERE archived_at IS NULL AND kind = $1"
        " AND lower(title) = lower($2) AND id IS DISTINCT FROM $3",
        data.kind,
        data.title,
        exclude_id,
    )
    if clash:
        raise GovernanceError("title", _DUPLICATE)


async def create_item(data: ModelItemData) -> ModelItem:
    """Add an item at the end of its kind; checked and audited."""
    validate_item(data)
    try:
        async with tenant_transaction() as conn:
            await _check_title(conn, data, None)
            item_id = await conn.fetchval(
                "INSERT INTO operating_model_item (kind, title, details, cadence, participants,"
                " position) VALUES ($1::varchar, $2, $3, $4, $5,"
                " (SELECT coalesce(max(position) + 1, 0) FROM operating_model_item"
                " WHERE kind = $1::varchar)) RETURNING id",
                data.kind,
                data.title,
                data.details,
                data.cadence or None,
                data.participants,
            )
            created = await get_item(item_id)
            assert created is not None
            await audit.record(
                "governance.operating_model.create",
                object_type="operating_model_item",
                object_id=item_id,
                after=asdict(data),
            )
    except asyncpg.UniqueViolationError as exc:
        raise GovernanceError("title", _DUPLICATE) from exc
    return created


async def update_item(item_id: int, data: ModelItemData) -> ModelItem:
    """Change an item (its kind stays)."""
    try:
        async with tenant_transaction() as conn:
            before = await get_item(item_id)
            if before is None:
                raise GovernanceError("form", _l("This item no longer exists."))
            data.kind = before.kind
            validate_item(data)
            await _check_title(conn, data, item_id)
            await conn.execute(
                "UPDATE operating_model_item SET title = $2, details = $3, cadence = $4,"
                " participants = $5, updated_at = now() WHERE id = $1",
                item_id,
                data.title,
                data.details,
                data.cadence or None,
                data.participants,
            )
            after = await get_item(item_id)
            assert after is not None
            await audit.record(
                "governance.operating_model.update",
                object_type="operating_model_item",
                object_id=item_id,
                before=before.snapshot(),
                after=after.snapshot(),
            )
    except asyncpg.UniqueViolationError as exc:
        raise GovernanceError("title", _DUPLICATE) from exc
    return after


async def archive_item(item_id: int) -> ModelItem:
    """Take an item out of the draft (published versions keep it)."""
    async with tenant_transaction() as conn:
        before = await get_item(item_id)
        if before is None:
            raise GovernanceError("form", _l("This item no longer exists."))
        await conn.execute(
            "UPDATE operating_model_item SET archived_at = now(), updated_at = now() WHERE id = $1",
            item_id,
        )
        await audit.record(
            "governance.operating_model.archive",
            object_type="operating_model_item",
            object_id=item_id,
            before=before.snapshot(),
        )
    return before
