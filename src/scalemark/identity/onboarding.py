"""Who an OpenID sign-in is, whether they may join, and self-onboarding of organisations.

Trust comes from the provider a tenant configured, never from an e-mail address alone:
identities are linked by ``(issuer, subject)``. A new identity is linked to an existing
account with the same e-mail only when that account already belongs to the tenant, or
the tenant proved the e-mail domain by DNS; otherwise a provider could take over
accounts it does not own.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass

from scalemark.db import shared_transaction, tenant_transaction, use_tenant
from scalemark.db.engine import get_engine
from scalemark.db.tenant_context import TenantRef
from scalemark.i18n import gettext as _
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit, users
from scalemark.identity.domains import (
    FREEMAIL_DOMAINS,
    DomainError,
    add_claim,
    claimed_by,
    normalise_domain,
)
from scalemark.identity.memberships import add_membership
from scalemark.identity.oidc import SignedInIdentity
from scalemark.identity.principal import Principal, acting_as
from scalemark.identity.sso_config import ProviderConfig, get_provider
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData
from scalemark.tenancy.provisioning import TenantExistsError, create_tenant, drop_tenant
from scalemark.tenancy.registry import TenantInfo, get_tenant
from scalemark.tenancy.resolver import forget_tenant
from scalemark.tenancy.slugs import MAX_LENGTH, RESERVED_SLUGS, is_valid_slug

__all__ = [
    "OnboardingError",
    "Registration",
    "SsoOutcome",
    "check_registrant",
    "link_identity",
    "register_organisation",
    "sign_in_via_provider",
    "suggest_name",
    "suggest_slug",
    "validate_organisation",
    "work_domain",
]


class OnboardingError(ValueError):
    """A rule of onboarding was not met; ``field`` names the form field (or ``reason``)."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SsoOutcome:
    """The result of an SSO sign-in at a tenant: ``active``, ``pending`` or ``refused``."""

    status: str
    user: users.User | None = None
    message: object = ""


_ACCOUNT_EXISTS = _l(
    "An account with this e-mail address exists already. Sign in with it, or ask an"
    " administrator of the organisation to invite you."
)


async def _identity_user(issuer: str, subject: str) -> int | None:
    async with shared_transaction() as conn:
        found = await conn.fetchval(
            "SELECT user_id FROM scalemark.identity WHERE issuer = $1 AND subject = $2",
            issuer,
            subject,
        )
    return int(found) if found is not None else None


async def link_identity(user_id: int, identity: SignedInIdentity) -> int:
    """Link (or refresh) ``(issuer, subject)`` → user; returns the user it is linked to."""
    async with shared_transaction() as conn:
        linked = await conn.fetchval(
            "INSERT INTO scalemark.identity (user_id, issuer, subject, email, last_login_at)"
            " VALUES ($1, $2, $3, $4, now()) ON CONFLICT (issuer, subject) DO UPDATE"
            " SET email = EXCLUDED.email, last_login_at = now() RETURNING user_id",
            user_id,
            identity.issuer,
            identity.subject,
            identity.email,
        )
    return int(linked)


async def _find_or_create(email: str, name: str) -> users.User:
    existing = await users.get_user_by_email(email)
    if existing is not None:
        return existing
    try:
        return await users.create_user(email, name=name)
    except users.UserError:  # created by a parallel sign-in a moment ago
        again = await users.get_user_by_email(email)
        if again is None:
            raise
        return again


async def _membership_statuses(tenant: TenantRef, user_id: int) -> set[str]:
    async with tenant_transaction(tenant) as conn:
        rows = await conn.fetch("SELECT status FROM membership WHERE user_id = $1", user_id)
    return {r["status"] for r in rows}


async def _may_link(tenant: TenantRef, user_id: int, domain: str | None) -> bool:
    """An existing account may be linked when the tenant vouches for it (see module notes)."""
    if await _membership_statuses(tenant, user_id):
        return True
    return bool(domain) and await claimed_by(domain or "") == tenant.id


async def _join(
    tenant: TenantRef, provider: ProviderConfig, user: users.User, identity: SignedInIdentity
) -> str:
    status = "active" if provider.join_mode == "auto" else "pending"
    with use_tenant(tenant), acting_as(Principal(user=user)):
        async with tenant_transaction(tenant):
            root = await org_service.root_unit()
            if root is None:
                raise OnboardingError("reason", _l("This organisation is not set up yet."))
            await add_membership(user.id, provider.default_role, root.id, status=status)
            await audit.record(
                "member.join",
                object_type="user",
                object_id=user.id,
                after={
                    "email": user.email,
                    "role": provider.default_role,
                    "unit": root.code,
                    "status": status,
                    "via": "sso",
                    "issuer": identity.issuer,
                },
            )
    return status


