"""``/assessments/frameworks``: the frameworks a tenant can run, uploads, downloads, withdrawal.

The routes live on :class:`~scalemark.assessment.setup_routes.AssessmentPages` (runners
only); this module builds what they answer. An upload comes as a file (multipart field
``file``) or as pasted text (``text``); a file wins when both are sent. Mistakes re-render
the page with 422, every issue listed with its line and field, and the checked text kept
in the text box (a file's text too, so it can be corrected in place).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.response import Template

from scalemark.assessment import registry, uploads
from scalemark.assessment.framework import Framework
from scalemark.assessment.framework_loader import FrameworkError, FrameworkIssue
from scalemark.assessment.page import html_page
from scalemark.i18n import gettext as _
from scalemark.identity.principal import Principal
from scalemark.web.htmx import redirect

__all__ = [
    "UPLOAD_BODY_LIMIT",
    "FrameworkRow",
    "builtin_download",
    "page",
    "upload",
    "upload_download",
    "withdraw",
]

logger = logging.getLogger("scalemark.assessment")

UPLOAD_BODY_LIMIT = 4 * uploads.MAX_UPLOAD_BYTES
"""Request bodies up to this size are read, so a too-large file gets a message, not a 413."""

_TEMPLATE = "assessment/frameworks.html"
_PATH = "/assessments/frameworks"


@dataclass(frozen=True)
class FrameworkRow:
    """A line of the frameworks table."""

    framework: Framework
    download_url: str
    upload_id: int | None = None
    """The upload's id; None for a built-in framework."""
    uploaded_by: str = ""
    uploaded_at: datetime | None = None

    @property
    def question_count(self) -> int:
        """Questions across every dimension."""
        return sum(len(d.questions) for d in self.framework.dimensions)


def _flash(key: str) -> str | None:
    texts = {
        "uploaded": _("The framework is uploaded. New assessments can run on it now."),
        "withdrawn": _(
            "The framework is withdrawn: new assessments can no longer choose it. "
            "Assessments already running on it keep it."
        ),
    }
    return texts.get(key)


def _builtins() -> list[Framework]:
    """The built-in frameworks; a broken file is logged, and none are listed."""
    try:
        return registry.builtin_frameworks()
    except FrameworkError:
        logger.exception("a built-in framework file is broken")
        return []


async def _context(
    principal: Principal,
    *,
    message: str | None = None,
    text: str = "",
    issues: list[FrameworkIssue] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    builtin_rows = [FrameworkRow(f, f"{_PATH}/builtin/{f.key}/{f.version}") for f in _builtins()]
    upload_rows = [
        FrameworkRow(
            entry.framework,
            f"{_PATH}/{entry.id}/download",
            upload_id=entry.id,
            uploaded_by=entry.uploaded_by,
            uploaded_at=entry.uploaded_at,
        )
        for entry in await uploads.uploaded_frameworks()
    ]
    return {
        "builtin_rows": builtin_rows,
        "upload_rows": upload_rows,
        "message": message,
        "values": {"text": text},
        "issues": issues or [],
        "error": error,
        "tz": principal.user.timezone,
        "max_megabytes": uploads.MAX_UPLOAD_BYTES // (1024 * 1024),
    }


async def page(request: Request[Any, Any, Any], principal: Principal) -> Template:
    """The frameworks table and the upload form (with ``?done=`` confirmations)."""
    message = _flash(str(request.query_params.get("done") or ""))
    return html_page(_TEMPLATE, await _context(principal, message=message))


async def _posted_text(request: Request[Any, Any, Any]) -> tuple[str, str, str | None]:
    """``(text, source name, refusal)`` of the form: the file's text, else the pasted one."""
    form = await request.form()
    file = form.get("file")
    if isinstance(file, UploadFile) and file.filename:
        data = await file.read()
        if len(data) > uploads.MAX_UPLOAD_BYTES:
            return "", file.filename, _("The framework is larger than 1 MB. Upload a smaller file.")
        try:
            return data.decode("utf-8"), file.filename, None
        except UnicodeDecodeError:
            return (
                "",
                file.filename,
                _("The file is not UTF-8 text. Save it as UTF-8 and try again."),
            )
    text = form.get("text")
    return (text if isinstance(text, str) else ""), "text", None


async def upload(request: Request[Any, Any, Any], principal: Principal) -> Any:
    """Check and store the posted framework; mistakes come back (422) with the text kept."""
    text, source_name, refusal = await _posted_text(request)
    if refusal is None:
        try:
            await uploads.upload_framework(text, source_name)
        except FrameworkError as exc:
            context = await _context(principal, text=text, issues=exc.issues)
            return html_page(_TEMPLATE, context, 422)
        except uploads.UploadRefused as exc:
            refusal = exc.message
        else:
            return redirect(request, f"{_PATH}?done=uploaded")
    kept = text if len(text.encode("utf-8")) <= uploads.MAX_UPLOAD_BYTES else ""
    context = await _context(principal, text=kept, error=refusal)
    return html_page(_TEMPLATE, context, 422)


def _yaml(source: str, key: str, version: int) -> Response[str]:
    return Response(
        source,
        media_type="application/yaml",
        headers={
            # Keys are [a-z0-9-]: safe in a quoted file name.
            "Content-Disposition": f'attachment; filename="{key}-v{version}.yaml"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def builtin_download(key: str, version: int) -> Response[str]:
    """A built-in framework file (404 when there is none), to start an own one from."""
    found = next((f for f in _builtins() if (f.key, f.version) == (key, version)), None)
    if found is None:
        raise NotFoundException()
    return _yaml(registry.builtin_source(found), key, version)


async def upload_download(framework_id: int) -> Response[str]:
    """The source of this tenant's upload ``framework_id`` (404 unknown or foreign)."""
    found = await uploads.uploaded_framework(framework_id)
    if found is None:
        raise NotFoundException()
    entry, source = found
    return _yaml(source, entry.framework.key, entry.framework.version)


async def withdraw(request: Request[Any, Any, Any], framework_id: int) -> Any:
    """Withdraw an upload (404 unknown or foreign) and go back to the list."""
    try:
        await uploads.withdraw(framework_id)
    except LookupError as exc:
        raise NotFoundException() from exc
    return redirect(request, f"{_PATH}?done=withdrawn")
