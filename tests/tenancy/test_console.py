"""The consultants' console on a live server: who sees and opens which client tenant,
creating clients by form and by blueprint upload, and the HQ admin's invitation mail
(in the outbox, and through a real SMTP server)."""

from __future__ import annotations

import html
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from scalemark.db import TenantRef, shared_transaction, tenant_transaction
from scalemark.i18n import gettext
from scalemark.i18n.locale import use_locale
from scalemark.identity.handoff import handoff_url
from scalemark.identity.invitations import list_invitations
from scalemark.identity.memberships import is_assigned_consultant
from scalemark.identity.provisioning import assign_consultant
from scalemark.identity.users import get_user_by_email
from scalemark.mail.outbox import list_messages
from scalemark.org import service as org_service
from scalemark.tenancy.console import suggest_slug
from scalemark.tenancy.provisioning import drop_tenant
from scalemark.tenancy.registry import get_tenant
from scalemark.tenancy.resolver import forget_tenant
from support.platform import SmtpSink, WebSession, ensure_staff, follow_handoff
from support.server import LiveServer, compile_catalogs, running_server

PASSWORD = "console-test-password"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def address(prefix: str) -> str:
    return f"{unique(prefix)}@console.example"


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> AsyncIterator[LiveServer]:
    """A live server without SMTP: mail goes to the log and the outbox."""
    compile_catalogs()
    async with running_server() as live:
        yield live


@pytest.fixture(scope="module")
async def smtp(db_pool: asyncpg.Pool) -> AsyncIterator[tuple[LiveServer, SmtpSink]]:
    """A live server whose SMTP_URL points at a sink this test process runs."""
    sink = SmtpSink()
    sink.start()
    try:
        async with running_server({"SMTP_URL": sink.url}) as live:
            yield live, sink
    finally:
        sink.stop()


@pytest.fixture
async def created(db_pool: asyncpg.Pool, app_db: None) -> AsyncIterator[list[str]]:
    """Slugs of tenants a test creates through the console; dropped afterwards."""
    slugs: list[str] = []
    yield slugs
    async with db_pool.acquire() as conn:
        for slug in slugs:
            await drop_tenant(conn, slug)
            forget_tenant(slug)


async def consultant_for(*tenants: TenantRef):
    credentials = await ensure_staff(address("consultant"), PASSWORD, "consultant")
    user = await get_user_by_email(credentials.email)
    assert user is not None
    for tenant in tenants:
        await assign_consultant(user.id, tenant.id)
    return credentials, user


def on_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))


async def platform_events(tenant_id: int) -> list[str]:
    async with shared_transaction() as conn:
        rows = await conn.fetch(
            "SELECT action FROM scalemark.platform_event WHERE tenant_id = $1 ORDER BY id",
            tenant_id,
        )
    return [r["action"] for r in rows]


# --- seeing and opening -----------------------------------------------------------------


async def test_console_lists_only_assigned_tenants(server: LiveServer, make_tenant) -> None:
    mine, other = await make_tenant("mine"), await make_tenant("other")
    consultant, _ = await consultant_for(mine)
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        page = await web.get("/console")
    assert page.status_code == 200
    assert f'data-testid="client-{mine.slug}"' in page.text
    assert f'data-testid="open-{mine.slug}"' in page.text
    assert other.slug not in page.text

    admin = await ensure_staff(address("admin"), PASSWORD, "platform_admin")
    async with WebSession(server) as web:
        await web.sign_in(admin)
        page = await web.get("/console")
    assert page.status_code == 200
    assert f'data-testid="client-{mine.slug}"' in page.text
    assert f'data-testid="client-{other.slug}"' in page.text
    # Platform admins see every tenant but open none with a consultant's rights.
    assert 'data-testid="open-' not in page.text


async def test_unassigned_consultant_can_neither_see_nor_open_another_tenant(
    server: LiveServer, make_tenant
) -> None:
    mine, other = await make_tenant("mine"), await make_tenant("other")
    consultant, user = await consultant_for(mine)
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        assert (await web.get(f"/console/clients/{other.slug}")).status_code == 404
        assert (await web.post(f"/console/clients/{other.slug}/open")).status_code == 404
        assert (await web.get("/console/clients/no-such-tenant")).status_code == 404
        assert (await web.get(f"/console/clients/{mine.slug}")).status_code == 200
    # A hand-off minted for the other tenant anyway is refused by that tenant's host.
    tenant_web, response = await follow_handoff(
        server, on_port(handoff_url(user.id, other.slug, "/"), server.port)
    )
    async with tenant_web:
        assert response.status_code == 403
        assert (await tenant_web.get("/")).status_code in (303, 401)