async def _refuse(tenant: TenantRef, identity: SignedInIdentity, message: object) -> SsoOutcome:
    with use_tenant(tenant):
        await audit.record(
            "auth.sso_refused",
            object_type="identity",
            object_id=identity.subject[:64],
            after={"email": identity.email, "verified": identity.email_verified},
        )
    return SsoOutcome("refused", message=message)


async def sign_in_via_provider(
    tenant: TenantRef, provider: ProviderConfig, identity: SignedInIdentity
) -> SsoOutcome:
    """Map a verified sign-in through ``provider`` to a member of ``tenant``.

    Linked identity → that user. Otherwise a verified e-mail in the allowed domains finds
    or creates the account (see the module notes) and links it. Without an active or
    pending membership the user joins with the default role at the headquarters.
    """
    domain = identity.email_domain
    trusted_email = identity.email_verified and provider.allows_domain(domain)
    user_id = await _identity_user(identity.issuer, identity.subject)
    if user_id is None:
        if not identity.email or not identity.email_verified:
            return await _refuse(
                tenant, identity, _l("Your identity provider did not confirm your e-mail address.")
            )
        if not trusted_email:
            return await _refuse(tenant, identity, _NOT_ALLOWED)
        existing = await users.get_user_by_email(identity.email)
        if existing is not None and not await _may_link(tenant, existing.id, domain):
            return await _refuse(tenant, identity, _ACCOUNT_EXISTS)
        account = existing or await _find_or_create(identity.email, identity.name)
        user_id = await link_identity(account.id, identity)
    else:
        await link_identity(user_id, identity)
    user = await users.get_user(user_id)
    if user is None or not user.active:
        return SsoOutcome("refused", message=_l("This account is disabled."))
    statuses = await _membership_statuses(tenant, user.id)
    if "active" in statuses:
        return SsoOutcome("active", user)
    if "pending" in statuses:
        return SsoOutcome("pending", user)
    if statuses:
        return SsoOutcome("refused", user, _l("Your membership in this organisation has ended."))
    if not trusted_email:
        return await _refuse(tenant, identity, _NOT_ALLOWED)
    return SsoOutcome(await _join(tenant, provider, user, identity), user)


_NOT_ALLOWED = _l(
    "Your account cannot join this organisation: its e-mail domain is not one the"
    " organisation accepts."
)


def work_domain(email: str) -> str:
    """The domain of a work e-mail address; raises :class:`OnboardingError`."""
    try:
        value = users.normalise_email(email)
        domain = normalise_domain(value.rsplit("@", 1)[1])
    except (users.UserError, DomainError) as exc:
        raise OnboardingError("email", _l("Enter a valid e-mail address.")) from exc
    if domain in FREEMAIL_DOMAINS:
        raise OnboardingError("email", _l("Please use your work e-mail address."))
    return domain


def check_registrant(identity: SignedInIdentity, domain: str) -> None:
    """The person who registers must have a verified e-mail in the typed domain."""
    if not identity.email or not identity.email_verified:
        raise OnboardingError(
            "reason", _l("Your identity provider did not confirm your e-mail address.")
        )
    if identity.email_domain != domain:
        raise OnboardingError(
            "reason",
            _(
                "You signed in as %(email)s, which is not an address at %(domain)s. Sign in"
                " with your work account.",
                email=identity.email,
                domain=domain,
            ),
        )


def suggest_name(domain: str) -> str:
    """``acme-corp.example`` → ``Acme Corp``."""
    return domain.split(".")[0].replace("-", " ").title()


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)[:MAX_LENGTH].strip("-")
    if not slug or not slug[0].isalpha():
        slug = ("org-" + slug).strip("-")
    return slug if len(slug) >= 2 else "org-" + slug


async def suggest_slug(text: str) -> str:
    """A free, valid slug derived from a name or domain label."""
    base = _slugify(text.split(".")[0] if "." in text and " " not in text else text)
    candidate = base
    for number in range(2, 100):
        if candidate not in RESERVED_SLUGS and await get_tenant(candidate) is None:
            return candidate
        suffix = f"-{number}"
        candidate = base[: MAX_LENGTH - len(suffix)].rstrip("-") + suffix
    return candidate


async def validate_organisation(name: str, slug: str) -> dict[str, object]:
    """Errors by field for the organisation form (empty when fine)."""
    errors: dict[str, object] = {}
    if not name.strip() or len(name.strip()) > 200:
        errors["name"] = _l("Enter the name of your organisation (at most 200 characters).")
    if not is_valid_slug(slug):
        errors["slug"] = _l(
            "Use 2–40 lower-case letters, digits and single hyphens, starting with a letter."
        )
    elif slug in RESERVED_SLUGS:
        errors["slug"] = _l("This address is reserved. Choose another one.")
    elif await get_tenant(slug) is not None:
        errors["slug"] = _l("This address is taken. Choose another one.")
    return errors


