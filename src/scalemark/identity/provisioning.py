"""Setting people up from the command line and blueprints."""

from __future__ import annotations

from scalemark.db import tenant_transaction
from scalemark.identity import audit
from scalemark.identity.invitations import create_invitation
from scalemark.identity.memberships import add_membership
from scalemark.identity.tokens import create_token
from scalemark.identity.users import UserError, create_user, get_user_by_email, set_password
from scalemark.org import service as org_service
from scalemark.tenancy.registry import get_tenant

__all__ = [
    "UserSetupError",
    "assign_consultant",
    "create_cli_token",
    "create_cli_user",
    "ensure_member",
]


class UserSetupError(ValueError):
    """A set-up request that cannot be carried out."""


async def assign_consultant(user_id: int, tenant_id: int) -> bool:
    """Let a consultant open a tenant; returns False if already assigned."""
    from scalemark.db import shared_transaction

    async with shared_transaction() as conn:
        done = await conn.fetchval(
            "INSERT INTO scalemark.consultant_assignment (user_id, tenant_id) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING user_id",
            user_id,
            tenant_id,
        )
    if done is not None:
        await audit.record_platform(
            "consultant.assign", tenant_id=tenant_id, target=f"user:{user_id}"
        )
    return done is not None


async def ensure_member(
    email: str,
    *,
    tenant_slug: str,
    role: str,
    unit_code: str | None,
    name: str = "",
    password: str | None = None,
) -> tuple[int, bool]:
    """Create the account if needed and give it the role; returns (user id, created)."""
    info = await get_tenant(tenant_slug)
    if info is None:
        raise UserSetupError(f"no tenant {tenant_slug}")
    user = await get_user_by_email(email)
    created = user is None
    try:
        if user is None:
            user = await create_user(email, name=name, password=password)
        elif password:
            await set_password(user.id, password)
    except UserError as exc:
        raise UserSetupError(f"{exc.field}: {exc}") from exc
    async with tenant_transaction(info.ref):
        unit = await (
            org_service.get_unit_by_code(unit_code) if unit_code else org_service.root_unit()
        )
        if unit is None:
            raise UserSetupError(f"no unit {unit_code or 'HQ'} in {tenant_slug}")
        try:
            await add_membership(user.id, role, unit.id)
        except UserError as exc:
            raise UserSetupError(f"{exc.field}: {exc}") from exc
        await audit.record(
            "member.add",
            object_type="user",
            object_id=user.id,
            after={"email": user.email, "role": role, "unit": unit.code},
        )
    return user.id, created


async def create_cli_user(
    email: str,
    *,
    name: str = "",
    password: str | None,
    tenant_slug: str | None,
    role: str | None,
    unit_code: str | None,
    platform_role: str | None,
) -> str:
    """What ``scalemark users create`` does; returns a line for the terminal."""
    if tenant_slug and role and not password:
        info = await get_tenant(tenant_slug)
        if info is None:
            raise UserSetupError(f"no tenant {tenant_slug}")
        async with tenant_transaction(info.ref):
            unit = await (
                org_service.get_unit_by_code(unit_code) if unit_code else org_service.root_unit()
            )
            if unit is None:
                raise UserSetupError(f"no unit {unit_code or 'HQ'} in {tenant_slug}")
            try:
                await create_invitation(email, role, unit.id, invited_by=None)
            except UserError as exc:
                raise UserSetupError(f"{exc.field}: {exc}") from exc
        return f"invited {email} to {tenant_slug} as {role} at {unit.code}"
    user = await get_user_by_email(email)
    try:
        if user is None:
            user = await create_user(
                email, name=name, password=password, platform_role=platform_role
            )
        else:
            if password:
                await set_password(user.id, password)
            if platform_role and user.platform_role != platform_role:
                from scalemark.identity.tables import UserAccount

                await UserAccount.update({UserAccount.platform_role: platform_role}).where(
                    UserAccount.id == user.id
                )
    except UserError as exc:
        raise UserSetupError(f"{exc.field}: {exc}") from exc
    if tenant_slug and role:
        await ensure_member(email, tenant_slug=tenant_slug, role=role, unit_code=unit_code)
        return f"user {email}: {role} in {tenant_slug}"
    return f"user {email}: {platform_role}"


async def create_cli_token(tenant_slug: str, email: str, name: str) -> str:
    """What ``scalemark tokens create`` does; returns the secret."""
    info = await get_tenant(tenant_slug)
    if info is None:
        raise UserSetupError(f"no tenant {tenant_slug}")
    user = await get_user_by_email(email)
    if user is None:
        raise UserSetupError(f"no user {email}")
    from scalemark.db.tenant_context import use_tenant
    from scalemark.identity.memberships import grants_for

    with use_tenant(info.ref):
        if not await grants_for(user.id, user.platform_role):
            raise UserSetupError(f"{email} has no role in {tenant_slug}")
        _, secret = await create_token(info.id, user.id, name)
        await audit.record(
            "token.create", object_type="user", object_id=user.id, after={"name": name}
        )
    return secret
