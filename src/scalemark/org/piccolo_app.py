"""Piccolo app of the org domain (tenant tables; migrations live in migrations/tenant)."""

from piccolo.conf.apps import AppConfig

from scalemark.org.tables import Unit

APP_CONFIG = AppConfig(
    app_name="org",
    migrations_folder_path="",
    table_classes=[Unit],
    migration_dependencies=[],
    commands=[],
)
