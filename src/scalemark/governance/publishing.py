"""Publishing the governance as numbered versions, and what each unit sees of them.

A version is an immutable snapshot document of every governance part::

    {"format": 1,
     "standards": [...], "workflows": [...], "raci": [...], "operating_model": [...],
     "kpis": {...}}          # only when the KPI framework is installed

Units never see drafts: :func:`published_for_unit` reads the latest version only and
keeps what applies to the unit (central items, local additions of its ancestors and its
own). :func:`diff_versions` lists the changes between two snapshots ("what changed since
version N"); :func:`view_for_unit` and :func:`merge_local` are the plain rules behind the
unit view and behind a unit lead publishing only their subtree's local additions.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalemark.db import tenant_transaction
from scalemark.governance import operating_model, raci, standards, workflows
from scalemark.governance.vocabulary import GovernanceError, storable_id
from scalemark.i18n import current_locale
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit
from scalemark.identity.principal import current_principal

__all__ = [
    "PARTS",
    "SNAPSHOT_FORMAT",
    "Change",
    "Version",
    "candidate",
    "diff_versions",
    "draft_snapshot",
    "empty_snapshot",
    "get_version",
    "kpi_part",
    "latest_version",
    "list_versions",
    "merge_local",
    "publish",
    "published_for_unit",
    "view_for_unit",
]

SNAPSHOT_FORMAT = 1
PARTS = ("standards", "workflows", "raci", "operating_model")
"""Parts of a snapshot that hold lists of items with an ``id`` (``kpis`` comes on top)."""
NOTE_MAX = 2000

_IGNORED_FIELDS = frozenset({"id", "scope_code", "scope_name", "origin", "applies"})
"""Display fields that do not make an item "changed" (a unit rename is no governance change)."""


@dataclass(frozen=True)
class Change:
    """One difference between two versions."""

    part: str
    """``standards``, ``workflows``, ``raci``, ``operating_model`` or ``kpis[.<list>]``."""
    action: str
    """``added``, ``removed`` or ``changed``."""
    item_id: str
    title: str
    fields: tuple[str, ...] = ()
    """Names of the changed fields (``changed`` only)."""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True)
class Version:
    """A published version."""

    number: int
    published_at: datetime
    published_by: str
    scope_unit_id: int | None
    """Set when a unit lead published only their subtree's local additions."""
    scope_name: str
    note: str
    snapshot: dict[str, Any]


def empty_snapshot() -> dict[str, Any]:
    """A snapshot with nothing in it (the state before the first version)."""
    return {"format": SNAPSHOT_FORMAT, **{part: [] for part in PARTS}}


# --------------------------------------------------------------------------- diffs


def _identity(item: dict[str, Any]) -> str:
    for key in ("id", "key", "code"):
        if key in item:
            return str(item[key])
    return json.dumps(item, sort_keys=True, default=str)


