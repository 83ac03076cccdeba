"""Sign-in attempts in flight: state, nonce and PKCE verifier in the server-side session.

All flows come back to one callback on the platform host. A flow that starts on a
tenant host (its cookies are per host) hops to the platform host with a short-lived
signed request naming the tenant and where to go afterwards.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from redis.asyncio import Redis

from scalemark.settings import get_settings

__all__ = [
    "CALLBACK_PATH",
    "FLOW_TTL_S",
    "ONBOARDING_KEY",
    "Flow",
    "callback_uri",
    "discovery_allowed",
    "read_start_request",
    "remember_flow",
    "sign_start_request",
    "take_flow",
]

CALLBACK_PATH = "/auth/oidc/callback"
FLOW_TTL_S = 600
"""A sign-in at the provider must come back within ten minutes."""
MAX_FLOWS = 5
"""Flows kept per session (several tabs); the oldest drop out."""
START_MAX_AGE_S = 120
FLOWS_KEY = "oidc_flows"
ONBOARDING_KEY = "onboarding"
_SALT = "scalemark.sso.start"
DISCOVERY_LIMIT = 30
DISCOVERY_WINDOW_S = 600


@dataclass(frozen=True)
class Flow:
    """One sign-in attempt: ``kind`` is ``tenant`` (sign-in/join) or ``register``."""

    kind: str
    state: str
    nonce: str
    code_verifier: str
    issuer: str
    tenant: str | None = None
    next_path: str = "/"
    created: float = 0.0


def callback_uri() -> str:
    """The redirect URI registered at every provider (platform host)."""
    return get_settings().public_url(None, CALLBACK_PATH)


def remember_flow(session: dict[str, Any], flow: Flow) -> None:
    """Keep the flow under its state (at most :data:`MAX_FLOWS`, expired ones dropped)."""
    now = time.time()
    flows = {
        state: data
        for state, data in dict(session.get(FLOWS_KEY) or {}).items()
        if isinstance(data, dict) and now - float(data.get("created", 0)) < FLOW_TTL_S
    }
    flows[flow.state] = asdict(flow) | {"created": now}
    newest = sorted(flows.items(), key=lambda item: item[1]["created"])[-MAX_FLOWS:]
    session[FLOWS_KEY] = dict(newest)


def take_flow(session: dict[str, Any], state: str) -> Flow | None:
    """Remove and return the flow of ``state``: a state works once, within the time limit."""
    flows = dict(session.get(FLOWS_KEY) or {})
    data = flows.pop(state, None) if state else None
    session[FLOWS_KEY] = flows
    if not isinstance(data, dict) or time.time() - float(data.get("created", 0)) >= FLOW_TTL_S:
        return None
    try:
        return Flow(**data)
    except TypeError:
        return None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=_SALT)


def sign_start_request(tenant_slug: str, next_path: str, login_hint: str = "") -> str:
    """A token for ``/auth/oidc/start`` on the platform host (two minutes)."""
    return _serializer().dumps({"t": tenant_slug, "n": next_path, "h": login_hint})


def read_start_request(token: str) -> tuple[str, str, str] | None:
    """(tenant slug, next path, login hint) of a valid token, else ``None``."""
    try:
        data = _serializer().loads(token, max_age=START_MAX_AGE_S)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        return None
    return data["t"], str(data.get("n") or "/"), str(data.get("h") or "")


async def discovery_allowed(redis: Redis, client_ip: str | None) -> bool:
    """Throttle provider checks from the public pages (they make us fetch URLs)."""
    key = f"scalemark:sso:discovery:{client_ip or 'unknown'}"
    count = await redis.incr(key)
    if count == 1:
        await redis.expire(key, DISCOVERY_WINDOW_S)
    return int(count) <= DISCOVERY_LIMIT
