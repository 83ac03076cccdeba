"""Assessments: setup (scope, targets, respondents), lifecycle and cycles.

Authorisation is the caller's job (routes and API check the principal with
:mod:`scalemark.assessment.rules`); this module enforces the data rules and records every
change in the audit log within the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from scalemark.assessment import registry
from scalemark.assessment.framework import Framework
from scalemark.assessment.rules import (
    EDITABLE_STATUSES,
    NEXT_CYCLE_STATUSES,
    AssessmentError,
    next_status,
)
from scalemark.db import tenant_transaction
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n.locale import supported_locales
from scalemark.identity import audit
from scalemark.identity.principal import current_principal
from scalemark.identity.users import UserError, normalise_email

__all__ = [
    "SCOPE_SQL",
    "Assessment",
    "AssessmentSetup",
    "Event",
    "Respondent",
    "RespondentProgress",
    "ScopeUnit",
    "add_respondent",
    "answered_units",
    "change_status",
    "claim_invitation",
    "create_assessment",
    "events",
    "framework_of",
    "frameworks_by_id",
    "get_assessment",
    "get_respondent",
    "latest_targets",
    "list_assessments",
    "remove_respondent",
    "respondent_from_row",
    "respondent_progress",
    "respondents",
    "respondents_for_email",
    "scope",
    "scope_paths",
    "scope_unit_from_row",
    "start_next_cycle",
    "successor",
    "targets",
    "update_setup",
]

_COLUMNS = (
    "a.id, a.title, a.framework_id, f.framework_key, f.version AS framework_version,"
    " a.status, a.due_date, a.previous_id, a.cycle, a.created_at, a.updated_at,"
    " a.opened_at, a.closed_at,"
    " (SELECT count(*) FROM assessment_unit au WHERE au.assessment_id = a.id) AS unit_count"
)
_FROM = " FROM assessment a JOIN assessment_framework f ON f.id = a.framework_id"


@dataclass(frozen=True)
class Assessment:
    """An assessment as pages and the API show it."""

    id: int
    title: str
    framework_id: int
    framework_key: str
    framework_version: int
    status: str
    due_date: date | None
    previous_id: int | None
    cycle: int
    created_at: datetime
    updated_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    unit_count: int

    @property
    def locked(self) -> bool:
        """Closed: nothing may change until it is reopened."""
        return self.status == "closed"

    @classmethod
    def from_row(cls, r: Any) -> Assessment:
        """Build from a row of the shared select."""
        return cls(**{name: r[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ScopeUnit:
    """A unit in an assessment's scope."""

    id: int
    code: str
    name: str
    kind: str
    path: str
    depth: int
    parent_id: int | None
    locale: str
    weight: float


SCOPE_SQL = (
    "SELECT u.id, u.code, u.name, u.kind, u.path, u.depth, u.parent_id, u.locale, au.weight"
    " FROM assessment_unit au JOIN unit u ON u.id = au.unit_id WHERE au.assessment_id = $1"
)
"""The units in scope of assessment ``$1``, with the columns :func:`scope_unit_from_row` reads."""


def scope_unit_from_row(r: Any) -> ScopeUnit:
    """A unit in scope from a row with the columns of :data:`SCOPE_SQL`."""
    return ScopeUnit(
        id=r["id"],
        code=r["code"],
        name=r["name"],
        kind=r["kind"],
        path=r["path"],
        depth=r["depth"],
        parent_id=r["parent_id"],
        locale=r["locale"],
        weight=float(r["weight"]),
    )


@dataclass(frozen=True)
class Respondent:
    """A person asked to answer for a unit."""

    id: int
    assessment_id: int
    unit_id: int
    email: str
    locale: str
    invited_at: datetime | None


@dataclass
class AssessmentSetup:
    """What a consultant sets when creating or editing an assessment."""

    title: str
    unit_ids: Sequence[int]
    due_date: date | None = None
    targets: Mapping[str, float] = field(default_factory=dict)
    """Target level per dimension key; missing dimensions take the framework default."""
    weights: Mapping[int, float] = field(default_factory=dict)
    """Roll-up weight per unit id (default 1)."""


