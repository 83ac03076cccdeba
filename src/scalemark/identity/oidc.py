"""OpenID Connect relying party: discovery, authorization code + PKCE, ID token checks.

Built on Authlib's framework-neutral ``AsyncOAuth2Client`` (authorization URL with an
S256 code challenge, code exchange); ID tokens are verified with ``joserfc`` against the
provider's JWKS. Every failure raises :class:`OidcError` with a ``reason`` that maps to a
translated message, so the web layer shows a clear page instead of a 500.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import authlib.deprecate  # noqa: F401 - its "always" filter must precede ours below
import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from scalemark.i18n import gettext as _
from scalemark.settings import get_settings

with warnings.catch_warnings():
    # Authlib 1.9 announces a move to "httpx2"; the httpx client it wraps works as before.
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

__all__ = [
    "ALGORITHMS",
    "AuthRequest",
    "OidcError",
    "ProviderMetadata",
    "SignedInIdentity",
    "authorization_request",
    "check_issuer_url",
    "complete_sign_in",
    "exchange_code",
    "fetch_jwks",
    "fetch_metadata",
    "forget_cached",
    "verify_id_token",
]

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
"""Asymmetric signatures only: never ``none`` and never HMAC with a shared secret."""
SCOPE = "openid email profile"
LEEWAY_S = 60
"""Clock skew tolerated on ``exp``, ``iat`` and ``nbf``."""
MAX_TOKEN_AGE_S = 600
"""An ID token issued longer ago than this (plus leeway) is refused."""
HTTP_TIMEOUT_S = 10.0
MAX_DOCUMENT_BYTES = 256 * 1024
CACHE_TTL_S = 300.0
_LOOPBACK_NAMES = {"localhost"}


class OidcError(Exception):
    """A sign-in or provider check that failed; ``reason`` says which check."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    @property
    def message(self) -> str:
        """A translated explanation for people (never the technical detail)."""
        messages = {
            "issuer_url": _(
                "Enter the issuer URL of your identity provider, starting with https://."
            ),
            "discovery": _(
                "We could not read the OpenID configuration of this issuer. Check the URL and"
                " that the provider is reachable."
            ),
            "discovery_issuer": _(
                "The provider names a different issuer in its configuration. Enter the issuer"
                " exactly as the provider states it."
            ),
            "discovery_incomplete": _(
                "The provider's OpenID configuration lacks required endpoints or does not"
                " support the authorization code flow with PKCE."
            ),
            "unreachable": _("We could not reach your company's identity provider."),
            "token": _(
                "Your identity provider did not accept the sign-in. Check the client id and"
                " client secret, then try again."
            ),
            "issuer": _("The sign-in answer came from an unexpected identity provider."),
            "audience": _("The sign-in answer was meant for another application."),
            "nonce": _("The sign-in answer does not belong to this sign-in attempt."),
            "expired": _("The sign-in answer has expired. Please sign in again."),
            "signature": _("The sign-in answer is not signed by your company's identity provider."),
            "malformed": _("The sign-in answer from your identity provider is not valid."),
        }
        return messages.get(self.reason, messages["malformed"])


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of a provider's discovery document the client uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    token_auth_methods: tuple[str, ...] = ("client_secret_basic",)

    @property
    def token_auth_method(self) -> str:
        """``client_secret_basic`` unless the provider only takes ``client_secret_post``."""
        if "client_secret_basic" in self.token_auth_methods:
            return "client_secret_basic"
        if "client_secret_post" in self.token_auth_methods:
            return "client_secret_post"
        return "client_secret_basic"


@dataclass(frozen=True)
class AuthRequest:
    """Where to send the browser, and what to keep in the session until it comes back."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class SignedInIdentity:
    """Who the provider says signed in (from a verified ID token)."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str

    @property
    def email_domain(self) -> str | None:
        """Domain part of the e-mail, lower-case."""
        if not self.email or "@" not in self.email:
            return None
        return self.email.rsplit("@", 1)[1].strip().lower()


def _allow_http(allow_http: bool | None) -> bool:
    return get_settings().oidc_allow_http if allow_http is None else allow_http


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(value: str, *, allow_http: bool, reason: str) -> str:
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise OidcError(reason, f"not a usable URL: {value!r}") from exc
    if not host or parts.username or parts.password or parts.fragment:
        raise OidcError(reason, f"not a usable URL: {value!r}")
    if parts.scheme == "https":
        return value
    if parts.scheme == "http" and allow_http and _is_loopback(host):
        return value
    raise OidcError(reason, f"https required: {value!r}")


