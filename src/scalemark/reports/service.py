"""Report requests: fingerprint, idempotent request, enqueue, list, status, file.

A report is a row in ``report`` (see ``docs/reports.md``); the arq job
:func:`scalemark.reports.jobs.render_report` only triggers the work. Asking for a report
whose inputs are unchanged returns the live (not failed) row with the same
:func:`fingerprint` instead of a new one.

Web code calls :func:`submit_report` (row + job) — never inside an open tenant
transaction, because the job is enqueued after the row's transaction has committed. When
the job service (Redis) does not answer, the row stays ``queued`` and
:attr:`Submission.enqueued` is false; the workers' sweep starts it later, nothing is lost.

The status functions further down (:func:`claim_report` …) are the job's steps; each is
its own short transaction so a page polling the row sees progress.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n.locale import supported_locales
from scalemark.identity import audit
from scalemark.identity.principal import current_principal
from scalemark.settings import get_settings

__all__ = [
    "AUDIENCES",
    "PENDING_STATUSES",
    "RENDER_JOB",
    "STATUSES",
    "TEMPLATE_VERSION",
    "Report",
    "ReportError",
    "ReportRequest",
    "Submission",
    "claim_report",
    "enqueue_render",
    "fail_report",
    "fingerprint",
    "get_report",
    "list_reports",
    "mark_rendering",
    "render_job_id",
    "report_file",
    "request_report",
    "requeue_report",
    "store_pdf",
    "submit_report",
]

logger = logging.getLogger("scalemark.reports")

TEMPLATE_VERSION = "2026.1"
"""Bump when the document (templates, print CSS, content rules) changes: every report is
then made anew when asked for again."""
AUDIENCES = ("board", "full")
"""``board``: the summary; ``full``: with the answers appendix."""
STATUSES = ("queued", "collecting", "rendering", "ready", "failed")
"""A report's lifecycle, in order."""
PENDING_STATUSES = frozenset({"queued", "collecting", "rendering"})
"""Not finished yet: a page polls these."""
RENDER_JOB = "render_report"
"""The arq function name of the render job."""

_COLUMNS = (
    "r.id, r.assessment_id, a.title AS assessment_title, r.scope_unit_id,"
    " u.name AS scope_unit_name, r.locale, r.timezone, r.audience, r.fingerprint, r.status,"
    " r.error, r.attempts, r.requested_by, r.requested_label, r.requested_at, r.started_at,"
    " r.finished_at, r.updated_at, r.page_count, r.size_bytes"
)
_FROM = (
    " FROM report r JOIN assessment a ON a.id = r.assessment_id"
    " LEFT JOIN unit u ON u.id = r.scope_unit_id"
)


