"""The identity sections of tenant blueprints: ``[[users]]``, ``[[consultants]]`` and
``[identity_provider]``.

``tenancy.blueprints`` parses them with :func:`parse_identity` and applies them with
:func:`apply_identity` after the unit tree. Applying is idempotent: accounts, passwords,
memberships, consultant assignments and the provider are only written when they differ
from the file, so a second apply changes nothing. People are only added, never removed
(members invited in the product stay). Passwords in blueprints are meant for demo and test
set-ups. The provider's client secret is stored encrypted (:mod:`scalemark.identity.secrets`
through :mod:`scalemark.identity.sso_config`); ``client_secret_env`` names an environment
variable to read it from instead of writing it into the file. The issuer's discovery
document is not fetched while applying (files are applied offline); the sign-in settings
page checks it when an admin saves.

Example::

    [[consultants]]
    email = "consultant@scalemark.example"
    name = "Clara Consultant"
    password = "demo-password"

    [[users]]
    email = "lead.de@nordlicht.example"
    name = "Dieter Lead"
    role = "unit_lead"
    unit = "DE"
    locale = "de"
    password = "demo-password"

    [identity_provider]
    issuer = "https://login.nordlicht.example"
    client_id = "scalemark"
    client_secret_env = "NORDLICHT_OIDC_SECRET"
    allowed_domains = ["nordlicht.example"]
    default_role = "contributor"      # or "stakeholder"
    join_mode = "auto"                # or "approval"
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scalemark.db import tenant_transaction
from scalemark.i18n.locale import supported_locales
from scalemark.identity import audit
from scalemark.identity.domains import DomainError, normalise_domain
from scalemark.identity.oidc import OidcError, check_issuer_url
from scalemark.identity.passwords import verify_password
from scalemark.identity.provisioning import UserSetupError, assign_consultant, ensure_member
from scalemark.identity.roles import PLATFORM_ROLES, TENANT_ROLES
from scalemark.identity.secrets import SecretDecryptionError, decrypt_secret
from scalemark.identity.sso_config import (
    JOIN_MODES,
    NEW_MEMBER_ROLES,
    ProviderConfig,
    get_provider,
    save_provider,
)
from scalemark.identity.tables import UserAccount
from scalemark.identity.users import (
    User,
    UserError,
    create_user,
    get_user_by_email,
    normalise_email,
    set_password,
    update_preferences,
    validate_password,
)
from scalemark.tenancy.registry import TenantInfo

__all__ = [
    "BlueprintConsultant",
    "BlueprintIdentity",
    "BlueprintProvider",
    "BlueprintUser",
    "IdentitySectionError",
    "apply_identity",
    "ensure_platform_account",
    "parse_identity",
]


class IdentitySectionError(ValueError):
    """A people section that cannot be used; the message names the place."""


@dataclass(frozen=True)
class BlueprintUser:
    """A member of the tenant: a role at a unit (the HQ when ``unit`` is ``None``)."""

    email: str
    name: str
    role: str
    unit: str | None
    locale: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class BlueprintConsultant:
    """A consultant account assigned to the tenant."""

    email: str
    name: str
    locale: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class BlueprintProvider:
    """The tenant's OpenID provider."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    allowed_domains: tuple[str, ...]
    default_role: str = "contributor"
    join_mode: str = "auto"


@dataclass
class BlueprintIdentity:
    """Everything a blueprint says about people and sign-in."""

    users: list[BlueprintUser] = field(default_factory=list)
    consultants: list[BlueprintConsultant] = field(default_factory=list)
    provider: BlueprintProvider | None = None

    @property
    def passwords(self) -> list[str]:
        """Places that set a password (``[[users]] #2``), for callers that forbid them."""
        return [f"[[users]] #{i}" for i, u in enumerate(self.users, start=1) if u.password] + [
            f"[[consultants]] #{i}" for i, c in enumerate(self.consultants, start=1) if c.password
        ]

    def demo_logins(self) -> list[tuple[str, str, str]]:
        """(what, e-mail, password) of every person with a password, consultants first."""
        logins = [("consultant", c.email, c.password) for c in self.consultants if c.password]
        seen = {email for _, email, _ in logins}
        for user in self.users:
            if user.password and user.email not in seen:
                seen.add(user.email)
                logins.append((f"{user.role} {user.unit or 'HQ'}", user.email, user.password))
        return logins