def _check_setup(setup: AssessmentSetup, framework: Framework) -> None:
    title = setup.title.strip()
    if not title:
        raise AssessmentError("title", _l("Please give the assessment a title."))
    if len(title) > 200:
        raise AssessmentError("title", _l("The title is too long (200 characters at most)."))
    if not setup.unit_ids:
        raise AssessmentError("units", _l("Choose at least one unit to assess."))
    for key, level in setup.targets.items():
        if not framework.has_dimension(key):
            raise AssessmentError("targets", _l("Unknown dimension in the targets."))
        if not 1 <= float(level) <= 5:
            raise AssessmentError(f"target_{key}", _l("A target level must be between 1 and 5."))
    for weight in setup.weights.values():
        if not 0 < float(weight) <= 1000:
            raise AssessmentError("weights", _l("A unit weight must be above 0 and at most 1,000."))


async def _audit_snapshot(conn: Any, assessment_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT title, status, due_date FROM assessment WHERE id = $1", assessment_id
    )
    units = await conn.fetch(
        "SELECT u.code, au.weight FROM assessment_unit au JOIN unit u ON u.id = au.unit_id"
        " WHERE au.assessment_id = $1 ORDER BY u.path",
        assessment_id,
    )
    goals = await conn.fetch(
        "SELECT dimension_key, level FROM assessment_target WHERE assessment_id = $1"
        " ORDER BY dimension_key",
        assessment_id,
    )
    return {
        "title": row["title"],
        "status": row["status"],
        "due_date": row["due_date"],
        "units": {u["code"]: str(u["weight"]) for u in units},
        "targets": {t["dimension_key"]: str(t["level"]) for t in goals},
    }


async def _write_scope(conn: Any, assessment_id: int, setup: AssessmentSetup) -> None:
    wanted = sorted(set(setup.unit_ids))
    found = await conn.fetch(
        "SELECT id FROM unit WHERE id = ANY($1::bigint[]) AND archived_at IS NULL", wanted
    )
    if len(found) != len(wanted):
        raise AssessmentError("units", _l("Some of the chosen units do not exist or are archived."))
    answered = await conn.fetch(
        "SELECT DISTINCT r.unit_id FROM assessment_respondent r"
        " JOIN assessment_answer a ON a.respondent_id = r.id"
        " WHERE r.assessment_id = $1 AND NOT (r.unit_id = ANY($2::bigint[]))",
        assessment_id,
        wanted,
    )
    if answered:
        raise AssessmentError(
            "units", _l("A unit that already has answers cannot be taken out of the scope.")
        )
    await conn.execute(
        "DELETE FROM assessment_unit"
        " WHERE assessment_id = $1 AND NOT (unit_id = ANY($2::bigint[]))",
        assessment_id,
        wanted,
    )
    for unit_id in wanted:
        weight = Decimal(str(setup.weights.get(unit_id, 1)))
        await conn.execute(
            "INSERT INTO assessment_unit (assessment_id, unit_id, weight) VALUES ($1, $2, $3)"
            " ON CONFLICT (assessment_id, unit_id) DO UPDATE SET weight = EXCLUDED.weight,"
            " scores_stale = assessment_unit.scores_stale"
            " OR assessment_unit.weight <> EXCLUDED.weight",
            assessment_id,
            unit_id,
            weight,
        )


async def _write_targets(
    conn: Any, assessment_id: int, framework: Framework, chosen: Mapping[str, float]
) -> None:
    await conn.execute("DELETE FROM assessment_target WHERE assessment_id = $1", assessment_id)
    for dimension in framework.dimensions:
        level = Decimal(str(chosen.get(dimension.key, dimension.target)))
        await conn.execute(
            "INSERT INTO assessment_target (assessment_id, dimension_key, level)"
            " VALUES ($1, $2, $3)",
            assessment_id,
            dimension.key,
            level,
        )


