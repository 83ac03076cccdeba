"""Frameworks consultants upload for their tenant, next to the built-in ones.

An upload is a row of the tenant table ``assessment_framework`` — the same table that
holds the snapshots assessments run on — marked with ``uploaded_by``/``uploaded_at``.
Creating an assessment on it snapshots the same source, which :func:`registry.snapshot`
finds by SHA-256, so the assessment points at the upload's own row. Withdrawing an upload
only stops new assessments from choosing it: running ones keep their snapshot.

A key and version name one content for good: a built-in's key and version cannot be
uploaded, and an upload with the key and version of another (even withdrawn) one but a
different content is refused, because assessments and reports tell frameworks apart by
their version. Uploading the same content again changes nothing (a withdrawn one comes
back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalemark.assessment import registry
from scalemark.assessment.framework import Framework
from scalemark.assessment.framework_loader import FrameworkError, load_text
from scalemark.db import tenant_transaction
from scalemark.i18n import gettext as _
from scalemark.identity import audit
from scalemark.identity.principal import current_principal

__all__ = [
    "MAX_UPLOAD_BYTES",
    "UploadRefused",
    "UploadedFramework",
    "normalise_source",
    "offered_frameworks",
    "offered_source",
    "upload_framework",
    "uploaded_framework",
    "uploaded_frameworks",
    "withdraw",
]

MAX_UPLOAD_BYTES = 1024 * 1024
"""Largest framework text accepted (1 MB; the built-in file is a fraction of that)."""


class UploadRefused(Exception):
    """An upload refused for a reason other than mistakes in the file (translated)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class UploadedFramework:
    """An uploaded framework with who uploaded it and when."""

    id: int
    framework: Framework
    uploaded_at: datetime
    uploaded_by: str
    """The uploader's name (else e-mail); empty when the account is gone."""
    withdrawn_at: datetime | None


def normalise_source(text: str) -> str:
    """The text as stored: no byte-order mark, ``\\n`` line ends.

    A file and the same text pasted into a browser's text box (which sends ``\\r\\n``)
    must be the same content, with the same digest.
    """
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _check_size(text: str) -> None:
    if not text.strip():
        raise UploadRefused(_("Choose a YAML file or paste the framework text."))
    if len(text.encode("utf-8")) > MAX_UPLOAD_BYTES:
        raise UploadRefused(_("The framework is larger than 1 MB. Upload a smaller file."))


def _builtin_keys() -> set[tuple[str, int]]:
    try:
        return {(f.key, f.version) for f in registry.builtin_frameworks()}
    except FrameworkError:  # a broken built-in file is logged where frameworks are offered
        return set()


async def upload_framework(source_text: str, source_name: str = "upload.yaml") -> Framework:
    """Check and store a framework for the current tenant; audited when something changed.

    Raises :class:`~scalemark.assessment.framework_loader.FrameworkError` listing the
    mistakes in the text, or :class:`UploadRefused` (empty, too large, or a key and version
    that already name another content).
    """
    _check_size(source_text)
    text = normalise_source(source_text)
    framework = load_text(text, source_name)
    if (framework.key, framework.version) in _builtin_keys():
        raise UploadRefused(
            _(
                "%(key)s version %(version)s is a built-in framework. "
                "A new version needs a new version number."
            )
            % {"key": framework.key, "version": framework.version}
        )
    principal = current_principal()
    async with tenant_transaction() as conn:
        # One upload per key at a time: two different contents for one version never both
        # pass the check below.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", framework.key)
        others = await conn.fetch(
            "SELECT id, sha256, uploaded_at, withdrawn_at FROM assessment_framework"
            " WHERE framework_key = $1 AND version = $2",
            framework.key,
            framework.version,
        )
        same = next((row for row in others if row["sha256"] == framework.sha256), None)
        if any(row["sha256"] != framework.sha256 for row in others):
            raise UploadRefused(
                _(
                    "%(key)s version %(version)s was already uploaded with a different "
                    "content. A new version needs a new version number."
                )
                % {"key": framework.key, "version": framework.version}
            )
        if same is not None and same["uploaded_at"] is not None and same["withdrawn_at"] is None:
            return framework  # the same file again: nothing changes
        framework_id = await registry.snapshot(conn, framework, text)
        await conn.execute(
            "UPDATE assessment_framework SET uploaded_by = $2, uploaded_at = now(),"
            " withdrawn_at = NULL WHERE id = $1",
            framework_id,
            principal.user.id if principal else None,
        )
        await audit.record(
            "assessment.framework.upload",
            object_type="assessment_framework",
            object_id=framework_id,
            after=_audit_state(framework),
        )
    return framework


