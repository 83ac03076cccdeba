"""Slug → tenant lookups with a short in-process cache (the registry changes rarely)."""

from __future__ import annotations

import time

from scalemark.tenancy.registry import TenantInfo, get_tenant

__all__ = ["forget_tenant", "resolve_tenant"]

_TTL_SECONDS = 5.0
_cache: dict[str, tuple[float, TenantInfo | None]] = {}


async def resolve_tenant(slug: str) -> TenantInfo | None:
    """The active tenant for ``slug``; misses are cached too, briefly."""
    now = time.monotonic()
    hit = _cache.get(slug)
    if hit is not None and now - hit[0] < _TTL_SECONDS:
        return hit[1]
    info = await get_tenant(slug)
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[slug] = (now, info)
    return info


def forget_tenant(slug: str | None = None) -> None:
    """Drop cached lookups (after provisioning or dropping in this process)."""
    if slug is None:
        _cache.clear()
    else:
        _cache.pop(slug, None)
