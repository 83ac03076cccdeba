"""The setup wizard's steps and state, following the rollout logic's stages 1 and 2.

State is read from the data itself (units, memberships, standards, workflows, KPIs,
published versions) plus the small ``setup_progress`` table of steps an HQ admin
explicitly confirmed or skipped; so the wizard can be left at any point and resumed.
Parts other features add later (their tables may not exist yet) are counted only when
their table exists: ``to_regclass`` first, then one query for every count.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scalemark.db import shared_transaction, tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n import supported_locales
from scalemark.identity import audit
from scalemark.identity.principal import Principal, current_principal
from scalemark.tenancy.resolver import forget_tenant

__all__ = [
    "CHOICES",
    "STEPS",
    "SetupError",
    "SetupState",
    "Step",
    "StepState",
    "compute_state",
    "forget_cached",
    "is_hq_admin",
    "load_state",
    "pending_cached",
    "set_choice",
    "set_default_locale",
    "step_by_key",
]

CHOICES = ("confirmed", "skipped")
"""What an HQ admin can say about a step explicitly."""


@dataclass(frozen=True)
class Step:
    """One step of the wizard."""

    key: str
    title: object
    text: object
    """What the step is about."""
    stage: int
    """The rollout stage it belongs to (1: governance, 2: structure)."""
    table: str | None = None
    """Rows in this table make the step done (``None``: only an explicit choice)."""
    min_count: int = 1
    """How many rows count as done."""
    link: str | None = None
    """The page where the real work happens."""
    link_label: object = None


STEPS: tuple[Step, ...] = (
    Step(
        "basics",
        _l("Organisation basics"),
        _l("Check the organisation's name and choose the language people see by default."),
        stage=2,
    ),
    Step(
        "units",
        _l("Map the unit tree"),
        _l("Add the regions, countries and business units below the headquarters."),
        stage=2,
        table="unit",
        min_count=2,
        link="/units/manage",
        link_label=_l("Open the unit editor"),
    ),
    Step(
        "people",
        _l("Roles and people"),
        _l("Invite unit leads and colleagues; a role at a unit holds for its sub-units."),
        stage=2,
        table="membership",
        min_count=2,
        link="/members",
        link_label=_l("Invite people"),
    ),
    Step(
        "standards",
        _l("Process and campaign standards"),
        _l("Describe the standards every unit works by, mandatory or recommended."),
        stage=1,
        table="governance_standard",
        link="/governance/standards",
        link_label=_l("Define standards"),
    ),
    Step(
        "workflows",
        _l("Approval workflow"),
        _l("Set who approves what, in which order, within how many days."),
        stage=1,
        table="approval_workflow",
        link="/governance/workflows",
        link_label=_l("Define approval workflows"),
    ),
    Step(
        "kpis",
        _l("KPI framework"),
        _l("Define the KPIs on central, local and campaign level, with owners and targets."),
        stage=1,
        table="kpi_definition",
        link="/governance/kpis",
        link_label=_l("Define KPIs"),
    ),
    Step(
        "publish",
        _l("Publish the governance"),
        _l("Publish a numbered version; units then see what applies to them."),
        stage=1,
        table="governance_version",
        link="/governance/publish",
        link_label=_l("Publish"),
    ),
)
"""The steps in order."""

_STEP_KEYS = {step.key: step for step in STEPS}


class SetupError(ValueError):
    """A wizard input that breaks a rule; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


def step_by_key(key: str) -> Step | None:
    """The step with this key."""
    return _STEP_KEYS.get(key)


def is_hq_admin(principal: Principal | None) -> bool:
    """Holds the HQ admin role at the headquarters (the root of the tree)."""
    return principal is not None and any(
        g.role == "hq_admin" and g.unit_path.count("/") == 2 for g in principal.grants
    )


