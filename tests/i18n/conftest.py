"""Compiled catalogs for the i18n tests.

``*.mo`` files are build output (git-ignored), so a session fixture compiles every
``locales/*/LC_MESSAGES/messages.po`` whose ``.mo`` is missing or older, with Babel's API
rather than the Makefile.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from scalemark.i18n.locale import LOCALES_DIR, translations_for


def _compile(po_path: Path, mo_path: Path) -> None:
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    # Write beside the target and rename: a parallel run never reads half a file.
    fd, tmp_name = tempfile.mkstemp(dir=mo_path.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        os.replace(tmp_name, mo_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> Iterator[Path]:
    """``locales/`` with an up-to-date ``messages.mo`` next to every ``messages.po``."""
    for po_path in sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            _compile(po_path, mo_path)
    # A lookup before compiling may have cached an empty NullTranslations.
    translations_for.cache_clear()
    yield LOCALES_DIR
    translations_for.cache_clear()