def _title(item: dict[str, Any]) -> str:
    for key in ("title", "name", "key", "code"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and value:
            return str(value.get(current_locale()) or next(iter(value.values())))
    return _identity(item)


def _diff_items(
    part: str, before: Iterable[dict[str, Any]], after: Iterable[dict[str, Any]]
) -> list[Change]:
    old = {_identity(i): i for i in before if isinstance(i, dict)}
    new = {_identity(i): i for i in after if isinstance(i, dict)}
    changes: list[Change] = []
    for key, item in new.items():
        previous = old.get(key)
        if previous is None:
            changes.append(Change(part, "added", key, _title(item), after=item))
            continue
        names = sorted(
            name
            for name in set(previous) | set(item)
            if name not in _IGNORED_FIELDS and previous.get(name) != item.get(name)
        )
        if names:
            changes.append(Change(part, "changed", key, _title(item), tuple(names), previous, item))
    changes.extend(
        Change(part, "removed", key, _title(item), before=item)
        for key, item in old.items()
        if key not in new
    )
    return changes


def _diff_kpis(before: Any, after: Any) -> list[Change]:
    if before == after:
        return []
    if isinstance(before, dict | None) and isinstance(after, dict | None):
        a, b = before or {}, after or {}
        lists = [k for k in dict.fromkeys([*a, *b]) if isinstance(a.get(k, b.get(k)), list)]
        changes: list[Change] = []
        for key in lists:
            changes.extend(_diff_items(f"kpis.{key}", a.get(key) or [], b.get(key) or []))
        rest_a = {k: v for k, v in a.items() if k not in lists}
        rest_b = {k: v for k, v in b.items() if k not in lists}
        if rest_a != rest_b:
            names = tuple(sorted(k for k in {*rest_a, *rest_b} if rest_a.get(k) != rest_b.get(k)))
            changes.append(Change("kpis", "changed", "kpis", "KPI", names, rest_a, rest_b))
        return changes
    return [Change("kpis", "changed", "kpis", "KPI")]


def diff_versions(a: dict[str, Any] | None, b: dict[str, Any]) -> list[Change]:
    """Changes from snapshot ``a`` (``None``: nothing published yet) to snapshot ``b``.

    Items are matched by id; within a part, additions and changes come in ``b``'s order,
    removals after them in ``a``'s order.
    """
    a = a or empty_snapshot()
    changes: list[Change] = []
    for part in PARTS:
        changes.extend(_diff_items(part, a.get(part) or [], b.get(part) or []))
    changes.extend(_diff_kpis(a.get("kpis"), b.get("kpis")))
    return changes


# --------------------------------------------------------------------------- unit views


def _filter_units(value: Any, allowed: set[int]) -> Any:
    """Drop list entries that belong to units outside ``allowed`` (any depth)."""
    if isinstance(value, dict):
        return {k: _filter_units(v, allowed) for k, v in value.items()}
    if isinstance(value, list):
        kept = []
        for item in value:
            if isinstance(item, dict):
                owner = item.get("scope_unit_id", item.get("unit_id"))
                if owner is not None and owner not in allowed:
                    continue
            kept.append(_filter_units(item, allowed))
        return kept
    return value


def view_for_unit(snapshot: dict[str, Any], chain: list[int], unit_kind: str) -> dict[str, Any]:
    """What of a snapshot applies to a unit, given its ancestors' ids (HQ first, the unit last).

    Standards keep central ones and local additions of the chain, each marked with
    ``origin`` (``central``, ``inherited`` or ``local``) and ``applies`` (its unit kinds
    include the unit's kind). KPI entries that name a unit outside the chain are dropped.
    """
    unit_id = chain[-1] if chain else None
    allowed = set(chain)
    view = {k: v for k, v in snapshot.items() if k != "standards"}
    kept: list[dict[str, Any]] = []
    for item in snapshot.get("standards") or []:
        scope = item.get("scope_unit_id")
        if scope is not None and scope not in allowed:
            continue
        origin = "central" if scope is None else "local" if scope == unit_id else "inherited"
        kinds = item.get("applies_to_kinds") or []
        kept.append({**item, "origin": origin, "applies": not kinds or unit_kind in kinds})
    view["standards"] = kept
    if "kpis" in snapshot:
        view["kpis"] = _filter_units(snapshot["kpis"], allowed)
    return view


def _merge_scoped(published: list[Any], draft: list[Any], unit_ids: set[int]) -> list[Any]:
    """Published entries, with those scoped to ``unit_ids`` replaced by their drafts."""

    def scoped(item: Any) -> bool:
        return isinstance(item, dict) and item.get("scope_unit_id") in unit_ids

    return [i for i in published if not scoped(i)] + [i for i in draft if scoped(i)]


def merge_local(
    published: dict[str, Any], draft: dict[str, Any], unit_ids: set[int]
) -> dict[str, Any]:
    """A unit lead's publication: the published version with the local standards (and local
    KPIs) of ``unit_ids`` replaced by their drafts; central parts and other units stay as
    published.
    """
    merged = dict(published)
    merged["standards"] = _merge_scoped(
        published.get("standards") or [], draft.get("standards") or [], unit_ids
    )
    old_kpis, new_kpis = published.get("kpis"), draft.get("kpis")
    if isinstance(new_kpis, dict):
        base = dict(old_kpis) if isinstance(old_kpis, dict) else {}
        for key, value in new_kpis.items():
            if isinstance(value, list):
                base[key] = _merge_scoped(base.get(key) or [], value, unit_ids)
        merged["kpis"] = base
    return merged


# --------------------------------------------------------------------------- database


async def kpi_part() -> Any | None:
    """The KPI framework's snapshot, when its module is installed (else ``None``)."""
    try:
        module = importlib.import_module("scalemark.governance.kpis")
    except ModuleNotFoundError as exc:
        if exc.name in {"scalemark.governance.kpis", "scalemark.governance"}:
            return None
        raise
    snapshot = getattr(module, "kpi_snapshot", None)
    if snapshot is None:
        return None
    return await snapshot()


async def draft_snapshot() -> dict[str, Any]:
    """The current drafts of every part as a snapshot document."""
    async with tenant_transaction():
        document: dict[str, Any] = {
            "format": SNAPSHOT_FORMAT,
            "standards": [s.snapshot() for s in await standards.list_standards()],
            "workflows": [w.snapshot() for w in await workflows.list_workflows()],
            "raci": [a.snapshot() for a in await raci.list_activities()],
            "operating_model": [i.snapshot() for i in await operating_model.list_items()],
        }
        kpis = await kpi_part()
    if kpis is not None:
        document["kpis"] = kpis
    return document


_VERSION_SELECT = (
    "SELECT v.number, v.published_at, v.published_by_label, v.scope_unit_id,"
    " coalesce(u.name, '') AS scope_name, v.note, v.snapshot"
    " FROM governance_version v LEFT JOIN unit u ON u.id = v.scope_unit_id"
)


def _version(row: Any, *, with_snapshot: bool = True) -> Version:
    return Version(
        number=row["number"],
        published_at=row["published_at"],
        published_by=row["published_by_label"],
        scope_unit_id=row["scope_unit_id"],
        scope_name=row["scope_name"],
        note=row["note"],
        snapshot=json.loads(row["snapshot"]) if with_snapshot else {},
    )


async def latest_version() -> Version | None:
    """The newest published version."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(f"{_VERSION_SELECT} ORDER BY v.number DESC LIMIT 1")
    return _version(row) if row else None


async def get_version(number: int) -> Version | None:
    """A published version by number."""
    if not storable_id(number, bits=32):
        return None
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(f"{_VERSION_SELECT} WHERE v.number = $1", number)
    return _version(row) if row else None


async def list_versions(limit: int = 50) -> list[Version]:
    """Versions newest first (without their snapshots)."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT v.number, v.published_at, v.published_by_label, v.scope_unit_id,"
            " coalesce(u.name, '') AS scope_name, v.note, '{}'::jsonb AS snapshot"
            " FROM governance_version v LEFT JOIN unit u ON u.id = v.scope_unit_id"
            " ORDER BY v.number DESC LIMIT $1",
            limit,
        )
    return [_version(r, with_snapshot=False) for r in rows]