async def test_console_is_for_platform_staff_on_the_platform_host(
    server: LiveServer, make_tenant
) -> None:
    tenant = await make_tenant("staff")
    consultant, _ = await consultant_for(tenant)
    nobody = await ensure_staff(address("nobody"), PASSWORD, platform_role=None)
    async with WebSession(server) as web:
        anonymous = await web.get("/console")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/login?next=%2Fconsole")
    async with WebSession(server, tenant.slug) as web:
        assert (await web.get("/console")).status_code == 404
    async with WebSession(server) as web:
        await web.sign_in(nobody)
        assert (await web.get("/console")).status_code == 403
        assert (await web.get("/console/new")).status_code == 403
        assert (await web.post("/console/new", {"name": "X"})).status_code == 403
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        assert (await web.get("/admin/consultants")).status_code == 403
        assert (await web.get("/admin/outbox")).status_code == 403


# --- creating by form -------------------------------------------------------------------


async def test_consultant_creates_a_client_by_form_and_opens_it(
    server: LiveServer, created: list[str]
) -> None:
    consultant, user = await consultant_for()
    slug, admin_email = unique("acme"), address("hq")
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        assert (await web.get("/console/new")).status_code == 200
        response = await web.post(
            "/console/new",
            {
                "name": "Acme Werke",
                "slug": slug,
                "default_locale": "de",
                "admin_email": admin_email.upper(),
            },
        )
        created.append(slug)
        assert response.status_code == 303, response.text[:500]
        assert response.headers["location"] == f"/console/clients/{slug}?created=1"
        result = await web.get(response.headers["location"])
        assert result.status_code == 200
        assert 'data-testid="client-created"' in result.text
        assert f'data-testid="invitation-{admin_email}"' in result.text
        assert "Logged (no SMTP)" in result.text
        listing = await web.get("/console")
        assert f'data-testid="client-{slug}"' in listing.text

        opened = await web.post(f"/console/clients/{slug}/open")
        assert opened.status_code == 303
        tenant_web, handoff = await follow_handoff(server, opened.headers["location"])
    async with tenant_web:
        assert handoff.status_code == 303 and handoff.headers["location"] == "/"
        home = await tenant_web.get("/")
        assert home.status_code == 200
        assert 'data-testid="org-name"' in home.text and "Acme Werke" in home.text

    info = await get_tenant(slug)
    assert info is not None and info.default_locale == "de" and info.name == "Acme Werke"
    async with tenant_transaction(info.ref) as conn:
        root = await org_service.root_unit()
        invitations = await list_invitations()
        audit = [r["action"] for r in await conn.fetch("SELECT action FROM audit_event")]
    assert root is not None and root.name == "Acme Werke" and root.kind == "hq"
    assert [(i.email, i.role, i.unit_id, i.state) for i in invitations] == [
        (admin_email, "hq_admin", root.id, "open")
    ]
    assert {"tenant.create", "member.invite", "auth.consultant_access"} <= set(audit)
    assert await is_assigned_consultant(user.id, slug)
    assert {"tenant.create", "consultant.assign", "tenant.open"} <= set(
        await platform_events(info.id)
    )
    # The invitation went out in the tenant's default language (German).
    [mail] = await list_messages(recipient=admin_email)
    with use_locale("de"):
        subject = gettext("You are invited to %(org)s on Scalemark", org="Acme Werke")
    assert (mail.tenant_id, mail.status, mail.subject) == (info.id, "logged", subject)
    assert f"{slug}." in mail.body_text and "/invite/" in mail.body_text


async def test_empty_slug_takes_the_suggestion(server: LiveServer, created: list[str]) -> None:
    consultant, _ = await consultant_for()
    name = f"Straße {uuid.uuid4().hex[:6]} Ölwerke"
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        hint = await web.get("/console/new/slug", params={"name": name})
        assert hint.status_code == 200 and suggest_slug(name) in hint.text
        response = await web.post(
            "/console/new",
            {"name": name, "slug": "", "default_locale": "en", "admin_email": address("hq")},
        )
    created.append(suggest_slug(name))
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/console/clients/{suggest_slug(name)}?")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Nordlicht Group", "nordlicht-group"),
        ("Straße & Söhne GmbH", "strasse-and-sohne-gmbh"),
        ("123 Go!", "go"),
        ("Admin", "admin-org"),
        ("ÆØ", "aeo"),
        ("x", ""),
        ("", ""),
        ("A" * 60, "a" * 40),
    ],
)
def test_slug_suggestions(name: str, slug: str) -> None:
    assert suggest_slug(name) == slug


