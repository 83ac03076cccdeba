"""Piccolo app of the identity domain (migrations live in migrations/shared and /tenant)."""

from piccolo.conf.apps import AppConfig

from scalemark.identity import tables

APP_CONFIG = AppConfig(
    app_name="identity",
    migrations_folder_path="",
    table_classes=[getattr(tables, name) for name in tables.__all__],
    migration_dependencies=[],
    commands=[],
)