async def _insert_event(
    conn: Any, assessment_id: int, from_status: str | None, to_status: str, reason: str = ""
) -> None:
    principal = current_principal()
    await conn.execute(
        "INSERT INTO assessment_event (assessment_id, from_status, to_status, reason,"
        " actor_id, actor_label) VALUES ($1, $2, $3, $4, $5, $6)",
        assessment_id,
        from_status,
        to_status,
        reason,
        principal.user.id if principal else None,
        principal.user.email if principal else "system",
    )


async def create_assessment(
    setup: AssessmentSetup,
    framework: Framework,
    source: str,
    *,
    previous_id: int | None = None,
) -> Assessment:
    """A new draft assessment on ``framework`` (its ``source`` is stored as a snapshot)."""
    _check_setup(setup, framework)
    principal = current_principal()
    async with tenant_transaction() as conn:
        framework_id = await registry.snapshot(conn, framework, source)
        cycle = 1
        if previous_id is not None:
            cycle = 1 + (
                await conn.fetchval("SELECT cycle FROM assessment WHERE id = $1", previous_id) or 0
            )
        assessment_id = await conn.fetchval(
            "INSERT INTO assessment (title, framework_id, due_date, previous_id, cycle,"
            " created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            setup.title.strip(),
            framework_id,
            setup.due_date,
            previous_id,
            cycle,
            principal.user.id if principal else None,
        )
        await _write_scope(conn, assessment_id, setup)
        await _write_targets(conn, assessment_id, framework, setup.targets)
        await _insert_event(conn, assessment_id, None, "draft")
        await audit.record(
            "assessment.create",
            object_type="assessment",
            object_id=assessment_id,
            after=await _audit_snapshot(conn, assessment_id),
        )
    found = await get_assessment(assessment_id)
    assert found is not None
    return found


async def update_setup(assessment_id: int, setup: AssessmentSetup) -> Assessment:
    """Change title, due date, scope, weights and targets (draft or open only)."""
    async with tenant_transaction() as conn:
        status = await conn.fetchval(
            "SELECT status FROM assessment WHERE id = $1 FOR UPDATE", assessment_id
        )
        if status is None:
            raise LookupError(assessment_id)
        if status not in EDITABLE_STATUSES:
            raise AssessmentError(
                "status", _l("The setup can only change while the assessment is a draft or open.")
            )
        framework = await framework_of(assessment_id)
        _check_setup(setup, framework)
        before = await _audit_snapshot(conn, assessment_id)
        await conn.execute(
            "UPDATE assessment SET title = $2, due_date = $3, updated_at = now() WHERE id = $1",
            assessment_id,
            setup.title.strip(),
            setup.due_date,
        )
        await _write_scope(conn, assessment_id, setup)
        await _write_targets(conn, assessment_id, framework, setup.targets)
        after = await _audit_snapshot(conn, assessment_id)
        if before != after:
            await audit.record(
                "assessment.setup",
                object_type="assessment",
                object_id=assessment_id,
                before=before,
                after=after,
            )
    found = await get_assessment(assessment_id)
    assert found is not None
    return found


async def get_assessment(assessment_id: int) -> Assessment | None:
    """One assessment, or None when this tenant has none with that id."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(f"SELECT {_COLUMNS}{_FROM} WHERE a.id = $1", assessment_id)
    return None if row is None else Assessment.from_row(row)


async def list_assessments(ids: Sequence[int] | None = None) -> list[Assessment]:
    """Assessments (all, or those with ``ids``), newest first."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS}{_FROM}"
            " WHERE ($1::bigint[] IS NULL OR a.id = ANY($1::bigint[])) ORDER BY a.id DESC",
            None if ids is None else list(ids),
        )
    return [Assessment.from_row(r) for r in rows]


async def framework_of(assessment_id: int) -> Framework:
    """The framework snapshot an assessment runs on."""
    async with tenant_transaction() as conn:
        return await registry.assessment_framework(conn, assessment_id)


