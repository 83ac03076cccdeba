"""``/members``: people, roles and invitations within the admin's part of the unit tree.

Everything is checked on the server for each object: memberships and invitations outside
the admin's subtree answer 404, ones they can see but may not change (a role with more
rights than their own) 403, and values a form could never offer (a unit outside the
subtree, a role they cannot give anywhere) 403 as well. Mistakes a person can make in
the form come back as the form with a message (422).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Template

from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.identity import invitations, memberships
from scalemark.identity.guards import principal_of, requires
from scalemark.identity.principal import Principal
from scalemark.identity.roles import ROLE_LABELS, TENANT_ROLES, Permission
from scalemark.identity.users import UserError, normalise_email
from scalemark.org import service as org_service
from scalemark.web.htmx import is_partial_request, redirect

__all__ = ["MemberPages"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
MANAGE = Permission.MANAGE_MEMBERS
_FIELDS = {"role": "role", "unit": "unit_id", "unit_id": "unit_id", "email": "email"}
"""Service error field → form field (anything else shows above the form)."""


@dataclass(frozen=True)
class MemberScope:
    """What the signed-in admin may manage: units of their subtrees and roles to give."""

    principal: Principal
    units: list[org_service.UnitNode]
    roles: list[str]

    def sees(self, unit_path: str) -> bool:
        """The unit lies in the admin's subtrees."""
        return self.principal.can(MANAGE, unit_path)

    def may_manage(self, role: str, unit_path: str) -> bool:
        """The admin may give, change or take this role at this unit."""
        return memberships.may_manage(self.principal, role, unit_path)


async def _scope(request: Request[Any, Any, Any]) -> MemberScope:
    principal = principal_of(request)
    units = [u for u in await org_service.whole_tree() if principal.can(MANAGE, u.path)]
    grantable: set[str] = set()
    for unit in units:
        grantable.update(memberships.grantable_roles(principal, unit.path))
    return MemberScope(principal, units, [r for r in TENANT_ROLES if r in grantable])


async def _visible_membership(scope: MemberScope, membership_id: int) -> memberships.MemberRow:
    row = await memberships.get_membership(membership_id)
    if row is None or not scope.sees(row.unit_path):
        raise NotFoundException()
    return row


def _manageable(scope: MemberScope, row: memberships.MemberRow) -> memberships.MemberRow:
    if not scope.may_manage(row.role, row.unit_path):
        raise PermissionDeniedException()
    return row


async def _role_and_unit(
    scope: MemberScope, data: dict[str, str]
) -> tuple[str, org_service.UnitNode | None, dict[str, str]]:
    """Read role and unit from a form; forged values (never offered) are refused."""
    errors: dict[str, str] = {}
    role = (data.get("role") or "").strip()
    if role not in TENANT_ROLES:
        errors["role"] = _("Choose a role from the list.")
    elif role not in scope.roles:
        raise PermissionDeniedException()
    unit = None
    try:
        unit = await org_service.get_unit(int(data.get("unit_id") or ""))
    except ValueError:
        unit = None
    if unit is None or unit.archived:
        errors["unit_id"] = _("Choose a unit from the list.")
        unit = None
    elif not scope.sees(unit.path):
        raise PermissionDeniedException()
    if unit is not None and not errors and not scope.may_manage(role, unit.path):
        errors["role"] = _("You cannot give this role at this unit.")
    return role, unit, errors


def _error_of(exc: UserError) -> dict[str, str]:
    return {_FIELDS.get(exc.field, "form"): str(exc.message)}


def _html(name: str, context: dict[str, Any], status: int = 200) -> Template:
    return Template(
        template_name=name, context=context, status_code=status, media_type=MediaType.HTML
    )


def _common(scope: MemberScope) -> dict[str, Any]:
    return {
        "tenant": current_tenant(),
        "units": scope.units,
        "roles": scope.roles,
        "role_labels": ROLE_LABELS,
        "can_manage": lambda row: scope.may_manage(row.role, row.unit_path),
        "current_user": scope.principal.user,
        "tz": scope.principal.user.timezone,
    }


async def _invitation_context(
    scope: MemberScope,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    invited: str | None = None,
) -> dict[str, Any]:
    paths = scope.principal.scope_paths(MANAGE)
    return {
        **_common(scope),
        "invitations": await invitations.list_invitations(paths),
        "invite_values": values or {},
        "invite_errors": errors or {},
        "invited": invited,
        "invitation_days": invitations.INVITATION_DAYS,
    }


async def _page(
    scope: MemberScope,
    *,
    status: int = 200,
    message: str | None = None,
    error: str | None = None,
    **invite: Any,
) -> Template:
    rows = await memberships.list_members(scope.principal.scope_paths(MANAGE))
    return _html(
        "identity/members.html",
        {
            **await _invitation_context(scope, **invite),
            "members": [r for r in rows if r.status != "pending"],
            "pending": [r for r in rows if r.status == "pending"],
            "message": message,
            "error": error,
        },
        status,
    )


def _row(
    scope: MemberScope, row: memberships.MemberRow, *, error: str | None = None, status: int = 200
) -> Template:
    return _html(
        "identity/_member_row.html", {**_common(scope), "row": row, "error": error}, status
    )


