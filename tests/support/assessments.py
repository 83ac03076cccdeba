"""A small organisation with an assessment on the test framework, for assessment tests.

Uses ``tests/assessment/fixtures/mini.yaml`` (languages en and fr; dimensions
``governance`` with a conditional question and ``execution``; tension field ``steering``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scalemark.assessment import service
from scalemark.assessment.framework import Framework
from scalemark.assessment.framework_loader import load_file
from scalemark.db import tenant_transaction
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData

__all__ = ["MINI_FRAMEWORK", "AssessmentWorld", "assessment_world", "mini_framework"]

MINI_FRAMEWORK = Path(__file__).resolve().parents[1] / "assessment" / "fixtures" / "mini.yaml"

UNITS = (
    ("HQ", "hq", None),
    ("EU", "region", "HQ"),
    ("DE", "country", "EU"),
    ("FR", "country", "EU"),
    ("IT", "country", "EU"),
)


def mini_framework() -> tuple[Framework, str]:
    """The test framework and its source text."""
    return load_file(MINI_FRAMEWORK), MINI_FRAMEWORK.read_text(encoding="utf-8")


@dataclass
class AssessmentWorld:
    """A tenant with units HQ > EU > DE, FR, IT and one assessment over DE, FR and IT."""

    tenant: object
    units: dict[str, int]
    assessment: service.Assessment
    framework: Framework
    respondents: dict[str, service.Respondent]
    """By e-mail."""


async def assessment_world(
    make_tenant,
    *,
    prefix: str = "asm",
    respondents: tuple[tuple[str, str, str], ...] = (
        ("DE", "anna@de.example", "en"),
        ("DE", "bernd@de.example", "en"),
        ("FR", "chloe@fr.example", "fr"),
    ),
    status: str = "open",
) -> AssessmentWorld:
    """Units, an assessment over DE/FR/IT and its respondents ``(unit, e-mail, locale)``.

    ``status``: ``draft`` leaves it a draft, ``open`` opens it (the default).
    """
    tenant = await make_tenant(prefix)
    framework, source = mini_framework()
    ids: dict[str, int] = {}
    async with tenant_transaction(tenant):
        for code, kind, parent in UNITS:
            node = await org_service.create_unit(UnitData(code, f"Unit {code}", kind), parent)
            ids[code] = node.id
        created = await service.create_assessment(
            service.AssessmentSetup(
                title="Scalability 2026", unit_ids=[ids["DE"], ids["FR"], ids["IT"]]
            ),
            framework,
            source,
        )
        people = {}
        for unit, email, locale in respondents:
            people[email] = await service.add_respondent(created.id, ids[unit], email, locale)
        if status != "draft":
            created = await service.change_status(created.id, "open")
    return AssessmentWorld(tenant, ids, created, framework, people)
