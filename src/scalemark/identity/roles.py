"""Roles and what they allow: plain data and functions, no database.

A membership gives a role at a unit; the role holds for that unit's whole subtree.
Assigned consultants act at the root with the ``consultant`` role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from scalemark.i18n import lazy_gettext as _l

__all__ = [
    "PLATFORM_ROLES",
    "ROLE_LABELS",
    "TENANT_ROLES",
    "Grant",
    "Permission",
    "allows",
    "permissions_of",
]


class Permission(StrEnum):
    """Things a person may do, checked per unit."""

    VIEW = "view"
    """See the unit and its data."""
    EDIT_UNITS = "edit_units"
    """Add, rename, move and archive units in the subtree."""
    CONTRIBUTE = "contribute"
    """Enter data for the unit (answers, KPI values, localisations)."""
    MANAGE_MEMBERS = "manage_members"
    """Invite people and change roles in the subtree."""
    MANAGE_GOVERNANCE = "manage_governance"
    """Define and publish standards, workflows, KPIs."""
    RUN_ASSESSMENTS = "run_assessments"
    """Create, review and close assessments; request reports."""
    MANAGE_SSO = "manage_sso"
    """Configure the identity provider and e-mail domains."""
    MANAGE_TOKENS = "manage_tokens"
    """Create and revoke API tokens."""
    VIEW_AUDIT = "view_audit"
    """Read the audit log."""


TENANT_ROLES = ("hq_admin", "unit_lead", "contributor", "it_owner", "stakeholder")
"""Role identifiers inside a tenant (CLI, API, database)."""
PLATFORM_ROLES = ("platform_admin", "consultant")
"""Platform role identifiers."""

ROLE_LABELS: dict[str, object] = {
    "hq_admin": _l("HQ admin"),
    "unit_lead": _l("Unit lead"),
    "contributor": _l("Contributor"),
    "it_owner": _l("IT / platform owner"),
    "stakeholder": _l("Stakeholder (read-only)"),
    "consultant": _l("Consultant"),
    "platform_admin": _l("Platform admin"),
}
"""Translated role names."""

P = Permission
_ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "hq_admin": frozenset(Permission),
    "unit_lead": frozenset(
        {P.VIEW, P.EDIT_UNITS, P.CONTRIBUTE, P.MANAGE_MEMBERS, P.MANAGE_GOVERNANCE}
    ),
    "contributor": frozenset({P.VIEW, P.CONTRIBUTE}),
    "it_owner": frozenset({P.VIEW, P.MANAGE_SSO, P.MANAGE_TOKENS, P.VIEW_AUDIT}),
    "stakeholder": frozenset({P.VIEW}),
    "consultant": frozenset(
        {P.VIEW, P.CONTRIBUTE, P.RUN_ASSESSMENTS, P.MANAGE_GOVERNANCE, P.VIEW_AUDIT}
    ),
}


@dataclass(frozen=True)
class Grant:
    """One effective role at one unit (``unit_path`` is its materialised path)."""

    role: str
    unit_id: int
    unit_path: str


def permissions_of(role: str) -> frozenset[Permission]:
    """What a role allows (nothing for unknown roles)."""
    return _ROLE_PERMISSIONS.get(role, frozenset())


def allows(grants: Iterable[Grant], permission: Permission, unit_path: str | None = None) -> bool:
    """True when some grant gives ``permission`` at ``unit_path`` (or anywhere, if None)."""
    for grant in grants:
        if permission not in permissions_of(grant.role):
            continue
        if unit_path is None or unit_path.startswith(grant.unit_path):
            return True
    return False
