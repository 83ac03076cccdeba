"""The RACI matrix: activities × roles, each cell Responsible, Accountable, Consulted,
Informed or empty. Exactly one role is accountable for each activity: the rule is checked
here with a clear message, and again by the database (a partial unique index and a
deferred constraint trigger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from scalemark.db import tenant_transaction
from scalemark.governance.vocabulary import (
    GOVERNANCE_ROLES,
    RACI_LETTERS,
    ROLE_NAMES,
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
    "ActivityData",
    "RaciActivity",
    "accountable_problem",
    "archive_activity",
    "create_activity",
    "get_activity",
    "list_activities",
    "update_activity",
    "validate_activity",
]


@dataclass
class ActivityData:
    """The editable fields of an activity: role → letter (missing role: no letter)."""

    title: str
    description: str = ""
    assignments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RaciActivity:
    """One row of the matrix."""

    id: int
    title: str
    description: str
    assignments: dict[str, str]

    def letter(self, role: str) -> str:
        """The role's letter in this row, or ``""``."""
        return self.assignments.get(role, "")

    def snapshot(self) -> dict[str, Any]:
        """The row in a published version (roles in matrix order)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "assignments": {
                r: self.assignments[r] for r in GOVERNANCE_ROLES if r in self.assignments
            },
        }

    def data(self) -> ActivityData:
        """Editable copy for the form."""
        return ActivityData(self.title, self.description, dict(self.assignments))


def accountable_problem(title: str, assignments: dict[str, str]) -> str | None:
    """The message when a row has no A or more than one A, else ``None``."""
    accountable = [role for role in GOVERNANCE_ROLES if assignments.get(role) == "A"]
    if len(accountable) == 1:
        return None
    if not accountable:
        return _("Choose the one role that is accountable (A) for this activity.")
    names = ", ".join(str(ROLE_NAMES[r]) for r in accountable)
    return _(
        "Only one role can be accountable (A) for “%(activity)s”, but you chose %(count)s:"
        " %(roles)s. Make the others responsible (R) or consulted (C).",
        activity=title or _("this activity"),
        count=len(accountable),
        roles=names,
    )


def validate_activity(data: ActivityData) -> ActivityData:
    """Normalise and check; raises :class:`GovernanceErrors` naming every bad field.

    Letters are ``R``, ``A``, ``C`` or ``I`` per role; empty cells are left out.
    """
    data.title = " ".join(clean_text(data.title, TITLE_MAX).split())
    data.description = clean_text(data.description)
    errors: dict[str, str] = {}
    if not data.title:
        errors["title"] = _("Give the activity a name.")
    elif len(data.title) > TITLE_MAX:
        errors["title"] = _("Use at most %(max)s characters for the name.", max=TITLE_MAX)
    if len(data.description) > TEXT_MAX:
        errors["description"] = _("Use at most %(max)s characters.", max=TEXT_MAX)
    cleaned: dict[str, str] = {}
    for role, letter in data.assignments.items():
        value = (letter or "").strip().upper()
        if not value:
            continue
        if role not in GOVERNANCE_ROLES:
            errors["assignments"] = _("Choose letters only for the roles of the matrix.")
            continue
        if value not in RACI_LETTERS:
            errors[f"role-{role}"] = _("Choose R, A, C, I or nothing.")
            continue
        cleaned[role] = value
    problem = accountable_problem(data.title, cleaned)
    if problem and "assignments" not in errors:
        errors["assignments"] = problem
    if errors:
        raise GovernanceErrors(errors)
    data.assignments = {r: cleaned[r] for r in GOVERNANCE_ROLES if r in cleaned}
    return data


async def _load(conn: Any, where: str, *args: Any) -> list[RaciActivity]:
    rows = await conn.fetch(
        "SELECT id, title, description FROM raci_activity WHERE archived_at IS NULL"
        f"{where} ORDER BY position, id",
        *args,
    )
    if not rows:
        return []
    cells = await conn.fetch(
        "SELECT activity_id, role, letter FROM raci_assignment"
        " WHERE activity_id = ANY($1::bigint[])",
        [r["id"] for r in rows],
    )
    by_activity: dict[int, dict[str, str]] = {}
    for cell in cells:
        by_activity.setdefault(cell["activity_id"], {})[cell["role"]] = cell["letter"]
    return [
        RaciActivity(r["id"], r["title"], r["description"], by_activity.get(r["id"], {}))
        for r in rows
    ]


async def list_activities() -> list[RaciActivity]:
    """The matrix rows in order."""
    async with tenant_transaction() as conn:
        return await _load(conn, "")


async def get_activity(activity_id: int) -> RaciActivity | None:
    """An active row by id."""
    if not storable_id(activity_id):
        return None
    async with tenant_transaction() as conn:
        found = await _load(conn, " AND id = $1", activity_id)
    return found[0] if found else None


async def _check_title(conn: Any, title: str, exclude_id: int | None) -> None:
    clash = await conn.fetchval(
        "SELECT 1 FROM raci_activity WHERE archived_at IS NULL AND lower(title) = lower($1)"
        " AND id IS DISTINCT FROM $2",
        title,
        exclude_id,
    )
    if clash:
        raise GovernanceError("title", _l("The matrix already has an activity with this name."))


async def _write_cells(conn: Any, activity_id: int, assignments: dict[str, str]) -> None:
    await conn.execute("DELETE FROM raci_assignment WHERE activity_id = $1", activity_id)
    await conn.executemany(
        "INSERT INTO raci_assignment (activity_id, role, letter) VALUES ($1, $2, $3)",
        [(activity_id, role, letter) for role, letter in assignments.items()],
    )
    # Run the deferred "exactly one A" check now, inside the block: a failure then rolls
    # back cleanly instead of surfacing at COMMIT (where the pooled connection would leak).
    await conn.execute(_CHECK_NOW)


_TRIGGERS = "raci_activity_accountable, raci_assignment_accountable"
_DEFER = f"SET CONSTRAINTS {_TRIGGERS} DEFERRED"
"""Check "exactly one A" only once the row and its letters are written ..."""
_CHECK_NOW = f"SET CONSTRAINTS {_TRIGGERS} IMMEDIATE"
"""... and then at once (an outer transaction may write several rows one after another)."""


def _database_error(exc: asyncpg.PostgresError) -> GovernanceError:
    if isinstance(exc, asyncpg.UniqueViolationError) and "title" in (exc.constraint_name or ""):
        return GovernanceError("title", _l("The matrix already has an activity with this name."))
    return GovernanceError(
        "assignments", _l("Choose the one role that is accountable (A) for this activity.")
    )


async def create_activity(data: ActivityData) -> RaciActivity:
    """Add a row to the matrix; checked and audited."""
    validate_activity(data)
    try:
        async with tenant_transaction() as conn:
            await conn.execute(_DEFER)
            await _check_title(conn, data.title, None)
            activity_id = await conn.fetchval(
                "INSERT INTO raci_activity (title, description, position) VALUES ($1, $2,"
                " (SELECT coalesce(max(position) + 1, 0) FROM raci_activity)) RETURNING id",
                data.title,
                data.description,
            )
            await _write_cells(conn, activity_id, data.assignments)
            created = await get_activity(activity_id)
            assert created is not None
            await audit.record(
                "governance.raci.create",
                object_type="raci_activity",
                object_id=activity_id,
                after=created.snapshot(),
            )
    except (asyncpg.UniqueViolationError, asyncpg.CheckViolationError) as exc:
        raise _database_error(exc) from exc
    return created


async def update_activity(activity_id: int, data: ActivityData) -> RaciActivity:
    """Change a row's name, description and letters."""
    validate_activity(data)
    try:
        async with tenant_transaction() as conn:
            before = await get_activity(activity_id)
            if before is None:
                raise GovernanceError("form", _l("This activity no longer exists."))
            await conn.execute(_DEFER)
            await _check_title(conn, data.title, activity_id)
            await conn.execute(
                "UPDATE raci_activity SET title = $2, description = $3, updated_at = now()"
                " WHERE id = $1",
                activity_id,
                data.title,
                data.description,
            )
            await _write_cells(conn, activity_id, data.assignments)
            after = await get_activity(activity_id)
            assert after is not None
            await audit.record(
                "governance.raci.update",
                object_type="raci_activity",
                object_id=activity_id,
                before=before.snapshot(),
                after=after.snapshot(),
            )
    except (asyncpg.UniqueViolationError, asyncpg.CheckViolationError) as exc:
        raise _database_error(exc) from exc
    return after


async def archive_activity(activity_id: int) -> RaciActivity:
    """Take a row out of the draft matrix (published versions keep it)."""
    async with tenant_transaction() as conn:
        before = await get_activity(activity_id)
        if before is None:
            raise GovernanceError("form", _l("This activity no longer exists."))
        await conn.execute(
            "UPDATE raci_activity SET archived_at = now(), updated_at = now() WHERE id = $1",
            activity_id,
        )
        await audit.record(
            "governance.raci.archive",
            object_type="raci_activity",
            object_id=activity_id,
            before=before.snapshot(),
        )
    return before
