"""The Piccolo engine and its connection pool."""

from __future__ import annotations

from piccolo.engine.postgres import PostgresEngine

from scalemark.settings import get_settings

__all__ = ["SHARED_SCHEMA", "close_pool", "get_engine", "start_pool"]

SHARED_SCHEMA = "scalemark"
"""Schema of cross-tenant data (tenant registry, users, identities); never ``public``."""


def get_engine() -> PostgresEngine:
    """The engine every table uses (defined in ``scalemark.piccolo_conf``)."""
    from scalemark.piccolo_conf import DB

    return DB


async def start_pool() -> None:
    """Open the pool; called from the web lifespan and the worker's start-up."""
    settings = get_settings()
    engine = get_engine()
    if engine.pool is None:
        await engine.start_connection_pool(
            min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )


async def close_pool() -> None:
    """Close the pool if it is open."""
    engine = get_engine()
    if engine.pool is not None:
        await engine.close_connection_pool()