@dataclass(frozen=True)
class StepState:
    """A step as it stands."""

    step: Step
    count: int | None
    """Rows found (``None``: that part does not exist yet here)."""
    choice: str | None
    """``confirmed``, ``skipped`` or nothing."""
    available: bool
    """Its page exists in this installation."""

    @property
    def done_by_data(self) -> bool:
        """The data shows the step is done."""
        return self.step.table is not None and (self.count or 0) >= self.step.min_count

    @property
    def status(self) -> str:
        """``done``, ``confirmed``, ``skipped`` or ``open``."""
        if self.done_by_data:
            return "done"
        return self.choice or "open"

    @property
    def handled(self) -> bool:
        """Nothing left to do here for now."""
        return self.status != "open"


@dataclass(frozen=True)
class SetupState:
    """Every step's state and the progress."""

    steps: tuple[StepState, ...]

    @property
    def total(self) -> int:
        """Number of steps."""
        return len(self.steps)

    @property
    def handled(self) -> int:
        """Steps done, confirmed or skipped."""
        return sum(1 for s in self.steps if s.handled)

    @property
    def percent(self) -> int:
        """Progress in whole percent."""
        return round(100 * self.handled / self.total) if self.total else 100

    @property
    def complete(self) -> bool:
        """Every step handled."""
        return self.handled == self.total

    @property
    def current(self) -> StepState | None:
        """The first step still open."""
        return next((s for s in self.steps if not s.handled), None)

    def get(self, key: str) -> StepState:
        """A step's state by key."""
        return next(s for s in self.steps if s.step.key == key)

    def neighbours(self, key: str) -> tuple[Step | None, Step | None]:
        """The steps before and after ``key``."""
        keys = [s.step.key for s in self.steps]
        index = keys.index(key)
        before = self.steps[index - 1].step if index > 0 else None
        after = self.steps[index + 1].step if index + 1 < len(keys) else None
        return before, after


def compute_state(
    counts: Mapping[str, int | None],
    choices: Mapping[str, str],
    available_paths: Iterable[str] = (),
) -> SetupState:
    """Combine row counts by table, explicit choices by step and existing pages."""
    paths = set(available_paths)
    return SetupState(
        tuple(
            StepState(
                step=step,
                count=counts.get(step.table) if step.table else None,
                choice=choices.get(step.key) if choices.get(step.key) in CHOICES else None,
                available=step.link is None or step.link in paths,
            )
            for step in STEPS
        )
    )


_COUNT_SQL = {
    "unit": "SELECT count(*) FROM unit WHERE archived_at IS NULL",
    "membership": "SELECT count(DISTINCT user_id) FROM membership WHERE status = 'active'",
}
"""Tables of this code's own migrations; the others are counted generically."""

_present: dict[str, dict[str, bool]] = {}
"""Per tenant schema: optional tables known to exist → whether they have ``archived_at``.
Tables are never dropped (migrations are additive), so a hit stays true."""


async def _counts(conn: Any) -> dict[str, int | None]:
    optional = [s.table for s in STEPS if s.table and s.table not in _COUNT_SQL]
    known = _present.setdefault(current_tenant().schema, {})
    missing = [t for t in optional if t not in known]
    if missing:
        rows = await conn.fetch(
            "SELECT t.name, to_regclass(t.name) IS NOT NULL AS present,"
            " EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(t.name)"
            " AND a.attname = 'archived_at' AND NOT a.attisdropped) AS archivable"
            " FROM unnest($1::text[]) AS t(name)",
            missing,
        )
        for row in rows:
            if row["present"]:
                known[row["name"]] = bool(row["archivable"])
    # Table names are this module's constants, never input.
    parts = [f"({sql}) AS {table}" for table, sql in _COUNT_SQL.items()]
    for table in optional:
        if table in known:
            where = " WHERE archived_at IS NULL" if known[table] else ""
            parts.append(f"(SELECT count(*) FROM {table}{where}) AS {table}")
    row = await conn.fetchrow("SELECT " + ", ".join(parts))
    found = dict(row)
    return {name: found.get(name) for name in [*_COUNT_SQL, *optional]}


