"""``GET /healthz``: database and Redis state as JSON, 503 when one is down."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar import Request, Response, get

from scalemark.db.engine import get_engine

__all__ = ["healthz"]


async def _check_database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        engine = get_engine()
        if engine.pool is None:
            return {"ok": False, "error": "no pool"}
        async with engine.pool.acquire(timeout=2) as conn:
            await asyncio.wait_for(conn.fetchval("SELECT 1"), 2)
    except Exception as exc:  # health reports every failure, whatever its kind
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


async def _check_redis(request: Request) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        client = request.app.state.redis
        await asyncio.wait_for(client.ping(), 2)
    except Exception as exc:  # health reports every failure, whatever its kind
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


@get("/healthz", name="healthz", include_in_schema=False, skip_session=True)
async def healthz(request: Request) -> Response[dict[str, Any]]:
    """Liveness and dependencies for load balancers and `make run`."""
    database, redis = await _check_database(), await _check_redis(request)
    healthy = database["ok"] and redis["ok"]
    return Response(
        {"status": "ok" if healthy else "degraded", "database": database, "redis": redis},
        status_code=200 if healthy else 503,
    )
