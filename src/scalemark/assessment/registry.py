"""Where frameworks come from: the built-in files, and snapshots stored per tenant.

Built-in frameworks are the files ``frameworks/<key>/v<version>.yaml`` next to this
module, loaded once per process. An assessment never points at a file: it points at a
snapshot in the tenant table ``assessment_framework`` holding the whole source (identified
by its SHA-256), so a new version or an edited file never changes a running assessment.
Parsed snapshots are cached in-process by SHA-256, so a request never re-parses YAML.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from scalemark.assessment.framework import Framework
from scalemark.assessment.framework_loader import FrameworkError, FrameworkIssue, load_text

__all__ = [
    "FRAMEWORKS_DIR",
    "assessment_framework",
    "builtin",
    "builtin_frameworks",
    "builtin_source",
    "framework_for",
    "latest_builtin",
    "newest_version",
    "newest_versions",
    "snapshot",
]

FRAMEWORKS_DIR = Path(__file__).parent / "frameworks"
"""Built-in framework files: ``<key>/v<version>.yaml``."""

_FILE_NAME = re.compile(r"v([1-9][0-9]*)\.yaml")
_CACHE_SIZE = 64
"""Parsed snapshots kept in memory; tenants running the same file share one entry."""

_parsed: OrderedDict[str, Framework] = OrderedDict()


@cache
def _builtins() -> dict[tuple[str, int], tuple[Framework, str]]:
    """Every built-in framework with its source, by ``(key, version)``, loaded once."""
    found: dict[tuple[str, int], tuple[Framework, str]] = {}
    for path in sorted(FRAMEWORKS_DIR.glob("*/v*.yaml")):
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            continue
        name = str(path.relative_to(FRAMEWORKS_DIR.parent))
        # Bytes decoded as is (no newline translation): the digest is the file's own.
        source = path.read_bytes().decode("utf-8")
        framework = load_text(source, name)
        # The path is the framework's address: it must say what the file says.
        if (framework.key, framework.version) != (path.parent.name, int(match.group(1))):
            raise FrameworkError(
                [
                    FrameworkIssue(
                        name,
                        1,
                        "id",
                        f"the file declares {framework.key} v{framework.version}; "
                        f"its path says {path.parent.name} v{match.group(1)}",
                    )
                ]
            )
        found[(framework.key, framework.version)] = (framework, source)
        _remember(framework)
    return found


def builtin_frameworks() -> list[Framework]:
    """Every built-in framework, ordered by key and version."""
    return [framework for _, (framework, _) in sorted(_builtins().items())]


def builtin(key: str, version: int) -> Framework:
    """The built-in framework ``key`` in ``version`` (KeyError when there is none)."""
    return _builtins()[(key, version)][0]


def newest_version(frameworks: Iterable[Framework], key: str) -> Framework | None:
    """The newest version of ``key`` among ``frameworks`` (None when there is none)."""
    versions = [framework for framework in frameworks if framework.key == key]
    return max(versions, key=lambda framework: framework.version) if versions else None


def newest_versions(frameworks: Iterable[Framework]) -> list[Framework]:
    """The newest version of every key, in the order the keys first appear."""
    listed = list(frameworks)
    keys = dict.fromkeys(framework.key for framework in listed)
    return [found for key in keys if (found := newest_version(listed, key)) is not None]


def latest_builtin(key: str) -> Framework:
    """The newest version of the built-in framework ``key`` (KeyError when there is none)."""
    found = newest_version((framework for framework, _ in _builtins().values()), key)
    if found is None:
        raise KeyError(key)
    return found


def builtin_source(framework: Framework) -> str:
    """The file text of a built-in framework, as stored by :func:`snapshot`."""
    return _builtins()[(framework.key, framework.version)][1]


async def snapshot(conn: Any, framework: Framework, source: str) -> int:
    """Store ``source`` (the text ``framework`` was loaded from) once; return its row id.

    ``conn`` is a connection inside a tenant transaction. Storing the same source again
    returns the existing row.
    """
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    if digest != framework.sha256:
        raise ValueError("source is not the text the framework was loaded from")
    framework_id = await conn.fetchval(
        "INSERT INTO assessment_framework (framework_key, version, sha256, source)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING RETURNING id",
        framework.key,
        framework.version,
        digest,
        source,
    )
    if framework_id is None:
        framework_id = await conn.fetchval(
            "SELECT id FROM assessment_framework WHERE sha256 = $1", digest
        )
    _remember(framework)
    return int(framework_id)


async def framework_for(conn: Any, framework_id: int) -> Framework:
    """The framework of snapshot ``framework_id`` (LookupError when there is none).

    Only the digest is read when the snapshot was parsed before in this process.
    """
    digest = await conn.fetchval(
        "SELECT sha256 FROM assessment_framework WHERE id = $1", framework_id
    )
    if digest is None:
        raise LookupError(f"no framework snapshot {framework_id}")
    cached = _parsed.get(digest)
    if cached is not None:
        _parsed.move_to_end(digest)
        return cached
    source = await conn.fetchval(
        "SELECT source FROM assessment_framework WHERE id = $1", framework_id
    )
    framework = load_text(source, f"assessment_framework {framework_id}")
    _remember(framework)
    return framework


async def assessment_framework(conn: Any, assessment_id: int) -> Framework:
    """The framework snapshot assessment ``assessment_id`` runs on (LookupError: none)."""
    framework_id = await conn.fetchval(
        "SELECT framework_id FROM assessment WHERE id = $1", assessment_id
    )
    if framework_id is None:
        raise LookupError(assessment_id)
    return await framework_for(conn, framework_id)


def _remember(framework: Framework) -> None:
    """Keep a parsed framework for :func:`framework_for`, dropping the least used."""
    _parsed[framework.sha256] = framework
    _parsed.move_to_end(framework.sha256)
    while len(_parsed) > _CACHE_SIZE:
        _parsed.popitem(last=False)
