"""Piccolo's engine, built from the settings.

Connections start with ``search_path=pg_catalog``: outside a tenant transaction an
unqualified tenant table resolves nowhere and the query fails instead of reading the
wrong schema.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from scalemark.settings import get_settings

__all__ = ["APP_REGISTRY", "DB"]

DB = PostgresEngine(
    config={
        "dsn": get_settings().database_url,
        "server_settings": {"search_path": "pg_catalog", "application_name": "scalemark"},
    },
    log_queries=False,
)

APP_REGISTRY = AppRegistry(
    apps=[
        "scalemark.tenancy.piccolo_app",
        "scalemark.org.piccolo_app",
        "scalemark.identity.piccolo_app",
    ]
)
