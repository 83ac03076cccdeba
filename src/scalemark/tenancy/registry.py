"""Reading the tenant registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scalemark.db.tenant_context import TenantRef
from scalemark.tenancy.slugs import is_valid_slug, role_for
from scalemark.tenancy.tables import Tenant

__all__ = ["TenantInfo", "get_tenant", "list_tenants"]


@dataclass(frozen=True)
class TenantInfo:
    """A tenant as listed by the CLI and the console."""

    id: int
    """Registry id."""
    slug: str
    """URL and schema key."""
    name: str
    """Display name."""
    schema: str
    """PostgreSQL schema."""
    status: str
    """``active`` or ``suspended``."""
    default_locale: str
    """Default language."""
    locales: list[str]
    """Languages the organisation works in."""
    created_at: datetime
    """When it was provisioned."""

    @property
    def ref(self) -> TenantRef:
        """The context handle for tenant transactions."""
        return TenantRef(
            slug=self.slug,
            schema=self.schema,
            role=role_for(self.slug),
            default_locale=self.default_locale,
            name=self.name,
            id=self.id,
        )


def _info(row: dict) -> TenantInfo:
    return TenantInfo(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        schema=row["schema_name"],
        status=row["status"],
        default_locale=row["default_locale"],
        locales=list(row["locales"] or []),
        created_at=row["created_at"],
    )


async def get_tenant(slug: str) -> TenantInfo | None:
    """The active tenant with this slug, or ``None`` (also for malformed slugs)."""
    if not is_valid_slug(slug):
        return None
    row = await Tenant.select().where((Tenant.slug == slug) & (Tenant.status == "active")).first()
    return _info(row) if row else None


async def list_tenants() -> list[TenantInfo]:
    """All tenants, ordered by slug."""
    rows = await Tenant.select().order_by(Tenant.slug)
    return [_info(r) for r in rows]