async def test_slug_clash_and_bad_input_keep_the_form(server: LiveServer, make_tenant) -> None:
    taken = await make_tenant("taken")
    consultant, _ = await consultant_for()
    form = {"name": "Clash Org", "default_locale": "fr", "admin_email": "hq@clash.example"}
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        await web.get("/console/new")
        clash = await web.post("/console/new", {**form, "slug": taken.slug})
        assert clash.status_code == 422
        text = html.unescape(clash.text)
        assert "Another organisation already uses this address." in text
        assert 'value="Clash Org"' in text and 'value="hq@clash.example"' in text
        assert 'value="fr" lang="fr" selected' in text
        assert 'aria-invalid="true"' in text

        for slug, message in [
            ("Bad Slug", "Use 2–40 lower-case letters"),
            ("admin", "This address is reserved."),
            ("-x", "Use 2–40 lower-case letters"),
        ]:
            bad = await web.post("/console/new", {**form, "slug": slug})
            assert bad.status_code == 422 and message in html.unescape(bad.text), slug

        missing = await web.post(
            "/console/new", {"name": "", "slug": unique("ok"), "default_locale": "xx"}
        )
        assert missing.status_code == 422
        text = html.unescape(missing.text)
        assert "Enter the organisation's name" in text
        assert "Choose a language from the list." in text
        assert "Enter a valid e-mail address." in text

        # htmx gets the form alone, ready to swap in.
        partial = await web.post(
            "/console/new", {**form, "slug": taken.slug}, headers={"HX-Request": "true"}
        )
        assert partial.status_code == 422
        assert "<html" not in partial.text and 'id="client-form"' in partial.text

        hint = await web.get("/console/new/slug", params={"slug": taken.slug})
        assert 'data-testid="slug-problem"' in hint.text


async def test_requests_without_csrf_token_are_refused(server: LiveServer) -> None:
    consultant, _ = await consultant_for()
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        response = await web.post(
            "/console/new",
            {"name": "No Token", "slug": unique("nt"), "default_locale": "en"},
            csrf=False,
        )
    assert response.status_code == 403


# --- creating from a blueprint ----------------------------------------------------------


def blueprint(slug: str, extra: str = "") -> bytes:
    return (
        f"""
[tenant]
slug = "{slug}"
name = "Blueprint Client"
default_locale = "fr"
locales = ["fr", "en"]

[[units]]
code = "HQ"
name = "Blueprint Client HQ"
kind = "hq"
timezone = "Europe/Paris"

[[units]]
code = "FR"
name = "France"
kind = "country"
parent = "HQ"
locale = "fr"

[[units]]
code = "BE"
name = "Belgique"
kind = "country"
parent = "HQ"
locale = "fr"
{extra}
"""
    ).encode()


async def test_consultant_creates_a_client_from_a_blueprint(
    server: LiveServer, created: list[str]
) -> None:
    consultant, user = await consultant_for()
    slug, admin_email, lead = unique("bp"), address("hq"), address("lead")
    people = person(email=lead, name="Lea Lead", role="unit_lead", unit="FR")
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        await web.get("/console/new")
        response = await web.post(
            "/console/upload",
            {"admin_email": admin_email},
            files={"blueprint": ("client.toml", blueprint(slug, people), "application/toml")},
        )
        created.append(slug)
        assert response.status_code == 303, html.unescape(response.text)[:800]
        page = await web.get(response.headers["location"])
    assert page.status_code == 200
    assert 'data-testid="client-units">3<' in page.text
    assert 'data-testid="client-members">1<' in page.text

    info = await get_tenant(slug)
    assert info is not None and info.default_locale == "fr"
    async with tenant_transaction(info.ref) as conn:
        codes = {n.code for n in await org_service.whole_tree()}
        roles = await conn.fetch(
            "SELECT a.email, m.role, u.code FROM membership m JOIN unit u ON u.id = m.unit_id"
            " JOIN scalemark.user_account a ON a.id = m.user_id"
        )
        invitations = await list_invitations()
    assert codes == {"HQ", "FR", "BE"}
    assert [(r["email"], r["role"], r["code"]) for r in roles] == [(lead, "unit_lead", "FR")]
    assert [(i.email, i.role) for i in invitations] == [(admin_email, "hq_admin")]
    assert await is_assigned_consultant(user.id, slug)
    [mail] = await list_messages(recipient=admin_email)
    with use_locale("fr"):
        assert mail.subject == gettext(
            "You are invited to %(org)s on Scalemark", org="Blueprint Client"
        )


def person(section: str = "users", **fields: str) -> str:
    lines = "".join(f'{key} = "{value}"\n' for key, value in fields.items())
    return f"\n[[{section}]]\n{lines}"


