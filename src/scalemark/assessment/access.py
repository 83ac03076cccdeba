"""The assessment a page or download is about, or the HTTP refusal (404 or 403).

The rule itself is :func:`scalemark.assessment.rules.runner_refusal`; the JSON APIs use it
directly to answer with their own error bodies.
"""

from __future__ import annotations

from litestar.exceptions import NotFoundException, PermissionDeniedException

from scalemark.assessment import rules, service
from scalemark.identity.principal import Principal

__all__ = ["known_assessment", "runner_assessment"]


async def known_assessment(principal: Principal, assessment_id: int) -> service.Assessment:
    """The assessment, unless unknown or a draft the caller may not know of (404)."""
    assessment = await service.get_assessment(assessment_id)
    if assessment is None or rules.runner_refusal(principal, assessment.status) == 404:
        raise NotFoundException()
    return assessment


async def runner_assessment(principal: Principal, assessment_id: int) -> service.Assessment:
    """The assessment for a runner: 404 unknown (and drafts to others), 403 otherwise."""
    assessment = await known_assessment(principal, assessment_id)
    if rules.runner_refusal(principal, assessment.status) == 403:
        raise PermissionDeniedException()
    return assessment