def _edit(
    request: Request[Any, Any, Any],
    scope: MemberScope,
    row: memberships.MemberRow,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    context = {
        **_common(scope),
        "row": row,
        "values": values or {"role": row.role, "unit_id": str(row.unit_id)},
        "errors": errors or {},
    }
    if is_partial_request(request):
        return _html("identity/_member_edit_row.html", context, status)
    return _html("identity/members_edit.html", context, status)


class MemberPages(Controller):
    """Members of the organisation, as far as the signed-in admin's scope reaches."""

    path = "/members"
    guards = [requires(MANAGE)]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="members:list", media_type=MediaType.HTML)
    async def list_page(self, request: Request[Any, Any, Any]) -> Template:
        """Members, people waiting for approval, the invite form and the invitations."""
        scope = await _scope(request)
        query = request.query_params
        message = None
        if query.get("saved") == "1":
            message = _("The change is saved.")
        elif query.get("invited") == "1":
            message = _("The invitation is sent.")
        elif query.get("revoked") == "1":
            message = _("The invitation is withdrawn.")
        return await _page(scope, message=message)

    @get("/{membership_id:int}", name="members:row", media_type=MediaType.HTML)
    async def row(self, request: Request[Any, Any, Any], membership_id: int) -> Any:
        """One row (what "Cancel" of the inline edit swaps back in)."""
        scope = await _scope(request)
        row = await _visible_membership(scope, membership_id)
        if not is_partial_request(request):
            return redirect(request, "/members")
        return _row(scope, row)

    @get("/{membership_id:int}/edit", name="members:edit", media_type=MediaType.HTML)
    async def edit(self, request: Request[Any, Any, Any], membership_id: int) -> Template:
        """Change role and unit: an inline form for htmx, a page otherwise."""
        scope = await _scope(request)
        row = _manageable(scope, await _visible_membership(scope, membership_id))
        return _edit(request, scope, row)

    @post("/{membership_id:int}", name="members:change", media_type=MediaType.HTML)
    async def change(self, request: Request[Any, Any, Any], membership_id: int, data: Form) -> Any:
        """Save a new role and unit; mistakes come back in the form (422)."""
        scope = await _scope(request)
        row = _manageable(scope, await _visible_membership(scope, membership_id))
        role, unit, errors = await _role_and_unit(scope, data)
        if not errors and unit is not None:
            try:
                row = await memberships.change_membership(membership_id, role=role, unit_id=unit.id)
            except UserError as exc:
                errors = _error_of(exc)
        if errors:
            return _edit(request, scope, row, values=data, errors=errors, status=422)
        if is_partial_request(request):
            return _row(scope, row)
        return redirect(request, "/members?saved=1")

    @post("/{membership_id:int}/status", name="members:status", media_type=MediaType.HTML)
    async def set_status(
        self, request: Request[Any, Any, Any], membership_id: int, data: Form
    ) -> Any:
        """Approve, deactivate or reactivate."""
        scope = await _scope(request)
        row = _manageable(scope, await _visible_membership(scope, membership_id))
        status = data.get("status") or ""
        if status not in {"active", "disabled"}:
            raise PermissionDeniedException()
        try:
            row = await memberships.change_membership_status(membership_id, status)
        except UserError as exc:
            if is_partial_request(request):
                return _row(scope, row, error=str(exc.message), status=422)
            return await _page(scope, error=str(exc.message), status=422)
        if is_partial_request(request):
            return _row(scope, row)
        return redirect(request, "/members?saved=1")

    @post("/{membership_id:int}/reject", name="members:reject", media_type=MediaType.HTML)
    async def reject(self, request: Request[Any, Any, Any], membership_id: int) -> Any:
        """Turn down someone waiting for approval."""
        scope = await _scope(request)
        row = _manageable(scope, await _visible_membership(scope, membership_id))
        try:
            await memberships.reject_pending_membership(membership_id)
        except UserError as exc:
            if is_partial_request(request):
                return _row(scope, row, error=str(exc.message), status=422)
            return await _page(scope, error=str(exc.message), status=422)
        if is_partial_request(request):
            return Response(content="", media_type=MediaType.HTML, status_code=200)
        return redirect(request, "/members?saved=1")

    @post("/invite", name="members:invite", media_type=MediaType.HTML)
    async def invite(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Invite someone by e-mail to a role at a unit of the admin's subtree."""
        scope = await _scope(request)
        role, unit, errors = await _role_and_unit(scope, data)
        email = (data.get("email") or "").strip()
        try:
            email = normalise_email(email)
        except UserError as exc:
            errors = {**_error_of(exc), **errors}
        if not errors and unit is not None:
            try:
                await invitations.create_invitation(
                    email, role, unit.id, invited_by=scope.principal.user.id
                )
            except UserError as exc:
                errors = _error_of(exc)
        if errors:
            if is_partial_request(request):
                context = await _invitation_context(scope, values=data, errors=errors)
                return _html("identity/_member_invitations.html", context, 422)
            return await _page(scope, values=data, errors=errors, status=422)
        if is_partial_request(request):
            context = await _invitation_context(scope, invited=email)
            return _html("identity/_member_invitations.html", context)
        return redirect(request, "/members?invited=1")

    @post(
        "/invitations/{invitation_id:int}/revoke",
        name="members:revoke_invitation",
        media_type=MediaType.HTML,
    )
    async def revoke(self, request: Request[Any, Any, Any], invitation_id: int) -> Any:
        """Withdraw an open invitation."""
        scope = await _scope(request)
        invitation = await invitations.get_invitation(invitation_id)
        if invitation is None or not scope.sees(invitation.unit_path):
            raise NotFoundException()
        if not scope.may_manage(invitation.role, invitation.unit_path):
            raise PermissionDeniedException()
        errors = {}
        if not await invitations.revoke_invitation(invitation_id):
            errors["form"] = _("This invitation is no longer open.")
        status = 422 if errors else 200
        if is_partial_request(request):
            context = await _invitation_context(scope, errors=errors)
            return _html("identity/_member_invitations.html", context, status)
        if errors:
            return await _page(scope, error=errors["form"], status=status)
        return redirect(request, "/members?revoked=1")