def _audit_state(framework: Framework) -> dict[str, Any]:
    return {"key": framework.key, "version": framework.version, "sha256": framework.sha256}


_SELECT = (
    "SELECT f.id, f.uploaded_at, f.withdrawn_at,"
    " coalesce(nullif(u.name, ''), u.email, '') AS uploaded_by"
    " FROM assessment_framework f LEFT JOIN scalemark.user_account u ON u.id = f.uploaded_by"
    " WHERE f.uploaded_at IS NOT NULL"
)


async def _entry(conn: Any, row: Any) -> UploadedFramework:
    return UploadedFramework(
        id=int(row["id"]),
        framework=await registry.framework_for(conn, int(row["id"])),
        uploaded_at=row["uploaded_at"],
        uploaded_by=str(row["uploaded_by"]),
        withdrawn_at=row["withdrawn_at"],
    )


async def uploaded_frameworks() -> list[UploadedFramework]:
    """The tenant's uploaded frameworks that are not withdrawn, by key and version."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            f"{_SELECT} AND f.withdrawn_at IS NULL ORDER BY f.framework_key, f.version"
        )
        return [await _entry(conn, row) for row in rows]


async def uploaded_framework(framework_id: int) -> tuple[UploadedFramework, str] | None:
    """An upload (withdrawn ones too) with its source; None when unknown in this tenant."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(f"{_SELECT} AND f.id = $1", framework_id)
        if row is None:
            return None
        source = await conn.fetchval(
            "SELECT source FROM assessment_framework WHERE id = $1", framework_id
        )
        return await _entry(conn, row), str(source)


async def withdraw(framework_id: int) -> None:
    """Offer the upload no more for new assessments (LookupError when unknown); audited.

    Assessments already running on it keep their snapshot (the same row).
    """
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            "SELECT framework_key, version, sha256, withdrawn_at FROM assessment_framework"
            " WHERE id = $1 AND uploaded_at IS NOT NULL FOR UPDATE",
            framework_id,
        )
        if row is None:
            raise LookupError(framework_id)
        if row["withdrawn_at"] is not None:
            return
        await conn.execute(
            "UPDATE assessment_framework SET withdrawn_at = now() WHERE id = $1", framework_id
        )
        await audit.record(
            "assessment.framework.withdraw",
            object_type="assessment_framework",
            object_id=framework_id,
            before={"key": row["framework_key"], "version": row["version"]},
        )


async def offered_frameworks(builtins: list[Framework]) -> list[Framework]:
    """``builtins``, then the tenant's uploads (not withdrawn) by key and version.

    Built-ins come first so the preselected framework stays the built-in one; a built-in
    wins should an upload share its key and version (uploads refuse that).
    """
    taken = {(f.key, f.version) for f in builtins}
    uploads = [
        entry.framework
        for entry in await uploaded_frameworks()
        if (entry.framework.key, entry.framework.version) not in taken
    ]
    return [*builtins, *uploads]


async def offered_source(framework: Framework) -> str:
    """The source text of an offered framework (built-in file or the upload's snapshot)."""
    if (framework.key, framework.version) in _builtin_keys():
        return registry.builtin_source(framework)
    async with tenant_transaction() as conn:
        source = await conn.fetchval(
            "SELECT source FROM assessment_framework WHERE sha256 = $1", framework.sha256
        )
    if source is None:
        raise LookupError(f"{framework.key} v{framework.version}")
    return str(source)
