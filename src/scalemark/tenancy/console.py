"""The consultants' console: which client tenants a platform person sees, opens and creates.

Consultants see the tenants they are assigned to; platform admins see all of them. Creating
a client provisions the tenant (from a short form or an uploaded blueprint), assigns the
consultant who created it and invites the client's HQ admin by e-mail in the tenant's
default language. Shared tables are written in shared transactions, tenant tables in a
transaction of that tenant, never one inside the other.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tomllib
import unicodedata
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from scalemark.db import get_engine, shared_transaction, tenant_transaction
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n.locale import supported_locales
from scalemark.identity import audit
from scalemark.identity.invitations import InvitationView, create_invitation, list_invitations
from scalemark.identity.provisioning import assign_consultant
from scalemark.identity.users import User, UserError, normalise_email
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData
from scalemark.tenancy.blueprints import Blueprint, BlueprintError, apply_blueprint, parse_blueprint
from scalemark.tenancy.provisioning import TenantExistsError, create_tenant
from scalemark.tenancy.registry import TenantInfo, get_tenant
from scalemark.tenancy.resolver import forget_tenant
from scalemark.tenancy.slugs import MAX_LENGTH, RESERVED_SLUGS, is_valid_slug

__all__ = [
    "INVITATION_STATE_LABELS",
    "MAX_BLUEPRINT_BYTES",
    "ClientForm",
    "ClientInvitation",
    "ClientTenant",
    "ConsoleError",
    "check_client_form",
    "client_invitations",
    "create_client_from_blueprint",
    "create_client_from_form",
    "find_client",
    "free_slug",
    "list_clients",
    "may_open",
    "read_blueprint_upload",
    "slug_problem",
    "suggest_slug",
]

logger = logging.getLogger("scalemark.console")

MAX_BLUEPRINT_BYTES = 256 * 1024
"""Largest blueprint file the console accepts."""
_COUNT_CONCURRENCY = 4

INVITATION_STATE_LABELS: dict[str, object] = {
    "open": _l("Open"),
    "accepted": _l("Accepted"),
    "revoked": _l("Withdrawn"),
    "expired": _l("Expired"),
}
"""Translated states of invitations."""

_SLUG_INVALID = _l(
    "Use 2–40 lower-case letters, digits and single hyphens, starting with a letter."
)
_SLUG_RESERVED = _l("This address is reserved. Please choose another one.")
_SLUG_TAKEN = _l("Another organisation already uses this address. Please choose another one.")


class ConsoleError(ValueError):
    """A client that cannot be created as asked; ``field`` names the form field."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ClientTenant:
    """A client tenant as the console lists it."""

    info: TenantInfo
    assigned: bool
    """The asking consultant is assigned to it."""
    unit_count: int | None = None
    """Active units (``None`` when they could not be counted)."""
    member_count: int | None = None
    """People with an active role."""
    consultants: list[str] = field(default_factory=list)
    """E-mail addresses of the assigned consultants."""


@dataclass(frozen=True)
class ClientInvitation:
    """An invitation of a client tenant and the state of its e-mail."""

    invitation: InvitationView
    mail_status: str | None


@dataclass
class ClientForm:
    """The "new client" form."""

    name: str = ""
    slug: str = ""
    default_locale: str = "en"
    admin_email: str = ""


# --- seeing and opening -----------------------------------------------------------------


def _info(row: Mapping[str, Any]) -> TenantInfo:
    return TenantInfo(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        schema=row["schema_name"],
        status=row["status"],
        default_locale=row["default_locale"],
        locales=list(row["locales"] or []),
        created_at=row["created_at"],
    )


_VISIBLE = (
    "SELECT t.id, t.slug, t.name, t.schema_name, t.status, t.default_locale, t.locales,"
    " t.created_at, EXISTS (SELECT 1 FROM scalemark.consultant_assignment a"
    "   WHERE a.tenant_id = t.id AND a.user_id = $1) AS assigned,"
    " ARRAY(SELECT u.email FROM scalemark.consultant_assignment a"
    "   JOIN scalemark.user_account u ON u.id = a.user_id"
    "   WHERE a.tenant_id = t.id ORDER BY u.email) AS consultants"
    " FROM scalemark.tenant t"
    " WHERE ($2 OR EXISTS (SELECT 1 FROM scalemark.consultant_assignment a"
    "   WHERE a.tenant_id = t.id AND a.user_id = $1))"
)


