"""A tenant's identity provider configuration (shared table ``identity_provider``).

The client secret is stored encrypted (:mod:`scalemark.identity.secrets`) and never
leaves this module in plain text except to the token request. Saving validates the
issuer by fetching its discovery document. Shared table: call outside tenant transactions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalemark.db import shared_transaction
from scalemark.db.tenant_context import TenantRef
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import oidc
from scalemark.identity.domains import DomainError, normalise_domain
from scalemark.identity.roles import ROLE_LABELS
from scalemark.identity.secrets import decrypt_secret, encrypt_secret

__all__ = [
    "JOIN_MODES",
    "NEW_MEMBER_ROLES",
    "ProviderConfig",
    "ProviderInput",
    "ProviderInputError",
    "get_provider",
    "has_provider",
    "parse_domains",
    "save_provider",
    "validate_provider",
]

JOIN_MODES: dict[str, object] = {
    "auto": _l("Join right away"),
    "approval": _l("Wait for an administrator's approval"),
}
"""How colleagues signing in for the first time become members."""

NEW_MEMBER_ROLES: dict[str, object] = {
    role: ROLE_LABELS[role] for role in ("contributor", "stakeholder")
}
"""Roles offered for new members: they join at the headquarters unit, so no admin roles."""


@dataclass(frozen=True)
class ProviderConfig:
    """A stored provider configuration."""

    tenant_id: int
    issuer: str
    client_id: str
    client_secret_enc: str
    allowed_domains: tuple[str, ...]
    default_role: str
    join_mode: str
    updated_at: datetime | None = None

    def client_secret(self) -> str:
        """The plain secret, for the token request only."""
        return decrypt_secret(self.client_secret_enc)

    def allows_domain(self, domain: str | None) -> bool:
        """Colleagues with e-mail addresses at ``domain`` may join."""
        return bool(domain) and domain in self.allowed_domains

    def audit_view(self) -> dict[str, Any]:
        """What the audit log shows (never the secret)."""
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "allowed_domains": list(self.allowed_domains),
            "default_role": self.default_role,
            "join_mode": self.join_mode,
        }


@dataclass
class ProviderInput:
    """What an admin typed (the secret is blank to keep the stored one)."""

    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    allowed_domains: str = ""
    default_role: str = "contributor"
    join_mode: str = "auto"


class ProviderInputError(ValueError):
    """Form errors by field name."""

    def __init__(self, errors: dict[str, object]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def parse_domains(text: str) -> list[str]:
    """Domains separated by commas, spaces or lines; raises :class:`DomainError`."""
    parts = [p for p in text.replace(",", " ").split() if p.strip()]
    return list(dict.fromkeys(normalise_domain(p) for p in parts))


async def get_provider(tenant_id: int) -> ProviderConfig | None:
    """The tenant's provider, if it configured one."""
    async with shared_transaction() as conn:
        row = await conn.fetchrow(
            "SELECT tenant_id, issuer, client_id, client_secret_enc, allowed_domains,"
            " default_role, join_mode, updated_at FROM scalemark.identity_provider"
            " WHERE tenant_id = $1",
            tenant_id,
        )
    if row is None:
        return None
    return ProviderConfig(
        tenant_id=row["tenant_id"],
        issuer=row["issuer"],
        client_id=row["client_id"],
        client_secret_enc=row["client_secret_enc"],
        allowed_domains=tuple(row["allowed_domains"] or ()),
        default_role=row["default_role"],
        join_mode=row["join_mode"],
        updated_at=row["updated_at"],
    )


async def has_provider(tenant: TenantRef | None) -> bool:
    """The tenant offers "Sign in with your company login" (``False`` on the platform)."""
    if tenant is None:
        return False
    async with shared_transaction() as conn:
        found = await conn.fetchval(
            "SELECT 1 FROM scalemark.identity_provider WHERE tenant_id = $1", tenant.id
        )
    return bool(found)


async def validate_provider(
    data: ProviderInput, *, has_secret: bool, roles: Iterable[str] = NEW_MEMBER_ROLES
) -> tuple[oidc.ProviderMetadata, list[str]]:
    """Check every field (the issuer by discovery); raises :class:`ProviderInputError`."""
    errors: dict[str, object] = {}
    metadata: oidc.ProviderMetadata | None = None
    try:
        metadata = await oidc.fetch_metadata(data.issuer, use_cache=False)
    except oidc.OidcError as exc:
        errors["issuer"] = exc.message
    client_id = data.client_id.strip()
    if not client_id or len(client_id) > 255:
        errors["client_id"] = _l("Enter the client id your identity provider gave you.")
    if not data.client_secret and not has_secret:
        errors["client_secret"] = _l("Enter the client secret your identity provider gave you.")
    elif len(data.client_secret) > 1000:
        errors["client_secret"] = _l("This client secret is too long.")
    domains: list[str] = []
    try:
        domains = parse_domains(data.allowed_domains)
    except DomainError as exc:
        errors["allowed_domains"] = exc.message
    else:
        if not domains:
            errors["allowed_domains"] = _l("Enter at least one e-mail domain, such as example.com.")
    if data.default_role not in roles:
        errors["default_role"] = _l("Choose a role from the list.")
    if data.join_mode not in JOIN_MODES:
        errors["join_mode"] = _l("Choose how new colleagues join.")
    if errors or metadata is None:
        raise ProviderInputError(errors)
    return metadata, domains


async def save_provider(
    tenant_id: int,
    *,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    allowed_domains: list[str],
    default_role: str,
    join_mode: str,
) -> tuple[ProviderConfig | None, ProviderConfig]:
    """Insert or update (``client_secret=None`` keeps the stored one); returns before/after."""
    before = await get_provider(tenant_id)
    if client_secret is None and before is None:
        raise ProviderInputError({"client_secret": _l("Enter the client secret.")})
    secret_enc = encrypt_secret(client_secret) if client_secret else None
    async with shared_transaction() as conn:
        await conn.execute(
            "INSERT INTO scalemark.identity_provider (tenant_id, issuer, client_id,"
            " client_secret_enc, allowed_domains, default_role, join_mode)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET"
            " issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,"
            " client_secret_enc = coalesce($8, identity_provider.client_secret_enc),"
            " allowed_domains = EXCLUDED.allowed_domains, default_role = EXCLUDED.default_role,"
            " join_mode = EXCLUDED.join_mode, updated_at = now()",
            tenant_id,
            issuer,
            client_id,
            secret_enc or "",
            allowed_domains,
            default_role,
            join_mode,
            secret_enc,
        )
    after = await get_provider(tenant_id)
    assert after is not None
    return before, after
