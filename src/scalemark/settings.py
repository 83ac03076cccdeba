"""Environment → typed settings, read once per process."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

__all__ = ["Settings", "get_settings"]

_DEV_SECRET = "dev-secret-change-me-in-production-0123456789"


@dataclass(frozen=True)
class Settings:
    """Process-wide configuration taken from the environment."""

    database_url: str = "postgresql://postgres@127.0.0.1:5432/scalemark"
    """PostgreSQL DSN (``DATABASE_URL``)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis URL for sessions, the job queue and throttling (``REDIS_URL``)."""
    secret_key: str = _DEV_SECRET
    """Signs cookies and CSRF tokens; derives encryption keys (``SECRET_KEY``)."""
    base_domain: str = "localhost"
    """Platform host; tenants live at ``<slug>.<base_domain>`` (``BASE_DOMAIN``)."""
    port: int = 8000
    """HTTP port of the web server (``PORT``)."""
    debug: bool = False
    """Show tracebacks instead of friendly error pages (``DEBUG``)."""
    db_pool_min: int = 1
    """Smallest number of pooled database connections (``DB_POOL_MIN``)."""
    db_pool_max: int = 10
    """Largest number of pooled database connections (``DB_POOL_MAX``)."""
    migrate_concurrency: int = 4
    """Tenant schemas migrated at once (``MIGRATE_CONCURRENCY``)."""
    migrate_lock_timeout_ms: int = 3000
    """Lock timeout per schema migration; a busy schema fails fast (``MIGRATE_LOCK_TIMEOUT_MS``)."""
    smtp_url: str = ""
    """``smtp://user:pass@host:port`` for outgoing mail; empty writes mail to the log and
    the outbox page instead (``SMTP_URL``)."""
    mail_from: str = "Scalemark <no-reply@scalemark.localhost>"
    """Sender of outgoing mail (``MAIL_FROM``)."""
    dns_resolver: str = ""
    """``host[:port]`` of the DNS server for domain checks; empty uses the system's
    (``DNS_RESOLVER``)."""
    oidc_allow_http: bool = False
    """Accept plain-http OpenID issuers on loopback hosts (tests, local development only;
    ``OIDC_ALLOW_HTTP``)."""
    public_scheme: str = "http"
    """Scheme of links in e-mails and redirects, ``https`` in production (``PUBLIC_SCHEME``)."""
    public_port: int | None = None
    """Port in public links when it is not the scheme's default (``PUBLIC_PORT``; defaults
    to ``PORT`` when the scheme is http)."""
    default_locale: str = "en"
    """Locale when neither user, tenant nor browser choose one (``DEFAULT_LOCALE``)."""
    locales: tuple[str, ...] = field(default=("en", "de", "fr", "es", "it"))
    """Languages the product ships catalogs for."""

    @property
    def database_name(self) -> str:
        """Name of the database in ``database_url``."""
        return urlsplit(self.database_url).path.lstrip("/") or "postgres"

    @property
    def role_prefix(self) -> str:
        """Prefix for per-tenant database roles.

        Roles are cluster-wide while schemas are per database, so the prefix carries a short
        hash of the database name: two databases on one cluster never share tenant roles.
        """
        digest = hashlib.sha256(self.database_name.encode()).hexdigest()[:8]
        return f"sm{digest}_"

    def public_url(self, slug: str | None = None, path: str = "/") -> str:
        """Absolute link to the platform (``slug=None``) or a tenant host."""
        host = f"{slug}.{self.base_domain}" if slug else self.base_domain
        port = self.public_port or (self.port if self.public_scheme == "http" else None)
        default = 80 if self.public_scheme == "http" else 443
        suffix = f":{port}" if port and port != default else ""
        return f"{self.public_scheme}://{host}{suffix}{path}"

    @property
    def is_dev_secret(self) -> bool:
        """True while the built-in development secret is in use."""
        return self.secret_key == _DEV_SECRET


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once; tests clear the cache to re-read it."""
    env = os.environ
    defaults = Settings()
    return Settings(
        database_url=env.get("DATABASE_URL", defaults.database_url),
        redis_url=env.get("REDIS_URL", defaults.redis_url),
        secret_key=env.get("SECRET_KEY", defaults.secret_key),
        base_domain=env.get("BASE_DOMAIN", defaults.base_domain).strip().lower().rstrip("."),
        port=int(env.get("PORT", defaults.port)),
        debug=_env_bool("DEBUG", defaults.debug),
        db_pool_min=int(env.get("DB_POOL_MIN", defaults.db_pool_min)),
        db_pool_max=int(env.get("DB_POOL_MAX", defaults.db_pool_max)),
        migrate_concurrency=int(env.get("MIGRATE_CONCURRENCY", defaults.migrate_concurrency)),
        migrate_lock_timeout_ms=int(
            env.get("MIGRATE_LOCK_TIMEOUT_MS", defaults.migrate_lock_timeout_ms)
        ),
        default_locale=env.get("DEFAULT_LOCALE", defaults.default_locale),
        smtp_url=env.get("SMTP_URL", defaults.smtp_url),
        mail_from=env.get("MAIL_FROM", defaults.mail_from),
        dns_resolver=env.get("DNS_RESOLVER", defaults.dns_resolver),
        oidc_allow_http=_env_bool("OIDC_ALLOW_HTTP", defaults.oidc_allow_http),
        public_scheme=env.get("PUBLIC_SCHEME", defaults.public_scheme),
        public_port=int(env["PUBLIC_PORT"]) if env.get("PUBLIC_PORT") else None,
    )
