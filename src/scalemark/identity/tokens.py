"""API tokens: shown once, stored as SHA-256, bound to a tenant and a user."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalemark.db import shared_transaction

__all__ = [
    "TOKEN_PREFIX",
    "TokenInfo",
    "create_token",
    "get_token",
    "list_tokens",
    "resolve_token",
    "revoke_token",
]

TOKEN_PREFIX = "smk_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (never the secret)."""

    id: int
    user_id: int
    email: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


async def create_token(tenant_id: int, user_id: int, name: str) -> tuple[int, str]:
    """A new token; returns its id and the secret (shown to the user once)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with shared_transaction() as conn:
        token_id = await conn.fetchval(
            "INSERT INTO scalemark.api_token (tenant_id, user_id, name, token_hash, prefix)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            tenant_id,
            user_id,
            (name.strip() or "API")[:100],
            _digest(secret),
            secret[:12],
        )
    return int(token_id), secret


async def resolve_token(secret: str, tenant_slug: str) -> int | None:
    """The user id behind a live token of this tenant, else ``None``."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    async with shared_transaction() as conn:
        user_id = await conn.fetchval(
            "UPDATE scalemark.api_token k SET last_used_at = now()"
            " FROM scalemark.tenant t, scalemark.user_account u"
            " WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND t.id = k.tenant_id"
            " AND t.slug = $2 AND u.id = k.user_id AND u.status = 'active' RETURNING k.user_id",
            _digest(secret),
            tenant_slug,
        )
    return int(user_id) if user_id is not None else None


_TOKEN_SELECT = (
    "SELECT k.id, k.user_id, u.email, k.name, k.prefix, k.created_at, k.last_used_at,"
    " k.revoked_at FROM scalemark.api_token k JOIN scalemark.user_account u ON u.id = k.user_id"
)


def _info(r: Any) -> TokenInfo:
    return TokenInfo(
        id=r["id"],
        user_id=r["user_id"],
        email=r["email"],
        name=r["name"],
        prefix=r["prefix"],
        created_at=r["created_at"],
        last_used_at=r["last_used_at"],
        revoked=r["revoked_at"] is not None,
    )


async def list_tokens(tenant_id: int, user_id: int | None = None) -> list[TokenInfo]:
    """Tokens of a tenant (optionally one user's), newest first."""
    async with shared_transaction() as conn:
        rows = await conn.fetch(
            _TOKEN_SELECT + " WHERE k.tenant_id = $1 AND ($2::bigint IS NULL OR k.user_id = $2)"
            " ORDER BY k.id DESC",
            tenant_id,
            user_id,
        )
    return [_info(r) for r in rows]


async def get_token(tenant_id: int, token_id: int) -> TokenInfo | None:
    """One token of this tenant (never the secret)."""
    async with shared_transaction() as conn:
        row = await conn.fetchrow(
            _TOKEN_SELECT + " WHERE k.id = $1 AND k.tenant_id = $2", token_id, tenant_id
        )
    return _info(row) if row else None


async def revoke_token(tenant_id: int, token_id: int, user_id: int | None = None) -> bool:
    """Revoke a token of this tenant (only the user's own when ``user_id`` is given)."""
    async with shared_transaction() as conn:
        done = await conn.fetchval(
            "UPDATE scalemark.api_token SET revoked_at = now() WHERE id = $1 AND tenant_id = $2"
            " AND ($3::bigint IS NULL OR user_id = $3) AND revoked_at IS NULL RETURNING id",
            token_id,
            tenant_id,
            user_id,
        )
    return done is not None
