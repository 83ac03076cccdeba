"""Who may do what with KPIs, worked out once per request (pages and API share it).

- Central KPIs: every member sees them; people with ``manage_governance`` at the HQ
  define them and set their central targets.
- A unit's own KPIs: the people of that branch (the unit, its sub-units and the units
  above it) see them; those with ``manage_governance`` at the unit define them.
- Targets: shown for the units a person may view; set where they manage governance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from scalemark.governance import kpis
from scalemark.governance.kpi_rules import can_define_in_scope, can_view_scope, value_formatter
from scalemark.i18n import current_locale
from scalemark.identity.guards import principal_of
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission
from scalemark.org import service as org_service
from scalemark.org.service import UnitNode

__all__ = ["KpiScope", "load_kpi_scope"]

MANAGE = Permission.MANAGE_GOVERNANCE


@dataclass(frozen=True)
class KpiScope:
    """The signed-in person's reach for KPIs, worked out once per request."""

    principal: Principal
    units: list[UnitNode]
    """Every active unit, depth first."""
    locales: list[str]
    """The tenant's languages, default first."""

    @property
    def root(self) -> UnitNode | None:
        """The headquarters."""
        return self.units[0] if self.units and self.units[0].parent_id is None else None

    @property
    def fallback(self) -> str:
        """The tenant's default language."""
        return self.locales[0]

    @property
    def central(self) -> bool:
        """May define central KPIs and set central targets."""
        return self.root is not None and self.principal.can(MANAGE, self.root.path)

    def sees(self, kpi: kpis.Kpi) -> bool:
        """May see the KPI (central: every member; local: people of that branch)."""
        return can_view_scope(self.principal, kpi.scope_path)

    def defines(self, kpi: kpis.Kpi) -> bool:
        """May change the KPI's definition."""
        return can_define_in_scope(
            self.principal, kpi.scope_path, self.root.path if self.root else None
        )

    def sets_target_at(self, unit: UnitNode) -> bool:
        """May set or clear targets at the unit."""
        return self.principal.can(MANAGE, unit.path)

    def views_unit(self, unit: UnitNode) -> bool:
        """May see the unit's targets."""
        return self.principal.can(Permission.VIEW, unit.path)

    @property
    def local_units(self) -> list[UnitNode]:
        """Units that can get a local KPI from this person (never the HQ)."""
        return [u for u in self.units if u.parent_id is not None and self.sets_target_at(u)]

    @property
    def may_define(self) -> bool:
        """May define some KPI (central or local)."""
        return self.central or bool(self.local_units)

    def unit(self, unit_id: int | None) -> UnitNode | None:
        """An active unit by id."""
        return next((u for u in self.units if u.id == unit_id), None)

    def currency(self, kpi: kpis.Kpi) -> str:
        """Currency of the KPI's amounts: its scope unit's, else the HQ's."""
        unit = self.unit(kpi.scope_unit_id) or self.root
        return unit.currency if unit else "EUR"

    def name(self, kpi: kpis.Kpi) -> str:
        """The KPI's name in the reader's language (else the tenant default)."""
        return kpi.name_in(current_locale(), self.fallback)

    def fmt(self, kpi: kpis.Kpi) -> Any:
        """Formatter of the KPI's values in the reader's locale."""
        return value_formatter(kpi.unit_of_measure, self.currency(kpi))


async def load_kpi_scope(request: Request[Any, Any, Any]) -> KpiScope:
    """Read the tree and the tenant's languages once for this request."""
    principal = principal_of(request)
    locales = await kpis.tenant_locales()
    return KpiScope(principal, await org_service.whole_tree(), locales)
