"""Blueprint identity sections: ``[[users]]``, ``[[consultants]]`` and
``[identity_provider]`` parse strictly and apply idempotently; the shipped demo blueprint
brings its demo sign-ins."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from scalemark import PROJECT_ROOT
from scalemark.db import tenant_transaction
from scalemark.identity.blueprint_identity import ensure_platform_account
from scalemark.identity.memberships import is_assigned_consultant
from scalemark.identity.secrets import decrypt_secret
from scalemark.identity.sso_config import get_provider
from scalemark.identity.users import check_password, get_user_by_email
from scalemark.tenancy.blueprints import BlueprintError, apply_blueprint, parse_blueprint
from scalemark.tenancy.provisioning import drop_tenant
from scalemark.tenancy.registry import get_tenant
from scalemark.tenancy.resolver import forget_tenant

PASSWORD = "people-password-1"


def document(slug: str, users: list[dict], consultants: list[dict] | None = None) -> dict:
    return {
        "tenant": {"slug": slug, "name": "People Co", "default_locale": "en"},
        "units": [
            {"code": "HQ", "name": "People HQ", "kind": "hq"},
            {"code": "DE", "name": "Germany", "kind": "country", "parent": "HQ", "locale": "de"},
            {"code": "FR", "name": "France", "kind": "country", "parent": "HQ", "locale": "fr"},
        ],
        "users": users,
        "consultants": consultants or [],
    }


@pytest.fixture
async def slug(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[str]:
    value = f"people-{uuid.uuid4().hex[:8]}"
    yield value
    async with db_pool.acquire() as conn:
        await drop_tenant(conn, value)
    forget_tenant(value)


async def memberships(slug: str) -> set[tuple[str, str, str, str]]:
    info = await get_tenant(slug)
    assert info is not None
    async with tenant_transaction(info.ref) as conn:
        rows = await conn.fetch(
            "SELECT a.email, m.role, u.code, m.status FROM membership m"
            " JOIN unit u ON u.id = m.unit_id JOIN scalemark.user_account a ON a.id = m.user_id"
        )
    return {(r["email"], r["role"], r["code"], r["status"]) for r in rows}


async def test_users_and_consultants_apply_idempotently(db_pool: asyncpg.Pool, slug: str) -> None:
    tag = uuid.uuid4().hex[:6]
    lead, viewer, consultant = (
        f"lead-{tag}@people.example",
        f"viewer-{tag}@people.example",
        f"consultant-{tag}@people.example",
    )
    doc = document(
        slug,
        users=[
            {"email": lead, "name": "Lena", "role": "unit_lead", "unit": "de", "locale": "de"},
            {"email": lead, "role": "contributor", "unit": "FR", "password": PASSWORD},
            {"email": viewer.upper(), "role": "stakeholder"},
        ],
        consultants=[{"email": consultant, "name": "Cora", "password": PASSWORD}],
    )
    blueprint = parse_blueprint(doc)
    async with db_pool.acquire() as conn:
        first = await apply_blueprint(conn, blueprint)
        state = await memberships(slug)
        second = await apply_blueprint(conn, blueprint)
    assert first.identity and first.changed
    assert second.identity == [] and not second.changed
    assert (
        await memberships(slug)
        == state
        == {
            (lead, "unit_lead", "DE", "active"),
            (lead, "contributor", "FR", "active"),
            (viewer, "stakeholder", "HQ", "active"),
        }
    )
    lead_user = await check_password(lead, PASSWORD)
    assert lead_user is not None and lead_user.locale == "de" and lead_user.name == "Lena"
    viewer_user = await get_user_by_email(viewer)
    assert viewer_user is not None and not viewer_user.has_password
    consultant_user = await check_password(consultant, PASSWORD)
    assert consultant_user is not None and consultant_user.platform_role == "consultant"
    assert await is_assigned_consultant(consultant_user.id, slug)

    # A changed password in the file is written once, then nothing again.
    doc["consultants"][0]["password"] = PASSWORD + "-new"
    changed = parse_blueprint(doc)
    async with db_pool.acquire() as conn:
        third = await apply_blueprint(conn, changed)
        fourth = await apply_blueprint(conn, changed)
    assert third.identity == [f"{consultant}: password"]
    assert not fourth.changed
    assert await check_password(consultant, PASSWORD + "-new") is not None


async def test_people_are_only_added_never_removed(db_pool: asyncpg.Pool, slug: str) -> None:
    email = f"kept-{uuid.uuid4().hex[:6]}@people.example"
    async with db_pool.acquire() as conn:
        await apply_blueprint(
            conn, parse_blueprint(document(slug, [{"email": email, "role": "contributor"}]))
        )
        again = await apply_blueprint(conn, parse_blueprint(document(slug, [])))
    assert not again.changed
    assert (email, "contributor", "HQ", "active") in await memberships(slug)


@pytest.mark.parametrize(
    ("users", "consultants", "message"),
    [
        ([{"role": "contributor"}], [], "[[users]] #1: 'email' is required"),
        ([{"email": "nope", "role": "contributor"}], [], "is not an e-mail address"),
        ([{"email": "a@x.example", "role": "boss"}], [], "'role' must be one of"),
        ([{"email": "a@x.example", "role": "contributor", "unit": "US"}], [], "unit 'US'"),
        ([{"email": "a@x.example", "role": "contributor", "locale": "xx"}], [], "language"),
        (
            [{"email": "a@x.example", "role": "contributor", "password": "short"}],
            [],
            "'password'",
        ),
        (
            [{"email": "a@x.example", "role": "contributor"}] * 2,
            [],
            "#2 (a@x.example): listed twice",
        ),
        ([], [{"email": "c@x.example"}, {"email": "C@x.example"}], "listed twice"),
        ([], [{"name": "No Mail"}], "[[consultants]] #1: 'email' is required"),
    ],
)
def test_bad_people_sections_name_the_place(
    users: list[dict], consultants: list[dict], message: str
) -> None:
    with pytest.raises(BlueprintError) as caught:
        parse_blueprint(document("people-errors", users, consultants))
    assert message in str(caught.value)


def test_users_need_units() -> None:
    doc = document("people-errors", [{"email": "a@x.example", "role": "contributor"}])
    doc["units"] = []
    with pytest.raises(BlueprintError, match="lists no units"):
        parse_blueprint(doc)


async def test_platform_accounts_keep_their_role(app_db: None) -> None:
    email = f"admin-{uuid.uuid4().hex[:6]}@people.example"
    user, changes = await ensure_platform_account(
        email, password=PASSWORD, platform_role="platform_admin"
    )
    assert changes == [f"{email}: created"] and user.platform_role == "platform_admin"
    user, changes = await ensure_platform_account(
        email, password=PASSWORD, platform_role="consultant"
    )
    assert changes == [] and user.platform_role == "platform_admin"


async def test_demo_blueprint_applies_with_its_people(db_pool: asyncpg.Pool, app_db: None) -> None:
    path = PROJECT_ROOT / "tenants" / "demo.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    check = "demo-people-check"
    blueprint = parse_blueprint({**raw, "tenant": {**raw["tenant"], "slug": check}})
    roles = {(u.role, u.unit) for u in blueprint.identity.users}
    assert {("hq_admin", "HQ"), ("it_owner", "HQ"), ("stakeholder", "HQ")} <= roles
    assert {("unit_lead", c) for c in ("DE", "FR", "ES", "IT")} <= roles
    assert any(role == "contributor" for role, _ in roles)
    units = {u.data.code: u.data for u in blueprint.units}
    for user in blueprint.identity.users:
        assert user.password, f"{user.email} has no demo password"
        if user.role == "unit_lead":
            assert user.locale == units[user.unit].locale
    assert [c.email for c in blueprint.identity.consultants] == ["consultant@scalemark.example"]
    logins = blueprint.identity.demo_logins()
    assert logins[0][:2] == ("consultant", "consultant@scalemark.example")
    assert len(logins) == 1 + len({u.email for u in blueprint.identity.users})
    try:
        async with db_pool.acquire() as conn:
            first = await apply_blueprint(conn, blueprint)
            assert first.identity
            assert not (await apply_blueprint(conn, blueprint)).changed
        members = await memberships(check)
        for user in blueprint.identity.users:
            assert (user.email, user.role, user.unit or "HQ", "active") in members
            account = await check_password(user.email, user.password or "")
            assert account is not None and account.locale == user.locale
        consultant = await get_user_by_email("consultant@scalemark.example")
        assert consultant is not None
        assert await is_assigned_consultant(consultant.id, check)
    finally:
        async with db_pool.acquire() as conn:
            await drop_tenant(conn, check)
        forget_tenant(check)


PROVIDER = {
    "issuer": "https://login.people.example",
    "client_id": "scalemark-app",
    "client_secret": "s3cret-value",
    "allowed_domains": ["People.Example", "sub.people.example"],
    "default_role": "stakeholder",
    "join_mode": "approval",
}


async def test_identity_provider_is_stored_encrypted_and_idempotently(
    db_pool: asyncpg.Pool, slug: str
) -> None:
    doc = {**document(slug, []), "identity_provider": dict(PROVIDER)}
    async with db_pool.acquire() as conn:
        first = await apply_blueprint(conn, parse_blueprint(doc))
        second = await apply_blueprint(conn, parse_blueprint(doc))
    assert "[identity_provider]" in first.identity and not second.changed
    info = await get_tenant(slug)
    assert info is not None
    stored = await get_provider(info.id)
    assert stored is not None
    assert (stored.issuer, stored.client_id, stored.allowed_domains) == (
        "https://login.people.example",
        "scalemark-app",
        ("people.example", "sub.people.example"),
    )
    assert (stored.default_role, stored.join_mode) == ("stakeholder", "approval")
    assert "s3cret-value" not in stored.client_secret_enc
    assert decrypt_secret(stored.client_secret_enc) == "s3cret-value"

    doc["identity_provider"]["client_secret"] = "another-secret"
    async with db_pool.acquire() as conn:
        third = await apply_blueprint(conn, parse_blueprint(doc))
        assert not (await apply_blueprint(conn, parse_blueprint(doc))).changed
    assert third.identity == ["[identity_provider]"]
    async with tenant_transaction(info.ref) as conn:
        actions = [
            (r["action"], r["after"])
            for r in await conn.fetch(
                "SELECT action, after::text FROM audit_event"
                " WHERE object_type = 'identity_provider' ORDER BY id"
            )
        ]
    assert [a for a, _ in actions] == ["sso.provider_create", "sso.provider_update"]
    assert all("s3cret" not in after and "another-secret" not in after for _, after in actions)


def test_identity_provider_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = {k: v for k, v in PROVIDER.items() if k != "client_secret"}
    raw["client_secret_env"] = "PEOPLE_TEST_OIDC_SECRET"
    doc = {**document("people-env", []), "identity_provider": raw}
    monkeypatch.delenv("PEOPLE_TEST_OIDC_SECRET", raising=False)
    with pytest.raises(BlueprintError, match="PEOPLE_TEST_OIDC_SECRET"):
        parse_blueprint(doc)
    monkeypatch.setenv("PEOPLE_TEST_OIDC_SECRET", "from-env")
    provider = parse_blueprint(doc).identity.provider
    assert provider is not None and provider.client_secret == "from-env"
    assert "from-env" not in repr(provider)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"issuer": "http://login.people.example"}, "'issuer'"),
        ({"issuer": None}, "'issuer'"),
        ({"client_id": ""}, "'client_id'"),
        ({"client_secret": None}, "'client_secret' or 'client_secret_env'"),
        ({"client_secret_env": "X"}, "'client_secret' or 'client_secret_env'"),
        ({"allowed_domains": []}, "'allowed_domains'"),
        ({"allowed_domains": ["not a domain"]}, "'allowed_domains'"),
        ({"default_role": "hq_admin"}, "'default_role' must be one of"),
        ({"join_mode": "whenever"}, "'join_mode' must be one of"),
        ({"scopes": "openid"}, "unknown keys ['scopes']"),
    ],
)
def test_bad_identity_provider_names_the_problem(change: dict, message: str) -> None:
    raw = {**PROVIDER, **change}
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(BlueprintError) as caught:
        parse_blueprint({**document("people-idp", []), "identity_provider": raw})
    assert str(caught.value).startswith("[identity_provider]")
    assert message in str(caught.value)