async def _counts(info: TenantInfo) -> tuple[int | None, int | None]:
    try:
        async with tenant_transaction(info.ref) as conn:
            row = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM unit WHERE archived_at IS NULL) AS units,"
                " (SELECT count(DISTINCT user_id) FROM membership WHERE status = 'active')"
                " AS members"
            )
    except asyncpg.PostgresError as exc:  # a broken schema must not hide the others
        logger.warning("cannot count units and members of %s: %s", info.slug, exc)
        return None, None
    return int(row["units"]), int(row["members"])


async def _with_counts(row: Mapping[str, Any], limit: asyncio.Semaphore) -> ClientTenant:
    info = _info(row)
    async with limit:
        units, members = await _counts(info)
    return ClientTenant(
        info=info,
        assigned=bool(row["assigned"]),
        unit_count=units,
        member_count=members,
        consultants=list(row["consultants"] or []),
    )


def _sees_all(user: User) -> bool:
    return user.platform_role == "platform_admin"


async def list_clients(user: User) -> list[ClientTenant]:
    """The tenants ``user`` may see (assigned ones; all for platform admins), by name."""
    if user.platform_role not in ("consultant", "platform_admin"):
        return []
    async with shared_transaction() as conn:
        rows = await conn.fetch(
            _VISIBLE + " ORDER BY lower(t.name), t.slug", user.id, _sees_all(user)
        )
    limit = asyncio.Semaphore(_COUNT_CONCURRENCY)
    return list(await asyncio.gather(*(_with_counts(row, limit) for row in rows)))


async def find_client(user: User, slug: str) -> ClientTenant | None:
    """One tenant, if ``user`` may see it (``None`` otherwise, also for unknown slugs)."""
    if user.platform_role not in ("consultant", "platform_admin") or not is_valid_slug(slug):
        return None
    async with shared_transaction() as conn:
        row = await conn.fetchrow(_VISIBLE + " AND t.slug = $3", user.id, _sees_all(user), slug)
    if row is None:
        return None
    return await _with_counts(row, asyncio.Semaphore(1))


def may_open(user: User, client: ClientTenant) -> bool:
    """Only assigned consultants open a client tenant with their own account."""
    return user.platform_role == "consultant" and client.assigned and client.info.status == "active"


async def client_invitations(info: TenantInfo) -> list[ClientInvitation]:
    """The tenant's invitations, newest first, with the state of the e-mail that went out."""
    async with tenant_transaction(info.ref):
        invitations = await list_invitations()
    if not invitations:
        return []
    async with shared_transaction() as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT ON (recipient) recipient, status FROM scalemark.mail_outbox"
            " WHERE tenant_id = $1 AND recipient = ANY($2::text[]) ORDER BY recipient, id DESC",
            info.id,
            [i.email for i in invitations],
        )
    status = {r["recipient"]: r["status"] for r in rows}
    return [ClientInvitation(i, status.get(i.email)) for i in invitations]


# --- slugs ------------------------------------------------------------------------------

_TRANSLITERATE = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d"})


def suggest_slug(name: str) -> str:
    """A slug made from an organisation's name (``Nordlicht Group`` → ``nordlicht-group``)."""
    text = unicodedata.normalize("NFKD", (name or "").lower().translate(_TRANSLITERATE))
    text = text.replace("&", " and ").encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", text)
    text = re.sub(r"^[^a-z]+", "", text).strip("-")
    text = text[:MAX_LENGTH].rstrip("-")
    if len(text) < 2:
        return ""
    if text in RESERVED_SLUGS:
        text = f"{text}-org"
    return text


async def _slug_taken(slug: str) -> bool:
    async with shared_transaction() as conn:
        return bool(await conn.fetchval("SELECT 1 FROM scalemark.tenant WHERE slug = $1", slug))