BAD_BLUEPRINTS = {
    "broken-toml": (b"[tenant\nslug = 'x'", "TOML: "),
    "not-utf8": (b"\xff\xfe[tenant]", "not UTF-8"),
    "empty": (b"", "Choose a blueprint file"),
    "no-tenant": (b'[[units]]\ncode = "HQ"\nname = "X"\nkind = "hq"\n', "missing [tenant]"),
    "bad-parent": (
        blueprint("bad-parent-x").replace(b'parent = "HQ"', b'parent = "XX"', 1),
        "[[units]] #2 (FR): parent 'XX' must be listed before it",
    ),
    "bad-role": (
        blueprint("bad-role-x", person(email="a@b.example", role="boss")),
        "[[users]] #1 (a@b.example): 'role' must be one of",
    ),
    "unknown-unit": (
        blueprint("bad-unit-x", person(email="a@b.example", role="contributor", unit="DE")),
        "unit 'DE' is not listed in [[units]]",
    ),
    "password": (
        blueprint("pw-x", person(email="a@b.example", role="contributor", password="0123456789ab")),
        "[[users]] #1: 'password' is only allowed",
    ),
    "consultant": (
        blueprint("cons-x", person("consultants", email="c@b.example")),
        "[[consultants]]: consultants are assigned by platform admins",
    ),
    "reserved-slug": (blueprint("admin"), "[tenant]: reserved tenant slug"),
    "secret-from-environment": (
        blueprint(
            "env-x",
            '\n[identity_provider]\nissuer = "https://idp.example"\nclient_id = "x"\n'
            'client_secret_env = "SECRET_KEY"\nallowed_domains = ["env.example"]\n',
        ),
        "[identity_provider]: 'client_secret_env' is only allowed",
    ),
    "bad-provider": (
        blueprint(
            "idp-x",
            '\n[identity_provider]\nissuer = "ftp://idp.example"\nclient_id = "x"\n'
            'client_secret = "y"\nallowed_domains = ["idp.example"]\n',
        ),
        "[identity_provider]: 'issuer'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_BLUEPRINTS))
async def test_bad_blueprint_uploads_say_what_and_where(
    server: LiveServer, db_pool: asyncpg.Pool, case: str
) -> None:
    content, message = BAD_BLUEPRINTS[case]
    consultant, _ = await consultant_for()
    async with db_pool.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM scalemark.tenant")
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        await web.get("/console/new")
        response = await web.post(
            "/console/upload",
            {"admin_email": ""},
            files={"blueprint": ("client.toml", content, "application/toml")},
        )
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert 'data-testid="blueprint-error"' in text
    assert message in text, text[text.find("blueprint-error") :][:600]
    async with db_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM scalemark.tenant") == before


async def test_blueprint_upload_never_touches_an_existing_tenant(
    server: LiveServer, make_tenant
) -> None:
    existing = await make_tenant("exists")
    consultant, _ = await consultant_for()
    async with WebSession(server) as web:
        await web.sign_in(consultant)
        await web.get("/console/new")
        response = await web.post(
            "/console/upload",
            {"admin_email": "not an address"},
            files={"blueprint": ("c.toml", blueprint(existing.slug), "text/plain")},
        )
        assert response.status_code == 422
        assert "Enter a valid e-mail address." in html.unescape(response.text)
        response = await web.post(
            "/console/upload",
            {"admin_email": ""},
            files={"blueprint": ("c.toml", blueprint(existing.slug), "text/plain")},
        )
    assert response.status_code == 422
    assert "Another organisation already uses this address." in html.unescape(response.text)
    info = await get_tenant(existing.slug)
    assert info is not None and info.name == existing.name
    async with tenant_transaction(info.ref):
        assert await org_service.whole_tree() == []


# --- mail through SMTP ------------------------------------------------------------------


async def test_hq_admin_invitation_arrives_by_smtp(
    smtp: tuple[LiveServer, SmtpSink], created: list[str]
) -> None:
    live, sink = smtp
    consultant, _ = await consultant_for()
    slug, admin_email = unique("mail"), address("hq")
    async with WebSession(live) as web:
        await web.sign_in(consultant)
        await web.get("/console/new")
        response = await web.post(
            "/console/new",
            {
                "name": "Mail Client",
                "slug": slug,
                "default_locale": "es",
                "admin_email": admin_email,
            },
        )
        created.append(slug)
        assert response.status_code == 303
        page = await web.get(response.headers["location"])
    message = await sink.wait_for(admin_email)
    with use_locale("es"):
        assert message.subject == gettext(
            "You are invited to %(org)s on Scalemark", org="Mail Client"
        )
    assert "/invite/" in message.body and f"{slug}." in message.body
    [stored] = await list_messages(recipient=admin_email)
    assert stored.status == "sent" and stored.sent_at is not None
    assert ">Sent<" in page.text
