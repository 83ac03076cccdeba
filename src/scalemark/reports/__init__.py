"""PDF maturity reports: requests, rendering, sharing and branding (see docs/reports.md)."""
