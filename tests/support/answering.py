"""People and helpers for the answering tests: respondents with accounts, forms, progress.

:func:`answering_world` builds on :func:`support.assessments.assessment_world` with
unique e-mails per test (accounts are shared across tenants) and gives every respondent
an account with a role at their unit, plus a stakeholder at DE and an HQ admin.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from support.accounts import Credentials
from support.assessments import AssessmentWorld, assessment_world

__all__ = [
    "PASSWORD",
    "AnsweringWorld",
    "answering_world",
    "progress_of",
    "question_form",
    "revision_in",
]

PASSWORD = "answering-test-password-1"


@dataclass
class AnsweringWorld:
    """An open assessment over DE/FR/IT with people who can sign in."""

    world: AssessmentWorld
    people: dict[str, Credentials]
    """``anna``, ``bernd`` (DE respondents), ``chloe`` (FR, French), ``stakeholder`` (view
    at DE, no respondent), ``admin`` (HQ admin, runs assessments, no respondent)."""

    @property
    def slug(self) -> str:
        """The tenant's host name part."""
        return str(self.world.tenant.slug)  # type: ignore[attr-defined]

    @property
    def assessment_id(self) -> int:
        """The assessment's id."""
        return self.world.assessment.id

    def base(self, unit: str = "DE") -> str:
        """The answering overview of a unit."""
        return f"/assessments/{self.assessment_id}/answer/{self.world.units[unit]}"

    def api(self, unit: str = "DE") -> str:
        """The answers API of a unit."""
        return f"/api/v1/assessments/{self.assessment_id}/units/{self.world.units[unit]}/answers"


async def answering_world(
    make_tenant: Any, *, prefix: str = "ans", status: str = "open"
) -> AnsweringWorld:
    """Tenant, assessment and accounts (password :data:`PASSWORD`)."""
    from scalemark.identity.provisioning import ensure_member

    tag = uuid.uuid4().hex[:8]
    emails = {
        "anna": (f"anna-{tag}@de.example", "DE", "contributor", "en"),
        "bernd": (f"bernd-{tag}@de.example", "DE", "unit_lead", "en"),
        "chloe": (f"chloe-{tag}@fr.example", "FR", "contributor", "fr"),
        "stakeholder": (f"stake-{tag}@de.example", "DE", "stakeholder", ""),
        "admin": (f"admin-{tag}@hq.example", "HQ", "hq_admin", ""),
    }
    world = await assessment_world(
        make_tenant,
        prefix=prefix,
        respondents=tuple(
            (unit, email, locale) for email, unit, _, locale in emails.values() if locale
        ),
        status=status,
    )
    people = {}
    for label, (email, unit, role, _) in emails.items():
        await ensure_member(
            email,
            tenant_slug=world.tenant.slug,  # type: ignore[attr-defined]
            role=role,
            unit_code=unit,
            name=label.title(),
            password=PASSWORD,
        )
        people[label] = Credentials(email=email, password=PASSWORD)
    return AnsweringWorld(world, people)


def question_form(
    key: str,
    *,
    answer: str = "",
    revision: int = 0,
    target: str = "",
    comment: str = "",
    evidence: str = "",
    **extra: str,
) -> dict[str, str]:
    """The fields of one question block as the page posts them."""
    return {
        f"{key}.answer": answer,
        f"{key}.revision": str(revision),
        f"{key}.target": target,
        f"{key}.comment": comment,
        f"{key}.evidence": evidence,
        **extra,
    }


def progress_of(html: str, pid: str) -> tuple[int, int]:
    """(answered, total) of the progress bar ``progress-<pid>`` in a page or fragment."""
    match = re.search(
        rf'data-testid="progress-{re.escape(pid)}" data-answered="(\d+)" data-total="(\d+)"', html
    )
    assert match, f"no progress-{pid}"
    return int(match.group(1)), int(match.group(2))


def revision_in(html: str, key: str) -> int:
    """The revision a question's controls are based on."""
    match = re.search(rf'name="{re.escape(key)}\.revision" value="(\d+)"', html)
    assert match, f"no revision field for {key}"
    return int(match.group(1))