async def slug_problem(slug: str) -> object | None:
    """Why ``slug`` cannot be used (a translatable message), or ``None``."""
    if not is_valid_slug(slug):
        return _SLUG_INVALID
    if slug in RESERVED_SLUGS:
        return _SLUG_RESERVED
    if await _slug_taken(slug):
        return _SLUG_TAKEN
    return None


async def free_slug(name: str) -> str:
    """:func:`suggest_slug`, numbered (``-2``, ``-3``, …) when the plain one is taken."""
    base = suggest_slug(name)
    if not base:
        return ""
    for number in range(1, 50):
        candidate = base if number == 1 else f"{base[: MAX_LENGTH - 4].rstrip('-')}-{number}"
        if not await _slug_taken(candidate):
            return candidate
    return ""


# --- the form ---------------------------------------------------------------------------


async def check_client_form(data: Mapping[str, Any]) -> tuple[ClientForm, dict[str, object]]:
    """The submitted form, trimmed, and the problems per field (empty when it is fine).

    An empty slug takes the suggestion made from the name.
    """
    form = ClientForm(
        name=str(data.get("name") or "").strip(),
        slug=str(data.get("slug") or "").strip().lower(),
        default_locale=str(data.get("default_locale") or ""),
        admin_email=str(data.get("admin_email") or "").strip(),
    )
    errors: dict[str, object] = {}
    if not form.name or len(form.name) > 200:
        errors["name"] = _l("Enter the organisation's name (at most 200 characters).")
    if not form.slug and form.name:
        form.slug = await free_slug(form.name)
    problem = await slug_problem(form.slug)
    if problem is not None:
        errors["slug"] = problem
    if form.default_locale not in supported_locales():
        errors["default_locale"] = _l("Choose a language from the list.")
    try:
        form.admin_email = normalise_email(form.admin_email)
    except UserError as exc:
        errors["admin_email"] = exc.message
    return form, errors


# --- creating ---------------------------------------------------------------------------


@asynccontextmanager
async def _provisioning_connection() -> AsyncIterator[asyncpg.Connection]:
    pool = get_engine().pool
    assert pool is not None, "the database pool is not open"
    async with pool.acquire() as conn:
        yield conn


async def _invite_hq_admin(info: TenantInfo, email: str, locale: str, creator: User) -> None:
    """Invite the HQ admin at the root unit, by mail in ``locale``."""
    async with tenant_transaction(info.ref):
        root = await org_service.root_unit()
        if root is None:
            raise ConsoleError("admin_email", _l("The organisation has no headquarters unit."))
        await create_invitation(email, "hq_admin", root.id, invited_by=creator.id, locale=locale)


async def _after_creation(info: TenantInfo, creator: User, details: dict[str, Any]) -> None:
    """Shared-table steps: assign the creating consultant, record the platform event."""
    if creator.platform_role == "consultant":
        await assign_consultant(creator.id, info.id)
    await audit.record_platform(
        "tenant.create", tenant_id=info.id, target=f"tenant:{info.slug}", after=details
    )


async def _registered(slug: str) -> TenantInfo:
    forget_tenant(slug)
    info = await get_tenant(slug)
    assert info is not None, f"tenant {slug} vanished after provisioning"
    return info


async def create_client_from_form(form: ClientForm, creator: User) -> TenantInfo:
    """Provision the tenant with an HQ unit named after it and invite the HQ admin."""
    async with _provisioning_connection() as conn:
        try:
            await create_tenant(
                conn,
                form.slug,
                form.name,
                default_locale=form.default_locale,
                locales=[form.default_locale],
            )
        except (TenantExistsError, asyncpg.UniqueViolationError) as exc:
            raise ConsoleError("slug", _SLUG_TAKEN) from exc
    info = await _registered(form.slug)
    async with tenant_transaction(info.ref):
        await org_service.create_unit(
            UnitData(
                code="HQ",
                name=form.name,
                kind="hq",
                locale=form.default_locale,
                timezone="UTC",
                currency="EUR",
            ),
            None,
        )
        await audit.record(
            "tenant.create",
            object_type="tenant",
            object_id=info.id,
            after={"name": form.name, "slug": form.slug, "source": "form"},
        )
    await _invite_hq_admin(info, form.admin_email, form.default_locale, creator)
    await _after_creation(
        info,
        creator,
        {"name": form.name, "source": "form", "hq_admin": form.admin_email},
    )
    return info


