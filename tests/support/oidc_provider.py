"""A real OpenID provider for tests: the npm ``oidc-provider`` on 127.0.0.1.

:func:`start_provider` writes a config (clients, a signing key this process keeps) and
runs ``tests/support/oidc_provider.mjs`` with Node. The key material stays available as
:attr:`TestProvider.keys`, so tests can sign tokens exactly as the provider would, and
then break one property at a time. :func:`http_provider_login` walks the provider's dev
login over plain HTTP (no browser).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from support import PROJECT_ROOT
from support.server import free_port

__all__ = [
    "E2E_DIR",
    "OidcClient",
    "TestProvider",
    "ensure_node_modules",
    "http_provider_login",
    "start_provider",
    "stop_provider",
]

E2E_DIR = PROJECT_ROOT / "tests" / "e2e"
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class OidcClient:
    """A client registered at the test provider."""

    client_id: str
    client_secret: str


@dataclass
class TestProvider:
    """A running provider: issuer, clients, private signing keys, process and log."""

    __test__ = False  # not a test class, despite the name

    issuer: str
    port: int
    clients: list[OidcClient]
    keys: KeySet
    process: subprocess.Popen[bytes]
    log_path: Path
    config_path: Path = field(repr=False)

    @property
    def client(self) -> OidcClient:
        """The first client."""
        return self.clients[0]

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        """An ID token signed with the provider's own key (or ``key``), RS256."""
        signing_key = key or next(iter(self.keys))
        header = {"alg": "RS256", "kid": signing_key.kid}
        return jwt.encode(header, claims, signing_key)

    def public_keys(self) -> KeySet:
        """What the provider publishes at its JWKS endpoint."""
        return KeySet.import_key_set(self.keys.as_dict(private=False))

    def log(self) -> str:
        """Everything the provider printed."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def ensure_node_modules() -> None:
    """``npm ci --prefix tests/e2e`` when ``oidc-provider`` is not installed yet."""
    if (E2E_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is missing: install Node.js to run the SSO tests")
    subprocess.run([npm, "ci", "--prefix", str(E2E_DIR)], check=True, timeout=600)


def _signing_key() -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": "provider-key-1", "use": "sig", "alg": "RS256"}
    )


def _launch(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            command,
            cwd=E2E_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def start_provider(
    redirect_uris: Sequence[str],
    *,
    client_ids: Sequence[str] = ("scalemark-a", "scalemark-b", "scalemark-c"),
    timeout_s: float = START_TIMEOUT_S,
) -> TestProvider:
    """Start the provider on a free port and wait until its discovery document answers."""
    ensure_node_modules()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is missing: install Node.js to run the SSO tests")
    port = free_port()
    keys = KeySet([_signing_key()])
    clients = [OidcClient(cid, f"{cid}-secret-{os.urandom(6).hex()}") for cid in client_ids]
    config = {
        "port": port,
        "modules": str(E2E_DIR),
        "jwks": keys.as_dict(private=True),
        "clients": [
            {
                "client_id": c.client_id,
                "client_secret": c.client_secret,
                "redirect_uris": list(redirect_uris),
            }
            for c in clients
        ],
    }
    fd, config_name = tempfile.mkstemp(prefix="oidc-provider-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(config, handle)
    log_fd, log_name = tempfile.mkstemp(prefix=f"oidc-provider-{port}-", suffix=".log")
    os.close(log_fd)
    process = _launch([node, str(SCRIPT), config_name], Path(log_name))
    provider = TestProvider(
        issuer=f"http://127.0.0.1:{port}",
        port=port,
        clients=clients,
        keys=keys,
        process=process,
        log_path=Path(log_name),
        config_path=Path(config_name),
    )
    try:
        await _wait_ready(provider, timeout_s)
    except BaseException:
        await stop_provider(provider)
        raise
    return provider


async def _wait_ready(provider: TestProvider, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    url = provider.issuer + "/.well-known/openid-configuration"
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        while True:
            if provider.process.poll() is not None:
                raise RuntimeError(f"oidc-provider exited:\n{provider.log()}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"oidc-provider not ready after {timeout_s} s:\n{provider.log()}"
                )
            await asyncio.sleep(0.1)  # poll interval, bounded by the deadline


async def stop_provider(provider: TestProvider) -> None:
    """Stop the process and remove its config (it holds private keys)."""
    if provider.process.poll() is None:
        provider.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(provider.process.wait, 10)
        except subprocess.TimeoutExpired:
            provider.process.kill()
    provider.config_path.unlink(missing_ok=True)


async def http_provider_login(authorize_url: str, login: str) -> str:
    """Follow the provider's dev login for ``login`` and return the redirect to the client.

    Walks authorization endpoint → login form → submit → resume, over HTTP with the
    provider's cookies, and stops at the first redirect that leaves the provider.
    """
    provider_origin = authorize_url.split("/", 3)[:3]
    origin = "/".join(provider_origin)
    async with httpx.AsyncClient(trust_env=False, timeout=10, cookies=httpx.Cookies()) as client:
        url = authorize_url
        for _ in range(10):
            response = await client.get(url)
            if response.status_code in (302, 303):
                target = urljoin(url, response.headers["location"])
                if not target.startswith(origin):
                    return target
                url = target
                continue
            if response.status_code == 200 and 'name="login"' in response.text:
                submit = urljoin(url, _form_action(response.text))
                posted = await client.post(
                    submit, data={"prompt": "login", "login": login, "password": "any"}
                )
                assert posted.status_code in (302, 303), posted.text[:500]
                url = urljoin(submit, posted.headers["location"])
                continue
            raise AssertionError(f"unexpected provider answer {response.status_code} at {url}")
    raise AssertionError("too many redirects at the provider")


def _form_action(html: str) -> str:
    start = html.index('action="') + len('action="')
    return html[start : html.index('"', start)]
