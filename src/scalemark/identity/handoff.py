"""Carry a sign-in from one host to another (cookies are per host).

The platform host signs a short-lived, single-use token naming the user, the target
tenant and the path; the tenant host verifies it and starts its own session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from redis.asyncio import Redis

from scalemark.settings import get_settings

__all__ = ["HANDOFF_MAX_AGE_S", "Handoff", "handoff_url", "redeem_handoff"]

HANDOFF_MAX_AGE_S = 60
_SALT = "scalemark.handoff"


@dataclass(frozen=True)
class Handoff:
    """A verified hand-off."""

    user_id: int
    tenant_slug: str
    next_path: str
    method: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=_SALT)


def handoff_url(
    user_id: int, tenant_slug: str, next_path: str = "/", method: str = "session"
) -> str:
    """Absolute URL on the tenant host that signs the user in there."""
    token = _serializer().dumps(
        {"u": user_id, "t": tenant_slug, "n": next_path, "m": method, "j": secrets.token_hex(12)}
    )
    return get_settings().public_url(tenant_slug, "/auth/handoff?" + urlencode({"token": token}))


async def redeem_handoff(redis: Redis, token: str, tenant_slug: str) -> Handoff | None:
    """Verify signature, age, target tenant and single use; ``None`` when any fails."""
    try:
        data: dict[str, Any] = _serializer().loads(token, max_age=HANDOFF_MAX_AGE_S)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or data.get("t") != tenant_slug:
        return None
    first_use = await redis.set(
        f"scalemark:handoff:{data.get('j')}", 1, nx=True, ex=HANDOFF_MAX_AGE_S * 2
    )
    if not first_use:
        return None
    user_id, next_path = data.get("u"), data.get("n")
    if not isinstance(user_id, int) or not isinstance(next_path, str):
        return None
    return Handoff(
        user_id=user_id,
        tenant_slug=tenant_slug,
        next_path=next_path,
        method=str(data.get("m", "session")),
    )
