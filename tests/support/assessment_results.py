"""Answers for review and results tests, written straight into the tables.

:func:`scored_world` builds on :func:`support.assessments.assessment_world`: the scope
grows to HQ > EU > DE, FR, IT (DE with roll-up weight 2), targets are governance 5 and
execution 4, and DE (two respondents) and FR (one) have answered:

=============  ===================  ==================  =============
question       anna (DE)            bernd (DE)          chloe (FR)
=============  ===================  ==================  =============
gov_standards  1                    3                   4
gov_roles      don't know           don't know          4
gov_review     5 (hidden: ignored)  not applicable      3
exe_templates  2                    4                   3
exe_tools      4                    don't know          3
steering       20                   60                  80
=============  ===================  ==================  =============

Hand-checked scores: DE governance 2 (coverage 1/2), execution (3 + 2·4)/3 = 3.67,
overall (2 + 2·3.67)/3 = 3.11; FR governance 3.67, execution 3, overall 3.22.
"""

from __future__ import annotations

from dataclasses import dataclass

from scalemark.assessment import service
from scalemark.db import tenant_transaction
from support.accounts import Credentials
from support.assessments import AssessmentWorld, assessment_world
from support.identity import PASSWORD, unique_email

__all__ = [
    "ANSWERS",
    "ScoredWorld",
    "answer",
    "answer_all",
    "consultant",
    "scored_world",
]

ANSWERS: dict[str, dict[str, tuple[str, int | None]]] = {
    "anna@de.example": {
        "gov_standards": ("level", 1),
        "gov_roles": ("dk", None),
        "gov_review": ("level", 5),
        "exe_templates": ("level", 2),
        "exe_tools": ("level", 4),
        "steering": ("position", 20),
    },
    "bernd@de.example": {
        "gov_standards": ("level", 3),
        "gov_roles": ("dk", None),
        "gov_review": ("na", None),
        "exe_templates": ("level", 4),
        "exe_tools": ("dk", None),
        "steering": ("position", 60),
    },
    "chloe@fr.example": {
        "gov_standards": ("level", 4),
        "gov_roles": ("level", 4),
        "gov_review": ("level", 3),
        "exe_templates": ("level", 3),
        "exe_tools": ("level", 3),
        "steering": ("position", 80),
    },
}


async def answer(
    respondent_id: int,
    question_key: str,
    choice: str,
    value: int | None = None,
    *,
    comment: str = "",
    evidence_url: str = "",
    target_level: int | None = None,
) -> None:
    """Store one answer (a level, ``na``, ``dk`` or a tension ``position``); marks stale."""
    level = value if choice == "level" else None
    position = value if choice == "position" else None
    async with tenant_transaction() as conn:
        await conn.execute(
            "INSERT INTO assessment_answer (respondent_id, question_key, choice, level,"
            " position, comment, evidence_url, target_level) VALUES ($1, $2, $3, $4, $5, $6,"
            " $7, $8) ON CONFLICT (respondent_id, question_key) DO UPDATE SET"
            " choice = EXCLUDED.choice, level = EXCLUDED.level, position = EXCLUDED.position,"
            " comment = EXCLUDED.comment, evidence_url = EXCLUDED.evidence_url,"
            " target_level = EXCLUDED.target_level, revision = assessment_answer.revision + 1",
            respondent_id,
            question_key,
            choice,
            level,
            position,
            comment,
            evidence_url,
            target_level,
        )
        await conn.execute(
            "UPDATE assessment_unit u SET scores_stale = true FROM assessment_respondent r"
            " WHERE r.id = $1 AND u.assessment_id = r.assessment_id AND u.unit_id = r.unit_id",
            respondent_id,
        )


async def answer_all(
    respondents: dict[str, service.Respondent],
    answers: dict[str, dict[str, tuple[str, int | None]]],
) -> None:
    """Store ``answers`` (by e-mail, then question key) for the respondents."""
    for email, given in answers.items():
        for key, (choice, value) in given.items():
            await answer(respondents[email].id, key, choice, value)


@dataclass
class ScoredWorld:
    """The assessment world with HQ and EU in scope and the answers of :data:`ANSWERS`."""

    world: AssessmentWorld

    @property
    def tenant(self) -> object:
        return self.world.tenant

    @property
    def units(self) -> dict[str, int]:
        return self.world.units

    @property
    def assessment_id(self) -> int:
        return self.world.assessment.id

    @property
    def respondents(self) -> dict[str, service.Respondent]:
        return self.world.respondents


async def scored_world(make_tenant, *, prefix: str = "res", status: str = "open") -> ScoredWorld:
    """The scored world (see the module docstring), its assessment in ``status``."""
    world = await assessment_world(
        make_tenant, prefix=prefix, status="draft" if status == "draft" else "open"
    )
    ids = world.units
    async with tenant_transaction(world.tenant):
        world.assessment = await service.update_setup(
            world.assessment.id,
            service.AssessmentSetup(
                title=world.assessment.title,
                unit_ids=[ids[c] for c in ("HQ", "EU", "DE", "FR", "IT")],
                targets={"governance": 5, "execution": 4},
                weights={ids["DE"]: 2},
            ),
        )
        await answer_all(world.respondents, ANSWERS)
        if status in ("in_review", "closed"):
            world.assessment = await service.change_status(world.assessment.id, "review")
        if status == "closed":
            world.assessment = await service.change_status(world.assessment.id, "close")
    return ScoredWorld(world)


async def consultant(tenant: object) -> Credentials:
    """A new consultant account with a password, assigned to ``tenant``."""
    from scalemark.identity.provisioning import assign_consultant
    from scalemark.identity.users import create_user

    email = unique_email("consultant")
    user = await create_user(
        email, name="Consultant", password=PASSWORD, platform_role="consultant"
    )
    await assign_consultant(user.id, tenant.id)  # type: ignore[attr-defined]
    return Credentials(email=email, password=PASSWORD)
