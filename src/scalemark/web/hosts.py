"""Host names → platform site or tenant slug (a pure function, easy to test)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scalemark.tenancy.slugs import is_valid_slug

__all__ = ["BadHostError", "HostTarget", "parse_host"]

_HOST = re.compile(r"^[a-z0-9.-]+$")


class BadHostError(ValueError):
    """A Host header that is malformed or outside the platform's domain."""


@dataclass(frozen=True)
class HostTarget:
    """Where a request goes."""

    slug: str | None
    """Tenant slug, or ``None`` for the platform site."""


def parse_host(host: str | None, base_domain: str) -> HostTarget:
    """Split ``<slug>.<base_domain>[:port]``; the bare base domain is the platform."""
    if not host or len(host) > 253:
        raise BadHostError("missing or overlong host")
    name = host.strip().lower()
    if name.startswith("["):
        raise BadHostError("IP literal")
    name, _, port = name.partition(":")
    if port and not port.isdigit():
        raise BadHostError("bad port")
    name = name.rstrip(".")
    if not _HOST.fullmatch(name):
        raise BadHostError("bad characters")
    if name == base_domain:
        return HostTarget(slug=None)
    suffix = "." + base_domain
    if not name.endswith(suffix):
        raise BadHostError("outside the platform domain")
    slug = name[: -len(suffix)]
    if not is_valid_slug(slug):
        raise BadHostError("not a tenant slug")
    return HostTarget(slug=slug)
