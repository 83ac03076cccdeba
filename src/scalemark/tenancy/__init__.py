"""Tenant registry, host resolution, provisioning and blueprints."""