@dataclass(frozen=True)
class Registration:
    """A provider typed on the registration form (secret encrypted) and the work domain."""

    issuer: str
    client_id: str
    client_secret_enc: str
    domain: str


async def _registrant(identity: SignedInIdentity, signed_in_user_id: int | None) -> users.User:
    user_id = await _identity_user(identity.issuer, identity.subject)
    if user_id is None:
        assert identity.email is not None
        existing = await users.get_user_by_email(identity.email)
        if existing is not None and existing.id != signed_in_user_id:
            raise OnboardingError("reason", _ACCOUNT_EXISTS)
        account = existing or await _find_or_create(identity.email, identity.name)
        user_id = await link_identity(account.id, identity)
    else:
        await link_identity(user_id, identity)
    user = await users.get_user(user_id)
    if user is None or not user.active:
        raise OnboardingError("reason", _l("This account is disabled."))
    return user


async def _provision(slug: str, name: str, locale: str) -> TenantInfo:
    pool = get_engine().pool
    assert pool is not None, "database pool not started"
    async with pool.acquire() as conn:
        try:
            await create_tenant(conn, slug, name, default_locale=locale)
        except TenantExistsError as exc:
            raise OnboardingError("slug", _l("This address is taken. Choose another one.")) from exc
    forget_tenant(slug)
    info = await get_tenant(slug)
    assert info is not None
    return info


async def _drop(slug: str) -> None:
    pool = get_engine().pool
    assert pool is not None
    async with pool.acquire() as conn:
        await drop_tenant(conn, slug)
    forget_tenant(slug)


async def register_organisation(
    *,
    name: str,
    slug: str,
    registration: Registration,
    identity: SignedInIdentity,
    signed_in_user_id: int | None = None,
    locale: str = "en",
) -> tuple[TenantInfo, users.User]:
    """Provision the tenant with its HQ, provider and first HQ admin.

    Runs the steps in order (tenant; HQ unit; provider; account; membership and audit;
    pending domain claim); when one fails after the tenant exists, the tenant is dropped.
    """
    name = name.strip()
    errors = await validate_organisation(name, slug)
    if errors:
        field, message = next(iter(errors.items()))
        raise OnboardingError(field, message)
    check_registrant(identity, registration.domain)
    user = await _registrant(identity, signed_in_user_id)
    info = await _provision(slug, name, locale)
    try:
        ref = info.ref
        async with tenant_transaction(ref):
            root = await org_service.create_unit(
                UnitData(code="HQ", name=name, kind="hq", locale=locale), None
            )
        provider = await _store_registration(info, registration)
        # A domain claimed by someone else meanwhile is left out; the settings page shows it.
        with suppress(DomainError):
            await add_claim(info.id, registration.domain)
        with use_tenant(ref), acting_as(Principal(user=user)):
            async with tenant_transaction(ref):
                await add_membership(user.id, "hq_admin", root.id)
                await audit.record(
                    "tenant.onboard",
                    object_type="tenant",
                    object_id=info.id,
                    after={"name": name, "slug": slug, "domain": registration.domain},
                )
                await audit.record(
                    "sso.provider_create",
                    object_type="identity_provider",
                    object_id=info.id,
                    after=provider.audit_view(),
                )
                await audit.record(
                    "member.add",
                    object_type="user",
                    object_id=user.id,
                    after={"email": user.email, "role": "hq_admin", "unit": root.code},
                )
        with acting_as(Principal(user=user)):
            await audit.record_platform(
                "tenant.self_onboard", tenant_id=info.id, target=f"tenant:{slug}"
            )
    except Exception:
        await _drop(slug)
        raise
    await users.record_login(user.id)
    return info, user


async def _store_registration(info: TenantInfo, registration: Registration) -> ProviderConfig:
    """Store the provider with the secret as encrypted on the registration form."""
    async with shared_transaction() as conn:
        await conn.execute(
            "INSERT INTO scalemark.identity_provider (tenant_id, issuer, client_id,"
            " client_secret_enc, allowed_domains, default_role, join_mode)"
            " VALUES ($1, $2, $3, $4, $5, 'contributor', 'auto')",
            info.id,
            registration.issuer,
            registration.client_id,
            registration.client_secret_enc,
            [registration.domain],
        )
    provider = await get_provider(info.id)
    assert provider is not None
    return provider
