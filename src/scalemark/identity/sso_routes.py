"""Company login (OIDC): self-onboarding, the shared callback, tenant SSO and its settings.

Routes stay thin: rules live in :mod:`~scalemark.identity.onboarding`,
:mod:`~scalemark.identity.sso_config`, :mod:`~scalemark.identity.domains` and
:mod:`~scalemark.identity.oidc`; the flow's state lives in the session
(:mod:`~scalemark.identity.sso_flow`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template

from scalemark.db import shared_transaction
from scalemark.db.tenant_context import TenantRef, peek_tenant
from scalemark.i18n import current_locale, supported_locales
from scalemark.i18n import gettext as _
from scalemark.identity import audit, oidc, onboarding, sso_flow
from scalemark.identity.domains import (
    DomainError,
    add_claim,
    claimed_by,
    list_claims,
    remove_claim,
    verify_claim,
)
from scalemark.identity.guards import authorize, requires
from scalemark.identity.handoff import handoff_url
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission
from scalemark.identity.secrets import SecretDecryptionError, decrypt_secret, encrypt_secret
from scalemark.identity.sso_config import (
    JOIN_MODES,
    NEW_MEMBER_ROLES,
    ProviderInput,
    ProviderInputError,
    get_provider,
    save_provider,
    validate_provider,
)
from scalemark.identity.users import UserError
from scalemark.org import service as org_service
from scalemark.settings import get_settings
from scalemark.tenancy.registry import get_tenant
from scalemark.web.htmx import redirect

__all__ = ["OidcPages", "OnboardingPages", "SsoSettingsPages", "TenantSsoPages"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
ONBOARDING = sso_flow.ONBOARDING_KEY


def _platform_only() -> None:
    if peek_tenant() is not None:
        raise NotFoundException()


def _tenant_only() -> TenantRef:
    tenant = peek_tenant()
    if tenant is None:
        raise NotFoundException()
    return tenant


def _ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def _safe_next(target: str | None) -> str:
    from scalemark.identity.routes import safe_next

    return safe_next(target)


def _problem(
    message: object, *, status: int = 400, retry_url: str = "/start", title: str | None = None
) -> Template:
    """A translated error page for a sign-in that could not finish."""
    return Template(
        template_name="identity/sso_error.html",
        context={
            "title": title or _("Sign-in did not work"),
            "message": str(message),
            "retry_url": retry_url,
        },
        status_code=status,
    )


def _oidc_problem(exc: oidc.OidcError, retry_url: str) -> Template:
    status = 502 if exc.reason in {"unreachable", "discovery"} else 400
    return _problem(exc.message, status=status, retry_url=retry_url)


async def _begin(
    request: Request[Any, Any, Any],
    *,
    kind: str,
    issuer: str,
    client_id: str,
    tenant: str | None = None,
    next_path: str = "/",
    login_hint: str | None = None,
) -> Redirect:
    """Remember a new flow in the session and send the browser to the provider."""
    metadata = await oidc.fetch_metadata(issuer)
    auth = oidc.authorization_request(
        metadata, client_id, sso_flow.callback_uri(), login_hint=login_hint
    )
    sso_flow.remember_flow(
        request.session,
        sso_flow.Flow(
            kind=kind,
            state=auth.state,
            nonce=auth.nonce,
            code_verifier=auth.code_verifier,
            issuer=issuer,
            tenant=tenant,
            next_path=next_path,
        ),
    )
    return Redirect(path=auth.url, status_code=303)


def _onboarding(request: Request[Any, Any, Any]) -> dict[str, Any]:
    data = request.session.get(ONBOARDING)
    return dict(data) if isinstance(data, dict) else {}


class OnboardingPages(Controller):
    """Platform host: "Start with your company login" and registering an organisation."""

    include_in_schema = False

    @get("/start", name="sso:start", media_type=MediaType.HTML)
    async def start_form(self) -> Template:
        """Ask for the work e-mail."""
        _platform_only()
        return Template(template_name="identity/start.html", context={"email": "", "error": None})

    @post("/start", name="sso:start_submit", media_type=MediaType.HTML)
    async def start(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Claimed domain → that tenant's provider; otherwise register the organisation."""
        _platform_only()
        email = (data.get("email") or "").strip()
        try:
            domain = onboarding.work_domain(email)
        except onboarding.OnboardingError as exc:
            return Template(
                template_name="identity/start.html",
                context={"email": email, "error": str(exc.message)},
                status_code=422,
            )
        email = email.lower()
        tenant_id = await claimed_by(domain)
        if tenant_id is not None:
            provider = await get_provider(tenant_id)
            slug = await _slug_of(tenant_id)
            if provider is None or slug is None:
                return Template(
                    template_name="identity/start.html",
                    context={
                        "email": email,
                        "error": _(
                            "Your organisation uses Scalemark but has not set up company login"
                            " yet. Ask an administrator to invite you."
                        ),
                    },
                    status_code=422,
                )
            try:
                return await _begin(
                    request,
                    kind="tenant",
                    issuer=provider.issuer,
                    client_id=provider.client_id,
                    tenant=slug,
                    login_hint=email,
                )
            except oidc.OidcError as exc:
                return _oidc_problem(exc, "/start")
        request.session[ONBOARDING] = {"email": email, "domain": domain}
        return redirect(request, "/start/register")

    @get("/start/register", name="sso:register", media_type=MediaType.HTML)
    async def register_form(self, request: Request[Any, Any, Any]) -> Any:
        """Ask for the company's OpenID provider."""
        _platform_only()
        state = _onboarding(request)
        if not state.get("email"):
            return redirect(request, "/start")
        return self._register_page(state, {}, state)

    @post("/start/register", name="sso:register_submit", media_type=MediaType.HTML)
    async def register(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Check the provider by discovery, then sign in through it once."""
        _platform_only()
        state = _onboarding(request)
        if not state.get("email"):
            return redirect(request, "/start")
        values = {
            "issuer": (data.get("issuer") or "").strip(),
            "client_id": (data.get("client_id") or "").strip(),
        }
        secret = data.get("client_secret") or ""
        state.update(values)
        if secret:
            state["secret_enc"] = encrypt_secret(secret)
        request.session[ONBOARDING] = state
        errors: dict[str, object] = {}
        if not await sso_flow.discovery_allowed(request.app.state.redis, _ip(request)):
            errors["issuer"] = _("Too many attempts. Please wait a few minutes and try again.")
        else:
            try:
                await oidc.fetch_metadata(values["issuer"], use_cache=False)
            except oidc.OidcError as exc:
                errors["issuer"] = exc.message
        if not values["client_id"] or len(values["client_id"]) > 255:
            errors["client_id"] = _("Enter the client id your identity provider gave you.")
        if not state.get("secret_enc"):
            errors["client_secret"] = _("Enter the client secret your identity provider gave you.")
        if errors:
            return self._register_page(state, errors, values, status=422)
        try:
            return await _begin(
                request,
                kind="register",
                issuer=values["issuer"],
                client_id=values["client_id"],
                login_hint=state["email"],
            )
        except oidc.OidcError as exc:
            return self._register_page(state, {"issuer": exc.message}, values, status=422)

    @staticmethod
    def _register_page(
        state: dict[str, Any],
        errors: dict[str, object],
        values: dict[str, Any],
        status: int = 200,
    ) -> Template:
        return Template(
            template_name="identity/register.html",
            context={
                "email": state["email"],
                "domain": state["domain"],
                "values": {k: values.get(k, "") for k in ("issuer", "client_id")},
                "has_secret": bool(state.get("secret_enc")),
                "errors": {k: str(v) for k, v in errors.items()},
                "redirect_uri": sso_flow.callback_uri(),
            },
            status_code=status,
        )

    @get("/start/organisation", name="sso:organisation", media_type=MediaType.HTML)
    async def organisation_form(self, request: Request[Any, Any, Any]) -> Any:
        """Name and address of the new organisation (after the provider sign-in)."""
        _platform_only()
        state = _onboarding(request)
        if not state.get("identity"):
            return redirect(request, "/start")
        name = onboarding.suggest_name(state["domain"])
        values = {"name": name, "slug": await onboarding.suggest_slug(state["domain"])}
        return self._organisation_page(state, values, {})

    @post("/start/organisation", name="sso:organisation_submit", media_type=MediaType.HTML)
    async def organisation(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Provision the organisation and land in it as its HQ admin."""
        _platform_only()
        state = _onboarding(request)
        if not state.get("identity"):
            return redirect(request, "/start")
        values = {
            "name": (data.get("name") or "").strip(),
            "slug": (data.get("slug") or "").strip().lower(),
        }
        errors = await onboarding.validate_organisation(values["name"], values["slug"])
        if errors:
            return self._organisation_page(state, values, errors, status=422)
        principal = request.scope.get("user")
        locale = current_locale()
        try:
            info, user = await onboarding.register_organisation(
                name=values["name"],
                slug=values["slug"],
                registration=onboarding.Registration(
                    issuer=state["issuer"],
                    client_id=state["client_id"],
                    client_secret_enc=state["secret_enc"],
                    domain=state["domain"],
                ),
                identity=oidc.SignedInIdentity(**state["identity"]),
                signed_in_user_id=principal.user.id if isinstance(principal, Principal) else None,
                locale=locale if locale in supported_locales() else "en",
            )
        except onboarding.OnboardingError as exc:
            field = exc.field if exc.field in ("name", "slug") else "form"
            return self._organisation_page(state, values, {field: exc.message}, status=422)
        request.session.pop(ONBOARDING, None)
        return Redirect(path=handoff_url(user.id, info.slug, "/", method="sso"), status_code=303)

    @staticmethod
    def _organisation_page(
        state: dict[str, Any],
        values: dict[str, str],
        errors: dict[str, object],
        status: int = 200,
    ) -> Template:
        return Template(
            template_name="identity/register_org.html",
            context={
                "email": state["identity"]["email"],
                "values": values,
                "errors": {k: str(v) for k, v in errors.items()},
                "base_domain": get_settings().base_domain,
            },
            status_code=status,
        )


async def _slug_of(tenant_id: int) -> str | None:
    async with shared_transaction() as conn:
        slug = await conn.fetchval(
            "SELECT slug FROM scalemark.tenant WHERE id = $1 AND status = 'active'", tenant_id
        )
    return str(slug) if slug else None


class TenantSsoPages(Controller):
    """Tenant host: the "Sign in with your company login" button."""

    include_in_schema = False

    @post("/auth/sso", name="sso:tenant_start", media_type=MediaType.HTML)
    async def start(self, request: Request[Any, Any, Any], data: Form) -> Redirect:
        """Hop to the platform host (its session holds the flow) with a signed request."""
        tenant = _tenant_only()
        if await get_provider(tenant.id) is None:
            raise NotFoundException()
        token = sso_flow.sign_start_request(tenant.slug, _safe_next(data.get("next")))
        target = get_settings().public_url(None, "/auth/oidc/start?" + urlencode({"r": token}))
        return Redirect(path=target, status_code=303)


class OidcPages(Controller):
    """Platform host: starting a tenant's flow and the one callback of every flow."""

    include_in_schema = False

    @get("/auth/oidc/start", name="sso:oidc_start", media_type=MediaType.HTML)
    async def start(self, request: Request[Any, Any, Any]) -> Any:
        """Begin the tenant's flow that a tenant host asked for."""
        _platform_only()
        parsed = sso_flow.read_start_request(request.query_params.get("r") or "")
        if parsed is None:
            return _problem(_("This sign-in link has expired. Please start again."), retry_url="/")
        slug, next_path, hint = parsed
        info = await get_tenant(slug)
        provider = await get_provider(info.id) if info else None
        if info is None or provider is None:
            raise NotFoundException()
        try:
            return await _begin(
                request,
                kind="tenant",
                issuer=provider.issuer,
                client_id=provider.client_id,
                tenant=slug,
                next_path=_safe_next(next_path),
                login_hint=hint or None,
            )
        except oidc.OidcError as exc:
            return _oidc_problem(exc, get_settings().public_url(slug, "/login"))

    @get(sso_flow.CALLBACK_PATH, name="sso:callback", media_type=MediaType.HTML)
    async def callback(self, request: Request[Any, Any, Any]) -> Any:
        """Check state (single use), exchange the code, verify the ID token, go on."""
        _platform_only()
        query = request.query_params
        state, code, error = query.get("state", ""), query.get("code", ""), query.get("error", "")
        flow = sso_flow.take_flow(request.session, state)
        if flow is None:
            return _problem(
                _(
                    "This sign-in answer is not valid: it was used already, has expired or"
                    " belongs to another browser. Please start again."
                ),
                retry_url="/start",
            )
        if error or not code:
            return _problem(_("Your identity provider did not sign you in. Please try again."))
        if flow.kind == "register":
            return await self._registered(request, flow, code)
        return await self._tenant_sign_in(flow, code)

    @staticmethod
    async def _tenant_sign_in(flow: sso_flow.Flow, code: str) -> Any:
        info = await get_tenant(flow.tenant or "")
        provider = await get_provider(info.id) if info else None
        if info is None or provider is None:
            raise NotFoundException()
        retry = get_settings().public_url(info.slug, "/login")
        if provider.issuer != flow.issuer:
            return _oidc_problem(oidc.OidcError("issuer", "provider changed"), retry)
        try:
            identity = await oidc.complete_sign_in(
                await oidc.fetch_metadata(provider.issuer),
                client_id=provider.client_id,
                client_secret=provider.client_secret(),
                redirect_uri=sso_flow.callback_uri(),
                code=code,
                code_verifier=flow.code_verifier,
                nonce=flow.nonce,
            )
        except oidc.OidcError as exc:
            return _oidc_problem(exc, retry)
        except SecretDecryptionError:
            return _oidc_problem(oidc.OidcError("token", "secret not decryptable"), retry)
        try:
            outcome = await onboarding.sign_in_via_provider(info.ref, provider, identity)
        except (onboarding.OnboardingError, UserError) as exc:
            return _problem(exc.message, status=409, retry_url=retry)
        if outcome.status == "active" and outcome.user is not None:
            url = handoff_url(outcome.user.id, info.slug, flow.next_path, method="sso")
            return Redirect(path=url, status_code=303)
        if outcome.status == "pending":
            return Template(
                template_name="identity/sso_pending.html",
                context={"organisation": info.name, "email": identity.email or ""},
                status_code=202,
            )
        return _problem(
            outcome.message,
            status=403,
            retry_url=retry,
            title=_("You cannot join %(name)s", name=info.name),
        )

    @staticmethod
    async def _registered(request: Request[Any, Any, Any], flow: sso_flow.Flow, code: str) -> Any:
        state = _onboarding(request)
        if not state.get("secret_enc") or state.get("issuer") != flow.issuer:
            return _problem(_("Your registration has expired. Please start again."))
        try:
            identity = await oidc.complete_sign_in(
                await oidc.fetch_metadata(flow.issuer),
                client_id=state["client_id"],
                client_secret=_decrypt(state["secret_enc"]),
                redirect_uri=sso_flow.callback_uri(),
                code=code,
                code_verifier=flow.code_verifier,
                nonce=flow.nonce,
            )
            onboarding.check_registrant(identity, state["domain"])
        except oidc.OidcError as exc:
            return _oidc_problem(exc, "/start/register")
        except onboarding.OnboardingError as exc:
            return _problem(exc.message, status=403, retry_url="/start/register")
        state["identity"] = {
            "issuer": identity.issuer,
            "subject": identity.subject,
            "email": identity.email,
            "email_verified": identity.email_verified,
            "name": identity.name,
        }
        request.session[ONBOARDING] = state
        return Redirect(path="/start/organisation", status_code=303)


def _decrypt(value: str) -> str:
    try:
        return decrypt_secret(value)
    except SecretDecryptionError as exc:
        raise oidc.OidcError("token", "secret not decryptable") from exc


def _notice(key: str | None) -> str | None:
    """The confirmation shown after a change (PRG: the key travels in the query)."""
    notices = {
        "saved": _("Your sign-in settings are saved."),
        "domain_added": _("Domain added. Publish the TXT record below, then verify it."),
        "domain_verified": _("Domain verified."),
        "domain_removed": _("Domain removed."),
    }
    return notices.get(key or "")


class SsoSettingsPages(Controller):
    """Tenant host: identity provider and e-mail domains (IT owners and HQ admins)."""

    path = "/settings/sso"
    guards = [requires(Permission.MANAGE_SSO)]  # noqa: RUF012 - Litestar reads this
    include_in_schema = False

    @get("/", name="sso:settings", media_type=MediaType.HTML)
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        """The provider form and the domain claims."""
        tenant = await self._check(request)
        provider = await get_provider(tenant.id)
        values = ProviderInput(
            issuer=provider.issuer if provider else "",
            client_id=provider.client_id if provider else "",
            allowed_domains="\n".join(provider.allowed_domains) if provider else "",
            default_role=provider.default_role if provider else "contributor",
            join_mode=provider.join_mode if provider else "auto",
        )
        notice = _notice(request.query_params.get("notice"))
        return await self._page(tenant, values, notice=notice)

    @post("/", name="sso:settings_save", media_type=MediaType.HTML)
    async def save(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Validate (discovery included) and save; the change goes to the audit log."""
        tenant = await self._check(request)
        values = ProviderInput(
            issuer=(data.get("issuer") or "").strip(),
            client_id=(data.get("client_id") or "").strip(),
            client_secret=data.get("client_secret") or "",
            allowed_domains=data.get("allowed_domains") or "",
            default_role=data.get("default_role") or "",
            join_mode=data.get("join_mode") or "",
        )
        before = await get_provider(tenant.id)
        try:
            _meta, domains = await validate_provider(values, has_secret=before is not None)
            before, after = await save_provider(
                tenant.id,
                issuer=values.issuer,
                client_id=values.client_id,
                client_secret=values.client_secret or None,
                allowed_domains=domains,
                default_role=values.default_role,
                join_mode=values.join_mode,
            )
        except ProviderInputError as exc:
            values.client_secret = ""
            errors = {k: str(v) for k, v in exc.errors.items()}
            return await self._page(tenant, values, errors=errors, status=422)
        changed = "changed" if values.client_secret else "unchanged"
        await audit.record(
            "sso.provider_update" if before else "sso.provider_create",
            object_type="identity_provider",
            object_id=tenant.id,
            before=before.audit_view() if before else None,
            after={**after.audit_view(), "client_secret": changed},
        )
        return redirect(request, "/settings/sso?notice=saved")

    @post("/domains", name="sso:domain_add", media_type=MediaType.HTML)
    async def add_domain(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Start a claim: the page then shows the TXT record to publish."""
        tenant = await self._check(request)
        typed = (data.get("domain") or "").strip()
        try:
            claim = await add_claim(tenant.id, typed)
        except DomainError as exc:
            return await self._current(tenant, domain=typed, domain_error=str(exc.message))
        await audit.record(
            "sso.domain_add",
            object_type="domain",
            object_id=claim.domain,
            after={"domain": claim.domain, "verified": claim.verified},
        )
        return redirect(request, "/settings/sso?notice=domain_added#domains")

    @post("/domains/verify", name="sso:domain_verify", media_type=MediaType.HTML)
    async def verify_domain(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Look up the TXT record; verified claims make the domain this tenant's."""
        tenant = await self._check(request)
        domain = (data.get("domain") or "").strip()
        try:
            claim = await verify_claim(tenant.id, domain)
        except DomainError as exc:
            return await self._current(tenant, claim_errors={domain: str(exc.message)})
        await audit.record(
            "sso.domain_verify",
            object_type="domain",
            object_id=claim.domain,
            before={"domain": claim.domain, "verified": False},
            after={"domain": claim.domain, "verified": True},
        )
        return redirect(request, "/settings/sso?notice=domain_verified#domains")

    @post("/domains/remove", name="sso:domain_remove", media_type=MediaType.HTML)
    async def remove_domain(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Give up a claim."""
        tenant = await self._check(request)
        removed = await remove_claim(tenant.id, data.get("domain") or "")
        if removed is not None:
            await audit.record(
                "sso.domain_remove",
                object_type="domain",
                object_id=removed.domain,
                before={"domain": removed.domain, "verified": removed.verified},
            )
        return redirect(request, "/settings/sso?notice=domain_removed#domains")

    @staticmethod
    async def _check(request: Request[Any, Any, Any]) -> TenantRef:
        """SSO is organisation-wide: the right must hold at the headquarters."""
        tenant = _tenant_only()
        root = await org_service.root_unit()
        if root is None:
            raise NotFoundException()
        authorize(request, Permission.MANAGE_SSO, root.path)
        return tenant

    async def _current(self, tenant: TenantRef, **extra: Any) -> Template:
        provider = await get_provider(tenant.id)
        values = ProviderInput(
            issuer=provider.issuer if provider else "",
            client_id=provider.client_id if provider else "",
            allowed_domains="\n".join(provider.allowed_domains) if provider else "",
            default_role=provider.default_role if provider else "contributor",
            join_mode=provider.join_mode if provider else "auto",
        )
        return await self._page(tenant, values, status=422, **extra)

    @staticmethod
    async def _page(
        tenant: TenantRef,
        values: ProviderInput,
        *,
        errors: dict[str, str] | None = None,
        notice: str | None = None,
        domain: str = "",
        domain_error: str | None = None,
        claim_errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        provider = await get_provider(tenant.id)
        return Template(
            template_name="identity/sso_settings.html",
            context={
                "tenant": tenant,
                "values": values,
                "has_secret": provider is not None,
                "errors": errors or {},
                "notice": notice,
                "roles": NEW_MEMBER_ROLES,
                "join_modes": JOIN_MODES,
                "redirect_uri": sso_flow.callback_uri(),
                "claims": await list_claims(tenant.id),
                "domain": domain,
                "domain_error": domain_error,
                "claim_errors": claim_errors or {},
            },
            status_code=status,
        )
