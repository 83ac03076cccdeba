"""Start-up and shutdown of shared clients: database pool, Redis, arq."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.connections import ArqRedis, RedisSettings, create_pool
from litestar import Litestar
from redis.asyncio import Redis

from scalemark.db import close_pool, start_pool
from scalemark.settings import get_settings

__all__ = ["get_job_queue", "lifespan"]

logger = logging.getLogger("scalemark.lifespan")


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open the pools; a missing Redis degrades features instead of stopping the app."""
    settings = get_settings()
    await start_pool()
    app.state.redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    app.state.arq = None
    try:
        yield
    finally:
        if app.state.arq is not None:
            await app.state.arq.aclose()
        await app.state.redis.aclose()
        await close_pool()


async def get_job_queue(app: Litestar) -> ArqRedis:
    """The arq pool, created on first use (so the web starts even while Redis is down)."""
    if app.state.get("arq") is None:
        settings = RedisSettings.from_dsn(get_settings().redis_url)
        settings.conn_retries = 1
        app.state.arq = await create_pool(settings)
    pool: ArqRedis = app.state.arq
    return pool