class ReportError(ValueError):
    """A request that breaks a rule; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Report:
    """A report row as pages, the API and the job see it (without the PDF)."""

    id: int
    assessment_id: int
    assessment_title: str
    scope_unit_id: int | None
    """None: the whole organisation in the assessment."""
    scope_unit_name: str | None
    locale: str
    timezone: str
    audience: str
    fingerprint: str
    status: str
    error: str
    """Translated reason (in the report's language) when ``failed``."""
    attempts: int
    """Jobs enqueued for this row so far (the current job id is built from it)."""
    requested_by: int | None
    requested_label: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    page_count: int | None
    size_bytes: int | None

    @property
    def pending(self) -> bool:
        """Still queued, collecting or rendering."""
        return self.status in PENDING_STATUSES

    @property
    def ready(self) -> bool:
        """The PDF can be downloaded."""
        return self.status == "ready"

    @property
    def failed(self) -> bool:
        """Given up; :attr:`error` says why."""
        return self.status == "failed"

    @classmethod
    def from_row(cls, row: Any) -> Report:
        """Build from a row of the shared select."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ReportRequest:
    """What the document is made of: handed to ``content.build_html``."""

    report_id: int
    assessment_id: int
    scope_unit_id: int | None
    locale: str
    timezone: str
    audience: str
    requested_label: str = ""
    requested_at: datetime | None = None

    @classmethod
    def of(cls, report: Report) -> ReportRequest:
        """The request behind a report row."""
        return cls(
            report_id=report.id,
            assessment_id=report.assessment_id,
            scope_unit_id=report.scope_unit_id,
            locale=report.locale,
            timezone=report.timezone,
            audience=report.audience,
            requested_label=report.requested_label,
            requested_at=report.requested_at,
        )


@dataclass(frozen=True)
class Submission:
    """The outcome of :func:`submit_report`."""

    report: Report
    created: bool
    """A new row (False: an unchanged report was asked for again)."""
    enqueued: bool
    """A render job exists for it (False: the job service did not answer; the sweep
    starts the report once it does). True as well for finished reports."""


# --------------------------------------------------------------------------- rules


def _check(locale: str, timezone: str, audience: str) -> None:
    if audience not in AUDIENCES:
        raise ReportError("audience", _l("Choose the board summary or the full report."))
    if locale not in supported_locales():
        raise ReportError("locale", _l("Choose one of the offered languages."))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportError("timezone", _l("Choose a valid time zone.")) from None


def render_job_id(tenant_slug: str, report_id: int, attempt: int) -> str:
    """The arq job id of a report's ``attempt``: one job per attempt, never two."""
    return f"report:{tenant_slug}:{report_id}:{attempt}"


# --------------------------------------------------------------------------- fingerprint

_FINGERPRINT_SQL = """
SELECT a.status, a.closed_at, a.updated_at, a.title, f.sha256,
  (SELECT p.updated_at FROM assessment p WHERE p.id = a.previous_id) AS previous_at,
  (SELECT json_build_array(count(*), max(x.updated_at), sum(x.revision))
     FROM assessment_answer x JOIN assessment_respondent rs ON rs.id = x.respondent_id
     WHERE rs.assessment_id = a.id)::text AS answers,
  (SELECT json_build_array(count(*), max(v.validated_at), md5(string_agg(
       v.unit_id || '/' || v.question_key || '/' || v.choice || '/'
       || coalesce(v.level::text, '') || '/' || md5(v.rationale), ','
       ORDER BY v.unit_id, v.question_key)))
     FROM assessment_validation v WHERE v.assessment_id = a.id)::text AS validations,
  (SELECT json_build_array(count(*), max(rs.id))
     FROM assessment_respondent rs WHERE rs.assessment_id = a.id)::text AS respondents,
  (SELECT string_agg(au.unit_id || ':' || au.weight || ':' || u.path || ':' || u.updated_at,
       ',' ORDER BY au.unit_id)
     FROM assessment_unit au JOIN unit u ON u.id = au.unit_id
     WHERE au.assessment_id = a.id) AS scope,
  (SELECT string_agg(t.dimension_key || ':' || t.level, ',' ORDER BY t.dimension_key)
     FROM assessment_target t WHERE t.assessment_id = a.id) AS targets,
  (SELECT json_build_array(s.path, s.name, s.updated_at,
       EXISTS (SELECT 1 FROM assessment_unit au JOIN unit u ON u.id = au.unit_id
               WHERE au.assessment_id = a.id AND starts_with(u.path, s.path)))
     FROM unit s WHERE s.id = $2)::text AS scope_unit,
  (SELECT b.updated_at FROM branding b WHERE b.id = 1) AS branding_at
FROM assessment a JOIN assessment_framework f ON f.id = a.framework_id
WHERE a.id = $1
"""


async def _fingerprint(
    conn: Any,
    assessment_id: int,
    scope_unit_id: int | None,
    locale: str,
    timezone: str,
    audience: str,
) -> tuple[str, Any]:
    row = await conn.fetchrow(_FINGERPRINT_SQL, assessment_id, scope_unit_id)
    if row is None:
        raise LookupError(assessment_id)
    tenant = current_tenant()
    parts = {
        **dict(row),
        "scope_unit_id": scope_unit_id,
        "locale": locale,
        "timezone": timezone,
        "audience": audience,
        "tenant": [tenant.slug, tenant.name],
        "template": TEMPLATE_VERSION,
    }
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest(), row


async def fingerprint(
    assessment_id: int,
    scope_unit_id: int | None,
    locale: str,
    timezone: str,
    audience: str,
) -> str:
    """SHA-256 over everything a report is made from (cheap queries, no scoring).

    Assessment status and last changes (answers, validations, respondents, scope and its
    units, targets), framework digest, scope, locale, timezone, audience, tenant name,
    branding and :data:`TEMPLATE_VERSION`. LookupError for an unknown assessment.
    """
    async with tenant_transaction() as conn:
        digest, _ = await _fingerprint(
            conn, assessment_id, scope_unit_id, locale, timezone, audience
        )
    return digest


# --------------------------------------------------------------------------- requests


async def request_report(
    assessment_id: int,
    scope_unit_id: int | None,
    locale: str,
    timezone: str,
    audience: str,
) -> tuple[Report, bool]:
    """The live report for these inputs, created (``queued``) when there is none.

    Returns ``(report, created)``; only a created one is audited (``report.request``).
    Raises :class:`ReportError` for bad choices (draft assessment, scope outside the
    assessment, unknown language, time zone or audience) and LookupError for an unknown
    assessment. Does not enqueue: see :func:`submit_report`.
    """
    _check(locale, timezone, audience)
    principal = current_principal()
    async with tenant_transaction() as conn:
        digest, facts = await _fingerprint(
            conn, assessment_id, scope_unit_id, locale, timezone, audience
        )
        if facts["status"] == "draft":
            raise ReportError(
                "assessment", _l("A report can be made once the assessment has been opened.")
            )
        if scope_unit_id is not None:
            scope_unit = json.loads(facts["scope_unit"] or "null")
            if not scope_unit or not scope_unit[3]:
                raise ReportError(
                    "scope",
                    _l("Choose a unit that is part of the assessment, or the whole organisation."),
                )
        # The unique partial index decides between concurrent requests: the loser's
        # insert does nothing and it returns the winner's row.
        report_id = await conn.fetchval(
            "INSERT INTO report (assessment_id, scope_unit_id, locale, timezone, audience,"
            " fingerprint, attempts, requested_by, requested_label)"
            " VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)"
            " ON CONFLICT (fingerprint) WHERE status <> 'failed' DO NOTHING RETURNING id",
            assessment_id,
            scope_unit_id,
            locale,
            timezone,
            audience,
            digest,
            principal.user.id if principal else None,
            principal.user.email if principal else "system",
        )
        created = report_id is not None
        if created:
            await audit.record(
                "report.request",
                object_type="report",
                object_id=report_id,
                after={
                    "assessment_id": assessment_id,
                    "scope_unit_id": scope_unit_id,
                    "locale": locale,
                    "timezone": timezone,
                    "audience": audience,
                    "fingerprint": digest,
                },
            )
            row = await conn.fetchrow(f"SELECT {_COLUMNS}{_FROM} WHERE r.id = $1", report_id)
        else:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS}{_FROM} WHERE r.fingerprint = $1 AND r.status <> 'failed'",
                digest,
            )
    return Report.from_row(row), created