async def frameworks_by_id(framework_ids: Sequence[int]) -> dict[int, Framework]:
    """Framework snapshots by id (each parsed once per process)."""
    found: dict[int, Framework] = {}
    async with tenant_transaction() as conn:
        for framework_id in sorted(set(framework_ids)):
            found[framework_id] = await registry.framework_for(conn, framework_id)
    return found


async def scope(assessment_id: int) -> list[ScopeUnit]:
    """Units in scope, in tree order (by path)."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(SCOPE_SQL + " ORDER BY u.path", assessment_id)
    return [scope_unit_from_row(r) for r in rows]


async def targets(assessment_id: int) -> dict[str, float]:
    """Target level per dimension key."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT dimension_key, level FROM assessment_target WHERE assessment_id = $1",
            assessment_id,
        )
    return {r["dimension_key"]: float(r["level"]) for r in rows}


def respondent_from_row(r: Any) -> Respondent:
    """A respondent from a row with the columns of ``assessment_respondent``."""
    return Respondent(
        id=r["id"],
        assessment_id=r["assessment_id"],
        unit_id=r["unit_id"],
        email=r["email"],
        locale=r["locale"],
        invited_at=r["invited_at"],
    )


_RESPONDENT_COLUMNS = "id, assessment_id, unit_id, email, locale, invited_at"


async def respondents(assessment_id: int, unit_id: int | None = None) -> list[Respondent]:
    """Respondents of an assessment (of one unit, if given), by unit then e-mail."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            f"SELECT {_RESPONDENT_COLUMNS} FROM assessment_respondent WHERE assessment_id = $1"
            " AND ($2::bigint IS NULL OR unit_id = $2) ORDER BY unit_id, email",
            assessment_id,
            unit_id,
        )
    return [respondent_from_row(r) for r in rows]


async def respondents_for_email(email: str, assessment_id: int | None = None) -> list[Respondent]:
    """Where a person (by e-mail) is a respondent: in one assessment or in all."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            f"SELECT {_RESPONDENT_COLUMNS} FROM assessment_respondent"
            " WHERE lower(email) = lower($1) AND ($2::bigint IS NULL OR assessment_id = $2)"
            " ORDER BY assessment_id DESC, unit_id",
            email,
            assessment_id,
        )
    return [respondent_from_row(r) for r in rows]


async def add_respondent(assessment_id: int, unit_id: int, email: str, locale: str) -> Respondent:
    """Ask a person to answer for a unit in scope (setup must still be editable)."""
    try:
        address = normalise_email(email)
    except UserError as exc:
        raise AssessmentError("email", exc.message) from exc
    if locale not in supported_locales():
        raise AssessmentError("locale", _l("Choose a language from the list."))
    async with tenant_transaction() as conn:
        status = await conn.fetchval(
            "SELECT status FROM assessment WHERE id = $1 FOR SHARE", assessment_id
        )
        if status is None:
            raise LookupError(assessment_id)
        if status not in EDITABLE_STATUSES:
            raise AssessmentError(
                "status",
                _l("Respondents can only be added while the assessment is a draft or open."),
            )
        in_scope = await conn.fetchval(
            "SELECT 1 FROM assessment_unit WHERE assessment_id = $1 AND unit_id = $2",
            assessment_id,
            unit_id,
        )
        if not in_scope:
            raise AssessmentError("unit", _l("This unit is not part of the assessment."))
        row = await conn.fetchrow(
            "INSERT INTO assessment_respondent (assessment_id, unit_id, email, locale)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (assessment_id, unit_id, email) DO NOTHING"
            f" RETURNING {_RESPONDENT_COLUMNS}",
            assessment_id,
            unit_id,
            address,
            locale,
        )
        if row is None:
            raise AssessmentError("email", _l("This person is already a respondent for this unit."))
        await audit.record(
            "assessment.respondent.add",
            object_type="assessment",
            object_id=assessment_id,
            after={"unit_id": unit_id, "email": address, "locale": locale},
        )
    return respondent_from_row(row)


