"""Governance: standards, approval workflows, RACI, operating model, KPIs, setup wizard."""
