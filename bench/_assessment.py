"""Helpers shared by the assessment benchmarks: the framework, assessments and answers in bulk.

Rows go in with plain SQL (``unnest`` / ``COPY``) inside one tenant transaction, so
provisioning hundreds of units with thousands of answers takes seconds, not minutes.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import ROOT

__all__ = [
    "BUILTIN_KEY",
    "FALLBACK_FRAMEWORK",
    "VALIDATED_SHARE",
    "BenchFramework",
    "add_framework_option",
    "answer_assessment",
    "bench_framework",
    "framework_option",
    "insert_answers",
    "insert_assessment",
    "insert_respondents",
    "insert_validations",
]

BUILTIN_KEY = "marketing-scalability"
"""The built-in framework the benches run on when it exists."""
FALLBACK_FRAMEWORK = ROOT / "tests" / "assessment" / "fixtures" / "mini.yaml"
"""Used until the built-in framework file exists."""
VALIDATED_SHARE = 0.1
"""Share of units with validated levels (each: up to 3 questions)."""


@dataclass(frozen=True)
class BenchFramework:
    """The framework, the exact text it was loaded from (stored as the snapshot), a label."""

    framework: Any
    source: str
    label: str


def bench_framework(path: Path | None = None) -> BenchFramework:
    """The framework file ``path``; by default the newest built-in ``marketing-scalability``,
    else (missing, or not loading yet) the test framework ``mini.yaml``."""
    from scalemark.assessment import registry
    from scalemark.assessment.framework_loader import FrameworkError, load_text

    if path is None:
        try:
            framework = registry.latest_builtin(BUILTIN_KEY)
        except (KeyError, FrameworkError) as exc:
            if isinstance(exc, FrameworkError):  # being written: measure on the test framework
                print(f"  (built-in {BUILTIN_KEY} does not load yet: {len(exc.issues)} issues)")
            path = FALLBACK_FRAMEWORK
        else:
            source = registry.builtin_source(framework)
            return BenchFramework(framework, source, f"{framework.key} v{framework.version}")
    source = path.read_bytes().decode("utf-8")
    framework = load_text(source, str(path))
    return BenchFramework(framework, source, f"{framework.key} v{framework.version} ({path.name})")


def framework_option(value: str) -> Path:
    """``--framework FILE``: an existing framework file."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no file {value}")
    return path


def add_framework_option(parser: argparse.ArgumentParser) -> None:
    """``--framework FILE``: the framework to run on instead of the built-in one."""
    parser.add_argument(
        "--framework",
        type=framework_option,
        help="framework file to run on (default: the built-in one, else mini.yaml)",
    )


async def insert_assessment(
    tx: Any,
    chosen: BenchFramework,
    *,
    title: str,
    status: str,
    unit_ids: list[int],
    previous_id: int | None = None,
    cycle: int = 1,
) -> int:
    """An assessment over ``unit_ids`` with the framework's default targets; its id.

    ``tx`` is a connection inside the tenant transaction.
    """
    from scalemark.assessment import registry

    framework_id = await registry.snapshot(tx, chosen.framework, chosen.source)
    assessment_id = await tx.fetchval(
        "INSERT INTO assessment (title, framework_id, status, previous_id, cycle, opened_at,"
        " closed_at) VALUES ($1, $2, $3::varchar, $4, $5,"
        " CASE WHEN $3::varchar <> 'draft' THEN now() END,"
        " CASE WHEN $3::varchar = 'closed' THEN now() END)"
        " RETURNING id",
        title,
        framework_id,
        status,
        previous_id,
        cycle,
    )
    await tx.execute(
        "INSERT INTO assessment_unit (assessment_id, unit_id) SELECT $1, unnest($2::bigint[])",
        assessment_id,
        unit_ids,
    )
    dimensions = chosen.framework.dimensions
    await tx.execute(
        "INSERT INTO assessment_target (assessment_id, dimension_key, level)"
        " SELECT $1, * FROM unnest($2::varchar[], $3::numeric[])",
        assessment_id,
        [d.key for d in dimensions],
        [d.target for d in dimensions],
    )
    await tx.execute(
        "INSERT INTO assessment_event (assessment_id, from_status, to_status, actor_label)"
        " VALUES ($1, NULL, $2, 'bench')",
        assessment_id,
        status,
    )
    return int(assessment_id)