async def candidate(local_unit_ids: set[int] | None = None) -> tuple[Version | None, dict]:
    """The latest version and what publishing now would make of it.

    ``local_unit_ids`` limits the publication to the local standards of those units (a
    unit lead's publication); ``None`` publishes every draft.
    """
    async with tenant_transaction():
        latest = await latest_version()
        draft = await draft_snapshot()
    if local_unit_ids is None:
        return latest, draft
    base = latest.snapshot if latest else empty_snapshot()
    return latest, merge_local(base, draft, local_unit_ids)


async def publish(
    note: str, *, scope_unit_id: int | None = None, local_unit_ids: set[int] | None = None
) -> Version:
    """Publish the drafts as the next version; refuses when nothing changed.

    With ``local_unit_ids`` only those units' local standards are published (and the
    version records ``scope_unit_id``); central parts need the HQ's full publication.
    """
    note = note.replace("\r\n", "\n").strip()
    if len(note) > NOTE_MAX:
        raise GovernanceError("note", _l("Use at most 2000 characters for the note."))
    principal = current_principal()
    user_id = principal.user.id if principal else None
    label = (principal.user.name or principal.user.email) if principal else "system"
    async with tenant_transaction() as conn:
        # One publisher at a time: version numbers have no gaps and no twins.
        await conn.execute("LOCK TABLE governance_version IN SHARE ROW EXCLUSIVE MODE")
        latest, document = await candidate(local_unit_ids)
        if local_unit_ids is not None and latest is None:
            raise GovernanceError(
                "form",
                _l(
                    "HQ has not published the governance yet. Local additions are published"
                    " with or after the first version."
                ),
            )
        changes = diff_versions(latest.snapshot if latest else None, document)
        if not changes:
            raise GovernanceError(
                "form", _l("Nothing has changed since the last published version.")
            )
        number = (latest.number if latest else 0) + 1
        await conn.execute(
            "INSERT INTO governance_version (number, published_by, published_by_label,"
            " scope_unit_id, snapshot, note) VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
            number,
            user_id,
            label[:320],
            scope_unit_id,
            json.dumps(document, ensure_ascii=False, default=str),
            note,
        )
        await audit.record(
            "governance.publish",
            object_type="governance_version",
            object_id=number,
            before={"version": latest.number if latest else None},
            after={
                "version": number,
                "note": note,
                "scope_unit_id": scope_unit_id,
                "changes": [
                    {"part": c.part, "action": c.action, "id": c.item_id, "title": c.title}
                    for c in changes
                ],
            },
        )
        created = await get_version(number)
    assert created is not None
    return created


async def published_for_unit(unit_id: int) -> dict[str, Any]:
    """What of the latest published version applies to a unit (never drafts).

    Central items, local additions of the unit's ancestors and its own; ``version`` is
    ``None`` (and the parts empty) while nothing is published. Raises ``LookupError``
    for an unknown or archived unit.
    """
    async with tenant_transaction() as conn:
        unit = await conn.fetchrow(
            "SELECT id, code, name, kind, path FROM unit WHERE id = $1 AND archived_at IS NULL",
            unit_id,
        )
        if unit is None:
            raise LookupError(unit_id)
        latest = await latest_version()
    chain = [int(p) for p in unit["path"].strip("/").split("/") if p]
    view = view_for_unit(latest.snapshot if latest else empty_snapshot(), chain, unit["kind"])
    view["unit"] = {k: unit[k] for k in ("id", "code", "name", "kind")}
    view["version"] = (
        None
        if latest is None
        else {
            "number": latest.number,
            "published_at": latest.published_at.isoformat(),
            "published_by": latest.published_by,
            "note": latest.note,
        }
    )
    return view
