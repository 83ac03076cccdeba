"""``/assessments/{id}/export/…``: every answer and score as CSV or XLSX (runners only)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Response

from scalemark.assessment import export, service
from scalemark.assessment.access import runner_assessment
from scalemark.identity.guards import member_required, principal_of

__all__ = ["ExportPages"]

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _exportable(request: Request[Any, Any, Any], assessment_id: int) -> service.Assessment:
    return await runner_assessment(principal_of(request), assessment_id)


def _download(body: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


class ExportPages(Controller):
    """Downloads of an assessment's answers and scores."""

    path = "/assessments/{assessment_id:int}/export"
    guards = [member_required]  # noqa: RUF012
    include_in_schema = False

    @get("/answers.csv", name="assessment-export-answers")
    async def answers_csv(self, request: Request[Any, Any, Any], assessment_id: int) -> Response:
        """Every answer as CSV."""
        await _exportable(request, assessment_id)
        framework = await service.framework_of(assessment_id)
        table = await export.answer_table(assessment_id, framework)
        return _download(
            export.to_csv(table),
            "text/csv; charset=utf-8",
            f"assessment-{assessment_id}-answers.csv",
        )

    @get("/scores.csv", name="assessment-export-scores")
    async def scores_csv(self, request: Request[Any, Any, Any], assessment_id: int) -> Response:
        """Every unit's scores as CSV."""
        await _exportable(request, assessment_id)
        framework = await service.framework_of(assessment_id)
        table = await export.score_table(assessment_id, framework)
        return _download(
            export.to_csv(table),
            "text/csv; charset=utf-8",
            f"assessment-{assessment_id}-scores.csv",
        )

    @get("/assessment.xlsx", name="assessment-export-xlsx")
    async def workbook(self, request: Request[Any, Any, Any], assessment_id: int) -> Response:
        """Answers and scores as one workbook with two sheets."""
        await _exportable(request, assessment_id)
        framework = await service.framework_of(assessment_id)
        tables = [
            await export.answer_table(assessment_id, framework),
            await export.score_table(assessment_id, framework),
        ]
        return _download(export.to_xlsx(tables), _XLSX, f"assessment-{assessment_id}.xlsx")
