"""Who may do what in the governance workspace, worked out once per request.

- *Central managers* hold ``manage_governance`` at the headquarters (HQ admins there,
  assigned consultants): they edit every part and publish the whole governance.
- *Local managers* hold it lower in the tree (unit leads): they see the published
  central governance and add local standards for their subtree, never central ones.
- Everyone else with ``view`` somewhere sees the published governance of their units.
"""

from __future__ import annotations

from dataclasses import dataclass

from scalemark.db import tenant_transaction
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission
from scalemark.org import service as org_service
from scalemark.org.service import UnitNode

__all__ = ["GovernanceScope", "load_scope"]

MANAGE = Permission.MANAGE_GOVERNANCE


@dataclass(frozen=True)
class GovernanceScope:
    """The signed-in person's reach over the unit tree, for governance."""

    principal: Principal
    units: tuple[UnitNode, ...]
    """Every active unit, depth first."""

    @property
    def root(self) -> UnitNode | None:
        """The headquarters."""
        return next((u for u in self.units if u.parent_id is None), None)

    @property
    def central(self) -> bool:
        """May edit central governance and publish everything."""
        root = self.root
        return root is not None and self.principal.can(MANAGE, root.path)

    @property
    def sees_everything(self) -> bool:
        """May read the whole organisation (``view`` at the headquarters)."""
        root = self.root
        return root is not None and self.principal.can(Permission.VIEW, root.path)

    def manages(self, unit_path: str | None) -> bool:
        """May change governance at this unit (``None``: central governance)."""
        if unit_path is None:
            return self.central
        return self.principal.can(MANAGE, unit_path)

    def views(self, unit_path: str) -> bool:
        """May see what applies to this unit."""
        return self.principal.can(Permission.VIEW, unit_path)

    @property
    def manager(self) -> bool:
        """May change something in the workspace (central or local)."""
        return self.principal.can(MANAGE)

    @property
    def local_units(self) -> list[UnitNode]:
        """Units that can receive local additions from this person (never the HQ)."""
        return [u for u in self.units if u.parent_id is not None and self.manages(u.path)]

    @property
    def viewable_units(self) -> list[UnitNode]:
        """Units whose published governance this person may see."""
        return [u for u in self.units if self.views(u.path)]

    @property
    def manage_paths(self) -> list[str]:
        """Subtree roots where this person manages governance."""
        return self.principal.scope_paths(MANAGE)

    def unit(self, unit_id: int | None) -> UnitNode | None:
        """An active unit by id."""
        return next((u for u in self.units if u.id == unit_id), None)

    def chain(self, unit: UnitNode) -> list[UnitNode]:
        """The unit's ancestors from the HQ down to the unit itself."""
        by_id = {u.id: u for u in self.units}
        ids = [int(part) for part in unit.path.strip("/").split("/") if part]
        return [by_id[i] for i in ids if i in by_id]

    @property
    def home_unit(self) -> UnitNode | None:
        """The unit a person sees first: the highest unit of their grants."""
        best: UnitNode | None = None
        for grant in self.principal.grants:
            unit = self.unit(grant.unit_id)
            if unit is not None and (best is None or unit.depth < best.depth):
                best = unit
        return best or (self.root if self.sees_everything else None)


_UNITS = (
    "SELECT id, code, name, kind, parent_id, path, depth, position, locale, timezone, currency,"
    " archived_at, 0 AS child_count FROM unit WHERE archived_at IS NULL"
)
"""Active units without their child counts (not needed here; one scan, no subqueries)."""


async def load_scope(principal: Principal) -> GovernanceScope:
    """Read the unit tree once for this request."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(_UNITS)
    units = org_service.depth_first([UnitNode.from_row(r) for r in rows])
    return GovernanceScope(principal, tuple(units))
