"""``/audit``: the organisation's audit log, filtered and paged, in the reader's language.

The log is tenant-wide (events carry no unit), so reading it needs ``view_audit`` at the
headquarters: HQ admins, IT / platform owners there and assigned consultants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.response import Template

from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit
from scalemark.identity.guards import principal_of, requires
from scalemark.identity.roles import ROLE_LABELS, Permission
from scalemark.org import service as org_service
from scalemark.web.htmx import page_or_partial

__all__ = ["PAGE_SIZE", "AuditLine", "action_label", "audit_log", "describe"]

PAGE_SIZE = 50

ACTION_LABELS: dict[str, Any] = {
    "auth.login": _l("Signed in"),
    "auth.logout": _l("Signed out"),
    "auth.consultant_access": _l("Consultant opened the organisation"),
    "auth.password_reset": _l("Password reset"),
    "member.add": _l("Member added"),
    "member.invite": _l("Invitation sent"),
    "member.invite_revoke": _l("Invitation withdrawn"),
    "member.join": _l("Joined the organisation"),
    "member.change": _l("Role or unit changed"),
    "member.approve": _l("Membership approved"),
    "member.reject": _l("Membership turned down"),
    "member.deactivate": _l("Member deactivated"),
    "member.reactivate": _l("Member reactivated"),
    "token.create": _l("API token created"),
    "token.revoke": _l("API token revoked"),
    "user.preferences": _l("Personal settings changed"),
    "unit.create": _l("Unit added"),
    "unit.update": _l("Unit changed"),
    "unit.move": _l("Unit moved"),
    "unit.archive": _l("Unit archived"),
    "unit.restore": _l("Unit restored"),
    "governance.publish": _l("Governance published"),
    "kpi.create": _l("KPI defined"),
    "kpi.update": _l("KPI changed"),
    "kpi_target.set": _l("KPI target set"),
    "kpi_target.clear": _l("KPI target removed"),
    "rollout.move": _l("Rollout stage changed"),
    "rollout.gates": _l("Rollout gates changed"),
}
"""Known actions in words; others show their code."""

ACTION_PREFIXES: dict[str, Any] = {
    "auth.": _l("Sign-ins"),
    "member.": _l("Members and invitations"),
    "token.": _l("API tokens"),
    "user.": _l("Personal settings"),
    "unit.": _l("Units"),
    "governance.": _l("Governance"),
    "kpi": _l("KPIs"),
    "rollout.": _l("Rollout"),
    "sso.": _l("Sign-in settings"),
}
"""Suggestions for the action filter."""


def action_label(action: str) -> str:
    """The action in words, or its area and code when it has no words of its own."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    for prefix, area in ACTION_PREFIXES.items():
        if action.startswith(prefix):
            return f"{area}: {action}"
    return action


FIELD_LABELS: dict[str, Any] = {
    "email": _l("E-mail"),
    "name": _l("Name"),
    "role": _l("Role"),
    "unit": _l("Unit"),
    "unit_id": _l("Unit"),
    "status": _l("Status"),
    "state": _l("State"),
    "method": _l("Method"),
    "via": _l("Via"),
    "prefix": _l("Prefix"),
    "owner": _l("Owner"),
    "revoked": _l("Revoked"),
    "locale": _l("Language"),
    "timezone": _l("Time zone"),
}


@dataclass(frozen=True)
class AuditLine:
    """An event ready for the page: words for the action, one row per changed field."""

    entry: audit.AuditEntry
    label: str
    changes: list[tuple[str, str, str, bool]]
    """(field, before, after, changed)."""


def _value(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key == "role" and isinstance(value, str) and value in ROLE_LABELS:
        return str(ROLE_LABELS[value])
    if isinstance(value, list):
        return ", ".join(_value(key, v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def describe(before: Any, after: Any) -> list[tuple[str, str, str, bool]]:
    """Before/after as readable rows: field, old value, new value, whether it changed."""
    if not isinstance(before, dict | None) or not isinstance(after, dict | None):
        return [(_("Value"), _value("", before), _value("", after), before != after)]
    old, new = before or {}, after or {}
    keys = list(dict.fromkeys([*old, *new]))
    return [
        (
            str(FIELD_LABELS.get(key, key)),
            _value(key, old.get(key)) if before is not None else "",
            _value(key, new.get(key)) if after is not None else "",
            before is not None and after is not None and old.get(key) != new.get(key),
        )
        for key in keys
    ]


def _like_escaped(text: str) -> str:
    """Filter text taken literally (``%`` and ``_`` are no wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@get("/audit", name="audit:list", guards=[requires(Permission.VIEW_AUDIT)], include_in_schema=False)
async def audit_log(
    request: Request[Any, Any, Any], action: str = "", actor: str = "", before: str = ""
) -> Template:
    """Newest first; filters by action prefix and actor e-mail; "older" pages by id."""
    principal = principal_of(request)
    root = await org_service.root_unit()
    if root is None or not principal.can(Permission.VIEW_AUDIT, root.path):
        raise PermissionDeniedException()
    action, actor = action.strip()[:64], actor.strip()[:320]
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    entries = await audit.list_events(
        action=_like_escaped(action) or None,
        actor=_like_escaped(actor) or None,
        limit=PAGE_SIZE + 1,
        before_id=before_id,
    )
    lines = [
        AuditLine(e, action_label(e.action), describe(e.before, e.after))
        for e in entries[:PAGE_SIZE]
    ]
    older = lines[-1].entry.id if len(entries) > PAGE_SIZE else None
    return page_or_partial(
        request,
        "identity/audit.html",
        "identity/audit_results.html",
        {
            "tenant": current_tenant(),
            "lines": lines,
            "filters": {"action": action, "actor": actor},
            "prefixes": ACTION_PREFIXES,
            "older": older,
            "paged": before_id is not None,
            "tz": principal.user.timezone,
        },
    )
