"""Sample assessments for the demo organisation, so a first look shows real results.

``scalemark dev`` seeds, once per tenant: a closed first cycle over the countries and
their teams (answered, partly validated) and an open second cycle where some units have
answered and the demo unit leads still have questions waiting. Answers are generated
from a fixed seed per unit, so every run produces the same organisation.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from scalemark.assessment import registry, service
from scalemark.assessment.framework import Framework
from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import TenantRef

__all__ = ["seed_demo_assessments"]

FRAMEWORK = "marketing-scalability"
FIRST_CYCLE = "Marketing scalability baseline 2025"
SECOND_CYCLE = "Marketing scalability check 2026"


def _base_level(code: str) -> float:
    """A stable maturity per unit between 1.6 and 3.8."""
    return 1.6 + (sum(map(ord, code)) % 23) / 10


def _level(rng: random.Random, base: float) -> int:
    return max(1, min(5, round(base + rng.uniform(-1.2, 1.2))))


async def _answer(
    conn: object,
    framework: Framework,
    respondent_id: int,
    code: str,
    uplift: float,
    share: float = 1.0,
) -> None:
    """Answers for one respondent: every question (or the first ``share`` of them)."""
    rng = random.Random(f"{code}:{respondent_id}")
    base = _base_level(code) + uplift
    questions = list(framework.questions())
    answered = questions[: max(1, int(len(questions) * share))]
    levels: dict[str, int | None] = {}
    rows: list[tuple[int, str, str, int | None, int | None, int | None]] = []
    for question in answered:
        condition = question.depends_on
        if condition and not condition.holds(levels.get(condition.question)):
            continue
        roll = rng.random()
        if roll < 0.04 and question.allow_dont_know:
            rows.append((respondent_id, question.key, "dk", None, None, None))
            levels[question.key] = None
            continue
        level = _level(rng, base)
        levels[question.key] = level
        target = min(5, level + rng.choice((0, 1, 1, 2)))
        rows.append((respondent_id, question.key, "level", level, target, None))
    for field in framework.tension_fields:
        position = max(0, min(100, round(rng.gauss(45 if code.count("-") else 35, 18))))
        rows.append((respondent_id, field.key, "position", None, None, position))
    await conn.executemany(  # type: ignore[attr-defined]
        "INSERT INTO assessment_answer (respondent_id, question_key, choice, level,"
        " target_level, position) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (respondent_id, question_key) DO NOTHING",
        rows,
    )


async def _scope_codes(conn: object) -> list[tuple[int, str, str]]:
    rows = await conn.fetch(  # type: ignore[attr-defined]
        "SELECT id, code, locale FROM unit WHERE archived_at IS NULL AND depth >= 2 ORDER BY path"
    )
    return [(r["id"], r["code"], r["locale"]) for r in rows]


def _respondent_email(code: str, leads: dict[str, str]) -> str:
    return leads.get(code, f"team.{code.lower()}@nordlicht.example")


async def seed_demo_assessments(tenant: TenantRef, leads: dict[str, str] | None = None) -> bool:
    """Create the two demo cycles unless the tenant already has an assessment.

    ``leads`` maps unit codes to the e-mail of a demo account who answers for that unit
    (others get a made-up team address). Returns True when something was created.
    """
    leads = leads or {}
    framework = registry.latest_builtin(FRAMEWORK)
    source = registry.builtin_source(framework)
    async with tenant_transaction(tenant) as conn:
        if await conn.fetchval("SELECT count(*) FROM assessment"):
            return False
        units = await _scope_codes(conn)
        if not units:
            return False
        first = await service.create_assessment(
            service.AssessmentSetup(title=FIRST_CYCLE, unit_ids=[u[0] for u in units]),
            framework,
            source,
        )
        respondents = await _add_respondents(first.id, units, leads)
        await service.change_status(first.id, "open")
        for respondent_id, code in respondents:
            await _answer(conn, framework, respondent_id, code, uplift=0.0)
        await service.change_status(first.id, "review")
        await service.change_status(first.id, "close")

        second = await service.start_next_cycle(first.id, SECOND_CYCLE)
        await service.change_status(second.id, "open")
        for person in await service.respondents(second.id):
            code = next(c for (uid, c, _) in units if uid == person.unit_id)
            if person.email in leads.values():
                continue  # the demo accounts answer themselves
            await _answer(conn, framework, person.id, code, uplift=0.5, share=0.7)
        await conn.execute("UPDATE assessment_unit SET scores_stale = true")
    return True


async def _add_respondents(
    assessment_id: int, units: Sequence[tuple[int, str, str]], leads: dict[str, str]
) -> list[tuple[int, str]]:
    added = []
    for unit_id, code, locale in units:
        person = await service.add_respondent(
            assessment_id, unit_id, _respondent_email(code, leads), locale
        )
        added.append((person.id, code))
    return added