def _table_list(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    raw = document.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        raise IdentitySectionError(f"'{key}' must be an array of tables ([[{key}]])")
    return raw


def _optional_text(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise IdentitySectionError(f"{where}: '{key}' must be a non-empty text")
    return value.strip()


def _email(table: dict[str, Any], where: str) -> str:
    value = _optional_text(table, "email", where)
    if value is None:
        raise IdentitySectionError(f"{where}: 'email' is required")
    try:
        return normalise_email(value)
    except UserError as exc:
        raise IdentitySectionError(f"{where}: 'email' {value!r} is not an e-mail address") from exc


def _password(table: dict[str, Any], where: str) -> str | None:
    value = table.get("password")
    if value is None:
        return None
    if not isinstance(value, str):
        raise IdentitySectionError(f"{where}: 'password' must be a text")
    try:
        return validate_password(value)
    except UserError as exc:
        raise IdentitySectionError(f"{where}: 'password' {exc}") from exc


def _locale(table: dict[str, Any], where: str) -> str | None:
    value = _optional_text(table, "locale", where)
    if value is not None and value not in supported_locales():
        raise IdentitySectionError(f"{where}: unsupported language {value!r}")
    return value


def _client_secret(raw: dict[str, Any], where: str) -> str:
    secret = _optional_text(raw, "client_secret", where)
    variable = _optional_text(raw, "client_secret_env", where)
    if (secret is None) == (variable is None):
        raise IdentitySectionError(f"{where}: give 'client_secret' or 'client_secret_env'")
    if variable is not None:
        secret = os.environ.get(variable, "").strip()
        if not secret:
            raise IdentitySectionError(
                f"{where}: environment variable {variable} (client_secret_env) is not set"
            )
    assert secret is not None
    if len(secret) > 1000:
        raise IdentitySectionError(f"{where}: 'client_secret' is too long")
    return secret


def _parse_provider(document: dict[str, Any]) -> BlueprintProvider | None:
    raw = document.get("identity_provider")
    if raw is None:
        return None
    where = "[identity_provider]"
    if not isinstance(raw, dict):
        raise IdentitySectionError(f"{where} must be a table")
    unknown = sorted(
        set(raw)
        - {"issuer", "client_id", "client_secret", "client_secret_env"}
        - {"allowed_domains", "default_role", "join_mode"}
    )
    if unknown:
        raise IdentitySectionError(f"{where}: unknown keys {unknown}")
    try:
        issuer = check_issuer_url(_optional_text(raw, "issuer", where) or "")
    except OidcError as exc:
        raise IdentitySectionError(f"{where}: 'issuer' {exc}") from exc
    client_id = _optional_text(raw, "client_id", where)
    if client_id is None or len(client_id) > 255:
        raise IdentitySectionError(f"{where}: 'client_id' must be a text of 1–255 characters")
    domains = raw.get("allowed_domains")
    if not isinstance(domains, list) or not domains or not all(isinstance(d, str) for d in domains):
        raise IdentitySectionError(f"{where}: 'allowed_domains' must be a list of domains")
    try:
        allowed = tuple(dict.fromkeys(normalise_domain(d) for d in domains))
    except DomainError as exc:
        raise IdentitySectionError(f"{where}: 'allowed_domains' {domains!r}: {exc}") from exc
    default_role = raw.get("default_role", "contributor")
    if default_role not in NEW_MEMBER_ROLES:
        raise IdentitySectionError(
            f"{where}: 'default_role' must be one of {', '.join(NEW_MEMBER_ROLES)}"
        )
    join_mode = raw.get("join_mode", "auto")
    if join_mode not in JOIN_MODES:
        raise IdentitySectionError(f"{where}: 'join_mode' must be one of {', '.join(JOIN_MODES)}")
    return BlueprintProvider(
        issuer=issuer,
        client_id=client_id,
        client_secret=_client_secret(raw, where),
        allowed_domains=allowed,
        default_role=default_role,
        join_mode=join_mode,
    )


def parse_identity(document: dict[str, Any], unit_codes: set[str]) -> BlueprintIdentity:
    """Validate ``[[users]]``, ``[[consultants]]`` and ``[identity_provider]``."""
    people = BlueprintIdentity()
    seen: set[tuple[str, str, str | None]] = set()
    for index, raw in enumerate(_table_list(document, "users"), start=1):
        where = f"[[users]] #{index}"
        email = _email(raw, where)
        where = f"{where} ({email})"
        role = _optional_text(raw, "role", where)
        if role not in TENANT_ROLES:
            raise IdentitySectionError(f"{where}: 'role' must be one of {', '.join(TENANT_ROLES)}")
        unit = _optional_text(raw, "unit", where)
        unit = unit.upper() if unit else None
        if not unit_codes:
            raise IdentitySectionError(f"{where}: the blueprint lists no units to give roles at")
        if unit is not None and unit not in unit_codes:
            raise IdentitySectionError(f"{where}: unit {unit!r} is not listed in [[units]]")
        if (email, role, unit) in seen:
            raise IdentitySectionError(f"{where}: listed twice with the same role and unit")
        seen.add((email, role, unit))
        people.users.append(
            BlueprintUser(
                email=email,
                name=_optional_text(raw, "name", where) or "",
                role=role,
                unit=unit,
                locale=_locale(raw, where),
                password=_password(raw, where),
            )
        )
    emails: set[str] = set()
    for index, raw in enumerate(_table_list(document, "consultants"), start=1):
        where = f"[[consultants]] #{index}"
        email = _email(raw, where)
        if email in emails:
            raise IdentitySectionError(f"{where} ({email}): listed twice")
        emails.add(email)
        people.consultants.append(
            BlueprintConsultant(
                email=email,
                name=_optional_text(raw, "name", where) or "",
                locale=_locale(raw, where),
                password=_password(raw, where),
            )
        )
    people.provider = _parse_provider(document)
    return people


async def _password_matches(user_id: int, password: str) -> bool:
    row = (
        await UserAccount.select(UserAccount.password_hash).where(UserAccount.id == user_id).first()
    )
    return verify_password(row["password_hash"] if row else None, password)


async def ensure_platform_account(
    email: str,
    *,
    name: str = "",
    password: str | None = None,
    platform_role: str | None = None,
    locale: str | None = None,
) -> tuple[User, list[str]]:
    """Make the account exist with this password, platform role and language.

    An existing platform role is never changed (a platform admin stays one); a missing
    one is set. Returns the account and what changed.
    """
    if platform_role is not None and platform_role not in PLATFORM_ROLES:
        raise IdentitySectionError(f"unknown platform role {platform_role!r}")
    user = await get_user_by_email(email)
    if user is None:
        user = await create_user(
            email, name=name, password=password, platform_role=platform_role, locale=locale
        )
        return user, [f"{user.email}: created"]
    changes: list[str] = []
    if password and not await _password_matches(user.id, password):
        await set_password(user.id, password)
        changes.append(f"{user.email}: password")
    if platform_role and user.platform_role is None:
        await UserAccount.update(
            {
                UserAccount.platform_role: platform_role,
                UserAccount.updated_at: datetime.now().astimezone(),
            }
        ).where(UserAccount.id == user.id)
        changes.append(f"{user.email}: {platform_role}")
    if locale and user.locale != locale:
        await update_preferences(user.id, locale=locale)
        changes.append(f"{user.email}: locale")
    if changes:
        refreshed = await get_user_by_email(email)
        assert refreshed is not None
        user = refreshed
    return user, changes


async def _has_membership(info: TenantInfo, user_id: int, role: str, unit: str | None) -> bool:
    async with tenant_transaction(info.ref) as conn:
        return bool(
            await conn.fetchval(
                "SELECT 1 FROM membership m JOIN unit u ON u.id = m.unit_id"
                " WHERE m.user_id = $1 AND m.role = $2 AND m.status = 'active'"
                " AND CASE WHEN $3::text IS NULL THEN u.parent_id IS NULL ELSE u.code = $3 END",
                user_id,
                role,
                unit,
            )
        )


async def _ensure_user(info: TenantInfo, wanted: BlueprintUser) -> list[str]:
    user = await get_user_by_email(wanted.email)
    password_ok = user is not None and (
        not wanted.password or await _password_matches(user.id, wanted.password)
    )
    member = user is not None and await _has_membership(info, user.id, wanted.role, wanted.unit)
    changes: list[str] = []
    if user is None or not password_ok or not member:
        await ensure_member(
            wanted.email,
            tenant_slug=info.slug,
            role=wanted.role,
            unit_code=wanted.unit,
            name=wanted.name,
            password=None if password_ok else wanted.password,
        )
        changes.append(f"{wanted.email}: {wanted.role} at {wanted.unit or 'HQ'}")
    if wanted.locale:
        current = await get_user_by_email(wanted.email)
        if current is not None and current.locale != wanted.locale:
            await update_preferences(current.id, locale=wanted.locale)
            changes.append(f"{wanted.email}: locale")
    return changes


def _same_provider(current: ProviderConfig | None, wanted: BlueprintProvider) -> bool:
    if current is None or (
        current.issuer,
        current.client_id,
        tuple(current.allowed_domains),
        current.default_role,
        current.join_mode,
    ) != (
        wanted.issuer,
        wanted.client_id,
        wanted.allowed_domains,
        wanted.default_role,
        wanted.join_mode,
    ):
        return False
    try:
        return decrypt_secret(current.client_secret_enc) == wanted.client_secret
    except SecretDecryptionError:  # stored with another SECRET_KEY: write it again
        return False


async def _apply_provider(info: TenantInfo, wanted: BlueprintProvider) -> list[str]:
    """Store the provider (secret encrypted) unless it is stored like this already."""
    current = await get_provider(info.id)
    if _same_provider(current, wanted):
        return []
    before, after = await save_provider(
        info.id,
        issuer=wanted.issuer,
        client_id=wanted.client_id,
        client_secret=wanted.client_secret,
        allowed_domains=list(wanted.allowed_domains),
        default_role=wanted.default_role,
        join_mode=wanted.join_mode,
    )
    async with tenant_transaction(info.ref):
        await audit.record(
            "sso.provider_update" if before else "sso.provider_create",
            object_type="identity_provider",
            object_id=info.id,
            before=before.audit_view() if before else None,
            after={**after.audit_view(), "client_secret": "changed", "via": "blueprint"},
        )
    return ["[identity_provider]"]


async def apply_identity(info: TenantInfo, people: BlueprintIdentity) -> list[str]:
    """Make accounts, memberships, assignments and the provider match; returns what changed.

    Runs outside any tenant transaction (it opens its own, one per step).
    """
    changes: list[str] = []
    try:
        for consultant in people.consultants:
            user, changed = await ensure_platform_account(
                consultant.email,
                name=consultant.name,
                password=consultant.password,
                platform_role="consultant",
                locale=consultant.locale,
            )
            changes += changed
            if user.platform_role != "consultant":
                raise IdentitySectionError(
                    f"[[consultants]] ({consultant.email}): the account is a"
                    f" {user.platform_role}, not a consultant"
                )
            if await assign_consultant(user.id, info.id):
                changes.append(f"{user.email}: assigned")
        for wanted in people.users:
            changes += await _ensure_user(info, wanted)
        if people.provider is not None:
            changes += await _apply_provider(info, people.provider)
    except (UserError, UserSetupError) as exc:
        raise IdentitySectionError(str(exc)) from exc
    return changes
