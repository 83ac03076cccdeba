"""Host header parsing: platform, tenants, and hostile input."""

from __future__ import annotations

import pytest

from scalemark.tenancy.slugs import InvalidSlugError, role_for, schema_for, validate_slug
from scalemark.web.hosts import BadHostError, parse_host


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("localhost", None),
        ("localhost:8000", None),
        ("demo.localhost", "demo"),
        ("demo.localhost:8000", "demo"),
        ("DEMO.LocalHost.", "demo"),
        ("acme-group.localhost", "acme-group"),
    ],
)
def test_good_hosts(host: str, slug: str | None) -> None:
    assert parse_host(host, "localhost").slug == slug


@pytest.mark.parametrize(
    "host",
    [
        "",
        None,
        "../x.localhost",
        "a;drop.localhost",
        "a b.localhost",
        "x" * 64 + ".localhost",
        "café.localhost",
        "a.b.localhost",
        "evil.com",
        "localhost.evil.com",
        "demo.localhost:80x",
        "[::1]:8000",
        "-a.localhost",
        "a--b.localhost",
        "t_demo.localhost",
    ],
)
def test_hostile_hosts_are_refused(host: str | None) -> None:
    with pytest.raises(BadHostError):
        parse_host(host, "localhost")


@pytest.mark.parametrize(
    "slug", ["../x", "a;drop", "Acme", "x" * 64, "café", "-a", "a-", "a--b", "", "a", "www", "a b"]
)
def test_hostile_slugs_are_refused(slug: str) -> None:
    with pytest.raises(InvalidSlugError):
        validate_slug(slug)
    if slug not in {"www"}:
        with pytest.raises(InvalidSlugError):
            schema_for(slug)


def test_schema_and_role_names() -> None:
    assert schema_for("acme-group") == "t_acme_group"
    role = role_for("acme-group")
    assert role.endswith("_acme_group") and len(role) <= 63
