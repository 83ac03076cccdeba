"""Discovery and ID token checks against a real ``oidc-provider`` and its key material.

Tokens are signed with the provider's own key (the one it publishes in its JWKS) and one
property is broken at a time; a token signed with a foreign key must fail too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from scalemark.identity import oidc
from support.oidc_provider import TestProvider, start_provider, stop_provider
from support.server import free_port

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[TestProvider]:
    """The npm provider on 127.0.0.1 (redirect URI of a client that never runs here)."""
    started = await start_provider(["http://localhost:9/auth/oidc/callback"])
    yield started
    await stop_provider(started)


@pytest.fixture(scope="module")
async def metadata(provider: TestProvider) -> oidc.ProviderMetadata:
    """Its validated discovery document."""
    return await oidc.fetch_metadata(provider.issuer, allow_http=True, use_cache=False)


def _claims(provider: TestProvider, **changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": provider.issuer,
        "sub": "alice@acme.example",
        "aud": provider.client.client_id,
        "nonce": "n-0123456789",
        "iat": now,
        "exp": now + 300,
        "email": "alice@acme.example",
        "email_verified": True,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def _verify(provider: TestProvider, metadata: oidc.ProviderMetadata, token: str) -> dict:
    keys = await oidc.fetch_jwks(metadata.jwks_uri, refresh=True)
    return oidc.verify_id_token(
        token,
        jwks=keys,
        issuer=provider.issuer,
        client_id=provider.client.client_id,
        nonce="n-0123456789",
    )


async def test_discovery_document_is_validated(
    provider: TestProvider, metadata: oidc.ProviderMetadata
) -> None:
    assert metadata.issuer == provider.issuer
    assert metadata.authorization_endpoint.startswith(provider.issuer)
    assert metadata.token_endpoint.startswith(provider.issuer)
    assert metadata.jwks_uri.startswith(provider.issuer)
    keys = await oidc.fetch_jwks(metadata.jwks_uri)
    assert [k.kid for k in keys] == [k.kid for k in provider.keys]


async def test_discovery_refuses_another_issuer_name(provider: TestProvider) -> None:
    # Same server, but not the issuer it names itself: must equal exactly.
    other = provider.issuer.replace("127.0.0.1", "localhost")
    with pytest.raises(oidc.OidcError) as caught:
        await oidc.fetch_metadata(other, allow_http=True, use_cache=False)
    assert caught.value.reason == "discovery_issuer"
    with pytest.raises(oidc.OidcError) as caught:
        await oidc.fetch_metadata(provider.issuer + "/", allow_http=True, use_cache=False)
    assert caught.value.reason in {"discovery", "discovery_issuer"}


async def test_discovery_failures_are_clear(provider: TestProvider) -> None:
    with pytest.raises(oidc.OidcError) as caught:
        await oidc.fetch_metadata(provider.issuer + "/nothing-here", allow_http=True)
    assert caught.value.reason == "discovery"
    with pytest.raises(oidc.OidcError) as caught:
        await oidc.fetch_metadata(f"http://127.0.0.1:{free_port()}", allow_http=True)
    assert caught.value.reason == "discovery"
    assert caught.value.message  # a translated sentence for the form


def test_issuer_urls_must_be_https_unless_local_http_is_allowed() -> None:
    assert oidc.check_issuer_url(" https://login.example.com ") == "https://login.example.com"
    for bad in ("", "login.example.com", "ftp://x.example", "https://x.example/?a=1"):
        with pytest.raises(oidc.OidcError):
            oidc.check_issuer_url(bad, allow_http=True)
    with pytest.raises(oidc.OidcError):
        oidc.check_issuer_url("http://127.0.0.1:8080", allow_http=False)
    with pytest.raises(oidc.OidcError):  # plain http only for loopback, even when allowed
        oidc.check_issuer_url("http://intranet.example", allow_http=True)
    assert oidc.check_issuer_url("http://127.0.0.1:8080", allow_http=True)


def test_authorization_request_carries_state_nonce_and_s256_challenge(
    metadata: oidc.ProviderMetadata,
) -> None:
    auth = oidc.authorization_request(metadata, "client-x", "http://localhost:1/cb")
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth.url).query).items()}
    expected = (
        base64.urlsafe_b64encode(hashlib.sha256(auth.code_verifier.encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    assert query["code_challenge"] == expected
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == auth.state and query["nonce"] == auth.nonce
    assert query["client_id"] == "client-x" and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://localhost:1/cb"
    assert set(query["scope"].split()) >= {"openid", "email"}
    again = oidc.authorization_request(metadata, "client-x", "http://localhost:1/cb")
    assert len({auth.state, again.state, auth.nonce, again.nonce}) == 4


async def test_a_correct_token_is_accepted(
    provider: TestProvider, metadata: oidc.ProviderMetadata
) -> None:
    claims = await _verify(provider, metadata, provider.sign(_claims(provider)))
    assert claims["sub"] == "alice@acme.example"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "http://127.0.0.1:1"}, "issuer"),
        ({"iss": None}, "issuer"),
        ({"aud": "another-client"}, "audience"),
        ({"aud": ["another-client", "third"]}, "audience"),
        ({"aud": ["scalemark-a", "another-client"]}, "audience"),  # several, no azp
        ({"nonce": "n-other"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"iat": int(time.time()) - 3600, "exp": int(time.time()) + 300}, "expired"),
        ({"exp": None}, "malformed"),
        ({"iat": int(time.time()) + 3600}, "malformed"),
    ],
)
async def test_broken_tokens_are_rejected(
    provider: TestProvider,
    metadata: oidc.ProviderMetadata,
    changes: dict[str, object],
    reason: str,
) -> None:
    token = provider.sign(_claims(provider, **changes))
    with pytest.raises(oidc.OidcError) as caught:
        await _verify(provider, metadata, token)
    assert caught.value.reason == reason
    assert caught.value.message


async def test_several_audiences_need_azp(
    provider: TestProvider, metadata: oidc.ProviderMetadata
) -> None:
    claims = _claims(provider, aud=[provider.client.client_id, "other"])
    claims["azp"] = provider.client.client_id
    assert await _verify(provider, metadata, provider.sign(claims))


async def test_tokens_signed_with_another_key_are_rejected(
    provider: TestProvider, metadata: oidc.ProviderMetadata
) -> None:
    own_kid = next(iter(provider.keys)).kid
    same_kid = RSAKey.generate_key(2048, parameters={"kid": own_kid, "alg": "RS256"})
    other_kid = RSAKey.generate_key(2048, parameters={"kid": "attacker", "alg": "RS256"})
    for key in (same_kid, other_kid):
        token = provider.sign(_claims(provider), key=key)
        with pytest.raises(oidc.OidcError) as caught:
            await _verify(provider, metadata, token)
        assert caught.value.reason == "signature"


async def test_tampered_and_unsigned_tokens_are_rejected(
    provider: TestProvider, metadata: oidc.ProviderMetadata
) -> None:
    header, payload, signature = provider.sign(_claims(provider)).split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["sub"] = "mallory@acme.example"
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(oidc.OidcError) as caught:
        await _verify(provider, metadata, f"{header}.{body}.{signature}")
    assert caught.value.reason == "signature"

    # HMAC with a key an attacker chose, and "none": never accepted.
    hmac_token = jwt.encode({"alg": "HS256"}, _claims(provider), OctKey.import_key("k" * 32))
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    for token in (hmac_token, f"{none_header}.{body}.", "not-a-jwt"):
        with pytest.raises(oidc.OidcError):
            await _verify(provider, metadata, token)