def read_blueprint_upload(content: bytes) -> Blueprint:
    """Decode and validate an uploaded blueprint; errors say what and where.

    Uploads may not set passwords, declare consultants or read the server's environment
    (``client_secret_env``): those are for ``scalemark tenants apply`` run by operators.
    """
    if not content.strip():
        raise ConsoleError("blueprint", _l("Choose a blueprint file (.toml) to upload."))
    if len(content) > MAX_BLUEPRINT_BYTES:
        raise ConsoleError("blueprint", _l("The blueprint file is larger than 256 KB."))
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConsoleError("blueprint", _l("The blueprint file is not UTF-8 text.")) from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConsoleError("blueprint", f"TOML: {exc}") from exc
    provider = document.get("identity_provider")
    if isinstance(provider, dict) and "client_secret_env" in provider:
        # The server's environment is the operators', never an uploader's to read.
        raise ConsoleError(
            "blueprint",
            "[identity_provider]: 'client_secret_env' is only allowed in blueprints applied"
            " with `scalemark tenants apply`",
        )
    try:
        blueprint = parse_blueprint(document)
    except BlueprintError as exc:
        raise ConsoleError("blueprint", str(exc)) from exc
    if blueprint.identity.passwords:
        raise ConsoleError(
            "blueprint",
            f"{', '.join(blueprint.identity.passwords)}: 'password' is only allowed in"
            " blueprints applied with `scalemark tenants apply`",
        )
    if blueprint.identity.consultants:
        raise ConsoleError(
            "blueprint",
            "[[consultants]]: consultants are assigned by platform admins, not by uploads",
        )
    if not blueprint.units:
        raise ConsoleError("blueprint", "[[units]]: list at least the headquarters unit")
    return blueprint


async def create_client_from_blueprint(
    blueprint: Blueprint, admin_email: str | None, creator: User
) -> TenantInfo:
    """Provision a new tenant from a blueprint; an existing slug is refused, never changed."""
    if admin_email:
        try:
            admin_email = normalise_email(admin_email)
        except UserError as exc:
            raise ConsoleError("admin_email", exc.message) from exc
    problem = await slug_problem(blueprint.slug)
    if problem is not None:
        raise ConsoleError("blueprint", f"[tenant] slug {blueprint.slug!r}: {problem}")
    async with _provisioning_connection() as conn:
        # Provision first: a slug taken meanwhile fails here instead of updating that tenant.
        try:
            await create_tenant(
                conn,
                blueprint.slug,
                blueprint.name,
                default_locale=blueprint.default_locale,
                locales=blueprint.locales,
            )
        except (TenantExistsError, asyncpg.UniqueViolationError) as exc:
            raise ConsoleError("blueprint", f"[tenant] slug: {_SLUG_TAKEN}") from exc
        forget_tenant(blueprint.slug)
        try:
            result = await apply_blueprint(conn, blueprint)
        except BlueprintError as exc:
            raise ConsoleError("blueprint", str(exc)) from exc
    info = await _registered(blueprint.slug)
    async with tenant_transaction(info.ref):
        await audit.record(
            "tenant.create",
            object_type="tenant",
            object_id=info.id,
            after={
                "name": blueprint.name,
                "slug": blueprint.slug,
                "source": "blueprint",
                "units": len(result.created),
                "people": len(result.identity),
            },
        )
    if admin_email:
        await _invite_hq_admin(info, admin_email, blueprint.default_locale, creator)
    await _after_creation(
        info,
        creator,
        {
            "name": blueprint.name,
            "source": "blueprint",
            "units": len(result.created),
            "hq_admin": admin_email,
        },
    )
    return info
