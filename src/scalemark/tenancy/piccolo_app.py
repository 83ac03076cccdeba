"""Piccolo app of the tenancy domain (its tables live in the shared schema)."""

from piccolo.conf.apps import AppConfig

from scalemark.tenancy.tables import Tenant

APP_CONFIG = AppConfig(
    app_name="tenancy",
    migrations_folder_path="",
    table_classes=[Tenant],
    migration_dependencies=[],
    commands=[],
)