async def enqueue_render(
    report: Report,
    *,
    redis: ArqRedis | None = None,
    redis_settings: RedisSettings | None = None,
    queue_name: str | None = None,
    tenant_slug: str | None = None,
) -> bool:
    """Enqueue the render job of ``report``'s current attempt; False if Redis is down.

    Call after the row's transaction has committed. The job id is
    :func:`render_job_id`, so enqueueing twice never makes two jobs. ``redis``: an open
    arq pool to use; otherwise a short-lived connection to ``redis_settings`` (default:
    the configured Redis) is opened, failing fast.
    """
    slug = tenant_slug or current_tenant().slug
    args = (
        slug,
        report.locale,
        report.id,
        report.assessment_id,
        report.scope_unit_id,
        report.timezone,
        report.audience,
    )
    job_id = render_job_id(slug, report.id, report.attempts)
    own = redis is None
    try:
        if redis is None:
            settings = redis_settings or RedisSettings.from_dsn(get_settings().redis_url)
            # Fail fast: the page answers at once and the sweep starts the job later.
            redis = await create_pool(replace(settings, conn_retries=0, conn_timeout=2))
        try:
            await redis.enqueue_job(RENDER_JOB, *args, _job_id=job_id, _queue_name=queue_name)
        finally:
            if own:
                await redis.aclose()
    except (TimeoutError, RedisError, OSError) as exc:
        logger.warning("report %s: job service unavailable, left queued: %s", report.id, exc)
        return False
    return True


async def submit_report(
    assessment_id: int,
    scope_unit_id: int | None,
    locale: str,
    timezone: str,
    audience: str,
    *,
    redis: ArqRedis | None = None,
    redis_settings: RedisSettings | None = None,
) -> Submission:
    """Request a report and start its job: what the pages and the API call.

    A new row gets a job; an existing ``queued`` row gets its job enqueued again (the
    same job id, so never a second job — this covers a job service that was down); an
    existing row in any other state is returned as it is. Not inside an open tenant
    transaction (the job must see the committed row). ``redis`` / ``redis_settings``:
    see :func:`enqueue_render` (pages pass neither).
    """
    report, created = await request_report(assessment_id, scope_unit_id, locale, timezone, audience)
    enqueued = True
    if report.status == "queued":
        enqueued = await enqueue_render(report, redis=redis, redis_settings=redis_settings)
    return Submission(report, created, enqueued)


