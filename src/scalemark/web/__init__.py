"""Cross-domain web plumbing: hosts, templating, locale, errors, health."""
