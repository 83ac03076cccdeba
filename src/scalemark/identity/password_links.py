"""Single-use links that let a person choose a password (reset, or a new account's first).

The token is mailed; Redis keeps only its SHA-256 under ``scalemark:pwreset:<digest>``
with the user id as value, expiring after the link's lifetime. ``/password/reset/<token>``
(``identity.routes.AuthPages``) redeems it.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from redis.asyncio import Redis

from scalemark.i18n import gettext as _
from scalemark.identity.users import User
from scalemark.mail import MailMessage, send_mail
from scalemark.settings import get_settings

__all__ = [
    "RESET_TTL_S",
    "WELCOME_TTL_S",
    "consume_password_token",
    "issue_password_link",
    "password_link_user",
    "password_token_key",
    "send_reset_link",
    "send_welcome_link",
]

RESET_TTL_S = 3600
"""A reset link works for one hour."""
WELCOME_TTL_S = 7 * 24 * 3600
"""A new account's set-password link works for a week."""


def password_token_key(token: str) -> str:
    """The Redis key of a link token (only its digest is stored)."""
    return "scalemark:pwreset:" + hashlib.sha256(token.encode()).hexdigest()


async def issue_password_link(
    redis: Redis, user_id: int, *, tenant_slug: str | None = None, ttl_s: int = RESET_TTL_S
) -> str:
    """Store a fresh token for ``user_id`` and return the absolute link to mail."""
    token = secrets.token_urlsafe(32)
    await redis.set(password_token_key(token), user_id, ex=ttl_s)
    return get_settings().public_url(tenant_slug, f"/password/reset/{token}")


async def password_link_user(redis: Redis, token: str) -> int | None:
    """The user a still valid token belongs to."""
    value: Any = await redis.get(password_token_key(token))
    return int(value) if value is not None else None


async def consume_password_token(redis: Redis, token: str) -> None:
    """Make the link unusable (after the password was set)."""
    await redis.delete(password_token_key(token))


async def send_reset_link(
    redis: Redis, user: User, *, tenant_slug: str | None = None, tenant_id: int | None = None
) -> str:
    """Mail a one-hour reset link (in the current language); returns the outbox status."""
    link = await issue_password_link(redis, user.id, tenant_slug=tenant_slug)
    return await send_mail(
        MailMessage(
            to=user.email,
            subject=_("Reset your Scalemark password"),
            body=_(
                "Hello %(name)s,\n\nsomeone asked to reset the password of your Scalemark"
                " account. If it was you, open this link within an hour:\n\n%(link)s\n\n"
                "If it was not you, ignore this message; your password stays as it is.",
                name=user.display_name,
                link=link,
            ),
        ),
        tenant_id=tenant_id,
    )


async def send_welcome_link(redis: Redis, user: User, *, role_label: str) -> str:
    """Mail a new platform account its set-password link; returns the outbox status."""
    link = await issue_password_link(redis, user.id, ttl_s=WELCOME_TTL_S)
    return await send_mail(
        MailMessage(
            to=user.email,
            subject=_("Your Scalemark account"),
            body=_(
                "Hello %(name)s,\n\nan account was created for you on Scalemark as"
                " %(role)s. Choose your password with this link within seven days:\n\n"
                "%(link)s\n\nAfterwards sign in at %(login)s.",
                name=user.display_name,
                role=role_label,
                link=link,
                login=get_settings().public_url(None, "/login"),
            ),
        )
    )
