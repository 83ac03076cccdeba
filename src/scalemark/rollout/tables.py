"""Tenant tables of the rollout domain (created by ``migrations/tenant/0006_rollout.sql``)."""

from __future__ import annotations

from piccolo.columns import (
    BigInt,
    BigSerial,
    Boolean,
    Numeric,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

__all__ = ["RolloutGate", "RolloutMove", "RolloutStageCurrent"]


class RolloutStageCurrent(Table, tablename="rollout_stage_current"):
    """The stage a unit is in now (no row: stage 1)."""

    unit_id = BigInt(primary_key=True)
    stage = SmallInt()
    updated_at = Timestamptz(default=TimestamptzNow())


class RolloutMove(Table, tablename="rollout_move"):
    """One move of a unit between stages: who, when, from, to, note, sign-off."""

    id = BigSerial(primary_key=True)
    unit_id = BigInt()
    from_stage = SmallInt()
    to_stage = SmallInt()
    note = Text(default="")
    signed_off = Boolean(default=False)
    actor_id = BigInt(null=True, default=None)
    actor_label = Varchar(length=320, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class RolloutGate(Table, tablename="rollout_gate"):
    """One criterion of the gate into a stage (2–5)."""

    id = BigSerial(primary_key=True)
    stage = SmallInt()
    criterion = Varchar(length=40)
    threshold = Numeric(digits=(6, 2), null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
