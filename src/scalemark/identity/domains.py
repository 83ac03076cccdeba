"""E-mail domains: normalising them, and claims proven by a DNS TXT record.

A tenant claims a domain for home-realm discovery by publishing
``_scalemark-challenge.<domain> TXT "scalemark-verify=<token>"``. Several tenants may
hold a pending claim; only one can hold it verified, and verifying removes the others'
pending claims. Shared tables only: call these outside any tenant transaction.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import dns.asyncresolver
import dns.exception
import dns.resolver

from scalemark.db import shared_transaction
from scalemark.i18n import lazy_gettext as _l
from scalemark.settings import get_settings

__all__ = [
    "CHALLENGE_PREFIX",
    "FREEMAIL_DOMAINS",
    "TXT_PREFIX",
    "DomainClaim",
    "DomainError",
    "add_claim",
    "claimed_by",
    "email_domain",
    "list_claims",
    "lookup_txt",
    "normalise_domain",
    "remove_claim",
    "verify_claim",
]

CHALLENGE_PREFIX = "_scalemark-challenge."
TXT_PREFIX = "scalemark-verify="
DNS_TIMEOUT_S = 5.0
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "proton.me",
        "protonmail.com",
        "mail.com",
    }
)
"""Public mail services: nobody proves to own these, so nobody may claim them."""

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DomainError(ValueError):
    """A domain or claim that breaks a rule; ``field`` names the form field."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


def normalise_domain(value: str) -> str:
    """Lower-case ASCII (IDNA) form of a domain such as ``example.com``; raises otherwise."""
    text = (value or "").strip().lower().lstrip("@").rstrip(".")
    try:
        text = text.encode("idna").decode("ascii") if text and not text.isascii() else text
    except UnicodeError as exc:
        raise DomainError("domain", _l("Enter a domain such as example.com.")) from exc
    labels = text.split(".")
    if len(text) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(p) for p in labels):
        raise DomainError("domain", _l("Enter a domain such as example.com."))
    if labels[-1].isdigit():
        raise DomainError("domain", _l("Enter a domain such as example.com."))
    return text


def email_domain(email: str) -> str:
    """The normalised domain of an e-mail address."""
    return normalise_domain(email.rsplit("@", 1)[-1]) if "@" in (email or "") else ""


@dataclass(frozen=True)
class DomainClaim:
    """A tenant's claim on a domain."""

    domain: str
    tenant_id: int
    token: str
    verified_at: datetime | None
    created_at: datetime

    @property
    def verified(self) -> bool:
        """Proven by DNS."""
        return self.verified_at is not None

    @property
    def record_name(self) -> str:
        """Where the TXT record goes."""
        return CHALLENGE_PREFIX + self.domain

    @property
    def record_value(self) -> str:
        """What the TXT record says."""
        return TXT_PREFIX + self.token


def _claim(row: asyncpg.Record) -> DomainClaim:
    return DomainClaim(
        domain=row["domain"],
        tenant_id=row["tenant_id"],
        token=row["token"],
        verified_at=row["verified_at"],
        created_at=row["created_at"],
    )


_COLUMNS = "domain, tenant_id, token, verified_at, created_at"


async def list_claims(tenant_id: int) -> list[DomainClaim]:
    """A tenant's claims, verified first."""
    async with shared_transaction() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM scalemark.tenant_domain WHERE tenant_id = $1"
            " ORDER BY verified_at IS NULL, domain",
            tenant_id,
        )
    return [_claim(r) for r in rows]


async def claimed_by(domain: str) -> int | None:
    """The tenant that holds ``domain`` verified (home-realm discovery), if any."""
    try:
        value = normalise_domain(domain)
    except DomainError:
        return None
    async with shared_transaction() as conn:
        found = await conn.fetchval(
            "SELECT tenant_id FROM scalemark.tenant_domain"
            " WHERE domain = $1 AND verified_at IS NOT NULL",
            value,
        )
    return int(found) if found is not None else None


_OWNED_ELSEWHERE = _l(
    "This domain belongs to another organisation on Scalemark. Contact us if it is yours."
)


