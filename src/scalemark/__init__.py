"""Scalemark: scale marketing across multi-unit organisations."""

import os
from pathlib import Path

# Piccolo finds its engine through this module; set before any table is imported.
os.environ.setdefault("PICCOLO_CONF", "scalemark.piccolo_conf")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The repository root: templates, static files, locales, migrations and blueprints live here."""

__all__ = ["PROJECT_ROOT"]
