"""Piccolo tables of the identity domain: shared ones (schema-qualified) and tenant ones."""

from __future__ import annotations

from piccolo.columns import JSONB, Array, BigInt, BigSerial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from scalemark.db.engine import SHARED_SCHEMA

__all__ = [
    "ApiToken",
    "AuditEvent",
    "ConsultantAssignment",
    "Identity",
    "IdentityProvider",
    "Invitation",
    "Membership",
    "PlatformEvent",
    "TenantDomain",
    "UserAccount",
]


class UserAccount(Table, tablename="user_account", schema=SHARED_SCHEMA):
    """A person; e-mail is stored lower-case and unique."""

    id = BigSerial(primary_key=True)
    email = Varchar(length=320, unique=True)
    name = Varchar(length=200, default="")
    locale = Varchar(length=10, null=True, default=None)
    timezone = Varchar(length=64, default="UTC")
    status = Varchar(length=20, default="active")
    password_hash = Text(null=True, default=None)
    platform_role = Varchar(length=20, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class Identity(Table, tablename="identity", schema=SHARED_SCHEMA):
    """Link of a user to an OpenID provider account."""

    id = BigSerial(primary_key=True)
    user_id = BigInt()
    issuer = Text()
    subject = Text()
    email = Varchar(length=320, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class IdentityProvider(Table, tablename="identity_provider", schema=SHARED_SCHEMA):
    """A tenant's OpenID provider configuration (the secret is encrypted)."""

    tenant_id = BigInt(primary_key=True)
    issuer = Text()
    client_id = Text()
    client_secret_enc = Text()
    allowed_domains = Array(base_column=Varchar(length=253))
    default_role = Varchar(length=20, default="contributor")
    join_mode = Varchar(length=20, default="auto")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TenantDomain(Table, tablename="tenant_domain", schema=SHARED_SCHEMA):
    """An e-mail domain claimed by a tenant."""

    domain = Varchar(length=253, primary_key=True)
    tenant_id = BigInt()
    token = Text()
    verified_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ConsultantAssignment(Table, tablename="consultant_assignment", schema=SHARED_SCHEMA):
    """A consultant may open this tenant."""

    user_id = BigInt(primary_key=True)
    tenant_id = BigInt()
    created_at = Timestamptz(default=TimestamptzNow())


class ApiToken(Table, tablename="api_token", schema=SHARED_SCHEMA):
    """A bearer token for the JSON API."""

    id = BigSerial(primary_key=True)
    tenant_id = BigInt()
    user_id = BigInt()
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=16)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class PlatformEvent(Table, tablename="platform_event", schema=SHARED_SCHEMA):
    """Platform-level audit event."""

    id = BigSerial(primary_key=True)
    actor_id = BigInt(null=True, default=None)
    actor_label = Varchar(length=320, default="")
    action = Varchar(length=64)
    tenant_id = BigInt(null=True, default=None)
    target = Text(default="")
    before = JSONB(null=True, default=None)
    after = JSONB(null=True, default=None)
    ip = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Membership(Table, tablename="membership"):
    """A user's role at a unit (tenant table)."""

    id = BigSerial(primary_key=True)
    user_id = BigInt()
    role = Varchar(length=20)
    unit_id = BigInt()
    status = Varchar(length=20, default="active")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Invitation(Table, tablename="invitation"):
    """An invitation to join the tenant (tenant table)."""

    id = BigSerial(primary_key=True)
    email = Varchar(length=320)
    role = Varchar(length=20)
    unit_id = BigInt()
    token_hash = Varchar(length=64, unique=True)
    invited_by = BigInt(null=True, default=None)
    expires_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AuditEvent(Table, tablename="audit_event"):
    """Who did what and when in this tenant (tenant table)."""

    id = BigSerial(primary_key=True)
    actor_id = BigInt(null=True, default=None)
    actor_label = Varchar(length=320, default="")
    action = Varchar(length=64)
    object_type = Varchar(length=64, default="")
    object_id = Varchar(length=64, default="")
    before = JSONB(null=True, default=None)
    after = JSONB(null=True, default=None)
    ip = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
