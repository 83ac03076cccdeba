"""How report rows read on pages, in lists, in file names and in the API.

Plain functions over :class:`scalemark.reports.service.Report`: translated labels, the
download's file name, file sizes in the reader's number format, the tenant's languages
and the time zones the request form offers.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from babel import numbers

from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n.formatting import format_datetime, format_number
from scalemark.i18n.locale import LOCALE_NAMES, current_locale
from scalemark.reports.service import Report
from scalemark.reports.sharing import DownloadStats
from scalemark.tenancy.registry import get_tenant

__all__ = [
    "AUDIENCE_HINTS",
    "AUDIENCE_LABELS",
    "STATUS_LABELS",
    "STATUS_MESSAGES",
    "STEPS",
    "ReportView",
    "client_ip",
    "download_filename",
    "format_size",
    "report_view",
    "slugify",
    "tenant_locales",
    "timezones",
]

AUDIENCE_LABELS: dict[str, Any] = {"board": _l("Board summary"), "full": _l("Full report")}
"""The two editions of a report."""
AUDIENCE_HINTS: dict[str, Any] = {
    "board": _l("A few pages: overall maturity, priorities and the profile per dimension."),
    "full": _l("Every chapter, the comparison of units and an appendix with all answers."),
}
STATUS_LABELS: dict[str, Any] = {
    "queued": _l("Queued"),
    "collecting": _l("Collecting data"),
    "rendering": _l("Rendering"),
    "ready": _l("Ready"),
    "failed": _l("Failed"),
}
"""Short names of a report's states."""
STATUS_MESSAGES: dict[str, Any] = {
    "queued": _l("The report is waiting for a free worker."),
    "collecting": _l("Collecting the results, answers and charts…"),
    "rendering": _l("Laying out the PDF…"),
    "ready": _l("The report is ready."),
    "failed": _l("The report could not be made."),
}
"""What the status page says in each state."""
STEPS = ("queued", "collecting", "rendering", "ready")
"""The progress steps shown on the status page."""

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str, limit: int = 60) -> str:
    """ASCII words joined by hyphens: ``Marketing-Skalierbarkeit 2026`` → ``marketing-…``."""
    folded = text.replace("ß", "ss")
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return _NON_WORD.sub("-", ascii_text.lower()).strip("-")[:limit].strip("-")


def download_filename(report: Report, tenant_name: str | None = None) -> str:
    """``<tenant>-<title>-<language>.pdf``, slugified."""
    tenant = current_tenant()
    org = slugify(tenant_name or tenant.name) or slugify(tenant.slug) or "report"
    title = slugify(report.assessment_title) or "report"
    return f"{org}-{title}-{report.locale}.pdf"


def format_size(size: int | None) -> str:
    """Bytes in the reader's format: ``1,2 MB`` in German, ``340 KB``; '' when unknown."""
    if size is None:
        return ""
    if size >= 1024 * 1024:
        number = numbers.format_decimal(
            size / (1024 * 1024), format="#,##0.0", locale=current_locale()
        )
        return _("%(number)s MB", number=number)
    return _("%(number)s KB", number=format_number(max(1, round(size / 1024))))


def client_ip(request: Any) -> str | None:
    """The address a request came from (as the rest of the app records it)."""
    return request.client.host if request.client else None


async def tenant_locales() -> list[str]:
    """The organisation's languages, its default first."""
    tenant = current_tenant()
    info = await get_tenant(tenant.slug)
    ordered = [tenant.default_locale, *(info.locales if info else [])]
    return [code for i, code in enumerate(ordered) if code and code not in ordered[:i]]


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """IANA zones offered by the request form (``Area/City`` names and UTC)."""
    names = {
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("posix/", "right/", "Etc/", "SystemV/"))
    }
    return ("UTC", *sorted(names))


@dataclass(frozen=True)
class ReportView:
    """A report row with everything a list or page shows, formatted for the reader."""

    report: Report
    title: str
    language: str
    audience: str
    scope: str
    status: str
    requested: str
    size: str
    pages: str
    downloads: int
    last_download: str

    @property
    def id(self) -> int:
        """The report's id."""
        return self.report.id


def report_view(report: Report, tz: str | None, stats: DownloadStats | None = None) -> ReportView:
    """Format a report for the reader (``tz``: their time zone)."""
    stats = stats or DownloadStats()
    return ReportView(
        report=report,
        title=report.assessment_title,
        language=LOCALE_NAMES.get(report.locale, report.locale),
        audience=str(AUDIENCE_LABELS.get(report.audience, report.audience)),
        scope=report.scope_unit_name
        if report.scope_unit_id is not None and report.scope_unit_name
        else _("Whole organisation"),
        status=str(STATUS_LABELS.get(report.status, report.status)),
        requested=_datetime(report.requested_at, tz),
        size=format_size(report.size_bytes),
        pages=format_number(report.page_count) if report.page_count else "",
        downloads=stats.count,
        last_download=_datetime(stats.last_at, tz) if stats.last_at else "",
    )


def _datetime(value: datetime | None, tz: str | None) -> str:
    if value is None:
        return ""
    try:
        return format_datetime(value, "short", tz or "UTC")
    except LookupError:
        return format_datetime(value, "short", "UTC")
