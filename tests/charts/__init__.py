"""Tests of the server-side SVG charts (pure functions: no database, no server)."""
