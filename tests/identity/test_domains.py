"""Domain claims proven by DNS TXT records, against a DNS server the test runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest

from scalemark.db import TenantRef
from scalemark.identity import domains
from scalemark.settings import get_settings
from support.dns_server import TestDnsServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def dns_server() -> Iterator[TestDnsServer]:
    """dnslib on 127.0.0.1:<free port>."""
    server = TestDnsServer().start()
    yield server
    server.stop()


@pytest.fixture
def resolver(dns_server: TestDnsServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``DNS_RESOLVER`` points at the test server for this test."""
    monkeypatch.setenv("DNS_RESOLVER", dns_server.address)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    dns_server.clear()


@pytest.fixture
async def two_tenants(make_tenant) -> AsyncIterator[tuple[TenantRef, TenantRef]]:
    """Two throw-away organisations."""
    yield await make_tenant("dom"), await make_tenant("dom")


def _domain() -> str:
    return f"acme-{uuid4().hex[:8]}.example"


def test_domains_are_normalised() -> None:
    assert domains.normalise_domain("  @Example.COM. ") == "example.com"
    assert domains.normalise_domain("bücher.example") == "xn--bcher-kva.example"
    for bad in ("", "localhost", "exa mple.com", "-x.example", "1.2.3.4", "a" * 64 + ".com"):
        with pytest.raises(domains.DomainError):
            domains.normalise_domain(bad)


async def test_claim_is_verified_with_the_record_and_refused_without(
    two_tenants: tuple[TenantRef, TenantRef], dns_server: TestDnsServer, resolver: None
) -> None:
    tenant, _ = two_tenants
    domain = _domain()
    claim = await domains.add_claim(tenant.id, domain.upper())
    assert claim.domain == domain and not claim.verified
    assert claim.record_name == f"_scalemark-challenge.{domain}"
    assert claim.record_value.startswith("scalemark-verify=")

    with pytest.raises(domains.DomainError):  # no record at all (NXDOMAIN)
        await domains.verify_claim(tenant.id, domain)
    dns_server.set_txt(claim.record_name, "scalemark-verify=someone-elses-token", "v=spf1 -all")
    with pytest.raises(domains.DomainError):  # a record, but not ours
        await domains.verify_claim(tenant.id, domain)
    assert await domains.claimed_by(domain) is None

    dns_server.set_txt(claim.record_name, "v=spf1 -all", claim.record_value)
    verified = await domains.verify_claim(tenant.id, domain)
    assert verified.verified
    assert await domains.claimed_by(domain) == tenant.id
    assert [c.domain for c in await domains.list_claims(tenant.id)] == [domain]


async def test_a_domain_verified_elsewhere_cannot_be_claimed(
    two_tenants: tuple[TenantRef, TenantRef], dns_server: TestDnsServer, resolver: None
) -> None:
    owner, other = two_tenants
    domain = _domain()
    claim = await domains.add_claim(owner.id, domain)
    dns_server.set_txt(claim.record_name, claim.record_value)
    await domains.verify_claim(owner.id, domain)
    with pytest.raises(domains.DomainError) as caught:
        await domains.add_claim(other.id, domain)
    assert "another organisation" in str(caught.value)
    assert await domains.list_claims(other.id) == []


async def test_a_pending_claim_is_replaced_only_by_verification(
    two_tenants: tuple[TenantRef, TenantRef], dns_server: TestDnsServer, resolver: None
) -> None:
    first, second = two_tenants
    domain = _domain()
    pending = await domains.add_claim(first.id, domain)
    contender = await domains.add_claim(second.id, domain)
    assert pending.token != contender.token
    # Only the second publishes its record: it wins, the first's pending claim ends.
    dns_server.set_txt(contender.record_name, contender.record_value)
    with pytest.raises(domains.DomainError):
        await domains.verify_claim(first.id, domain)
    await domains.verify_claim(second.id, domain)
    assert await domains.claimed_by(domain) == second.id
    assert await domains.list_claims(first.id) == []
    with pytest.raises(domains.DomainError):
        await domains.add_claim(first.id, domain)


async def test_public_mail_domains_cannot_be_claimed(
    two_tenants: tuple[TenantRef, TenantRef],
) -> None:
    with pytest.raises(domains.DomainError):
        await domains.add_claim(two_tenants[0].id, "gmail.com")


async def test_removed_claims_are_gone(two_tenants: tuple[TenantRef, TenantRef]) -> None:
    tenant, _ = two_tenants
    domain = _domain()
    await domains.add_claim(tenant.id, domain)
    removed = await domains.remove_claim(tenant.id, domain)
    assert removed is not None and removed.domain == domain
    assert await domains.list_claims(tenant.id) == []
    assert await domains.remove_claim(tenant.id, domain) is None
