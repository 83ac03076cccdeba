"""Reusable test infrastructure: a live server, Chromium, axe checks and page objects.

Import it as ``support`` (``tests/`` is on ``sys.path`` through ``tests/conftest.py``)::

    from support.server import LiveServerFactory
    from support.pages import TenantHomePage

Nothing here defines fixtures by itself; ``tests/e2e/conftest.py`` wires them up and any
other test module can build its own from these helpers.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The repository root (``tests/support/`` is two levels below it)."""

ARTIFACTS_DIR = PROJECT_ROOT / "artifacts"
"""Where failing browser tests leave screenshots and server logs."""

__all__ = ["ARTIFACTS_DIR", "PROJECT_ROOT"]