async def insert_respondents(
    tx: Any, assessment_id: int, people: list[tuple[int, str]]
) -> list[tuple[int, int]]:
    """Respondents ``(unit id, lower-case e-mail)``; their ``(respondent id, unit id)``."""
    rows = await tx.fetch(
        "INSERT INTO assessment_respondent (assessment_id, unit_id, email, invited_at)"
        " SELECT $1, * , now() FROM unnest($2::bigint[], $3::varchar[])"
        " RETURNING id, unit_id",
        assessment_id,
        [unit for unit, _ in people],
        [email for _, email in people],
    )
    return [(r["id"], r["unit_id"]) for r in rows]


async def insert_answers(
    tx: Any, chosen: BenchFramework, respondents: list[tuple[int, int]], rng: random.Random
) -> int:
    """An answer to every question and a position on every tension field, per respondent.

    Levels scatter around a level per unit (so units differ and respondents disagree a
    little); about one answer in twenty is "not applicable" or "don't know" where the
    question offers it. Returns the number of answer rows (written with ``COPY``).
    """
    framework = chosen.framework
    questions = list(framework.questions())
    records: list[tuple[Any, ...]] = []
    for respondent_id, unit_id in respondents:
        centre = 1 + (unit_id * 7919) % 5
        for question in questions:
            roll = rng.random()
            if roll < 0.03 and question.allow_dont_know:
                records.append((respondent_id, question.key, "dk", None, None))
            elif roll < 0.05 and question.allow_not_applicable:
                records.append((respondent_id, question.key, "na", None, None))
            else:
                level = min(5, max(1, centre + rng.choice((-1, 0, 0, 1))))
                records.append((respondent_id, question.key, "level", level, None))
        for tension in framework.tension_fields:
            records.append((respondent_id, tension.key, "position", None, rng.randint(0, 100)))
    await tx.copy_records_to_table(
        "assessment_answer",
        records=records,
        columns=["respondent_id", "question_key", "choice", "level", "position"],
    )
    return len(records)


async def answer_assessment(
    tx: Any,
    chosen: BenchFramework,
    assessment_id: int,
    unit_ids: list[int],
    rng: random.Random,
    domain: str,
) -> tuple[int, int]:
    """One or two respondents per unit (``r<n>.u<unit id>@<domain>``), each with an answer
    to every question and tension field: the counts of respondents and of answers."""
    people = [
        (unit_id, f"r{n}.u{unit_id}@{domain}")
        for unit_id in unit_ids
        for n in range(1 + (rng.random() < 0.5))
    ]
    respondents = await insert_respondents(tx, assessment_id, people)
    return len(respondents), await insert_answers(tx, chosen, respondents, rng)


async def insert_validations(
    tx: Any,
    chosen: BenchFramework,
    assessment_id: int,
    unit_ids: list[int],
    rng: random.Random,
) -> int:
    """The consultant's validated levels for about one unit in ten (``VALIDATED_SHARE``;
    up to 3 questions each); the number of rows."""
    keys = [q.key for q in chosen.framework.questions()]
    rows = [
        (unit_id, key, rng.randint(1, 5))
        for unit_id in unit_ids
        if rng.random() < VALIDATED_SHARE
        for key in rng.sample(keys, min(3, len(keys)))
    ]
    await tx.execute(
        "INSERT INTO assessment_validation (assessment_id, unit_id, question_key, choice,"
        " level, rationale) SELECT $1, u, k, 'level', l, 'Checked in the bench workshop.'"
        " FROM unnest($2::bigint[], $3::varchar[], $4::smallint[]) AS t(u, k, l)",
        assessment_id,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )
    return len(rows)
