"""Database access: the engine, tenant transactions and the migration runner."""

from scalemark.db.engine import SHARED_SCHEMA, close_pool, get_engine, start_pool
from scalemark.db.tenant_context import (
    NoTenantError,
    TenantRef,
    current_tenant,
    shared_transaction,
    tenant_transaction,
    use_tenant,
)

__all__ = [
    "SHARED_SCHEMA",
    "NoTenantError",
    "TenantRef",
    "close_pool",
    "current_tenant",
    "get_engine",
    "shared_transaction",
    "start_pool",
    "tenant_transaction",
    "use_tenant",
]
