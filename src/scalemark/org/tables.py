"""Tenant tables owned by the org domain (unqualified: they live in each tenant schema)."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

__all__ = ["Unit"]


class Unit(Table, tablename="unit"):
    """One organisation unit; ``path`` is the materialised path of ids, e.g. ``/1/4/9/``."""

    id = BigSerial(primary_key=True)
    code = Varchar(length=32, unique=True)
    name = Varchar(length=200)
    kind = Varchar(length=20)
    parent_id = BigInt(null=True)
    path = Text(unique=True)
    depth = Integer(default=0)
    position = Integer(default=0)
    locale = Varchar(length=10, default="en")
    timezone = Varchar(length=64, default="UTC")
    currency = Varchar(length=3, default="EUR")
    archived_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