async def remove_respondent(assessment_id: int, respondent_id: int) -> bool:
    """Take a respondent (and their answers) out while the setup is editable."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            "SELECT r.unit_id, r.email, a.status FROM assessment_respondent r"
            " JOIN assessment a ON a.id = r.assessment_id"
            " WHERE r.id = $1 AND r.assessment_id = $2",
            respondent_id,
            assessment_id,
        )
        if row is None:
            return False
        if row["status"] not in EDITABLE_STATUSES:
            raise AssessmentError(
                "status",
                _l("Respondents can only be removed while the assessment is a draft or open."),
            )
        await conn.execute("DELETE FROM assessment_respondent WHERE id = $1", respondent_id)
        await conn.execute(
            "UPDATE assessment_unit SET scores_stale = true"
            " WHERE assessment_id = $1 AND unit_id = $2",
            assessment_id,
            row["unit_id"],
        )
        await audit.record(
            "assessment.respondent.remove",
            object_type="assessment",
            object_id=assessment_id,
            before={"unit_id": row["unit_id"], "email": row["email"]},
        )
    return True


async def change_status(assessment_id: int, action: str, reason: str = "") -> Assessment:
    """Move through the lifecycle (reopening needs a reason); logged and audited."""
    async with tenant_transaction() as conn:
        current = await conn.fetchval(
            "SELECT status FROM assessment WHERE id = $1 FOR UPDATE", assessment_id
        )
        if current is None:
            raise LookupError(assessment_id)
        to_status = next_status(current, action, reason)
        await conn.execute(
            "UPDATE assessment SET status = $2::varchar, updated_at = now(),"
            " opened_at = CASE WHEN $2::varchar = 'open' THEN coalesce(opened_at, now())"
            " ELSE opened_at END,"
            " closed_at = CASE WHEN $2::varchar = 'closed' THEN now() ELSE NULL END"
            " WHERE id = $1",
            assessment_id,
            to_status,
        )
        await _insert_event(conn, assessment_id, current, to_status, reason.strip())
        await audit.record(
            f"assessment.{action}",
            object_type="assessment",
            object_id=assessment_id,
            before={"status": current},
            after={"status": to_status, "reason": reason.strip() or None},
        )
    found = await get_assessment(assessment_id)
    assert found is not None
    return found


@dataclass(frozen=True)
class Event:
    """A lifecycle move."""

    from_status: str | None
    to_status: str
    reason: str
    actor_label: str
    created_at: datetime


async def events(assessment_id: int) -> list[Event]:
    """Lifecycle history, oldest first."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT from_status, to_status, reason, actor_label, created_at"
            " FROM assessment_event WHERE assessment_id = $1 ORDER BY id",
            assessment_id,
        )
    return [
        Event(r["from_status"], r["to_status"], r["reason"], r["actor_label"], r["created_at"])
        for r in rows
    ]


async def start_next_cycle(
    assessment_id: int, title: str, framework: Framework | None = None, source: str = ""
) -> Assessment:
    """A new draft copying scope, weights, targets and respondents of ``assessment_id``.

    ``framework``/``source`` choose a newer framework version; by default the same one.
    """
    previous = await get_assessment(assessment_id)
    if previous is None:
        raise LookupError(assessment_id)
    if previous.status not in NEXT_CYCLE_STATUSES:
        raise AssessmentError(
            "cycle", _l("The next cycle can start once this one is in review or closed.")
        )
    if await successor(assessment_id) is not None:
        raise AssessmentError("cycle", _l("The next cycle of this assessment exists already."))
    units = await scope(assessment_id)
    goals = await targets(assessment_id)
    if framework is None:
        async with tenant_transaction() as conn:
            source = await conn.fetchval(
                "SELECT source FROM assessment_framework WHERE id = $1", previous.framework_id
            )
        framework = await framework_of(assessment_id)
    setup = AssessmentSetup(
        title=title,
        unit_ids=[u.id for u in units],
        targets={k: v for k, v in goals.items() if framework.has_dimension(k)},
        weights={u.id: u.weight for u in units},
    )
    async with tenant_transaction():
        created = await create_assessment(setup, framework, source, previous_id=assessment_id)
        for person in await respondents(assessment_id):
            await add_respondent(created.id, person.unit_id, person.email, person.locale)
    return created