def check_issuer_url(value: str, *, allow_http: bool | None = None) -> str:
    """The issuer as typed (trimmed), if it is an https URL without query or fragment.

    Plain http is accepted only for loopback hosts and only when ``OIDC_ALLOW_HTTP`` is
    on (tests, local development).
    """
    issuer = (value or "").strip()
    if not issuer or len(issuer) > 500 or "?" in issuer or any(c.isspace() for c in issuer):
        raise OidcError("issuer_url", f"bad issuer {issuer!r}")
    return _check_url(issuer, allow_http=_allow_http(allow_http), reason="issuer_url")


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=HTTP_TIMEOUT_S, follow_redirects=False, headers={"accept": "application/json"}
    )


async def _get_json(url: str, reason: str) -> dict[str, Any]:
    """GET a JSON object, at most :data:`MAX_DOCUMENT_BYTES`, no redirects."""
    try:
        async with _client() as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise OidcError(reason, f"{url} answered {response.status_code}")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise OidcError(reason, f"{url} sent too much")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise OidcError(reason, f"{url}: {type(exc).__name__}") from exc
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise OidcError(reason, f"{url} sent no JSON") from exc
    if not isinstance(document, dict):
        raise OidcError(reason, f"{url} sent no JSON object")
    return document


_metadata_cache: dict[str, tuple[float, ProviderMetadata]] = {}
_jwks_cache: dict[str, tuple[float, KeySet]] = {}


def forget_cached() -> None:
    """Drop cached discovery documents and key sets (tests, provider changes)."""
    _metadata_cache.clear()
    _jwks_cache.clear()


def _parse_metadata(document: dict[str, Any], issuer: str, allow_http: bool) -> ProviderMetadata:
    if document.get("issuer") != issuer:
        raise OidcError("discovery_issuer", f"document names {document.get('issuer')!r}")
    endpoints: dict[str, str] = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not value:
            raise OidcError("discovery_incomplete", f"no {name}")
        endpoints[name] = _check_url(value, allow_http=allow_http, reason="discovery_incomplete")
    userinfo = document.get("userinfo_endpoint")
    if isinstance(userinfo, str) and userinfo:
        userinfo = _check_url(userinfo, allow_http=allow_http, reason="discovery_incomplete")
    else:
        userinfo = None
    response_types = document.get("response_types_supported")
    if isinstance(response_types, list) and "code" not in response_types:
        raise OidcError("discovery_incomplete", "code flow not supported")
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise OidcError("discovery_incomplete", "PKCE S256 not supported")
    auth_methods = document.get("token_endpoint_auth_methods_supported")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        userinfo_endpoint=userinfo,
        token_auth_methods=tuple(
            m for m in (auth_methods or ["client_secret_basic"]) if isinstance(m, str)
        ),
    )


async def fetch_metadata(
    issuer: str, *, allow_http: bool | None = None, use_cache: bool = True
) -> ProviderMetadata:
    """Fetch and validate ``<issuer>/.well-known/openid-configuration``.

    The document's ``issuer`` must equal ``issuer`` exactly; the authorization, token and
    JWKS endpoints must be present; the code flow and PKCE S256 must not be ruled out.
    """
    allow = _allow_http(allow_http)
    issuer = check_issuer_url(issuer, allow_http=allow)
    hit = _metadata_cache.get(issuer) if use_cache else None
    if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S:
        return hit[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    metadata = _parse_metadata(await _get_json(url, "discovery"), issuer, allow)
    _metadata_cache[issuer] = (time.monotonic(), metadata)
    return metadata


async def fetch_jwks(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    """The provider's public keys (cached for a few minutes; ``refresh`` re-reads them)."""
    hit = None if refresh else _jwks_cache.get(jwks_uri)
    if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S:
        return hit[1]
    document = await _get_json(jwks_uri, "unreachable")
    try:
        keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, KeyError, TypeError, ValueError) as exc:
        raise OidcError("unreachable", "JWKS not usable") from exc
    _jwks_cache[jwks_uri] = (time.monotonic(), keys)
    return keys


def authorization_request(
    metadata: ProviderMetadata, client_id: str, redirect_uri: str, *, login_hint: str | None = None
) -> AuthRequest:
    """A fresh state, nonce and PKCE verifier, and the provider URL that carries them."""
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    client = AsyncOAuth2Client(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=SCOPE,
        code_challenge_method="S256",
    )
    extra: dict[str, str] = {"nonce": nonce}
    if login_hint:
        extra["login_hint"] = login_hint
    url, _state = client.create_authorization_url(
        metadata.authorization_endpoint, state=state, code_verifier=verifier, **extra
    )
    return AuthRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


async def exchange_code(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
) -> dict[str, Any]:
    """Trade the authorization code (and PKCE verifier) for tokens."""
    client = AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=metadata.token_auth_method,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT_S,
        follow_redirects=False,
    )
    try:
        async with client:
            token = await client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
            )
    except httpx.HTTPError as exc:
        raise OidcError("unreachable", f"token endpoint: {type(exc).__name__}") from exc
    except Exception as exc:  # Authlib raises OAuthError and friends on error answers
        raise OidcError("token", f"token endpoint refused: {exc}") from exc
    return dict(token)


