"""Helpers shared by the benchmark scripts (run as ``python bench/<name>.py``)."""

from __future__ import annotations

import math
from urllib.parse import urlsplit, urlunsplit

__all__ = ["ensure_database", "percentile"]


async def ensure_database(url: str) -> None:
    """Create the database named in ``url`` unless it exists (via the ``postgres`` db)."""
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit(f"no database name in {url!r}")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute('CREATE DATABASE "' + name.replace('"', '""') + '"')
    finally:
        await admin.close()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]