# --------------------------------------------------------------------------- reading


async def get_report(report_id: int) -> Report | None:
    """One report of this tenant, or None."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(f"SELECT {_COLUMNS}{_FROM} WHERE r.id = $1", report_id)
    return None if row is None else Report.from_row(row)


async def list_reports(
    assessment_id: int | None = None,
    *,
    ids: Sequence[int] | None = None,
    limit: int = 100,
) -> list[Report]:
    """Reports, newest first: of one assessment, with ``ids``, or all (at most ``limit``)."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS}{_FROM} WHERE ($1::bigint IS NULL OR r.assessment_id = $1)"
            " AND ($2::bigint[] IS NULL OR r.id = ANY($2::bigint[]))"
            " ORDER BY r.id DESC LIMIT $3",
            assessment_id,
            None if ids is None else list(ids),
            limit,
        )
    return [Report.from_row(r) for r in rows]


async def report_file(report_id: int) -> bytes | None:
    """The PDF of a ready report, or None."""
    async with tenant_transaction() as conn:
        return await conn.fetchval(
            "SELECT f.content FROM report_file f JOIN report r ON r.id = f.report_id"
            " WHERE f.report_id = $1 AND r.status = 'ready'",
            report_id,
        )


# --------------------------------------------------------------------------- job steps


async def claim_report(report_id: int) -> Report | None:
    """The job's first step: ``collecting`` unless already ready or failed.

    The caller holds the report's render lease, so a row still ``collecting`` or
    ``rendering`` here was left by a worker that died. Returns the row after the step
    (a ready or failed row unchanged), None when it does not exist.
    """
    async with tenant_transaction() as conn:
        await conn.execute(
            "UPDATE report SET status = 'collecting', error = '', started_at = now(),"
            " finished_at = NULL, updated_at = now()"
            " WHERE id = $1 AND status IN ('queued', 'collecting', 'rendering')",
            report_id,
        )
        row = await conn.fetchrow(f"SELECT {_COLUMNS}{_FROM} WHERE r.id = $1", report_id)
    return None if row is None else Report.from_row(row)


async def mark_rendering(report_id: int) -> None:
    """Content collected: the PDF is being rendered."""
    async with tenant_transaction() as conn:
        await conn.execute(
            "UPDATE report SET status = 'rendering', updated_at = now()"
            " WHERE id = $1 AND status = 'collecting'",
            report_id,
        )


async def store_pdf(report_id: int, pdf: bytes, page_count: int) -> bool:
    """Store the PDF and mark the report ready (one transaction); False if it vanished."""
    async with tenant_transaction() as conn:
        updated = await conn.fetchval(
            "UPDATE report SET status = 'ready', error = '', page_count = $2, size_bytes = $3,"
            " finished_at = now(), updated_at = now()"
            " WHERE id = $1 AND status IN ('collecting', 'rendering') RETURNING id",
            report_id,
            page_count,
            len(pdf),
        )
        if updated is None:
            return False
        await conn.execute(
            "INSERT INTO report_file (report_id, content) VALUES ($1, $2)"
            " ON CONFLICT (report_id) DO UPDATE SET content = EXCLUDED.content,"
            " created_at = now()",
            report_id,
            pdf,
        )
    return True


async def fail_report(report_id: int, reason: str) -> None:
    """Give up on a report with a reason (translated, in the report's language)."""
    async with tenant_transaction() as conn:
        await conn.execute(
            "UPDATE report SET status = 'failed', error = $2, finished_at = now(),"
            " updated_at = now() WHERE id = $1 AND status <> 'ready'",
            report_id,
            reason,
        )


async def requeue_report(report_id: int) -> None:
    """Back to ``queued`` while the job waits to retry."""
    async with tenant_transaction() as conn:
        await conn.execute(
            "UPDATE report SET status = 'queued', updated_at = now()"
            " WHERE id = $1 AND status IN ('collecting', 'rendering')",
            report_id,
        )