def _audience_ok(claims: dict[str, Any], client_id: str) -> bool:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or client_id not in audiences:
        return False
    azp = claims.get("azp")
    if len(audiences) > 1 and azp != client_id:
        return False
    return azp is None or azp == client_id


def verify_id_token(
    id_token: str,
    *,
    jwks: KeySet,
    issuer: str,
    client_id: str,
    nonce: str,
    now: int | None = None,
    leeway: int = LEEWAY_S,
) -> dict[str, Any]:
    """Claims of an ID token whose signature, issuer, audience, nonce and times check out.

    Raises :class:`OidcError` with reason ``signature``, ``issuer``, ``audience``,
    ``nonce``, ``expired`` or ``malformed``.
    """
    try:
        token = jwt.decode(id_token, jwks, algorithms=list(ALGORITHMS))
    except InvalidKeyIdError as exc:
        raise OidcError("signature", "unknown key id") from exc
    except BadSignatureError as exc:
        raise OidcError("signature", "bad signature") from exc
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise OidcError("malformed", f"{type(exc).__name__}: {exc}") from exc
    claims = token.claims
    if claims.get("iss") != issuer:
        raise OidcError("issuer", f"iss {claims.get('iss')!r}")
    if not _audience_ok(claims, client_id):
        raise OidcError("audience", f"aud {claims.get('aud')!r}")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
        claims["nonce"], nonce
    ):
        raise OidcError("nonce", "nonce differs")
    current = int(time.time()) if now is None else now
    registry = JWTClaimsRegistry(
        now=current, leeway=leeway, exp={"essential": True}, iat={"essential": True}
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise OidcError("expired", "exp passed") from exc
    except JoseError as exc:
        raise OidcError("malformed", f"{type(exc).__name__}: {exc}") from exc
    if claims["iat"] < current - MAX_TOKEN_AGE_S - leeway:
        raise OidcError("expired", "issued too long ago")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OidcError("malformed", "no sub")
    return dict(claims)


def _verified(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


async def _userinfo(metadata: ProviderMetadata, access_token: str) -> dict[str, Any]:
    assert metadata.userinfo_endpoint is not None
    try:
        async with _client() as client:
            response = await client.get(
                metadata.userinfo_endpoint, headers={"authorization": f"Bearer {access_token}"}
            )
    except httpx.HTTPError as exc:
        raise OidcError("unreachable", f"userinfo: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise OidcError("token", f"userinfo answered {response.status_code}")
    try:
        data = response.json()
    except ValueError as exc:
        raise OidcError("malformed", "userinfo sent no JSON") from exc
    return data if isinstance(data, dict) else {}


async def complete_sign_in(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    nonce: str,
) -> SignedInIdentity:
    """Exchange the code, verify the ID token and say who signed in.

    The e-mail comes from the ID token; when the provider leaves it to the UserInfo
    endpoint, that answer is used only if it names the same subject.
    """
    token = await exchange_code(
        metadata,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        code=code,
        code_verifier=code_verifier,
    )
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError("malformed", "no id_token in the token response")

    def verify(keys: KeySet) -> dict[str, Any]:
        return verify_id_token(
            id_token, jwks=keys, issuer=metadata.issuer, client_id=client_id, nonce=nonce
        )

    try:
        claims = verify(await fetch_jwks(metadata.jwks_uri))
    except OidcError as exc:
        if exc.reason != "signature":
            raise
        # The provider may have rotated its keys since we cached them: read them once more.
        claims = verify(await fetch_jwks(metadata.jwks_uri, refresh=True))
    if not claims.get("email") and metadata.userinfo_endpoint and token.get("access_token"):
        info = await _userinfo(metadata, str(token["access_token"]))
        if info.get("sub") == claims["sub"]:
            claims = {**info, **claims}
    email = claims.get("email")
    return SignedInIdentity(
        issuer=metadata.issuer,
        subject=claims["sub"],
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        email_verified=_verified(claims.get("email_verified")),
        name=str(claims.get("name") or "")[:200],
    )