async def add_claim(tenant_id: int, domain: str) -> DomainClaim:
    """Start (or return the existing) claim of ``domain`` for the tenant."""
    value = normalise_domain(domain)
    if value in FREEMAIL_DOMAINS:
        raise DomainError("domain", _l("Public e-mail services cannot be claimed."))
    async with shared_transaction() as conn:
        owner = await conn.fetchval(
            "SELECT tenant_id FROM scalemark.tenant_domain"
            " WHERE domain = $1 AND verified_at IS NOT NULL",
            value,
        )
        if owner is not None and owner != tenant_id:
            raise DomainError("domain", _OWNED_ELSEWHERE)
        row = await conn.fetchrow(
            "INSERT INTO scalemark.tenant_domain (domain, tenant_id, token) VALUES ($1, $2, $3)"
            " ON CONFLICT (domain, tenant_id) DO UPDATE SET domain = EXCLUDED.domain"
            f" RETURNING {_COLUMNS}",
            value,
            tenant_id,
            secrets.token_urlsafe(24),
        )
    return _claim(row)


def _nameserver() -> tuple[str, int] | None:
    configured = get_settings().dns_resolver.strip()
    if not configured:
        return None
    if configured.startswith("["):
        host, _, rest = configured[1:].partition("]")
        port = rest.lstrip(":")
    elif configured.count(":") == 1:
        host, port = configured.split(":")
    else:
        host, port = configured, ""
    return host, int(port) if port else 53


async def _resolver() -> dns.asyncresolver.Resolver:
    server = _nameserver()
    if server is None:
        resolver = dns.asyncresolver.Resolver()
    else:
        host, port = server
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            address = str(infos[0][4][0])
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [address]
        resolver.port = port
    resolver.lifetime = DNS_TIMEOUT_S
    resolver.timeout = DNS_TIMEOUT_S / 2
    return resolver


async def lookup_txt(name: str) -> list[str]:
    """TXT strings at ``name`` (each record's strings joined); empty when there are none.

    Raises :class:`DomainError` when DNS does not answer at all.
    """
    try:
        answer = await (await _resolver()).resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        raise DomainError(
            "verify", _l("The DNS lookup failed. Please try again in a few minutes.")
        ) from exc
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


async def verify_claim(tenant_id: int, domain: str) -> DomainClaim:
    """Check the TXT record; on success the claim is verified and others' claims end."""
    value = normalise_domain(domain)
    async with shared_transaction() as conn:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM scalemark.tenant_domain WHERE domain = $1 AND tenant_id = $2",
            value,
            tenant_id,
        )
    if row is None:
        raise DomainError("verify", _l("Add the domain first."))
    claim = _claim(row)
    if claim.verified:
        return claim
    found = await lookup_txt(claim.record_name)
    if not any(secrets.compare_digest(text.strip(), claim.record_value) for text in found):
        raise DomainError(
            "verify",
            _l(
                "We did not find the TXT record yet. Publish it, wait a few minutes for DNS"
                " to update, then try again."
            ),
        )
    try:
        async with shared_transaction() as conn:
            owner = await conn.fetchval(
                "SELECT tenant_id FROM scalemark.tenant_domain"
                " WHERE domain = $1 AND verified_at IS NOT NULL FOR UPDATE",
                value,
            )
            if owner is not None and owner != tenant_id:
                raise DomainError("verify", _OWNED_ELSEWHERE)
            row = await conn.fetchrow(
                "UPDATE scalemark.tenant_domain SET verified_at = coalesce(verified_at, now())"
                f" WHERE domain = $1 AND tenant_id = $2 RETURNING {_COLUMNS}",
                value,
                tenant_id,
            )
            if row is None:
                raise DomainError("verify", _l("Add the domain first."))
            await conn.execute(
                "DELETE FROM scalemark.tenant_domain"
                " WHERE domain = $1 AND tenant_id <> $2 AND verified_at IS NULL",
                value,
                tenant_id,
            )
    except asyncpg.UniqueViolationError as exc:  # another tenant verified at the same moment
        raise DomainError("verify", _OWNED_ELSEWHERE) from exc
    return _claim(row)


async def remove_claim(tenant_id: int, domain: str) -> DomainClaim | None:
    """Give up a claim; returns what was removed."""
    try:
        value = normalise_domain(domain)
    except DomainError:
        return None
    async with shared_transaction() as conn:
        row = await conn.fetchrow(
            "DELETE FROM scalemark.tenant_domain WHERE domain = $1 AND tenant_id = $2"
            f" RETURNING {_COLUMNS}",
            value,
            tenant_id,
        )
    return _claim(row) if row else None
