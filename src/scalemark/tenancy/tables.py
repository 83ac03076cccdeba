"""Shared tables owned by the tenancy domain."""

from __future__ import annotations

from piccolo.columns import Array, BigSerial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from scalemark.db.engine import SHARED_SCHEMA

__all__ = ["Tenant"]


class Tenant(Table, tablename="tenant", schema=SHARED_SCHEMA):
    """Registry row of one tenant organisation."""

    id = BigSerial(primary_key=True)
    slug = Varchar(length=40, unique=True)
    name = Varchar(length=200)
    schema_name = Varchar(length=63, unique=True)
    status = Varchar(length=20, default="active")
    default_locale = Varchar(length=10, default="en")
    locales = Array(base_column=Varchar(length=10))
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