async def successor(assessment_id: int) -> Assessment | None:
    """The next cycle started from ``assessment_id``, if any."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS}{_FROM} WHERE a.previous_id = $1 ORDER BY a.id LIMIT 1",
            assessment_id,
        )
    return None if row is None else Assessment.from_row(row)


async def latest_targets() -> dict[str, float]:
    """Targets of the newest assessment (prefill for a new one); empty when there is none."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT dimension_key, level FROM assessment_target WHERE assessment_id ="
            " (SELECT max(id) FROM assessment)"
        )
    return {r["dimension_key"]: float(r["level"]) for r in rows}


async def answered_units(ids: Sequence[int]) -> dict[int, int]:
    """Per assessment: how many units in scope have at least one answer."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT r.assessment_id, count(DISTINCT r.unit_id) AS units"
            " FROM assessment_respondent r"
            " WHERE r.assessment_id = ANY($1::bigint[]) AND EXISTS (SELECT 1"
            " FROM assessment_answer a WHERE a.respondent_id = r.id AND a.choice IS NOT NULL)"
            " GROUP BY r.assessment_id",
            list(ids),
        )
    return {r["assessment_id"]: r["units"] for r in rows}


async def scope_paths(ids: Sequence[int]) -> dict[int, list[str]]:
    """Per assessment: the paths of its units in scope (for access checks)."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT au.assessment_id, u.path FROM assessment_unit au"
            " JOIN unit u ON u.id = au.unit_id WHERE au.assessment_id = ANY($1::bigint[])",
            list(ids),
        )
    found: dict[int, list[str]] = {}
    for r in rows:
        found.setdefault(r["assessment_id"], []).append(r["path"])
    return found


async def get_respondent(assessment_id: int, respondent_id: int) -> Respondent | None:
    """One respondent of this assessment."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            f"SELECT {_RESPONDENT_COLUMNS} FROM assessment_respondent"
            " WHERE id = $1 AND assessment_id = $2",
            respondent_id,
            assessment_id,
        )
    return None if row is None else respondent_from_row(row)


async def claim_invitation(conn: Any, respondent_id: int) -> Respondent | None:
    """Mark a respondent invited, unless already done (then None); inside a transaction.

    The row stays locked until the transaction ends, so two concurrent callers never
    both mail the same person.
    """
    row = await conn.fetchrow(
        "UPDATE assessment_respondent SET invited_at = now()"
        f" WHERE id = $1 AND invited_at IS NULL RETURNING {_RESPONDENT_COLUMNS}",
        respondent_id,
    )
    return None if row is None else respondent_from_row(row)


@dataclass(frozen=True)
class RespondentProgress:
    """How far a respondent got: answered questions of those shown to them."""

    answered: int
    shown: int


async def respondent_progress(
    assessment_id: int, framework: Framework
) -> dict[int, RespondentProgress]:
    """Per respondent id: answered / shown questions (conditions applied to their answers)."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT r.id, a.question_key, a.choice, a.level FROM assessment_respondent r"
            " LEFT JOIN assessment_answer a ON a.respondent_id = r.id"
            " WHERE r.assessment_id = $1",
            assessment_id,
        )
    answers: dict[int, dict[str, tuple[str | None, int | None]]] = {}
    for r in rows:
        given = answers.setdefault(r["id"], {})
        if r["question_key"] is not None:
            given[r["question_key"]] = (r["choice"], r["level"])
    progress: dict[int, RespondentProgress] = {}
    for respondent_id, given in answers.items():
        shown = framework.visible({key: level for key, (_, level) in given.items()})
        answered = sum(1 for key in shown if given.get(key, (None, None))[0] is not None)
        progress[respondent_id] = RespondentProgress(answered, len(shown))
    return progress
