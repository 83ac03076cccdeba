"""Tenant slugs: the only tenant-derived text that ever reaches SQL identifiers."""

from __future__ import annotations

import re

from scalemark.settings import get_settings

__all__ = [
    "RESERVED_SLUGS",
    "InvalidSlugError",
    "is_valid_slug",
    "role_for",
    "schema_for",
    "validate_slug",
]

_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
MIN_LENGTH = 2
MAX_LENGTH = 40

RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "app",
        "admin",
        "platform",
        "static",
        "mail",
        "smtp",
        "status",
        "public",
        "scalemark",
        "pg",
        "postgres",
        "root",
        "help",
        "docs",
        "auth",
        "login",
        "sso",
        "test",
    }
)


class InvalidSlugError(ValueError):
    """A slug that does not match the strict pattern."""


def is_valid_slug(slug: str) -> bool:
    """Lower-case ASCII letters, digits and single hyphens, 2–40 characters, letter first."""
    return (
        isinstance(slug, str)
        and MIN_LENGTH <= len(slug) <= MAX_LENGTH
        and slug.isascii()
        and _SLUG.fullmatch(slug) is not None
    )


def validate_slug(slug: str, *, allow_reserved: bool = False) -> str:
    """Return ``slug`` unchanged or raise :class:`InvalidSlugError`."""
    if not is_valid_slug(slug):
        raise InvalidSlugError(f"invalid tenant slug: {slug!r}")
    if not allow_reserved and slug in RESERVED_SLUGS:
        raise InvalidSlugError(f"reserved tenant slug: {slug!r}")
    return slug


def schema_for(slug: str) -> str:
    """Schema name of a tenant: ``t_`` plus the slug with hyphens as underscores."""
    return "t_" + validate_slug(slug, allow_reserved=True).replace("-", "_")


def role_for(slug: str) -> str:
    """Database role of a tenant (cluster-wide, so prefixed per database)."""
    return get_settings().role_prefix + validate_slug(slug, allow_reserved=True).replace("-", "_")