async def _choices(conn: Any) -> dict[str, str]:
    rows = await conn.fetch("SELECT step, state FROM setup_progress")
    return {r["step"]: r["state"] for r in rows}


async def load_state(available_paths: Iterable[str] = ()) -> SetupState:
    """The wizard's state for the current tenant."""
    async with tenant_transaction() as conn:
        counts = await _counts(conn)
        choices = await _choices(conn)
    return compute_state(counts, choices, available_paths)


async def set_choice(key: str, choice: str | None) -> None:
    """Confirm or skip a step, or take that back (``None``); audited."""
    if step_by_key(key) is None:
        raise SetupError("step", _l("There is no such step."))
    if choice is not None and choice not in CHOICES:
        raise SetupError("state", _l("Confirm or skip the step."))
    principal = current_principal()
    actor_id = principal.user.id if principal else None
    actor_label = principal.user.email if principal else "system"
    async with tenant_transaction() as conn:
        before = await conn.fetchval("SELECT state FROM setup_progress WHERE step = $1", key)
        if before == choice:
            return
        if choice is None:
            await conn.execute("DELETE FROM setup_progress WHERE step = $1", key)
        else:
            await conn.execute(
                "INSERT INTO setup_progress (step, state, actor_id, actor_label)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (step) DO UPDATE SET"
                " state = EXCLUDED.state, actor_id = EXCLUDED.actor_id,"
                " actor_label = EXCLUDED.actor_label, updated_at = now()",
                key,
                choice,
                actor_id,
                actor_label,
            )
        await audit.record(
            "setup.step",
            object_type="setup_step",
            object_id=key,
            before={"state": before},
            after={"state": choice},
        )
    forget_cached()


async def set_default_locale(locale: str) -> bool:
    """Change the organisation's default language (shared registry; audited).

    Runs the shared update outside any tenant transaction, then records the change in
    the tenant's audit log. Returns whether anything changed.
    """
    if locale not in supported_locales():
        raise SetupError("default_locale", _l("Choose a language from the list."))
    tenant = current_tenant()
    async with shared_transaction() as conn:
        before = await conn.fetchval(
            "SELECT default_locale FROM scalemark.tenant WHERE id = $1 FOR UPDATE", tenant.id
        )
        if before == locale:
            return False
        await conn.execute(
            "UPDATE scalemark.tenant SET default_locale = $2::varchar,"
            " locales = CASE WHEN $2::varchar = ANY(locales) THEN locales"
            " ELSE array_append(locales, $2::varchar) END WHERE id = $1",
            tenant.id,
            locale,
        )
    forget_tenant(tenant.slug)
    await audit.record(
        "tenant.default_locale",
        object_type="tenant",
        object_id=tenant.slug,
        before={"default_locale": before},
        after={"default_locale": locale},
    )
    return True


# ----------------------------------------------------------------------- nav link cache

_PENDING_TTL_S = 5.0
_pending: dict[str, tuple[float, bool]] = {}


async def pending_cached(available_paths: Iterable[str] = (), *, fresh: bool = False) -> bool:
    """Whether the current tenant's setup is incomplete (cached briefly per process).

    ``fresh`` reads the data again (the wizard's own pages must never show stale state).
    """
    slug = current_tenant().slug
    now = time.monotonic()
    hit = _pending.get(slug)
    if not fresh and hit is not None and now - hit[0] < _PENDING_TTL_S:
        return hit[1]
    state = await load_state(available_paths)
    if len(_pending) > 10_000:
        _pending.clear()
    _pending[slug] = (now, not state.complete)
    return not state.complete


def forget_cached(slug: str | None = None) -> None:
    """Drop the cached state (after a change in this process)."""
    if slug is None:
        try:
            slug = current_tenant().slug
        except Exception:
            _pending.clear()
            return
    _pending.pop(slug, None)
